#include "hooks/mcp/mcp_judge.h"

#include <exception>
#include <sys/stat.h>

#include "grants/compiled_profile.h"
#include "hooks/hook_runner.h"
#include "toolgate/daemon_protocol.h"

namespace toolgate::mcp {

HookJudge::HookJudge(hooks::HookOptions options) : options_(std::move(options)) {
  options_.client = Client::kMcp;
  // The policy is loaded once and kept; the hook path asks for it per call.
  auto load = std::move(options_.load_policy);
  options_.load_policy = [this, load = std::move(load)](std::string* error) -> std::shared_ptr<const Policy> {
    if (!policy_ && load) policy_ = load(error);
    return policy_;
  };
}

bool HookJudge::Preload(std::string* error) { return LocalPolicy(error) != nullptr; }

std::shared_ptr<const Policy> HookJudge::LocalPolicy(std::string* error) { return options_.load_policy(error); }

bool HookJudge::DaemonAnswers() const {
  if (!options_.use_daemon) return false;
  const std::string path = options_.socket_path.empty() ? DefaultSocketPath() : options_.socket_path;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

McpJudgement HookJudge::Judge(const ToolCall& call) {
  McpJudgement out;
  try {
    hooks::DecisionSource source = hooks::DecisionSource::kNone;
    const hooks::HookAnswer answer = hooks::JudgeCalls(options_, {call}, &source, /*headless=*/true);
    out.allowed = answer.verdict == Verdict::kAllow;
    out.reason = answer.reason_for_model;
    if (answer.verdict == Verdict::kAsk) {
      out.reason += " (an MCP stdio session has no one to confirm it, so it is blocked)";
    }
  } catch (const std::exception& e) {
    out.allowed = false;
    out.reason = std::string("toolgate could not judge this call, so it is blocked: internal error: ") + e.what();
  } catch (...) {
    out.allowed = false;
    out.reason = "toolgate could not judge this call, so it is blocked: internal error";
  }
  return out;
}

bool HookJudge::HidesTool(const std::string& tool_name) {
  if (DaemonAnswers()) return false;
  std::string error;
  const std::shared_ptr<const Policy> policy = LocalPolicy(&error);
  if (!policy) return false;  // every call is denied with the load failure as its reason: keep that visible
  std::string profile_name;
  const CompiledProfile* profile = policy->ProfileFor(options_.agent.value_or(""), &profile_name);
  if (profile == nullptr) return true;  // no profile: every call is denied
  return profile->CheckTool(tool_name).verdict != Verdict::kAllow;
}

}  // namespace toolgate::mcp
