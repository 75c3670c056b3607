// Shared plumbing of the toolgate CLI: argument parsing, bounded stdin,
// policy loading with the embedded default, exit codes.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toolgate/audit.h"
#include "toolgate/policy.h"

namespace toolgate::embedded {
extern const std::string_view kDefaultPolicy;  // rules/examples/default.json, in libtoolgate (engine/policy)
extern const std::string_view kSampleCalls;    // rules/examples/sample-calls.jsonl
}  // namespace toolgate::embedded

namespace toolgate::cli {

// Exit codes, documented in the README. A consumer that only treats 0 as
// "go ahead" fails closed.
inline constexpr int kExitAllow = 0;
inline constexpr int kExitAsk = 10;
inline constexpr int kExitDeny = 20;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitPolicy = 78;
inline constexpr int kExitFailure = 1;

int ExitCodeFor(Verdict verdict);

// Minimal "--flag value" / "--switch" parser that rejects anything unknown.
class Args {
 public:
  Args(std::vector<std::string> argv, std::vector<std::string> value_flags, std::vector<std::string> switches);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::optional<std::string> value(std::string_view flag) const;
  bool has(std::string_view flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
  std::vector<std::string> switches_;
  std::vector<std::string> positional_;
  std::string error_;
};

// Reads at most max_bytes + 1 bytes so an oversized input is seen as such
// without buffering all of it.
std::string ReadStdinBounded(std::size_t max_bytes);

// The absolute path of the running toolgate binary (/proc/self/exe), so hook
// commands and sandbox forwarding name exactly this toolgate; "" if unknown.
std::string SelfExePath();

// Opens the egress proxy's decision log for `toolgate run` and `toolgate
// proxy`: --log FILE, or DIR/egress.jsonl for a directory (one process holds a
// log file at a time, and a hook or daemon may hold DIR/decisions.jsonl).
// Returns the exit code to stop with when --log is malformed or does not open
// (printing why, prefixed with `command`), or 0 with *log set (null when no
// --log was given).
int OpenEgressLog(const Args& args, const char* command, const char* usage, std::unique_ptr<AuditLog>* log);

// Loads --policy FILE, or the embedded default when path is empty. Prints
// every diagnostic to stderr; returns null when the load failed.
std::shared_ptr<const Policy> LoadPolicyOrDefault(const std::string& path);

}  // namespace toolgate::cli
