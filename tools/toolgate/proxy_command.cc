// toolgate proxy: the egress proxy in the foreground, for one agent's
// profile, until SIGTERM or SIGINT. `toolgate run` starts the same proxy
// in-process; this command serves tests, benchmarks and hand-run sandboxes.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <charconv>
#include <iostream>

#include "cli_io.h"
#include "commands.h"
#include "sandbox/egress_proxy.h"
#include "toolgate/audit.h"

namespace toolgate::cli {
namespace {

constexpr const char* kUsage =
    "usage: toolgate proxy [--policy FILE] --agent ID [--listen 127.0.0.1:PORT] [--unix PATH]\n"
    "                      [--session ID] [--log FILE|DIR [--log-key KEY]] [--max-connections N]\n"
    "                      [--connect-timeout-ms N] [--idle-timeout-ms N]\n";

bool ParseCount(const std::optional<std::string>& text, std::size_t* out, std::size_t max) {
  if (!text) return true;
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size() || v == 0 || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

int RunProxy(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--policy", "--agent", "--listen", "--unix", "--session", "--log", "--log-key", "--max-connections",
             "--connect-timeout-ms", "--idle-timeout-ms"},
            {});
  if (!args.ok() || !args.positional().empty() || !args.value("--agent") ||
      (!args.value("--listen") && !args.value("--unix"))) {
    std::cerr << "toolgate proxy: "
              << (!args.ok()                                      ? args.error()
                  : !args.positional().empty()                   ? "unexpected argument"
                  : !args.value("--agent")                        ? "--agent is required"
                                                                  : "give --listen, --unix or both")
              << "\n"
              << kUsage;
    return kExitUsage;
  }
  sandbox::EgressProxyOptions o;
  std::size_t connect_ms = 5000, idle_ms = 300000;
  if (!ParseCount(args.value("--max-connections"), &o.max_connections, 65536) ||
      !ParseCount(args.value("--connect-timeout-ms"), &connect_ms, 600000) ||
      !ParseCount(args.value("--idle-timeout-ms"), &idle_ms, 86400000)) {
    std::cerr << "toolgate proxy: --max-connections and the timeouts take a positive number\n" << kUsage;
    return kExitUsage;
  }
  o.connect_timeout = std::chrono::milliseconds(connect_ms);
  o.idle_timeout = std::chrono::milliseconds(idle_ms);

  auto policy = LoadPolicyOrDefault(args.value("--policy").value_or(""));
  if (!policy) return kExitPolicy;
  o.agent_id = *args.value("--agent");
  std::string profile_name;
  o.profile = policy->ProfileFor(o.agent_id, &profile_name);
  if (o.profile == nullptr) {
    std::cerr << "toolgate proxy: agent '" << o.agent_id
              << "' has no profile in this policy and there is no default_profile; refusing to start\n";
    return kExitPolicy;
  }
  o.session_id = args.value("--session").value_or("");
  o.policy_digest = policy->digest();
  o.tcp_listen = args.value("--listen").value_or("");
  o.unix_socket_path = args.value("--unix").value_or("");

  std::unique_ptr<AuditLog> log;
  if (const int rc = OpenEgressLog(args, "proxy", kUsage, &log); rc != 0) return rc;
  o.log = log.get();

  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and only sigwait below ever sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto proxy = sandbox::EgressProxy::Start(std::move(o));
  if (!proxy) {
    std::cerr << "toolgate proxy: " << proxy.error().message
              << (proxy.error().location.empty() ? "" : " (" + proxy.error().location + ")") << "\n";
    return kExitFailure;
  }
  if (!(*proxy)->tcp_address().empty()) std::cout << "listening tcp " << (*proxy)->tcp_address() << "\n";
  if (!(*proxy)->unix_socket_path().empty()) std::cout << "listening unix " << (*proxy)->unix_socket_path() << "\n";
  std::cout << "agent " << args.value("--agent").value() << " profile " << profile_name << "\n" << std::flush;

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  (*proxy)->Stop();
  if (log) {
    if (auto e = log->Close()) {
      std::cerr << "toolgate proxy: closing the decision log: " << e->message << "\n";
      return kExitFailure;
    }
  }
  std::cerr << "toolgate proxy: stopped (" << strsignal(signal_number) << ")\n";
  return 0;
}

}  // namespace toolgate::cli
