#include "server/hook_op.h"

#include <utility>

namespace toolgate::server {

using nlohmann::json;

HookJob ReadHookJob(HookRequest request) {
  HookJob job;
  job.options.client = request.client;
  job.options.agent = std::move(request.agent);
  job.options.session = std::move(request.session);
  job.options.toolgate_path = std::move(request.toolgate_path);
  job.options.policy_path = std::move(request.policy_path);
  job.read = hooks::ReadHookInput(request.input, job.options);
  if (job.read.adapter == nullptr) return job;
  job.headless = !job.read.parsed.context.can_ask;
  job.calls.reserve(job.read.parsed.calls.size());
  for (const ToolCall& call : job.read.parsed.calls) job.calls.push_back(ToJson(call));
  return job;
}

hooks::HookOutput AnswerHookJob(const HookJob& job, const std::vector<const Decision*>& decisions,
                                const std::vector<bool>& shell_sandboxed) {
  if (job.read.adapter == nullptr) return job.read.failed.output;
  const hooks::HookAnswer answer =
      hooks::AnswerFromDecisions(job.options, job.read.parsed.calls, decisions, shell_sandboxed);
  return job.read.adapter->Render(job.read.parsed.context, answer);
}

void AppendHookReply(std::string* out, std::string_view id, const hooks::HookOutput& output) {
  const auto text = [out](const std::string& s) {
    *out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  *out += "{\"v\":1,\"id\":";
  *out += id;
  *out += ",\"ok\":true,\"exit\":";
  *out += std::to_string(output.exit_code);
  *out += ",\"stdout\":";
  text(output.stdout_text);
  *out += ",\"stderr\":";
  text(output.stderr_text);
  *out += "}\n";
}

}  // namespace toolgate::server
