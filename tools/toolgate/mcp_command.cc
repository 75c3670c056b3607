// toolgate mcp: the MCP stdio proxy. An MCP client starts it in place of the
// server; it starts the server and judges every tools/call on the way
// (hooks/mcp/), deciding like `toolgate hook` does.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "cli_io.h"
#include "commands.h"
#include "decision_options.h"
#include "hooks/mcp/mcp_judge.h"
#include "hooks/mcp/mcp_proxy.h"
#include "hooks/mcp/mcp_session.h"

namespace toolgate::cli {
namespace {

constexpr const char* kMcpUsage =
    "usage: toolgate mcp [--server-name NAME] [--max-line-bytes N] [--policy FILE] [--agent ID] [--session ID]\n"
    "                    [--socket PATH] [--no-daemon] [--log FILE|DIR [--log-key KEY]] [--timeout-ms N]\n"
    "                    -- SERVER_CMD [ARGS...]\n"
    "Judges every tools/call as tool mcp__NAME__<tool>; NAME defaults to the command's base name.\n";

constexpr std::size_t kMinLineBytes = 1024;
constexpr std::size_t kMaxLineBytes = std::size_t{256} << 20;

int Usage(const std::string& error) {
  std::cerr << "toolgate mcp: " << error << "\n" << kMcpUsage;
  return kExitUsage;
}

}  // namespace

int RunMcp(const std::vector<std::string>& argv) {
  if (argv.size() == 1 && (argv[0] == "--help" || argv[0] == "-h")) {
    std::cout << kMcpUsage;
    return 0;
  }
  const auto dashdash = std::find(argv.begin(), argv.end(), "--");
  if (dashdash == argv.end() || dashdash + 1 == argv.end()) return Usage("the server command goes after --");
  std::vector<std::string> value_flags = DecisionValueFlags();
  value_flags.insert(value_flags.end(), {"--server-name", "--max-line-bytes"});
  const Args args(std::vector<std::string>(argv.begin(), dashdash), value_flags, DecisionSwitches());
  if (!args.ok()) return Usage(args.error());
  if (!args.positional().empty()) return Usage("unexpected argument '" + args.positional()[0] + "' before --");

  mcp::McpProxyOptions proxy;
  proxy.server_argv.assign(dashdash + 1, argv.end());
  if (const auto m = args.value("--max-line-bytes")) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(m->c_str(), &end, 10);
    if (end == m->c_str() || *end != '\0' || errno != 0 || n < kMinLineBytes || n > kMaxLineBytes) {
      return Usage("--max-line-bytes needs a number of bytes from 1024 to 268435456");
    }
    proxy.max_line_bytes = static_cast<std::size_t>(n);
  }

  mcp::McpSessionOptions session_options;
  session_options.max_line_bytes = proxy.max_line_bytes;
  if (const auto name = args.value("--server-name")) {
    if (!mcp::IsValidServerName(*name)) {
      return Usage("--server-name takes letters, digits, '_' and '-' (at most 64, no \"__\")");
    }
    session_options.server_name = *name;
  } else {
    session_options.server_name = mcp::ServerNameFromCommand(proxy.server_argv[0]);
  }

  hooks::HookOptions decision;
  if (const std::string error = ReadDecisionOptions(args, &decision); !error.empty()) return Usage(error);
  decision.log_transport = "mcp-stdio";
  if (args.value("--log-key") && !args.value("--log")) return Usage("--log-key needs --log");
  session_options.agent_id = decision.agent.value_or("");
  // One proxy run is one MCP session: per-session rule state lasts as long as it.
  session_options.session_id =
      decision.session.value_or("mcp-" + session_options.server_name + "-" + std::to_string(::getpid()) + "-" +
                                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count()));
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) != nullptr) session_options.cwd = cwd;

  mcp::HookJudge judge(std::move(decision));
  // A policy named on the command line, or in-process judging, must load
  // before the server starts: a proxy that could only deny is a setup error.
  if (args.value("--policy") || args.has("--no-daemon")) {
    std::string why;
    if (!judge.Preload(&why)) {
      std::cerr << "toolgate mcp: the policy failed to load (" << why << "); not starting the server\n";
      return kExitPolicy;
    }
  }
  mcp::McpSession session(std::move(session_options), &judge);
  return mcp::RunMcpProxy(proxy, &session);
}

}  // namespace toolgate::cli
