// One hook invocation, end to end: the client's stdin bytes in, the bytes to
// print and the exit code out. Every failure on the way (unreadable input, a
// policy that does not load, a daemon that times out or answers garbage, an
// audit log that cannot be written, an exception) is a deny in the client's
// dialect whose reason says what failed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hooks/adapter.h"
#include "hooks/hook_front.h"
#include "toolgate/policy.h"

namespace toolgate::hooks {

HookRun RunHook(std::string_view input, const HookOptions& options);

// The decision step of RunHook, for callers that read calls in another form
// (the MCP proxy, hooks/mcp/): through the daemon when one answers, else
// in-process under options.load_policy, logged to options.log_path before it
// returns. *source says which. headless: no human can be asked, so an ask
// follows the policy's ask_fallback. May throw on internal errors (RunHook
// turns them into a deny).
HookAnswer JudgeCalls(const HookOptions& options, const std::vector<ToolCall>& calls, DecisionSource* source,
                      bool headless = false);

}  // namespace toolgate::hooks
