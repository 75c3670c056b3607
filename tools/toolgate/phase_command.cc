// `toolgate phase set|get`: the task phase of a session, kept by the daemon.
#include <iostream>

#include "cli_io.h"
#include "commands.h"
#include "daemon_request.h"
#include "toolgate/daemon_protocol.h"

namespace toolgate::cli {
namespace {

constexpr const char* kPhaseUsage =
    "usage: toolgate phase set --session S [--agent ID] [--socket PATH] PHASE   (\"\" clears the phase)\n"
    "       toolgate phase get --session S [--socket PATH]\n"
    "Sets or shows the task phase the daemon judges session S's calls in. Setting needs root or the\n"
    "daemon's own user. --agent checks PHASE against that agent's profile.\n"
    "exit: 0 done, 64 usage or refused (unknown phase), 77 not allowed, 1 daemon unreachable\n";

}  // namespace

int RunPhase(const std::vector<std::string>& argv) {
  if (argv.empty() || (argv[0] != "set" && argv[0] != "get")) {
    std::cerr << kPhaseUsage;
    return kExitUsage;
  }
  const bool set = argv[0] == "set";
  Args args({argv.begin() + 1, argv.end()}, {"--session", "--socket", "--agent"}, {});
  if (!args.ok()) {
    std::cerr << "toolgate phase: " << args.error() << "\n" << kPhaseUsage;
    return kExitUsage;
  }
  const auto session = args.value("--session");
  if (!session || session->empty() || args.positional().size() != (set ? 1u : 0u)) {
    std::cerr << kPhaseUsage;
    return kExitUsage;
  }
  nlohmann::json request{{"op", set ? "phase_set" : "phase_get"}, {"session", *session}};
  if (set) request["phase"] = args.positional()[0];
  if (const auto agent = args.value("--agent")) request["agent"] = *agent;
  const std::string socket = args.value("--socket").value_or(DefaultSocketPath());
  Result<nlohmann::json> reply = DaemonRequest(socket, std::move(request));
  if (!reply) {
    std::cerr << "toolgate phase: " << reply.error().message << " (" << reply.error().location << ")\n";
    return kExitFailure;
  }
  if (!reply->value("ok", false)) return ReportDaemonError("phase", *reply);
  const std::string phase = reply->value("phase", "");
  if (set) {
    std::cout << "session " << *session << ": phase " << (phase.empty() ? "(none)" : phase) << " (was "
              << (reply->value("previous_phase", "").empty() ? "(none)" : reply->value("previous_phase", "")) << ")\n";
  } else {
    std::cout << phase << "\n";
  }
  return 0;
}

}  // namespace toolgate::cli
