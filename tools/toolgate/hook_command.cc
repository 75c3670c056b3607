// toolgate hook: the command an agent client runs before (and after) each tool
// call. Reads the client's hook JSON on stdin, judges it (through the daemon
// when one is running, else in-process) and answers in the client's dialect.
#include <iostream>
#include <unistd.h>

#include "cli_io.h"
#include "commands.h"
#include "decision_options.h"
#include "hooks/adapter.h"
#include "hooks/hook_runner.h"
#include "util/fd_io.h"

namespace toolgate::cli {
namespace {

constexpr const char* kHookUsage =
    "usage: toolgate hook [--client claude|copilot|codex|gemini|cursor] [--policy FILE] [--agent ID]\n"
    "                     [--session ID] [--socket PATH] [--no-daemon] [--log FILE|DIR [--log-key KEY]]\n"
    "                     [--state DIR] [--timeout-ms N] [--mode enforce|learn] < input.json\n"
    "  --mode learn: judge in-process and allow what the policy would deny or ask, recording the\n"
    "                policy's verdict with \"mode\":\"learn\" (never the default)\n"
    "  --state DIR: the persistent tg.state store for in-process decisions (the daemon keeps its own)\n"
    "  --daemon-failure TEXT: the daemon was asked and failed (TEXT says how): the call is denied in the\n"
    "                client's form, judged by nobody (how toolgate-hook fails closed)\n";

}  // namespace

int RunHook(const std::vector<std::string>& argv) {
  if (argv.size() == 1 && (argv[0] == "--help" || argv[0] == "-h")) {
    std::cout << kHookUsage;
    return 0;
  }
  std::vector<std::string> value_flags = DecisionValueFlags();
  value_flags.push_back("--client");
  value_flags.push_back("--daemon-failure");
  Args args(argv, value_flags, DecisionSwitches());
  hooks::HookOptions options;
  std::string usage_error;
  if (!args.ok() || !args.positional().empty()) {
    usage_error = args.ok() ? "unexpected argument " + args.positional()[0] : args.error();
  }
  if (const auto c = args.value("--client"); c && usage_error.empty()) {
    options.client = ClientFromName(*c);
    if (hooks::AdapterFor(options.client) == nullptr) usage_error = "unknown client '" + *c + "'";
  }
  if (usage_error.empty()) usage_error = ReadDecisionOptions(args, &options);
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

  if (options.learn_mode) {
    std::cerr << "toolgate hook: LEARNING MODE: calls the policy would deny or ask are allowed (and logged as such)\n";
  }

  // One byte past the limit is enough to see that an input is too large.
  const std::string input = ReadStdinBounded(hooks::kMaxHookInputBytes);
  if (const auto failure = args.value("--daemon-failure")) {
    // toolgate-hook asked the daemon and it failed: the deny it would have
    // printed itself, in the form this input's client honors.
    const hooks::ReadHook read = hooks::ReadHookInput(input, options);
    const hooks::HookOutput out =
        read.adapter == nullptr
            ? read.failed.output
            : read.adapter->Render(read.parsed.context,
                                   hooks::DenyAnswer("toolgate could not judge this call, so it is blocked: " + *failure));
    WriteAll(STDOUT_FILENO, out.stdout_text);
    if (!out.stderr_text.empty()) WriteAll(STDERR_FILENO, out.stderr_text);
    return out.exit_code;
  }
  const hooks::HookRun run = hooks::RunHook(input, options);
  WriteAll(STDOUT_FILENO, run.output.stdout_text);
  if (!run.output.stderr_text.empty()) WriteAll(STDERR_FILENO, run.output.stderr_text);
  return run.output.exit_code;
}

}  // namespace toolgate::cli
