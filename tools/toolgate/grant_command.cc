// `toolgate grant`: temporary grants of a session, kept by the daemon.
#include <iostream>

#include "cli_io.h"
#include "commands.h"
#include "daemon_request.h"
#include "toolgate/daemon_protocol.h"
#include "toolgate/session.h"

namespace toolgate::cli {
namespace {

constexpr const char* kGrantUsage =
    "usage: toolgate grant --session S --for DURATION [--agent ID] [--socket PATH] GRANT\n"
    "       toolgate grant list --session S [--socket PATH] [--json]\n"
    "       toolgate grant revoke --session S [--socket PATH] ID\n"
    "GRANT: tool:GLOB | fs.read:SCOPE | fs.write:SCOPE | host:PATTERN | exec:ARGV-PATTERN\n"
    "DURATION: 90s, 15m, 2h, 1h30m (at most 24h). The grant widens only what the policy's default\n"
    "would refuse; explicit denies still win. Needs root or the daemon's own user.\n"
    "exit: 0 done, 64 usage or refused, 77 not allowed, 1 daemon unreachable\n";

std::string Join(const nlohmann::json& g) {
  return g.value("id", "") + "  " + g.value("grant", "") + "  agent " +
         (g.value("agent", "").empty() ? std::string("*") : g.value("agent", "")) + "  expires " +
         g.value("expires", "") + "  uses " + std::to_string(g.value("uses", 0));
}

}  // namespace

int RunGrant(const std::vector<std::string>& argv) {
  std::string mode = "add";
  std::vector<std::string> rest = argv;
  if (!rest.empty() && (rest[0] == "list" || rest[0] == "revoke")) {
    mode = rest[0];
    rest.erase(rest.begin());
  }
  Args args(rest, {"--session", "--socket", "--agent", "--for"}, {"--json"});
  if (!args.ok()) {
    std::cerr << "toolgate grant: " << args.error() << "\n" << kGrantUsage;
    return kExitUsage;
  }
  const auto session = args.value("--session");
  const std::size_t want = mode == "list" ? 0 : 1;
  if (!session || session->empty() || args.positional().size() != want) {
    std::cerr << kGrantUsage;
    return kExitUsage;
  }
  nlohmann::json request{{"session", *session}};
  if (mode == "add") {
    const auto for_text = args.value("--for");
    if (!for_text) {
      std::cerr << "toolgate grant: --for DURATION is required\n" << kGrantUsage;
      return kExitUsage;
    }
    const auto duration = ParseDuration(*for_text);
    if (!duration) {
      std::cerr << "toolgate grant: --for '" << *for_text << "' is not a duration (90s, 15m, 2h, 1h30m)\n";
      return kExitUsage;
    }
    request["op"] = "grant";
    request["for_s"] = duration->count();
    request["grant"] = args.positional()[0];
    if (const auto agent = args.value("--agent")) request["agent"] = *agent;
  } else if (mode == "list") {
    request["op"] = "grants";
  } else {
    request["op"] = "revoke";
    request["grant_id"] = args.positional()[0];
  }
  const std::string socket = args.value("--socket").value_or(DefaultSocketPath());
  Result<nlohmann::json> reply = DaemonRequest(socket, std::move(request));
  if (!reply) {
    std::cerr << "toolgate grant: " << reply.error().message << " (" << reply.error().location << ")\n";
    return kExitFailure;
  }
  if (!reply->value("ok", false)) return ReportDaemonError("grant", *reply);
  if (mode == "add") {
    const nlohmann::json& g = (*reply)["grant"];
    if (args.has("--json")) std::cout << g.dump() << "\n";
    else std::cout << Join(g) << "\n";
  } else if (mode == "list") {
    const nlohmann::json& list = (*reply)["grants"];
    if (args.has("--json")) {
      std::cout << list.dump() << "\n";
    } else {
      for (const auto& g : list) std::cout << Join(g) << "\n";
    }
  } else {
    std::cout << "revoked " << reply->value("revoked", "") << "\n";
  }
  return 0;
}

}  // namespace toolgate::cli
