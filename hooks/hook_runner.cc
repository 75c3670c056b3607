#include "hooks/hook_runner.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <exception>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/forward.h"
#include "toolgate/ask_fallback.h"
#include "toolgate/audit.h"
#include "toolgate/engine.h"
#include "toolgate/state_store.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;

// Appends every call's record before the answer; a failure turns the answer into a deny.
std::optional<std::string> LogDecisions(const HookOptions& options, const std::vector<ToolCall>& calls,
                                        const std::vector<Decision>& decisions) {
  AuditLogOptions o;
  o.path = options.log_path;
  // A directory holds the log as decisions.jsonl.
  if (struct stat st {}; ::stat(o.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) o.path += "/decisions.jsonl";
  o.signing_key_path = options.log_key_path;
  PeerInfo peer = PeerInfo::CurrentProcess(options.log_transport);
  peer.pid = static_cast<std::int64_t>(::getppid());  // the agent client that ran the hook or started `toolgate mcp`
  auto log = AuditLog::Open(o);
  if (!log) return log.error().message;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (auto r = (*log)->Append(calls[i], decisions[i], peer); !r) return r.error().message;
  }
  if (auto e = (*log)->Close()) return e->message;
  return std::nullopt;
}

HookAnswer JudgeInProcess(const HookOptions& options, const std::vector<ToolCall>& calls, bool headless) {
  std::string why;
  std::shared_ptr<const Policy> policy = options.load_policy ? options.load_policy(&why) : nullptr;
  if (!policy) {
    return DenyAnswer("toolgate could not judge this call, so it is blocked: the policy failed to load" +
                      (why.empty() ? std::string() : " (" + why + ")"));
  }
  std::shared_ptr<StateStore> state;
  if (!options.state_dir.empty()) {
    StateStoreOptions so;
    so.dir = options.state_dir;
    Result<std::unique_ptr<StateStore>> opened = StateStore::Open(so);
    if (!opened) {
      return DenyAnswer("toolgate could not judge this call, so it is blocked: the state store could not be opened (" +
                        opened.error().message + " at " + opened.error().location + ")");
    }
    state = std::move(*opened);
  }
  const Engine engine(policy, state);
  std::vector<Decision> decisions;
  decisions.reserve(calls.size());
  std::size_t worst = 0;
  for (const ToolCall& call : calls) {
    decisions.push_back(engine.Decide(call));
    if (headless) ApplyAskFallback(*policy, &decisions.back());  // before the log: it records the fallback
    if (options.learn_mode) ApplyLearnMode(&decisions.back());
    if (decisions.back().verdict > decisions[worst].verdict) worst = decisions.size() - 1;
  }
  if (!options.log_path.empty()) {
    if (auto failure = LogDecisions(options, calls, decisions)) {
      return DenyAnswer("toolgate blocked this call: the decision could not be written to the audit log (" +
                        *failure + "), and nothing unlogged is allowed");
    }
  }
  const Decision& d = decisions[worst];
  HookAnswer a;
  a.verdict = d.verdict;
  a.reason_for_model = d.MessageForModel();
  a.reason_for_human = d.MessageForHuman();
  // A call without an agent runs under the policy's default profile.
  std::string profile;
  if (!calls.empty() && calls[0].agent_id.empty() && policy->ProfileFor("", &profile) == nullptr) profile.clear();
  const bool sandboxed = !calls.empty() && sandbox::ProfileRunsShellSandboxed(*policy, calls[0].agent_id);
  ForwardIntoSandbox(options, sandboxed, profile, calls, &a);
  std::vector<const Decision*> all;
  for (const Decision& decision : decisions) all.push_back(&decision);
  SetContext(all, &a);
  return a;
}

HookRun Run(std::string_view input, const HookOptions& options) {
  ReadHook read = ReadHookInput(input, options);
  if (read.adapter == nullptr) return std::move(read.failed);
  HookRun run;
  run.client = read.client;
  run.answer = JudgeCalls(options, read.parsed.calls, &run.source, !read.parsed.context.can_ask);
  run.output = read.adapter->Render(read.parsed.context, run.answer);
  return run;
}

}  // namespace

HookAnswer JudgeCalls(const HookOptions& options, const std::vector<ToolCall>& calls, DecisionSource* source,
                      bool headless) {
  // Learning mode judges in-process: the daemon records its own decisions, in its own mode.
  std::optional<HookAnswer> answer;
  if (!options.learn_mode) answer = AnswerViaDaemon(options, calls, headless);
  if (answer) {
    *source = DecisionSource::kDaemon;
    return std::move(*answer);
  }
  *source = DecisionSource::kInProcess;
  return JudgeInProcess(options, calls, headless);
}

HookRun RunHook(std::string_view input, const HookOptions& options) {
  try {
    return Run(input, options);
  } catch (const std::exception& e) {
    return FailedRun(options.client,
                     std::string("toolgate could not judge this call, so it is blocked: internal error: ") + e.what());
  } catch (...) {
    return FailedRun(options.client, std::string("toolgate could not judge this call, so it is blocked: internal error"));
  }
}

}  // namespace toolgate::hooks
