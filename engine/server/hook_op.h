// The daemon's "hook" op: a hook client's raw stdin text, judged and answered
// in that client's dialect exactly as `toolgate hook` answers it through the
// daemon (the same adapters, the same decide path per call, the same shell
// forwarding), so the fast shim `toolgate-hook` only carries bytes: it sends
// the input and prints the stdout, stderr and exit code it gets back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hooks/hook_front.h"
#include "server/request.h"

namespace toolgate::server {

// A hook request read. When read.adapter is null the input could not be read
// and read.failed.output is already the answer (a deny in the client's form);
// otherwise every call of `calls` is judged as a decide request carrying it.
struct HookJob {
  hooks::HookOptions options;
  hooks::ReadHook read;
  std::vector<nlohmann::json> calls;  // ToJson of each read call: what `toolgate hook` would send
  bool headless = false;              // the client cannot ask a human: the policy's ask_fallback applies
};

// Never throws on bad input (it becomes read.failed); may throw bad_alloc.
HookJob ReadHookJob(HookRequest request);

// What the hook prints and how it exits, from the decisions of job.calls and
// their shell_sandboxed flags.
hooks::HookOutput AnswerHookJob(const HookJob& job, const std::vector<const Decision*>& decisions,
                                const std::vector<bool>& shell_sandboxed);

// {"v":1,"id":<id>,"ok":true,"exit":N,"stdout":"...","stderr":"..."} and '\n',
// members always in this order, so a minimal reader can take them in turn.
void AppendHookReply(std::string* out, std::string_view id, const hooks::HookOutput& output);

}  // namespace toolgate::server
