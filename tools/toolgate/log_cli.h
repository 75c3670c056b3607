// Shared pieces of the decision-log commands (toolgate log …, toolgate replay,
// and `toolgate check --log`).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/log_reader.h"
#include "cli_io.h"
#include "toolgate/decision.h"
#include "toolgate/policy.h"

namespace toolgate::cli {

// Exit codes of `toolgate log …` (see README.md, section The decision log).
inline constexpr int kExitLogOk = 0;
inline constexpr int kExitLogProblem = 1;    // verify: tampering or corruption; query: nothing matched
inline constexpr int kExitLogTornTail = 2;   // verify: only the last line is torn (a crash)
inline constexpr int kExitLogNoInput = 66;   // a log file is missing, unreadable or empty

// Value flags for record filters, shared by query, stats, report, export, replay.
std::vector<std::string> FilterFlags();
// Builds a filter from parsed args; error text on a bad --since/--until/--verdict.
std::optional<audit::RecordFilter> FilterFromArgs(const Args& args, std::string* error);

// Text safe to print on a terminal: control characters (C0, DEL, C1) and
// bidirectional overrides become '?' — log text is attacker-influenced and must
// not drive the reviewer's terminal.
std::string TerminalSafe(std::string_view text, std::size_t max_bytes = 0);

// `toolgate check --log FILE [--log-key KEY]`: appends the decision before it is
// printed. When the append fails the decision becomes a deny naming the reason:
// an unlogged allow never happens.
void RecordDecisionOrDeny(const std::string& log_path, const std::string& key_path, std::string_view input,
                          const std::optional<std::string>& agent, const Policy& policy, Decision* decision);

}  // namespace toolgate::cli
