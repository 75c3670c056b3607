// toolgate proxy-bench: what the egress proxy costs on loopback, measured
// against a direct connection in the same run: CONNECT tunnel throughput
// (bytes pushed through, until the far end has counted them all) and the
// added latency of connect + first byte. Figures, not assertions.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "sandbox/egress_proxy.h"
#include "toolgate/audit.h"
#include "toolgate/policy.h"

namespace toolgate::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunk = 1 << 20;

bool SendAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool RecvExact(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void SetTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// The far end. First byte 'P': count everything until EOF, answer the count
// (8 bytes), on a thread of its own. 'E': answer one byte at once and close,
// on the accepting thread itself, so no thread start sits inside a latency
// sample (it would hide behind the proxy's CONNECT round trip and make the
// proxy look cheaper than it is). The samples come one at a time.
class SinkServer {
 public:
  bool Start() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd_, 512) != 0) return false;
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
    return true;
  }
  ~SinkServer() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    // Counting threads are detached (joining them would stall accepts
    // inside the measurements); wait, bounded, for the last ones to end.
    for (int i = 0; i < 3500 && live_.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  void Accept() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      SetTimeouts(c, 30);
      const int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char mode = 0;
      if (::recv(c, &mode, 1, 0) != 1 || mode != 'P') {
        if (mode == 'E') SendAll(c, "e", 1);
        ::close(c);
        continue;
      }
      ++live_;
      std::thread([this, c] {
        Count(c);
        --live_;
      }).detach();
    }
  }
  static void Count(int c) {
    std::vector<char> buf(kChunk);
    std::uint64_t total = 0;
    ssize_t n;
    while ((n = ::recv(c, buf.data(), buf.size(), 0)) > 0) total += static_cast<std::uint64_t>(n);
    SendAll(c, reinterpret_cast<const char*>(&total), sizeof total);
    ::close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> live_{0};
  std::thread acceptor_;
};

int ConnectTcp(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SetTimeouts(fd, 30);
  return fd;
}

// The proxy's Unix socket, the way a sandbox's bridge reaches it.
int ConnectUnix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (fd < 0 || path.size() >= sizeof sa.sun_path) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  SetTimeouts(fd, 30);
  return fd;
}

// Reads the proxy's answer head without reading past it, the way an HTTP
// client with a buffer would (one peek, one read), not a byte per call.
bool RecvConnectAnswer(int fd) {
  char head[4096];
  for (int i = 0; i < 1000; ++i) {  // bounded: 1 s for a head that comes in pieces
    const ssize_t n = ::recv(fd, head, sizeof head, MSG_PEEK);
    if (n <= 0) return false;
    const std::string_view seen(head, static_cast<std::size_t>(n));
    const std::size_t end = seen.find("\r\n\r\n");
    if (end != std::string_view::npos) {
      if (seen.rfind("HTTP/1.1 200", 0) != 0) return false;
      return RecvExact(fd, head, end + 4);
    }
    if (static_cast<std::size_t>(n) == sizeof head) return false;
    ::poll(nullptr, 0, 1);  // more of the head is on its way
  }
  return false;
}

// A connection to the sink, direct or through a CONNECT tunnel; -1 on failure.
int Open(const std::string& proxy_address, int sink_port) {
  if (proxy_address.empty()) return ConnectTcp("127.0.0.1", sink_port);
  int fd;
  if (proxy_address.rfind("unix:", 0) == 0) {
    fd = ConnectUnix(proxy_address.substr(5));
  } else {
    const std::size_t colon = proxy_address.rfind(':');
    fd = ConnectTcp(proxy_address.substr(0, colon), std::stoi(proxy_address.substr(colon + 1)));
  }
  if (fd < 0) return -1;
  const std::string req = "CONNECT 127.0.0.1:" + std::to_string(sink_port) + " HTTP/1.1\r\n\r\n";
  if (!SendAll(fd, req.data(), req.size()) || !RecvConnectAnswer(fd)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// CPU seconds this process has used (every thread: client, sink and proxy).
double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Seconds to push bytes and hear the far end's count; <0 on failure.
double Push(const std::string& proxy_address, int sink_port, std::uint64_t bytes) {
  std::vector<char> buf(kChunk, 'x');
  const auto t0 = Clock::now();
  const int fd = Open(proxy_address, sink_port);
  if (fd < 0) return -1;
  bool ok = SendAll(fd, "P", 1);
  for (std::uint64_t left = bytes; ok && left > 0;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    ok = SendAll(fd, buf.data(), n);
    left -= n;
  }
  ::shutdown(fd, SHUT_WR);
  std::uint64_t counted = 0;
  ok = ok && RecvExact(fd, reinterpret_cast<char*>(&counted), sizeof counted) && counted == bytes;
  ::close(fd);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return ok ? s : -1;
}

// Microseconds from connect to the first byte back; <0 on failure.
double FirstByte(const std::string& proxy_address, int sink_port) {
  const auto t0 = Clock::now();
  const int fd = Open(proxy_address, sink_port);
  char c = 0;
  const bool ok = fd >= 0 && SendAll(fd, "E", 1) && RecvExact(fd, &c, 1);
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (fd >= 0) ::close(fd);
  return ok ? us : -1;
}

std::string LoadAverage() {
  char text[128] = {};
  const int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  std::string s(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  std::size_t cut = 0;
  for (int field = 0; field < 3 && cut != std::string::npos; ++field) cut = s.find(' ', cut + (field > 0 ? 1 : 0));
  return cut == std::string::npos ? s : s.substr(0, cut);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// One way to reach the sink: straight, or through a proxy.
struct Path {
  std::string label;
  std::string proxy;  // "" = direct
  std::string tag;    // names its "added" line when there are several
  std::vector<double> gbs, cpu_per_gib, first_byte_us;
};

double At(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))];
}

bool ParseNumber(const std::optional<std::string>& text, std::uint64_t* out) {
  if (!text) return true;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), *out);
  return ec == std::errc() && end == text->data() + text->size() && *out > 0;
}

}  // namespace

int RunProxyBench(const std::vector<std::string>& argv) {
  Args args(argv, {"--bytes", "--samples", "--rounds", "--log", "--proxy"}, {"--unix"});
  std::uint64_t bytes = 1ULL << 30;
  std::uint64_t samples = 2000;
  std::uint64_t rounds = 3;
  if (!args.ok() || !args.positional().empty() || !ParseNumber(args.value("--bytes"), &bytes) ||
      !ParseNumber(args.value("--samples"), &samples) || samples > 1000000 ||
      !ParseNumber(args.value("--rounds"), &rounds) || rounds > 100 ||
      (args.value("--proxy") && (args.value("--log") || args.has("--unix")))) {
    std::cerr << "toolgate proxy-bench: " << (args.ok() ? "bad argument" : args.error()) << "\n"
              << "usage: toolgate proxy-bench [--bytes N (default 1 GiB)] [--samples N (default 2000)] "
                 "[--rounds N (default 3)] [--log FILE] [--unix] | [--proxy HOST:PORT[,HOST:PORT...]]\n";
    return kExitUsage;
  }
  SinkServer sink;
  if (!sink.Start()) {
    std::cerr << "toolgate proxy-bench: cannot listen on loopback\n";
    return kExitFailure;
  }
  const int port = sink.port();
  std::vector<Path> paths;
  paths.push_back(Path{"direct", "", "", {}, {}, {}});
  // Declared before the proxy so that it is removed after the proxy removed its socket.
  struct TempDirGuard {
    std::string path;
    ~TempDirGuard() {
      if (!path.empty()) ::rmdir(path.c_str());
    }
  } unix_dir;
  std::unique_ptr<AuditLog> log;
  std::unique_ptr<sandbox::EgressProxy> proxy;
  std::shared_ptr<const Policy> policy;
  if (const auto external = args.value("--proxy")) {
    // Proxies started elsewhere (for example two builds side by side), each
    // granting 127.0.0.1: measured by the same client, against the same sink.
    std::stringstream list(*external);
    std::string one;
    while (std::getline(list, one, ',')) {
      const std::size_t colon = one.rfind(':');
      if (colon == std::string::npos || one.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
          colon + 1 == one.size()) {
        std::cerr << "toolgate proxy-bench: --proxy wants HOST:PORT, got '" << one << "'\n";
        return kExitUsage;
      }
      const std::string number = std::to_string(paths.size());
      paths.push_back(Path{"via " + number + " (" + one + ")", one, number, {}, {}, {}});
    }
  } else {
    const std::string policy_text = R"({"toolgate_policy": 1, "profiles": {"bench": {"network": {"allow": ["127.0.0.1:)" +
                                    std::to_string(port) + R"("]}}}})";
    PolicyLoadResult loaded = LoadPolicyText(policy_text, "proxy-bench.json");
    if (!loaded.ok()) {
      std::cerr << "toolgate proxy-bench: internal policy failed to load\n";
      return kExitFailure;
    }
    policy = loaded.policy;
    sandbox::EgressProxyOptions o;
    o.tcp_listen = "127.0.0.1:0";
    if (args.has("--unix")) {
      // The sandbox's way in: a Unix socket (the bridge inside the sandbox is not measured).
      char dir[] = "/tmp/toolgate-proxy-bench-XXXXXX";
      if (::mkdtemp(dir) == nullptr) {
        std::cerr << "toolgate proxy-bench: cannot create a directory for the Unix socket\n";
        return kExitFailure;
      }
      unix_dir.path = dir;
      o.unix_socket_path = unix_dir.path + "/proxy.sock";
    }
    o.profile = policy->ProfileNamed("bench");
    o.agent_id = "proxy-bench";
    o.policy_digest = policy->digest();
    if (const auto path = args.value("--log")) {
      AuditLogOptions lo;
      lo.path = *path;
      auto opened = AuditLog::Open(lo);
      if (!opened) {
        std::cerr << "toolgate proxy-bench: " << *path << ": " << opened.error().message << "\n";
        return kExitFailure;
      }
      log = std::move(*opened);
      o.log = log.get();
    }
    auto started = sandbox::EgressProxy::Start(std::move(o));
    if (!started) {
      std::cerr << "toolgate proxy-bench: " << started.error().message << "\n";
      return kExitFailure;
    }
    proxy = std::move(*started);
    paths.push_back(Path{"CONNECT tunnel", proxy->tcp_address(), "tcp", {}, {}, {}});
    if (!unix_dir.path.empty()) {
      paths.push_back(Path{"CONNECT unix", "unix:" + proxy->unix_socket_path(), "unix", {}, {}, {}});
    }
  }

  // Every path is measured the same way, in turns (the first path of a
  // round rotates), so a change in the machine's load falls on all of them.
  const std::size_t n_paths = paths.size();
  std::cout << std::fixed << std::setprecision(2);
  std::cout << "egress proxy on loopback" << (log ? " (decisions logged)" : "") << ", load average "
            << LoadAverage() << "\n";
  std::cout << "throughput: " << static_cast<double>(bytes) / (1 << 30) << " GiB pushed through one connection, "
            << rounds << " rounds taking turns, medians\n";
  const double gib = static_cast<double>(bytes) / (1 << 30);
  for (std::uint64_t r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < n_paths; ++k) {
      Path& p = paths[(k + r) % n_paths];
      const double cpu0 = CpuSeconds();
      const double s = Push(p.proxy, port, bytes);
      const double cpu1 = CpuSeconds();
      if (s <= 0) {
        std::cerr << "toolgate proxy-bench: a transfer failed (" << p.label << ")\n";
        return kExitFailure;
      }
      p.gbs.push_back(static_cast<double>(bytes) / s / 1e9);
      // CPU time per GiB (client, sink and the in-process proxy together)
      // does not depend on how many cores other processes leave free.
      p.cpu_per_gib.push_back((cpu1 - cpu0) / gib);
    }
  }
  const double direct_gbs = Median(paths[0].gbs);
  for (const Path& p : paths) {
    std::cout << "  " << std::left << std::setw(17) << p.label.substr(0, p.label.find(" (")) << std::right
              << std::setw(8) << Median(p.gbs)
              << " GB/s   " << Median(p.cpu_per_gib) << " CPU s/GiB";
    if (&p != &paths[0]) std::cout << "   (" << Median(p.gbs) / direct_gbs << "x direct throughput)";
    std::cout << "   [";
    for (std::size_t i = 0; i < p.gbs.size(); ++i) std::cout << (i ? " " : "") << p.gbs[i];
    std::cout << "]\n";
  }
  const bool external = !proxy;
  for (std::size_t k = 1; k < n_paths && external; ++k) std::cout << "  " << paths[k].label << "\n";
  if (external) std::cout << "  (CPU s/GiB counts this process: the client and the sink, not a --proxy)\n";

  const std::size_t n = static_cast<std::size_t>(samples);
  const std::size_t warm = std::min<std::size_t>(n, 50);
  for (std::size_t i = 0; i < warm + n; ++i) {
    for (std::size_t k = 0; k < n_paths; ++k) {
      Path& p = paths[(k + i) % n_paths];
      const double us = FirstByte(p.proxy, port);
      if (us < 0) {
        std::cerr << "toolgate proxy-bench: a latency sample failed (" << p.label << ")\n";
        return kExitFailure;
      }
      if (i >= warm) p.first_byte_us.push_back(us);
    }
  }
  for (Path& p : paths) std::sort(p.first_byte_us.begin(), p.first_byte_us.end());
  std::cout << "connect + first byte: " << n << " connections each, taking turns\n";
  std::cout << "                     p50 us    p99 us\n";
  for (const Path& p : paths) {
    std::cout << "  " << std::left << std::setw(17) << p.label.substr(0, p.label.find(" (")) << std::right
              << std::setw(8) << At(p.first_byte_us, 0.5)
              << "  " << std::setw(8) << At(p.first_byte_us, 0.99) << "\n";
  }
  const std::vector<double>& direct = paths[0].first_byte_us;
  for (std::size_t k = 1; k < n_paths; ++k) {
    const std::vector<double>& via = paths[k].first_byte_us;
    std::cout << "  " << std::left << std::setw(17) << (n_paths > 2 ? "added " + paths[k].tag : "added")
              << std::right << std::setw(8) << At(via, 0.5) - At(direct, 0.5) << "  " << std::setw(8)
              << At(via, 0.99) - At(direct, 0.99) << "   (targets: >= 1 GB/s, <= 500 us added)\n";
  }
  std::cout << "load average after: " << LoadAverage() << "\n";
  if (proxy) proxy->Stop();
  if (log) log->Close();
  return 0;
}

}  // namespace toolgate::cli
