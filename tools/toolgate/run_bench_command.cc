// toolgate run-bench: the sandbox's launch cost, measured in one run on this
// host: bare fork+exec of /bin/true, bubblewrap (--unshare-all), and both
// toolgate tiers, in-process (RunSandboxed in a loop: the sandbox alone) and
// through the CLI (fork+exec of `toolgate run`: adds process start-up and
// policy loading). The rows run interleaved, one launch of each per round, so
// a change in the machine's load hits every row alike and the ratios hold up
// on a shared machine. Prints medians and ratios. Not a test: nothing is asserted.
#include <fcntl.h>
#include <sys/prctl.h>
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

struct Subject {
  std::string name;
  std::function<bool()> once;
};

// Round-robin: each round launches every subject once; a subject that fails stops being run.
std::vector<Row> MeasureInterleaved(const std::vector<Subject>& subjects, int iterations) {
  std::vector<Row> rows(subjects.size());
  std::vector<std::vector<double>> us(subjects.size());
  for (std::size_t s = 0; s < subjects.size(); ++s) {
    rows[s].name = subjects[s].name;
    for (int i = 0; i < 3; ++i) rows[s].ok = subjects[s].once() && rows[s].ok;  // warm-up (page cache, dentries)
  }
  for (int i = 0; i < iterations; ++i) {
    for (std::size_t s = 0; s < subjects.size(); ++s) {
      if (!rows[s].ok) continue;
      const auto t0 = Clock::now();
      rows[s].ok = subjects[s].once();
      us[s].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  }
  for (std::size_t s = 0; s < subjects.size(); ++s) {
    if (us[s].empty()) continue;
    std::sort(us[s].begin(), us[s].end());
    rows[s].median_us = us[s][us[s].size() / 2];
    rows[s].p90_us = us[s][us[s].size() * 9 / 10];
  }
  return rows;
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
      // A process-tier launch makes this process a subreaper (it stays one);
      // between launches nothing of a sandbox is alive, so it is cleared:
      // otherwise what bwrap orphans would be ours to reap, and each next
      // launch would find it and sweep for leftovers.
      ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
      return rc.ok() && *rc == 0;
    };
  };
  sandbox::ProbeOptions probe;
  probe.unprivileged = false;
  const sandbox::HostSupport host = sandbox::ProbeHost(probe);
  const bool have_bwrap = ::access("/usr/bin/bwrap", X_OK) == 0;

  std::vector<Subject> subjects;
  subjects.push_back({"bare fork+exec /bin/true", [] { return Spawn({"/bin/true"}); }});
  if (have_bwrap) {
    subjects.push_back({"bwrap --unshare-all --ro-bind / / /bin/true", [] {
                          return Spawn({"/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "/bin/true"});
                        }});
  }
  if (host.process_tier) subjects.push_back({"toolgate process tier (in-process)", in_process(SandboxTier::kProcess)});
  if (host.namespace_tier) {
    subjects.push_back({"toolgate namespace tier (in-process)", in_process(SandboxTier::kNamespace)});
  }
  subjects.push_back({"toolgate version (CLI start-up only)", [&] { return Spawn({toolgate, "version"}); }});
  if (host.process_tier) {
    subjects.push_back({"toolgate run --tier process (CLI)", [&] {
                          return Spawn({toolgate, "run", "--profile", "readonly", "--tier", "process", "--cwd", cwd, "--",
                                        "/bin/true"});
                        }});
  }
  if (host.namespace_tier) {
    subjects.push_back({"toolgate run --tier namespace (CLI)", [&] {
                          return Spawn({toolgate, "run", "--profile", "readonly", "--tier", "namespace", "--cwd", cwd,
                                        "--", "/bin/true"});
                        }});
  }
  const std::vector<Row> rows = MeasureInterleaved(subjects, iterations);
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
  std::printf("iterations: %d each, interleaved; targets: process tier <= 1.3x bare, namespace tier <= 0.7x bwrap\n",
              iterations);
  return 0;
}

}  // namespace toolgate::cli
