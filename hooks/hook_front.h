// The part of a hook run that needs no policy engine: reading the client's
// input, asking the daemon, forwarding an allowed shell call into the sandbox
// on the daemon's word, and answering a failure in the client's dialect.
// `toolgate hook` (hooks/hook_runner.cc) and the small static shim
// `toolgate-hook` (tools/toolgate-hook/) both run it, so both answer alike;
// it links without lua, re2, curl or spdlog.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hooks/adapter.h"
#include "toolgate/decision.h"

namespace toolgate {
class Policy;
}

namespace toolgate::hooks {

inline constexpr std::size_t kMaxHookInputBytes = 1u << 20;  // 1 MiB, the engine's default input limit
inline constexpr int kMaxHookInputDepth = 64;

struct HookOptions {
  Client client = Client::kUnknown;   // kUnknown = detect from the input's shape
  std::optional<std::string> agent;   // the agent identity the caller vouches for
  std::optional<std::string> session;  // overrides the input's session id when set
  bool use_daemon = true;
  std::string socket_path;            // "" = DefaultSocketPath()
  std::chrono::milliseconds daemon_timeout{2000};
  // "" = no local audit log. A directory means DIR/decisions.jsonl. Only
  // in-process decisions are logged here: the daemon logs its own.
  std::string log_path;
  std::string log_key_path;
  std::string log_transport = "hook";  // the records' peer transport ("mcp-stdio" for toolgate mcp)
  // "" = tg.state lives only as long as this run. A directory = the
  // persistent state store (include/toolgate/state_store.h), locked for the
  // run: concurrent hook runs on one directory take turns (up to 5 s each,
  // then the call is denied). Only in-process decisions use it.
  std::string state_dir;
  // Loads the policy for in-process judgement; null = it failed to load, and
  // *error says why. Called only when the daemon is not used.
  std::function<std::shared_ptr<const Policy>(std::string* error)> load_policy;
  // Forwarding into the OS sandbox: when the agent's profile says shell
  // commands run sandboxed, an allowed shell call is answered with its
  // command rewritten to `toolgate run ... -- /bin/bash -c '<original>'`.
  std::string toolgate_path;  // absolute path of the full toolgate binary
  std::string policy_path;    // absolute; "" = the embedded default
  // Learning mode (`--mode learn`): judged in-process under ApplyLearnMode.
  // The daemon is not asked: it records its own decisions, in its own mode.
  bool learn_mode = false;
};

// Where the decision came from, for the operator (stderr) and tests.
enum class DecisionSource { kNone, kDaemon, kInProcess };

struct HookRun {
  HookOutput output;
  HookAnswer answer;
  DecisionSource source = DecisionSource::kNone;
  Client client = Client::kUnknown;
};

HookAnswer DenyAnswer(const std::string& reason);

// A deny in the client's most robust form (as for an unreadable input); an
// unknown client gets Claude's exit 2 + stderr, a block for most clients.
HookRun FailedRun(Client client, const Error& error);
HookRun FailedRun(Client client, const std::string& reason);

// The input read in its client's dialect. When adapter is null, failed holds
// the deny to print.
struct ReadHook {
  Client client = Client::kUnknown;
  const Adapter* adapter = nullptr;
  ParsedHook parsed;
  HookRun failed;
};
ReadHook ReadHookInput(std::string_view input, const HookOptions& options);

// Asks the daemon (when options.use_daemon) for the calls. nullopt = no daemon
// is there: judge in-process. Otherwise the answer, a deny when the daemon
// failed; an allowed shell call whose profile runs shell commands sandboxed
// (the daemon says so with "shell_sandboxed": true) comes back forwarded.
// headless: the client cannot ask (HookContext::can_ask false); the daemon
// applies the policy's ask_fallback.
std::optional<HookAnswer> AnswerViaDaemon(const HookOptions& options, const std::vector<ToolCall>& calls,
                                          bool headless = false);

// The answer to the calls from the daemon's decisions, one per call in the
// protocol's form (ToJson(Decision, false), verdicts checked) with their
// "shell_sandboxed" flags: the most severe verdict, forwarded into the
// sandbox when allowed and sandboxed. The daemon's "hook" op renders with it
// too, so its answer is the one `toolgate hook` prints.
HookAnswer AnswerFromDecisions(const HookOptions& options, const std::vector<ToolCall>& calls,
                               const std::vector<nlohmann::json>& decisions, const std::vector<bool>& shell_sandboxed);
// The same answer from the Decisions themselves, without writing them out as
// JSON first (the daemon's hook op, which has them).
HookAnswer AnswerFromDecisions(const HookOptions& options, const std::vector<ToolCall>& calls,
                               const std::vector<const Decision*>& decisions, const std::vector<bool>& shell_sandboxed);

// Sets answer->additional_context to the rules' context lines of every
// decision (Decision::context), one per line; leaves it unset when none.
// Whatever the verdict: context never makes an answer less severe.
void SetContext(const std::vector<const Decision*>& decisions, HookAnswer* answer);

// An allowed single shell call is rewritten to run inside `toolgate run` when
// shell_sandboxed; profile is the profile judged (used when the call has no
// agent). A command that cannot be wrapped safely is denied.
void ForwardIntoSandbox(const HookOptions& options, bool shell_sandboxed, const std::string& profile,
                        const std::vector<ToolCall>& calls, HookAnswer* answer);

}  // namespace toolgate::hooks
