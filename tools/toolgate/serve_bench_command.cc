// toolgate serve-bench: the daemon's throughput with N concurrent clients.
//
// Starts `toolgate serve` as a child on a temporary socket (every decision
// logged unless --no-log), then for each client count runs that many client
// threads for --seconds, each keeping --pipeline requests in flight over the
// calls (the embedded sample calls, or --calls FILE.jsonl). Prints decisions/s,
// reply latency p50/p99 (send to reply, so it includes the pipeline's queueing)
// and the daemon's RSS and CPU use. A benchmark, not a test: nothing asserts on time.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_io.h"
#include "commands.h"
#include "toolgate/audit.h"

namespace toolgate::cli {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kBenchUsage =
    "usage: toolgate serve-bench [--policy FILE] [--calls FILE.jsonl] [--calls-policy NAME] [--clients 1,2,4,8,16]\n"
    "                            [--seconds S] [--pipeline N] [--workers N] [--log DIR | --no-log] [--verify]\n"
    "                            [--log-sync deny,ask|all|none] [--no-log-stage] [--no-link-cache]\n";

int Usage(const std::string& why) {
  std::cerr << "toolgate serve-bench: " << why << "\n" << kBenchUsage;
  return kExitUsage;
}

// Request lines for every call: tool calls, or corpus cases whose policy is policy_name.
std::vector<std::string> LoadRequests(std::string_view text, const std::string& policy_name) {
  std::vector<std::string> calls;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("call")) {
      if (j.contains("policy") && j["policy"].is_string() && j["policy"].get<std::string>() != policy_name) continue;
      calls.push_back(j["call"].dump());
    } else {
      calls.push_back(j.dump());
    }
  }
  return calls;
}

int Connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof addr.sun_path - 1));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct ClientResult {
  std::uint64_t replies = 0;  // received before the deadline
  std::uint64_t errors = 0;   // replies that were not ok:true decisions
  std::vector<std::uint32_t> latency_us;
  std::string failure;
};

// One client: keeps `pipeline` requests in flight, refilling in bursts when
// half of them have been answered (one send per burst, one clock read per
// burst and per read, so the client costs little next to the daemon).
void RunClient(const std::string& socket_path, const std::vector<std::string>& requests, std::size_t first,
               std::size_t pipeline, Clock::time_point deadline, ClientResult* result) {
  const int fd = Connect(socket_path);
  if (fd < 0) {
    result->failure = std::string("connect: ") + std::strerror(errno);
    return;
  }
  std::vector<Clock::time_point> sent(pipeline);  // ring of send times, in request order
  std::size_t head = 0;                           // oldest in flight
  std::size_t in_flight = 0;
  std::size_t next = first;
  std::string out;
  std::vector<char> buf(256u << 10);
  std::size_t have = 0;
  bool sending = true;
  const Clock::time_point drain_limit = deadline + std::chrono::seconds(10);
  while (sending || in_flight > 0) {
    const Clock::time_point now = Clock::now();
    if (sending && now >= deadline) sending = false;
    if (!sending && in_flight == 0) break;
    if (!sending && now >= drain_limit) {
      result->failure = "replies stopped coming";
      break;
    }
    if (sending && in_flight <= pipeline / 2) {
      out.clear();
      while (in_flight < pipeline) {
        out += requests[next];
        next = next + 1 == requests.size() ? 0 : next + 1;
        sent[(head + in_flight) % pipeline] = now;
        ++in_flight;
      }
      std::size_t off = 0;
      while (off < out.size()) {
        const ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          result->failure = std::string("send: ") + std::strerror(errno);
          ::close(fd);
          return;
        }
        off += static_cast<std::size_t>(n);
      }
    }
    if (have == buf.size()) buf.resize(buf.size() * 2);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) == 0) {
      result->failure = "no reply for 5 s with " + std::to_string(in_flight) + " requests in flight (" +
                        std::to_string(have) + " bytes of a partial reply)";
      break;
    }
    const ssize_t n = ::recv(fd, buf.data() + have, buf.size() - have, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      result->failure = n == 0 ? "the daemon closed the connection" : std::string("recv: ") + std::strerror(errno);
      break;
    }
    have += static_cast<std::size_t>(n);
    const Clock::time_point got = Clock::now();
    std::size_t start = 0;
    for (;;) {
      const void* nl = std::memchr(buf.data() + start, '\n', have - start);
      if (nl == nullptr) break;
      const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      const std::string_view line(buf.data() + start, end - start);
      if (got <= deadline) {
        if (line.substr(0, 64).find("\"ok\":true,\"decision\"") == std::string_view::npos) ++result->errors;
        ++result->replies;
        result->latency_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(got - sent[head]).count()));
      }
      head = (head + 1) % pipeline;
      --in_flight;
      start = end + 1;
    }
    if (start > 0) {
      std::memmove(buf.data(), buf.data() + start, have - start);
      have -= start;
    }
  }
  ::close(fd);
}

// VmRSS / VmHWM of a process, in KiB; 0 when unreadable.
std::uint64_t StatusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return 0;
}

// utime + stime of a process, in clock ticks.
std::uint64_t CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  std::uint64_t ut = 0;
  std::uint64_t st = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) ut = std::strtoull(f.c_str(), nullptr, 10);
    if (i == 15) {
      st = std::strtoull(f.c_str(), nullptr, 10);
      break;
    }
  }
  return ut + st;
}

double Percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int RunServeBench(const std::vector<std::string>& argv) {
  Args args(argv, {"--policy", "--calls", "--calls-policy", "--clients", "--seconds", "--pipeline", "--workers", "--log",
                   "--log-sync"},
            {"--no-log", "--verify", "--no-log-stage", "--no-link-cache"});
  if (!args.ok()) return Usage(args.error());
  if (!args.positional().empty()) return Usage("unexpected argument '" + args.positional()[0] + "'");
  if (args.has("--no-log") && args.value("--log")) return Usage("--log and --no-log exclude each other");

  std::vector<std::size_t> client_counts;
  {
    std::istringstream list(args.value("--clients").value_or("1,2,4,8,16"));
    std::string item;
    while (std::getline(list, item, ',')) {
      std::size_t v = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (ec != std::errc() || end != item.data() + item.size() || v == 0 || v > 256) {
        return Usage("--clients takes a list of counts from 1 to 256");
      }
      client_counts.push_back(v);
    }
  }
  const double seconds = std::stod(args.value("--seconds").value_or("3"));
  const std::size_t pipeline = std::stoul(args.value("--pipeline").value_or("32"));
  const std::string workers = args.value("--workers").value_or("4");
  if (seconds <= 0 || seconds > 600 || pipeline == 0 || pipeline > 4096) {
    return Usage("--seconds takes 0..600, --pipeline 1..4096");
  }

  const std::string policy_path = args.value("--policy").value_or("");
  const std::string policy_name = args.value("--calls-policy").value_or(
      policy_path.empty() ? "default.json" : fs::path(policy_path).filename().string());
  std::string calls_text;
  if (const auto calls = args.value("--calls")) {
    std::ifstream in(*calls, std::ios::binary);
    if (!in) return Usage("cannot read " + *calls);
    calls_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    calls_text = std::string(embedded::kSampleCalls);
  }
  const std::vector<std::string> calls = LoadRequests(calls_text, policy_name);
  if (calls.empty()) return Usage("no calls to send");
  std::vector<std::string> requests;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    requests.push_back("{\"v\":1,\"id\":" + std::to_string(i) + ",\"op\":\"decide\",\"call\":" + calls[i] + "}\n");
  }

  std::string tmpl = (fs::temp_directory_path() / "tg-serve-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Usage("cannot create a temporary directory");
  const fs::path tmp = tmpl;
  const std::string socket_path = (tmp / "toolgate.sock").string();
  const bool logging = !args.has("--no-log");
  const std::string log_dir = args.value("--log").value_or((tmp / "log").string());

  std::vector<std::string> child_args = {"toolgate", "serve", "--socket", socket_path, "--workers", workers};
  if (!policy_path.empty()) child_args.insert(child_args.end(), {"--policy", policy_path});
  if (logging) child_args.insert(child_args.end(), {"--log", log_dir});
  if (const auto sync = args.value("--log-sync")) child_args.insert(child_args.end(), {"--log-sync", *sync});
  if (args.has("--no-log-stage")) child_args.push_back("--no-log-stage");
  if (args.has("--no-link-cache")) child_args.push_back("--no-link-cache");
  const std::string child_log = (tmp / "serve.stderr").string();
  const pid_t child = ::fork();
  if (child < 0) return Usage("fork failed");
  if (child == 0) {
    const int errfd = ::open(child_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (errfd >= 0) ::dup2(errfd, 2);
    std::vector<char*> cargv;
    for (std::string& a : child_args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv("/proc/self/exe", cargv.data());
    ::_exit(127);
  }
  bool up = false;
  for (int i = 0; i < 1000 && !up; ++i) {  // at most 10 s
    const int fd = Connect(socket_path);
    if (fd >= 0) {
      ::close(fd);
      up = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (!up) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    std::cerr << "toolgate serve-bench: the daemon did not start; see " << child_log << "\n";
    return kExitFailure;
  }

  std::cout << "daemon: pid " << child << ", " << workers << " workers, " << (logging ? "every decision logged to " + log_dir : "no decision log")
            << "\ncalls: " << calls.size() << " (" << (args.value("--calls") ? *args.value("--calls") : "embedded sample calls")
            << "), pipeline " << pipeline << " per client, " << seconds << " s per run, "
            << std::thread::hardware_concurrency() << " cores\n\n";
  // "errors" counts replies that are protocol errors rather than decisions
  // (a corpus call nested past the limit is refused as nesting_too_deep).
  // "CPU us/dec" is the daemon's CPU time per decision: what a decision costs
  // whatever else the machine is doing (decisions/s depends on the CPU it gets).
  std::cout << "clients  decisions/s   p50 us   p99 us  errors  daemon CPU %  CPU us/dec  daemon RSS MiB (peak)\n";
  const long ticks_per_s = ::sysconf(_SC_CLK_TCK);
  std::uint64_t total = 0;
  int rc = 0;
  for (std::size_t n : client_counts) {
    std::vector<ClientResult> results(n);
    std::vector<std::thread> threads;
    const std::uint64_t cpu0 = CpuTicks(child);
    const Clock::time_point start = Clock::now();
    const Clock::time_point deadline = start + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(seconds));
    for (std::size_t i = 0; i < n; ++i) {
      threads.emplace_back(RunClient, socket_path, std::cref(requests), (i * 7919) % requests.size(), pipeline,
                           deadline, &results[i]);
    }
    for (std::thread& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(deadline - start).count();
    const std::uint64_t cpu1 = CpuTicks(child);
    std::uint64_t replies = 0;
    std::uint64_t errors = 0;
    std::vector<std::uint32_t> lat;
    for (ClientResult& r : results) {
      replies += r.replies;
      errors += r.errors;
      lat.insert(lat.end(), r.latency_us.begin(), r.latency_us.end());
      if (!r.failure.empty()) {
        std::cerr << "client failure: " << r.failure << "\n";
        rc = kExitFailure;
      }
    }
    total += replies - errors;  // protocol errors are answers, not decisions: they are not logged
    const double cpu_pct = 100.0 * static_cast<double>(cpu1 - cpu0) / static_cast<double>(ticks_per_s) / elapsed;
    std::cout << std::setw(7) << n << std::setw(13) << static_cast<std::uint64_t>(static_cast<double>(replies) / elapsed)
              << std::setw(9) << static_cast<std::uint64_t>(Percentile(lat, 0.50)) << std::setw(9)
              << static_cast<std::uint64_t>(Percentile(lat, 0.99)) << std::setw(8)
              << errors << std::setw(14) << static_cast<int>(cpu_pct) << std::setw(12) << std::fixed
              << std::setprecision(1)
              << (replies > 0 ? static_cast<double>(cpu1 - cpu0) / static_cast<double>(ticks_per_s) * 1e6 /
                                    static_cast<double>(replies)
                              : 0.0)
              << std::setw(10)
              << std::setprecision(1) << static_cast<double>(StatusKb(child, "VmRSS")) / 1024.0 << " ("
              << static_cast<double>(StatusKb(child, "VmHWM")) / 1024.0 << ")" << std::defaultfloat << "\n";
  }

  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "toolgate serve-bench: the daemon did not stop cleanly; see " << child_log << "\n";
    rc = kExitFailure;
  }
  if (logging && args.has("--verify")) {
    VerifyOptions vo;
    vo.paths = {log_dir};
    VerifyReport v = VerifyLog(vo);
    std::cout << "\nlog: " << (v.ok() ? "verifies" : "DOES NOT VERIFY") << ", " << v.decisions
              << " decision records (" << total
              << " decisions answered before the deadlines; those in flight then are logged too)\n";
    if (!v.ok() || v.decisions < total) rc = kExitFailure;
  }
  std::error_code ec;
  if (args.value("--log")) {
    fs::remove(tmp / "toolgate.sock", ec);
    fs::remove(child_log, ec);
    fs::remove(tmp, ec);
  } else if (rc == 0) {
    fs::remove_all(tmp, ec);
  }
  return rc;
}

}  // namespace toolgate::cli
