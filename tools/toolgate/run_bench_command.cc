// toolgate run-bench: the sandbox's launch cost, measured in one run on this
// host: bare fork+exec of /bin/true, bubblewrap (--unshare-all), and both
// toolgate tiers, in-process (RunSandboxed in a loop: the sandbox alone) and
// through the CLI (fork+exec of `toolgate run`: adds process start-up and
// policy loading). Prints medians and ratios. Not a test: nothing is asserted.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "sandbox/doctor.h"
#include "sandbox/launcher.h"

extern char** environ;

namespace toolgate::cli {

namespace {

using Clock = std::chrono::steady_clock;

// fork + execv + wait, stdout/stderr to /dev/null. Returns false when the program failed.
bool Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct Row {
  std::string name;
  double median_us = 0, p90_us = 0;
  bool ok = true;
};

Row Measure(const std::string& name, int iterations, const std::function<bool()>& once) {
  Row row;
  row.name = name;
  std::vector<double> us;
  for (int i = 0; i < 3; ++i) row.ok = once() && row.ok;  // warm-up (page cache, ccache of the kernel's dentries)
  for (int i = 0; i < iterations && row.ok; ++i) {
    const auto t0 = Clock::now();
    row.ok = once();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  if (us.empty()) return row;
  std::sort(us.begin(), us.end());
  row.median_us = us[us.size() / 2];
  row.p90_us = us[us.size() * 9 / 10];
  return row;
}

}  // namespace

int RunRunBench(const std::vector<std::string>& argv) {
  Args args(argv, {"--iterations"}, {});
  if (!args.ok() || !args.positional().empty()) {
    std::cerr << "usage: toolgate run-bench [--iterations N]\n";
    return kExitUsage;
  }
  int iterations = 200;
  if (const auto n = args.value("--iterations")) {
    try {
      iterations = std::stoi(*n);
    } catch (const std::exception&) {
      iterations = 0;
    }
    if (iterations < 1 || iterations > 100000) {
      std::cerr << "toolgate run-bench: --iterations must be 1..100000\n";
      return kExitUsage;
    }
  }
  const std::string toolgate = SelfExePath();
  if (toolgate.empty()) return kExitFailure;
  const std::string cwd = "/tmp";

  // The profile measured: what the embedded default's base profile grants.
  SandboxProfile sb;
  sb.fs_read = {"/usr/**", "/etc/**", "/opt/**", "/dev/null", "/dev/zero", "/dev/urandom"};
  sb.fs_write = {"${cwd}/**"};
  sb.fs_deny = {"/etc/shadow*", "/etc/sudoers"};
  const auto in_process = [&](SandboxTier tier) {
    return [&, tier]() {
      sandbox::LaunchOptions o;
      o.tier = tier;
      o.sandbox = &sb;
      o.cwd = cwd;
      o.argv = {"/bin/true"};
      o.environ = environ;
      Result<int> rc = sandbox::RunSandboxed(o);
      return rc.ok() && *rc == 0;
    };
  };
  sandbox::ProbeOptions probe;
  probe.unprivileged = false;
  const sandbox::HostSupport host = sandbox::ProbeHost(probe);
  const bool have_bwrap = ::access("/usr/bin/bwrap", X_OK) == 0;

  std::vector<Row> rows;
  rows.push_back(Measure("bare fork+exec /bin/true", iterations, [] { return Spawn({"/bin/true"}); }));
  if (have_bwrap) {
    rows.push_back(Measure("bwrap --unshare-all --ro-bind / / /bin/true", iterations, [] {
      return Spawn({"/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "/bin/true"});
    }));
  }
  if (host.process_tier) rows.push_back(Measure("toolgate process tier (in-process)", iterations, in_process(SandboxTier::kProcess)));
  if (host.namespace_tier) {
    rows.push_back(Measure("toolgate namespace tier (in-process)", iterations, in_process(SandboxTier::kNamespace)));
  }
  rows.push_back(Measure("toolgate version (CLI start-up only)", iterations, [&] { return Spawn({toolgate, "version"}); }));
  if (host.process_tier) {
    rows.push_back(Measure("toolgate run --tier process (CLI)", iterations, [&] {
      return Spawn({toolgate, "run", "--profile", "readonly", "--tier", "process", "--cwd", cwd, "--", "/bin/true"});
    }));
  }
  if (host.namespace_tier) {
    rows.push_back(Measure("toolgate run --tier namespace (CLI)", iterations, [&] {
      return Spawn({toolgate, "run", "--profile", "readonly", "--tier", "namespace", "--cwd", cwd, "--", "/bin/true"});
    }));
  }
  const double bare = rows[0].median_us;
  const double bwrap = have_bwrap ? rows[1].median_us : 0;
  std::printf("%-46s %10s %10s %9s %9s\n", "launch of /bin/true", "median us", "p90 us", "x bare", "x bwrap");
  for (const Row& r : rows) {
    if (!r.ok) {
      std::printf("%-46s failed\n", r.name.c_str());
      continue;
    }
    std::printf("%-46s %10.0f %10.0f %9.2f %9s\n", r.name.c_str(), r.median_us, r.p90_us, r.median_us / bare,
                bwrap > 0 ? std::to_string(r.median_us / bwrap).substr(0, 4).c_str() : "-");
  }
  std::printf("iterations: %d each; targets: process tier <= 1.3x bare, namespace tier <= 0.7x bwrap\n", iterations);
  return 0;
}

}  // namespace toolgate::cli
