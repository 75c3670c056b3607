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
#include "toolgate/policy.h"

namespace toolgate::hooks {

inline constexpr std::size_t kMaxHookInputBytes = 1u << 20;  // 1 MiB, the engine's default input limit
inline constexpr int kMaxHookInputDepth = 64;

struct HookOptions {
  Client client = Client::kUnknown;   // kUnknown = detect from the input's shape
  std::optional<std::string> agent;   // the agent identity the caller vouches for
  bool use_daemon = true;
  std::string socket_path;            // "" = DefaultSocketPath()
  std::chrono::milliseconds daemon_timeout{2000};
  // "" = no local audit log. A directory means DIR/decisions.jsonl. Only
  // in-process decisions are logged here: the daemon logs its own.
  std::string log_path;
  std::string log_key_path;
  // Loads the policy for in-process judgement; null = it failed to load, and
  // *error says why. Called only when the daemon is not used.
  std::function<std::shared_ptr<const Policy>(std::string* error)> load_policy;
  // Forwarding into the OS sandbox: when the agent's profile says shell
  // commands run sandboxed, an allowed shell call is answered with its
  // command rewritten to `toolgate run ... -- /bin/bash -c '<original>'`.
  std::string toolgate_path;  // absolute path of this toolgate binary
  std::string policy_path;    // absolute; "" = the embedded default
};

// Where the decision came from, for the operator (stderr) and tests.
enum class DecisionSource { kNone, kDaemon, kInProcess };

struct HookRun {
  HookOutput output;
  HookAnswer answer;
  DecisionSource source = DecisionSource::kNone;
  Client client = Client::kUnknown;
};

HookRun RunHook(std::string_view input, const HookOptions& options);

}  // namespace toolgate::hooks
