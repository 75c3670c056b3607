// toolgate proxy-bench: what the egress proxy costs on loopback, measured
// against a direct connection in the same run: CONNECT tunnel throughput
// (bytes pushed through, until the far end has counted them all) and the
// added latency of connect + first byte. Figures, not assertions.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <iomanip>
#include <iostream>
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
// (8 bytes). 'E': answer one byte at once, then wait for EOF.
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
    // Connection threads are detached (joining them would stall accepts
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
      ++live_;
      std::thread([this, c] {
        Serve(c);
        --live_;
      }).detach();
    }
  }
  static void Serve(int c) {
    char mode = 0;
    if (::recv(c, &mode, 1, 0) == 1) {
      std::vector<char> buf(kChunk);
      if (mode == 'E') {
        SendAll(c, "e", 1);
        while (::recv(c, buf.data(), buf.size(), 0) > 0) {
        }
      } else if (mode == 'P') {
        std::uint64_t total = 0;
        ssize_t n;
        while ((n = ::recv(c, buf.data(), buf.size(), 0)) > 0) total += static_cast<std::uint64_t>(n);
        SendAll(c, reinterpret_cast<const char*>(&total), sizeof total);
      }
    }
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

// A connection to the sink, direct or through a CONNECT tunnel; -1 on failure.
int Open(bool via_proxy, const std::string& proxy_address, int sink_port) {
  if (!via_proxy) return ConnectTcp("127.0.0.1", sink_port);
  const std::size_t colon = proxy_address.rfind(':');
  const int fd = ConnectTcp(proxy_address.substr(0, colon), std::stoi(proxy_address.substr(colon + 1)));
  if (fd < 0) return -1;
  const std::string req = "CONNECT 127.0.0.1:" + std::to_string(sink_port) + " HTTP/1.1\r\n\r\n";
  std::string head;
  char c;
  bool ok = SendAll(fd, req.data(), req.size());
  while (ok && head.find("\r\n\r\n") == std::string::npos && head.size() < 4096) {
    ok = ::recv(fd, &c, 1, 0) == 1;
    head.push_back(c);
  }
  if (!ok || head.rfind("HTTP/1.1 200", 0) != 0) {
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
double Push(bool via_proxy, const std::string& proxy_address, int sink_port, std::uint64_t bytes) {
  std::vector<char> buf(kChunk, 'x');
  const auto t0 = Clock::now();
  const int fd = Open(via_proxy, proxy_address, sink_port);
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

// Microseconds from connect to the first byte back, per sample.
std::vector<double> FirstByte(bool via_proxy, const std::string& proxy_address, int sink_port, int samples) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    const auto t0 = Clock::now();
    const int fd = Open(via_proxy, proxy_address, sink_port);
    char c = 0;
    const bool ok = fd >= 0 && SendAll(fd, "E", 1) && RecvExact(fd, &c, 1);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (fd >= 0) ::close(fd);
    if (!ok) return {};
    out.push_back(us);
  }
  std::sort(out.begin(), out.end());
  return out;
}

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
  Args args(argv, {"--bytes", "--samples", "--log"}, {});
  std::uint64_t bytes = 2ULL << 30;
  std::uint64_t samples = 2000;
  if (!args.ok() || !args.positional().empty() || !ParseNumber(args.value("--bytes"), &bytes) ||
      !ParseNumber(args.value("--samples"), &samples) || samples > 1000000) {
    std::cerr << "toolgate proxy-bench: " << (args.ok() ? "bad argument" : args.error()) << "\n"
              << "usage: toolgate proxy-bench [--bytes N (default 2 GiB)] [--samples N (default 2000)] "
                 "[--log FILE]\n";
    return kExitUsage;
  }
  SinkServer sink;
  if (!sink.Start()) {
    std::cerr << "toolgate proxy-bench: cannot listen on loopback\n";
    return kExitFailure;
  }
  const std::string policy_text = R"({"toolgate_policy": 1, "profiles": {"bench": {"network": {"allow": ["127.0.0.1:)" +
                                  std::to_string(sink.port()) + R"("]}}}})";
  PolicyLoadResult loaded = LoadPolicyText(policy_text, "proxy-bench.json");
  if (!loaded.ok()) {
    std::cerr << "toolgate proxy-bench: internal policy failed to load\n";
    return kExitFailure;
  }
  std::unique_ptr<AuditLog> log;
  sandbox::EgressProxyOptions o;
  o.tcp_listen = "127.0.0.1:0";
  o.profile = loaded.policy->ProfileNamed("bench");
  o.agent_id = "proxy-bench";
  o.policy_digest = loaded.policy->digest();
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
  auto proxy = sandbox::EgressProxy::Start(std::move(o));
  if (!proxy) {
    std::cerr << "toolgate proxy-bench: " << proxy.error().message << "\n";
    return kExitFailure;
  }
  const std::string via = (*proxy)->tcp_address();
  const int port = sink.port();

  std::cout << std::fixed << std::setprecision(2);
  std::cout << "egress proxy on loopback" << (log ? " (decisions logged)" : "") << "\n";
  std::cout << "throughput: " << static_cast<double>(bytes) / (1 << 30) << " GiB pushed through one connection\n";
  const double cpu0 = CpuSeconds();
  const double direct_s = Push(false, via, port, bytes);
  const double cpu1 = CpuSeconds();
  const double proxy_s = Push(true, via, port, bytes);
  const double cpu2 = CpuSeconds();
  if (direct_s <= 0 || proxy_s <= 0) {
    std::cerr << "toolgate proxy-bench: a transfer failed\n";
    return kExitFailure;
  }
  const double direct_gbs = static_cast<double>(bytes) / direct_s / 1e9;
  const double proxy_gbs = static_cast<double>(bytes) / proxy_s / 1e9;
  // CPU time per GiB (client, sink and proxy together) does not depend on
  // how many cores other processes leave free, unlike GB/s.
  const double gib = static_cast<double>(bytes) / (1 << 30);
  std::cout << "  direct           " << std::setw(8) << direct_gbs << " GB/s   " << (cpu1 - cpu0) / gib
            << " CPU s/GiB\n";
  std::cout << "  CONNECT tunnel   " << std::setw(8) << proxy_gbs << " GB/s   " << (cpu2 - cpu1) / gib
            << " CPU s/GiB   (" << proxy_gbs / direct_gbs << "x direct throughput)\n";

  const int n = static_cast<int>(samples);
  FirstByte(false, via, port, std::min(n, 50));  // warm up both paths
  FirstByte(true, via, port, std::min(n, 50));
  const std::vector<double> direct = FirstByte(false, via, port, n);
  const std::vector<double> tunneled = FirstByte(true, via, port, n);
  if (direct.empty() || tunneled.empty()) {
    std::cerr << "toolgate proxy-bench: a latency sample failed\n";
    return kExitFailure;
  }
  std::cout << "connect + first byte: " << n << " connections each\n";
  std::cout << "                     p50 us    p99 us\n";
  std::cout << "  direct           " << std::setw(8) << At(direct, 0.5) << "  " << std::setw(8) << At(direct, 0.99)
            << "\n";
  std::cout << "  CONNECT tunnel   " << std::setw(8) << At(tunneled, 0.5) << "  " << std::setw(8)
            << At(tunneled, 0.99) << "\n";
  std::cout << "  added            " << std::setw(8) << At(tunneled, 0.5) - At(direct, 0.5) << "  " << std::setw(8)
            << At(tunneled, 0.99) - At(direct, 0.99) << "   (targets: >= 1 GB/s, <= 500 us added)\n";
  (*proxy)->Stop();
  if (log) log->Close();
  return 0;
}

}  // namespace toolgate::cli
