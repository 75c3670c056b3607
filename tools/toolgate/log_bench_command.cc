// toolgate log bench: decision-log throughput on this machine. A benchmark,
// not a test: it prints figures and asserts nothing.
//   0. Raw baseline: one thread, write(2) + fdatasync per record (measured
//      first; every other figure is also printed as a ratio to it).
//   1. Append with group commit, every verdict durable before Append returns.
//   2. Append with the default durability (deny/ask durable, allow within 100 ms).
//   3. Append with group commit for every verdict: each record durable within
//      100 ms, none waits for its own sync (sync_verdicts empty).
//   4. Append without waiting for fdatasync (this builds the verify log).
//   5. VerifyLog over a log of --verify-records records.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "log_cli.h"
#include "toolgate/audit.h"
#include "util/fd_io.h"

namespace toolgate::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time (user + system) this process has used so far, in seconds: on a
// shared machine records/s depends on the CPU the bench gets, CPU per record
// much less.
double CpuSeconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

const GrantInfo& BenchGrant() {
  static const GrantInfo g{"developer.fs.deny[2]", "developer", "/etc/toolgate/policy.json",
                           "/profiles/developer/fs/deny/2", "~/.ssh/**", Verdict::kDeny};
  return g;
}

// A realistic record: a shell call with a path and a host, about 1.2 KB logged.
ToolCall BenchCall(int thread, std::uint64_t i) {
  ToolCall c;
  c.agent_id = "claude-dev-" + std::to_string(thread % 4);
  c.session_id = "3f1c2a9e-5b7d-4c1e-9a2f-" + std::to_string(100000 + thread);
  c.client = Client::kClaude;
  c.hook_event = "PreToolUse";
  c.tool_name = "Bash";
  c.tool_input = nlohmann::json{{"command", "cd /home/dev/project && git diff --stat HEAD~" + std::to_string(i % 50) +
                                                " && curl -s https://api.github.com/repos/acme/app/pulls | head"},
                                {"description", "Show recent changes and open pull requests"}};
  c.cwd = "/home/dev/project";
  c.call_id = "toolu_01" + std::to_string(i);
  c.timestamp_ms = 1750000000000 + static_cast<std::int64_t>(i);
  return c;
}

Decision BenchDecision(Verdict v) {
  Decision d;
  d.verdict = v;
  d.agent_id = "claude-dev-0";
  d.profile = "developer";
  d.policy_digest = "sha256:9b1f0c7e5d2a4b6c8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d";
  d.latency = std::chrono::nanoseconds(18500);
  d.effects.execs.push_back(ExecEffect{"git", "", {"git", "diff", "--stat", "HEAD~3"}, "command"});
  d.effects.execs.push_back(ExecEffect{"curl", "", {"curl", "-s", "https://api.github.com/repos/acme/app/pulls"}, "command"});
  d.effects.hosts.push_back(HostEffect{"api.github.com", 443, "https", "https://api.github.com/repos/acme/app/pulls", "curl"});
  Finding exec;
  exec.verdict = v;
  exec.subject = Subject::kExec;
  exec.target = "git diff --stat HEAD~3";
  exec.grant = v == Verdict::kAllow ? nullptr : &BenchGrant();
  d.findings.push_back(exec);
  Finding host;
  host.verdict = Verdict::kAllow;
  host.subject = Subject::kHost;
  host.target = "api.github.com:443";
  d.findings.push_back(host);
  return d;
}

struct AppendRun {
  double seconds = 0;
  std::uint64_t records = 0;
  std::uint64_t failures = 0;
  double p50_us = 0, p99_us = 0, mean_us = 0;  // Append latency; 0 = not measured
  double cpu_seconds = 0;                       // the whole process's, calls built by the bench included
};

AppendRun RunAppends(const AuditLogOptions& options, int threads, std::uint64_t records, bool mixed_verdicts) {
  AppendRun run;
  auto log = AuditLog::Open(options);
  if (!log) {
    std::fprintf(stderr, "bench: cannot open %s: %s\n", options.path.c_str(), log.error().message.c_str());
    return run;
  }
  std::vector<std::thread> pool;
  std::vector<std::uint64_t> failures(static_cast<std::size_t>(threads), 0);
  std::vector<std::vector<float>> latency_us(static_cast<std::size_t>(threads));
  const std::uint64_t per = records / static_cast<std::uint64_t>(threads);
  const Decision allow = BenchDecision(Verdict::kAllow), deny = BenchDecision(Verdict::kDeny),
                 ask = BenchDecision(Verdict::kAsk);
  const Clock::time_point t0 = Clock::now();
  const double cpu0 = CpuSeconds();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const PeerInfo peer = PeerInfo::CurrentProcess("bench");
      std::vector<float>& lat = latency_us[static_cast<std::size_t>(t)];
      lat.reserve(per);
      for (std::uint64_t i = 0; i < per; ++i) {
        // 85% allow, 10% deny, 5% ask: a busy agent fleet.
        const std::uint64_t k = i % 20;
        const Decision& d = !mixed_verdicts ? allow : k < 2 ? deny : k == 2 ? ask : allow;
        const ToolCall call = BenchCall(t, i);
        const Clock::time_point a = Clock::now();
        if (!(*log)->Append(call, d, peer).ok()) ++failures[static_cast<std::size_t>(t)];
        lat.push_back(static_cast<float>(std::chrono::duration<double, std::micro>(Clock::now() - a).count()));
      }
    });
  }
  for (auto& th : pool) th.join();
  (void)(*log)->Close();
  run.seconds = Seconds(Clock::now() - t0);
  run.cpu_seconds = CpuSeconds() - cpu0;
  run.records = per * static_cast<std::uint64_t>(threads);
  for (auto f : failures) run.failures += f;
  std::vector<float> all;
  for (auto& l : latency_us) all.insert(all.end(), l.begin(), l.end());
  if (!all.empty()) {
    double sum = 0;
    for (float v : all) sum += v;
    run.mean_us = sum / static_cast<double>(all.size());
    std::sort(all.begin(), all.end());
    run.p50_us = all[all.size() / 2];
    run.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return run;
}

double Rate(const AppendRun& r) { return r.seconds > 0 ? static_cast<double>(r.records) / r.seconds : 0.0; }

// baseline: records/s of the raw write + fdatasync loop (0 = this is it).
void Print(const char* what, const AppendRun& r, double baseline) {
  char ratio[32] = "  (baseline)";
  if (baseline > 0) std::snprintf(ratio, sizeof ratio, " %8.1fx baseline", Rate(r) / baseline);
  std::printf("%-58s %9llu records %7.2f s %10.0f records/s%s%s\n", what, static_cast<unsigned long long>(r.records),
              r.seconds, Rate(r), ratio, r.failures ? "  (FAILURES)" : "");
  if (r.mean_us > 0) {
    std::printf("  Append latency: mean %.0f us, p50 %.0f us, p99 %.0f us; CPU %.1f us/record\n", r.mean_us, r.p50_us,
                r.p99_us, r.records > 0 ? r.cpu_seconds * 1e6 / static_cast<double>(r.records) : 0.0);
  }
  std::fflush(stdout);
}

}  // namespace

int RunLogBench(const std::vector<std::string>& argv) {
  Args args(argv, {"--records", "--threads", "--dir", "--verify-records", "--raw-records"}, {});
  if (!args.ok() || !args.positional().empty()) {
    std::fprintf(stderr, "usage: toolgate log bench [--records N] [--threads N] [--raw-records N] [--verify-records N] [--dir DIR]\n");
    return kExitUsage;
  }
  const auto num = [&](const char* flag, std::uint64_t def) {
    auto v = args.value(flag);
    return v ? std::strtoull(v->c_str(), nullptr, 10) : def;
  };
  const std::uint64_t records = num("--records", 200000);
  const int threads = static_cast<int>(std::max<std::uint64_t>(1, num("--threads", 16)));
  const std::uint64_t raw_records = num("--raw-records", 2000);
  const std::uint64_t verify_records = num("--verify-records", 1000000);
  std::string dir;
  if (auto d = args.value("--dir")) {
    dir = *d;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    for (const char* f : {"durable.jsonl", "default.jsonl", "batched.jsonl", "raw.jsonl", "verify.jsonl"}) {
      std::filesystem::remove(dir + "/" + f, ec);  // each run starts from empty logs
    }
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "toolgate-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return kExitFailure;
    dir = tmpl;
  }
  std::printf("toolgate log bench in %s: %d threads, %u hardware threads\n", dir.c_str(), threads,
              std::thread::hardware_concurrency());

  // The baseline group commit is measured against: one record, one write, one fdatasync.
  double baseline = 0;
  {
    const std::string path = dir + "/raw.jsonl";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      std::fprintf(stderr, "bench: cannot open %s\n", path.c_str());
      return kExitFailure;
    }
    const std::string line(1200, 'x');
    const Clock::time_point t0 = Clock::now();
    for (std::uint64_t i = 0; i < raw_records; ++i) {
      if (toolgate::WriteAll(fd, line + "\n") != 0 || ::fdatasync(fd) != 0) break;
    }
    AppendRun r;
    r.seconds = Seconds(Clock::now() - t0);
    r.records = raw_records;
    ::close(fd);
    Print("raw write(2) + fdatasync per record, 1 thread", r, 0);
    baseline = Rate(r);
  }

  AuditLogOptions all_durable;
  all_durable.path = dir + "/durable.jsonl";
  all_durable.sync_verdicts = {Verdict::kAllow, Verdict::kAsk, Verdict::kDeny};
  Print("group commit, every record fdatasync'ed before return", RunAppends(all_durable, threads, records, true),
        baseline);
  // Each thread has one append in flight and waits for its sync, so this mode
  // cannot beat threads / (time for a record to be written and synced),
  // however cheap a record is: the mean latency above shows that bound.

  AuditLogOptions defaults;
  defaults.path = dir + "/default.jsonl";
  Print("group commit, default (deny/ask durable, allow <= 100 ms)", RunAppends(defaults, threads, records, true),
        baseline);

  AuditLogOptions batched;
  batched.path = dir + "/batched.jsonl";
  batched.sync_verdicts = {};
  Print("group commit, every verdict durable <= 100 ms", RunAppends(batched, threads, records, true), baseline);

  if (verify_records > 0) {
    AuditLogOptions bulk;
    bulk.path = dir + "/verify.jsonl";
    bulk.sync_verdicts = {};
    bulk.max_unsynced = std::chrono::milliseconds(1000);
    const AppendRun w = RunAppends(bulk, threads, verify_records, false);
    Print("append without waiting for fdatasync (building the verify log)", w, baseline);
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(bulk.path, ec);
    VerifyOptions vo;
    vo.paths = {bulk.path};
    const Clock::time_point t0 = Clock::now();
    const VerifyReport vr = VerifyLog(vo);
    const double s = Seconds(Clock::now() - t0);
    std::printf("%-58s %9llu records %7.2f s %10.0f records/s  %.0f MB/s  %s\n", "verify (sha256 chain + JSON check)",
                static_cast<unsigned long long>(vr.records), s, static_cast<double>(vr.records) / s,
                static_cast<double>(bytes) / s / 1e6, vr.ok() ? "ok" : "FAILED");
  }
  if (!args.value("--dir")) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace toolgate::cli
