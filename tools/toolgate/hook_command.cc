// toolgate hook: the command an agent client runs before (and after) each tool
// call. Reads the client's hook JSON on stdin, judges it (through the daemon
// when one is running, else in-process) and answers in the client's dialect.
#include <climits>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "cli_io.h"
#include "commands.h"
#include "hooks/adapter.h"
#include "hooks/hook_runner.h"
#include "util/fd_io.h"

namespace toolgate::cli {
namespace {

constexpr const char* kHookUsage =
    "usage: toolgate hook [--client claude|copilot|codex|gemini|cursor] [--policy FILE] [--agent ID]\n"
    "                     [--socket PATH] [--no-daemon] [--log FILE [--log-key KEY]] [--state DIR]\n"
    "                     [--timeout-ms N] < input.json\n";

}  // namespace

int RunHook(const std::vector<std::string>& argv) {
  if (argv.size() == 1 && (argv[0] == "--help" || argv[0] == "-h")) {
    std::cout << kHookUsage;
    return 0;
  }
  Args args(argv, {"--client", "--policy", "--agent", "--socket", "--log", "--log-key", "--state", "--timeout-ms"},
            {"--no-daemon"});
  hooks::HookOptions options;
  std::string usage_error;
  if (!args.ok() || !args.positional().empty()) {
    usage_error = args.ok() ? "unexpected argument " + args.positional()[0] : args.error();
  }
  if (const auto c = args.value("--client"); c && usage_error.empty()) {
    options.client = ClientFromName(*c);
    if (hooks::AdapterFor(options.client) == nullptr) usage_error = "unknown client '" + *c + "'";
  }
  if (const auto t = args.value("--timeout-ms"); t && usage_error.empty()) {
    char* end = nullptr;
    const long ms = std::strtol(t->c_str(), &end, 10);
    if (end == t->c_str() || *end != '\0' || ms < 1 || ms > 600000) {
      usage_error = "--timeout-ms needs a number of milliseconds from 1 to 600000";
    } else {
      options.daemon_timeout = std::chrono::milliseconds(ms);
    }
  }
  if (!usage_error.empty()) {
    // A misconfigured hook still answers: a deny in the client's form (when it
    // is known), so the client does not run the tool on a usage error.
    std::cerr << "toolgate hook: " << usage_error << "\n" << kHookUsage;
    const hooks::Adapter* adapter = hooks::AdapterFor(options.client);
    if (adapter == nullptr) adapter = &hooks::ClaudeAdapter();
    hooks::HookContext ctx;
    ctx.input_unreadable = true;
    hooks::HookAnswer deny;
    deny.reason_for_model = "toolgate's hook is misconfigured (" + usage_error + "), so every call is blocked";
    const hooks::HookOutput out = adapter->Render(ctx, deny);
    WriteAll(STDOUT_FILENO, out.stdout_text);
    return out.exit_code;  // 2 where the client blocks on it; Copilot: 0 with the JSON deny
  }

  options.agent = args.value("--agent");
  if (!options.agent) {
    if (const char* env = std::getenv("TOOLGATE_AGENT"); env != nullptr && *env != '\0') options.agent = env;
  }
  options.use_daemon = !args.has("--no-daemon");
  options.socket_path = args.value("--socket").value_or("");
  options.log_path = args.value("--log").value_or("");
  options.log_key_path = args.value("--log-key").value_or("");
  options.state_dir = args.value("--state").value_or("");  // in-process decisions only: the daemon keeps its own
  const std::string policy_path = args.value("--policy").value_or("");
  options.toolgate_path = SelfExePath();
  if (!policy_path.empty()) {
    char resolved[PATH_MAX];
    options.policy_path = ::realpath(policy_path.c_str(), resolved) != nullptr ? std::string(resolved) : policy_path;
  }
  options.load_policy = [&policy_path](std::string* error) {
    auto policy = LoadPolicyOrDefault(policy_path);  // diagnostics go to stderr
    if (!policy) *error = policy_path.empty() ? "the embedded default" : policy_path;
    return policy;
  };

  // One byte past the limit is enough to see that an input is too large.
  const std::string input = ReadStdinBounded(hooks::kMaxHookInputBytes);
  const hooks::HookRun run = hooks::RunHook(input, options);
  WriteAll(STDOUT_FILENO, run.output.stdout_text);
  if (!run.output.stderr_text.empty()) WriteAll(STDERR_FILENO, run.output.stderr_text);
  return run.output.exit_code;
}

}  // namespace toolgate::cli
