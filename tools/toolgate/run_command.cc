// toolgate run: runs one command inside the OS sandbox derived from a
// profile's grants (engine/sandbox/). toolgate doctor: what this host supports.
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "grants/compiled_profile.h"
#include "sandbox/doctor.h"
#include "sandbox/launcher.h"
#include "toolgate/audit.h"

extern char** environ;

namespace toolgate::cli {

namespace {

constexpr int kExitSandbox = 71;  // the sandbox could not be built; the command did not run

// The command shares the caller's terminal, and may change its mode (raw, no
// echo) and then be killed by the timeout or a limit before it can put it
// back. The mode the terminal had is restored when the run ends.
class TerminalModeGuard {
 public:
  TerminalModeGuard() {
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
      if (::isatty(fd) == 1 && ::tcgetattr(fd, &saved_) == 0) {
        fd_ = fd;
        return;
      }
    }
  }
  ~TerminalModeGuard() {
    termios now{};
    if (fd_ < 0 || ::tcgetattr(fd_, &now) != 0) return;
    if (now.c_iflag == saved_.c_iflag && now.c_oflag == saved_.c_oflag && now.c_cflag == saved_.c_cflag &&
        now.c_lflag == saved_.c_lflag && std::equal(std::begin(now.c_cc), std::end(now.c_cc), std::begin(saved_.c_cc))) {
      return;
    }
    // From a background process group tcsetattr would stop this process
    // with SIGTTOU; with the signal blocked it goes ahead.
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    pthread_sigmask(SIG_BLOCK, &ttou, &old);
    ::tcsetattr(fd_, TCSANOW, &saved_);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  TerminalModeGuard(const TerminalModeGuard&) = delete;
  TerminalModeGuard& operator=(const TerminalModeGuard&) = delete;

 private:
  int fd_ = -1;
  termios saved_{};
};

constexpr const char* kRunUsage =
    "usage: toolgate run [--policy FILE] (--agent ID | --profile NAME) [--tier process|namespace|auto]\n"
    "                    [--timeout S] [--cwd DIR] [--session ID] [--phase P] [--log FILE|DIR [--log-key KEY]]\n"
    "                    [--verbose] -- CMD [ARGS...]\n";

}  // namespace

int RunRun(const std::vector<std::string>& argv) {
  const auto dashdash = std::find(argv.begin(), argv.end(), "--");
  if (dashdash == argv.end() || dashdash + 1 == argv.end()) {
    std::cerr << "toolgate run: the command goes after --\n" << kRunUsage;
    return kExitUsage;
  }
  std::vector<std::string> options(argv.begin(), dashdash);
  const std::vector<std::string> command(dashdash + 1, argv.end());
  Args args(options, {"--policy", "--agent", "--profile", "--tier", "--timeout", "--cwd", "--session", "--log", "--log-key", "--phase"}, {"--verbose"});
  if (!args.ok() || !args.positional().empty()) {
    std::cerr << "toolgate run: " << (args.ok() ? "unexpected argument '" + args.positional()[0] + "'" : args.error())
              << "\n" << kRunUsage;
    return kExitUsage;
  }
  const auto agent = args.value("--agent");
  const auto profile_flag = args.value("--profile");
  if (agent.has_value() == profile_flag.has_value()) {
    std::cerr << "toolgate run: give exactly one of --agent or --profile\n" << kRunUsage;
    return kExitUsage;
  }
  sandbox::LaunchOptions launch;
  SandboxTier requested = SandboxTier::kAuto;
  if (const auto t = args.value("--tier")) {
    if (*t == "process") requested = SandboxTier::kProcess;
    else if (*t == "namespace") requested = SandboxTier::kNamespace;
    else if (*t != "auto") {
      std::cerr << "toolgate run: --tier must be process, namespace or auto\n";
      return kExitUsage;
    }
  }
  if (const auto t = args.value("--timeout")) {
    try {
      std::size_t used = 0;
      launch.timeout_s = std::stoll(*t, &used);
      if (used != t->size() || launch.timeout_s < 1 || launch.timeout_s > 86400) throw std::out_of_range("");
    } catch (const std::exception&) {
      std::cerr << "toolgate run: --timeout must be whole seconds from 1 to 86400\n";
      return kExitUsage;
    }
  }
  std::string cwd;
  if (const auto c = args.value("--cwd")) {
    cwd = *c;
  } else {
    char buf[4096];
    if (::getcwd(buf, sizeof buf) == nullptr) {
      std::cerr << "toolgate run: cannot read the working directory\n";
      return kExitSandbox;
    }
    cwd = buf;
  }
  if (cwd.empty() || cwd[0] != '/') {
    std::cerr << "toolgate run: --cwd must be absolute\n";
    return kExitUsage;
  }

  auto policy = LoadPolicyOrDefault(args.value("--policy").value_or(""));
  if (!policy) return kExitPolicy;
  std::string profile_name;
  const CompiledProfile* profile = nullptr;
  if (agent) {
    profile = policy->ProfileFor(*agent, &profile_name);
    if (profile == nullptr) {
      std::cerr << "toolgate run: agent '" << *agent << "' has no profile in " << policy->source()
                << " (and there is no default_profile)\n";
      return kExitPolicy;
    }
  } else {
    profile_name = *profile_flag;
    profile = policy->ProfileNamed(profile_name);
    if (profile == nullptr) {
      std::cerr << "toolgate run: no profile '" << profile_name << "' in " << policy->source() << "\n";
      return kExitPolicy;
    }
  }
  // --phase: the sandbox of that task phase (its fs grants) and only the
  // credentials scoped to it. Fixed for the life of this sandbox.
  const std::string phase = args.value("--phase").value_or("");
  if (!phase.empty()) {
    profile = policy->ProfileInPhase(profile_name, phase);
    if (profile == nullptr) {
      std::cerr << "toolgate run: profile '" << profile_name << "' has no phase '" << phase << "'\n";
      return kExitPolicy;
    }
  }
  const SandboxProfile* sb = policy->SandboxFor(profile_name, phase);
  if (sb == nullptr) {
    std::cerr << "toolgate run: profile '" << profile_name << "' has no sandbox settings\n";
    return kExitPolicy;
  }
  // The host is not probed for user namespaces (that probe forks a child
  // that makes every namespace, a few ms): the launch makes them anyway. The
  // namespace tier is assumed to work where the process tier does; if the
  // kernel then refuses the namespaces (nothing ran), `auto` uses the process
  // tier, as the probe would have chosen, and a required namespace tier is
  // refused, naming the kernel's error.
  sandbox::ProbeOptions probe;
  probe.unprivileged = false;
  probe.cgroups = false;
  probe.user_namespaces = false;
  sandbox::HostSupport host = sandbox::ProbeHost(probe);
  if (host.process_tier) {
    host.namespace_tier = true;
    host.namespace_missing.clear();
  }
  Result<SandboxTier> tier = sandbox::ChooseTier(sb->tier, requested, host);
  if (!tier.ok()) {
    std::cerr << "toolgate run: refusing to run: " << tier.error().message << " (see `toolgate doctor`)\n";
    return kExitSandbox;
  }
  const bool may_fall_back = requested == SandboxTier::kAuto && sb->tier == SandboxTier::kAuto;
  launch.tier = *tier;
  launch.sandbox = sb;
  launch.profile = profile;
  launch.profile_name = profile_name;
  launch.agent_id = agent.value_or("");
  launch.cwd = cwd;
  launch.argv = command;
  launch.environ = environ;
  launch.verbose = args.has("--verbose");
  launch.session_id = args.value("--session").value_or("");
  launch.phase = phase;
  launch.policy_digest = policy->digest();
  // The egress proxy's connection decisions go to the decision log.
  std::unique_ptr<AuditLog> log;
  if (const int rc = OpenEgressLog(args, "run", kRunUsage, &log); rc != 0) return rc;
  launch.log = log.get();
  if (launch.verbose) {
    std::cerr << "toolgate run: profile " << profile_name << ", tier " << SandboxTierName(*tier) << "\n";
  }
  bool namespaces_refused = false;
  launch.namespaces_refused = &namespaces_refused;
  Result<int> rc = [&launch] {
    const TerminalModeGuard terminal;
    return sandbox::RunSandboxed(launch);
  }();
  if (!rc.ok() && namespaces_refused) {
    if (!may_fall_back) {
      std::cerr << "toolgate run: refusing to run: the namespace tier is required but this host cannot make user "
                   "namespaces: "
                << rc.error().message << " (see `toolgate doctor`)\n";
      return kExitSandbox;
    }
    if (launch.verbose) {
      std::cerr << "toolgate run: no user namespaces here (" << rc.error().message << "); tier process\n";
    }
    launch.tier = SandboxTier::kProcess;
    launch.namespaces_refused = nullptr;
    rc = [&launch] {
      const TerminalModeGuard terminal;
      return sandbox::RunSandboxed(launch);
    }();
  }
  if (!rc.ok()) {
    std::cerr << "toolgate run: " << rc.error().message << "\n";
    return kExitSandbox;
  }
  return *rc;
}

int RunDoctor(const std::vector<std::string>& argv) {
  Args args(argv, {}, {"--json"});
  if (!args.ok() || !args.positional().empty()) {
    std::cerr << "usage: toolgate doctor [--json]\n";
    return kExitUsage;
  }
  const sandbox::HostSupport host = sandbox::ProbeHost();
  if (args.has("--json")) {
    std::cout << sandbox::HostSupportJson(host) << "\n";
  } else {
    std::cout << sandbox::HostSupportText(host);
    std::cout << "egress proxy built in:     " << (sandbox::EgressProxyAvailable() ? "yes" : "no") << "\n";
  }
  return host.process_tier ? 0 : 1;
}

}  // namespace toolgate::cli
