// toolgate: per-tool-call policy interception for AI agents.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli_io.h"
#include "commands.h"

namespace {

constexpr const char* kUsage =
    "usage: toolgate <command> [options]\n"
    "\n"
    "commands:\n"
    "  demo                 judge the sample tool calls under the embedded default policy\n"
    "  check                judge one tool call read from stdin\n"
    "  policy lint FILE     report policy errors and warnings\n"
    "  policy suggest LOG...  propose the grants that would have allowed logged denials (for review)\n"
    "  bench                measure in-process decision latency\n"
    "  test [DIR]           run every rule pack's own test cases (DIR defaults to ./rules)\n"
    "  log <command>        review the decision log: verify, query, stats, report, export, keygen, bench\n"
    "  replay --policy NEW LOG...  what would change under a new policy\n"
    "  proxy --agent ID --listen ADDR|--unix PATH  the egress proxy, in the foreground\n"
    "  proxy-bench          measure CONNECT tunnel throughput and added connect latency\n"
    "  hook [--client C]    answer an agent client's tool-call hook (claude, copilot, codex, gemini, cursor)\n"
    "  mcp ... -- SERVER    MCP stdio proxy: judge every tools/call a client sends to SERVER\n"
    "  hook-bench           measure the hook round trip against a static do-nothing hook\n"
    "  install CLIENT       write CLIENT's hook configuration to run toolgate hook (or toolgate-hook)\n"
    "  uninstall CLIENT     remove toolgate's hook entries from CLIENT's configuration\n"
    "  run ... -- CMD       run a command inside the OS sandbox built from a profile\n"
    "  doctor [--json]      report the kernel features the sandbox tiers need\n"
    "  run-bench            measure the sandbox's launch cost against bare exec and bwrap\n"
    "  serve                the decision daemon on a Unix socket (reloads the policy when its files change)\n"
    "  serve-bench          measure the daemon's throughput with concurrent clients\n"
    "  phase set|get        a session's task phase, kept by the daemon\n"
    "  grant [list|revoke]  a session's temporary (time-boxed) grants, kept by the daemon\n"
    "  state-bench          measure tg.state.incr in memory and with a durable journal\n"
    "  version              print the version\n"
    "\n"
    "exit codes of check: 0 allow, 10 ask, 20 deny, 64 usage error, 78 policy failed to load\n";

}  // namespace

int main(int argc, char** argv) {
  // Operational logs (rule failures, audit warnings) go to stderr: stdout
  // carries decisions that hooks and scripts parse.
  spdlog::set_default_logger(spdlog::stderr_color_mt("toolgate"));
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? toolgate::cli::kExitUsage : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "check") return toolgate::cli::RunCheck(args);
    if (command == "policy") return toolgate::cli::RunPolicy(args);
    if (command == "demo") return toolgate::cli::RunDemo(args);
    if (command == "bench") return toolgate::cli::RunBench(args);
    if (command == "log") return toolgate::cli::RunLog(args);
    if (command == "replay") return toolgate::cli::RunReplay(args);
    if (command == "test") return toolgate::cli::RunTest(args);
    if (command == "proxy") return toolgate::cli::RunProxy(args);
    if (command == "proxy-bench") return toolgate::cli::RunProxyBench(args);
    if (command == "hook") return toolgate::cli::RunHook(args);
    if (command == "mcp") return toolgate::cli::RunMcp(args);
    if (command == "install") return toolgate::cli::RunInstall(args);
    if (command == "uninstall") return toolgate::cli::RunUninstall(args);
    if (command == "run") return toolgate::cli::RunRun(args);
    if (command == "doctor") return toolgate::cli::RunDoctor(args);
    if (command == "run-bench") return toolgate::cli::RunRunBench(args);
    if (command == "serve") return toolgate::cli::RunServe(args);
    if (command == "phase") return toolgate::cli::RunPhase(args);
    if (command == "grant") return toolgate::cli::RunGrant(args);
    if (command == "serve-bench") return toolgate::cli::RunServeBench(args);
    if (command == "state-bench") return toolgate::cli::RunStateBench(args);
    if (command == "hook-bench") return toolgate::cli::RunHookBench(args);
    if (command == "version" || command == "--version") {
      std::cout << "toolgate 0.1.0\n";
      return 0;
    }
  } catch (const std::exception& e) {
    // Fail closed: an unexpected failure is never an allow exit code.
    std::cerr << "toolgate " << command << ": internal error: " << e.what() << "\n";
    return toolgate::cli::kExitFailure;
  }
  std::cerr << "toolgate: unknown command '" << command << "'\n" << kUsage;
  return toolgate::cli::kExitUsage;
}
