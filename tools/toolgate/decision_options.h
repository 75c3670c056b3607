// The options that say how a hook-style command reaches its decisions, shared
// by `toolgate hook` and `toolgate mcp`: --policy FILE, --agent ID (else
// $TOOLGATE_AGENT), --session ID, --socket PATH, --no-daemon, --log FILE|DIR,
// --log-key KEY, --timeout-ms N, --mode enforce|learn (learn: judged in-process
// under ApplyLearnMode; never the default).
#pragma once

#include <string>
#include <vector>

#include "cli_io.h"
#include "hooks/hook_front.h"

namespace toolgate::cli {

// Flag lists to give Args, each joined with the command's own flags.
std::vector<std::string> DecisionValueFlags();
std::vector<std::string> DecisionSwitches();

// Fills the decision part of *options from parsed args; load_policy loads
// --policy (or the embedded default) anew each time it is called, printing
// diagnostics to stderr. Returns "" or the usage error.
std::string ReadDecisionOptions(const Args& args, hooks::HookOptions* options);

}  // namespace toolgate::cli
