// The egress proxy end to end on loopback: real upstream servers, real
// client sockets, the decision log verified afterwards. Every wait is
// bounded (socket timeouts), nothing here measures time.
#include "sandbox/egress_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grants/compiled_profile.h"
#include "toolgate/audit.h"
#include "toolgate/policy.h"
#include "tests/temp_dir.h"

using namespace toolgate;
using namespace toolgate::sandbox;

namespace {

void SetTimeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until EOF, a timeout, or max bytes.
std::string RecvAll(int fd, std::size_t max = 1 << 24) {
  std::string out;
  char buf[65536];
  while (out.size() < max) {
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, max - out.size()), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Reads up to and including the first blank line.
std::string RecvHead(int fd) {
  std::string out;
  char c;
  while (out.size() < 65536 && out.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &c, 1, 0) != 1) break;
    out.push_back(c);
  }
  return out;
}

int Status(const std::string& response) {
  if (response.size() < 12 || response.rfind("HTTP/1.", 0) != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

// A loopback server: each connection runs handler on its own thread.
class TestServer {
 public:
  explicit TestServer(std::function<void(int)> handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
          if (stop_) return;
          continue;
        }
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        ++accepted_;
        SetTimeouts(c, 5000);
        std::lock_guard<std::mutex> lock(mu_);
        workers_.emplace_back([this, c] {
          handler_(c);
          ::close(c);
        });
      }
    });
  }
  ~TestServer() {
    stop_ = true;
    acceptor_.join();
    for (std::thread& t : workers_) t.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  std::function<void(int)> handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// Echoes every byte until EOF, then closes.
void Echo(int fd) {
  char buf[65536];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    if (!SendAll(fd, std::string_view(buf, static_cast<std::size_t>(n)))) return;
  }
}

// Answers one HTTP request with its own head as the body.
void HttpEcho(int fd) {
  const std::string head = RecvHead(fd);
  SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(head.size()) + "\r\nConnection: close\r\n\r\n" +
                  head);
}

class TempDir : public toolgate::testing::TempDir {
 public:
  TempDir() : toolgate::testing::TempDir("tg-egress") {}
};

int Connect(const std::string& tcp_address) {
  const std::size_t colon = tcp_address.rfind(':');
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(tcp_address.substr(colon + 1))));
  ::inet_pton(AF_INET, tcp_address.substr(0, colon).c_str(), &sa.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  SetTimeouts(fd, 5000);
  return fd;
}

int ConnectUnix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  SetTimeouts(fd, 5000);
  return fd;
}

// Sends one request head (and anything after it) and returns everything the
// proxy answers until it closes.
std::string Ask(const std::string& proxy, const std::string& request) {
  const int fd = Connect(proxy);
  SendAll(fd, request);
  ::shutdown(fd, SHUT_WR);
  std::string out = RecvAll(fd);
  ::close(fd);
  return out;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

struct Fixture {
  TestServer echo{Echo};
  TestServer http{HttpEcho};
  int closed_port = FreePort();
  TempDir dir;
  std::shared_ptr<const Policy> policy;
  std::atomic<int> resolutions{0};
  std::unique_ptr<AuditLog> log;
  std::unique_ptr<EgressProxy> proxy;

  explicit Fixture(std::size_t max_connections = 16) {
    const std::string e = std::to_string(echo.port());
    const std::string h = std::to_string(http.port());
    const std::string policy_text = R"({"toolgate_policy": 1, "agents": {"agent-1": {"profile": "sandboxed"}},
      "profiles": {"sandboxed": {"network": {
        "allow": ["localhost:)" + e + R"(", "127.0.0.1:)" + h + R"(", "127.0.0.1:)" + std::to_string(closed_port) +
                                    R"(", "api.example.com", "*.example.org"],
        "deny": ["evil.example.com"]}}}})";
    PolicyLoadResult r = LoadPolicyText(policy_text, "egress-test.json");
    for (const auto& d : r.diagnostics) MESSAGE(FormatDiagnostic(d));
    REQUIRE(r.ok());
    policy = r.policy;

    AuditLogOptions lo;
    lo.path = dir / "egress.jsonl";
    auto opened = AuditLog::Open(lo);
    REQUIRE(opened.ok());
    log = std::move(*opened);

    EgressProxyOptions o;
    o.tcp_listen = "127.0.0.1:0";
    o.unix_socket_path = dir / "proxy.sock";
    std::string profile_name;
    o.profile = policy->ProfileFor("agent-1", &profile_name);
    REQUIRE(o.profile != nullptr);
    o.agent_id = "agent-1";
    o.session_id = "session-7";
    o.policy_digest = policy->digest();
    o.log = log.get();
    o.max_connections = max_connections;
    o.max_header_bytes = 4096;
    o.header_timeout = std::chrono::milliseconds(2000);
    o.idle_timeout = std::chrono::milliseconds(5000);
    o.connect_timeout = std::chrono::milliseconds(2000);
    // Public-looking names answer with whatever the test forges; localhost is real.
    o.resolve = [this](const std::string& host) -> std::vector<std::string> {
      ++resolutions;
      if (host == "localhost") return {"127.0.0.1"};
      if (host == "api.example.com") return {"127.0.0.1"};        // rebinding to loopback
      if (host == "meta.example.org") return {"169.254.169.254"};  // rebinding to metadata
      if (host == "mapped.example.org") return {"::ffff:127.0.0.1"};
      return {};
    };
    auto started = EgressProxy::Start(std::move(o));
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
    proxy = std::move(*started);
  }

  std::vector<nlohmann::json> Records() {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir / "egress.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("type", "") == "decision") out.push_back(std::move(j));
    }
    return out;
  }
};

}  // namespace

TEST_CASE("CONNECT to a granted host tunnels both ways, including bytes sent with the head") {
  Fixture f;
  const int fd = Connect(f.proxy->tcp_address());
  const std::string target = "localhost:" + std::to_string(f.echo.port());
  REQUIRE(SendAll(fd, "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\nearly"));
  const std::string head = RecvHead(fd);
  CHECK(Status(head) == 200);
  std::string got;
  while (got.size() < 5) {
    char buf[16];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  CHECK(got == "early");

  // A few MiB each way, with a half-close at the end.
  std::string payload(4 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131) & 0xff);
  std::thread writer([&] {
    SendAll(fd, payload);
    ::shutdown(fd, SHUT_WR);
  });
  const std::string back = RecvAll(fd, payload.size() + 1);
  writer.join();
  ::close(fd);
  CHECK(back.size() == payload.size());
  CHECK(back == payload);
}

TEST_CASE("plain HTTP is forwarded in origin form with a rewritten head") {
  Fixture f;
  const std::string authority = "127.0.0.1:" + std::to_string(f.http.port());
  const std::string response =
      Ask(f.proxy->tcp_address(), "GET http://" + authority + "/path?q=1 HTTP/1.1\r\nHost: evil.example.com\r\n"
                                  "Proxy-Authorization: Basic c2VjcmV0\r\nAccept: */*\r\n\r\n");
  CHECK(Status(response) == 200);
  CHECK(response.find("GET /path?q=1 HTTP/1.1\r\nHost: " + authority + "\r\n") != std::string::npos);
  CHECK(response.find("Accept: */*\r\n") != std::string::npos);
  CHECK(response.find("Connection: close\r\n") != std::string::npos);
  CHECK(response.find("evil.example.com") == std::string::npos);
  CHECK(response.find("c2VjcmV0") == std::string::npos);
  // The odd numeric form of the same address is the same grant.
  const std::string odd = Ask(f.proxy->tcp_address(),
                              "GET http://0x7f.1:" + std::to_string(f.http.port()) + "/ HTTP/1.1\r\n\r\n");
  CHECK(Status(odd) == 200);
}

TEST_CASE("refusals: not granted, denied, rebinding, metadata, malformed, oversized, unreachable") {
  Fixture f;
  const std::string p = f.proxy->tcp_address();
  const std::string e = std::to_string(f.echo.port());
  const int accepted_before = f.echo.accepted();

  // Not granted: another port of the same loopback host, another name.
  CHECK(Status(Ask(p, "CONNECT 127.0.0.1:" + e + " HTTP/1.1\r\n\r\n")) == 403);  // localhost is granted, not 127.0.0.1
  CHECK(Status(Ask(p, "CONNECT localhost:" + std::to_string(f.echo.port() + 1) + " HTTP/1.1\r\n\r\n")) == 403);
  CHECK(Status(Ask(p, "CONNECT other.example.net:443 HTTP/1.1\r\n\r\n")) == 403);
  const std::string denied = Ask(p, "CONNECT evil.example.com:443 HTTP/1.1\r\n\r\n");
  CHECK(Status(denied) == 403);
  CHECK(denied.find("sandboxed.network.deny[0]") != std::string::npos);

  // DNS rebinding: granted public names that resolve to loopback or metadata.
  const std::string rebound = Ask(p, "CONNECT api.example.com:" + e + " HTTP/1.1\r\n\r\n");
  CHECK(Status(rebound) == 403);
  CHECK(rebound.find("loopback") != std::string::npos);
  CHECK(Status(Ask(p, "GET http://api.example.com:" + e + "/ HTTP/1.1\r\n\r\n")) == 403);
  const std::string meta = Ask(p, "CONNECT meta.example.org:80 HTTP/1.1\r\n\r\n");
  CHECK(Status(meta) == 403);
  CHECK(meta.find("metadata") != std::string::npos);
  CHECK(Status(Ask(p, "CONNECT mapped.example.org:" + e + " HTTP/1.1\r\n\r\n")) == 403);

  // Metadata and private literals in any spelling.
  CHECK(Status(Ask(p, "CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n")) == 403);
  CHECK(Status(Ask(p, "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n")) == 403);
  CHECK(Status(Ask(p, "CONNECT 0xa9fea9fe:80 HTTP/1.1\r\n\r\n")) == 403);
  CHECK(Status(Ask(p, "CONNECT [::ffff:a9fe:a9fe]:80 HTTP/1.1\r\n\r\n")) == 403);
  CHECK(Status(Ask(p, "CONNECT [fd00:ec2::254]:80 HTTP/1.1\r\n\r\n")) == 403);

  // Malformed and hostile heads.
  CHECK(Status(Ask(p, "CONNECT api.example.com@localhost:" + e + " HTTP/1.1\r\n\r\n")) == 400);
  CHECK(Status(Ask(p, "CONNECT localhost:" + e + " HTTP/1.1\r\nX: a\r\n b\r\n\r\n")) == 400);
  CHECK(Status(Ask(p, "CONNECT localhost:" + e + " HTTP/1.1\n\n")) == 400);
  CHECK(Status(Ask(p, std::string("CONNECT localhost:1\0 HTTP/1.1\r\n\r\n", 33))) == 400);
  CHECK(Status(Ask(p, "CONNECT localhost:99999 HTTP/1.1\r\n\r\n")) == 400);
  CHECK(Status(Ask(p, "GET /relative HTTP/1.1\r\nHost: localhost\r\n\r\n")) == 400);
  CHECK(Status(Ask(p, "CONNECT localhost:" + e + " HTTP/1.1\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n")) == 431);

  // Granted but nothing listens there.
  CHECK(Status(Ask(p, "CONNECT 127.0.0.1:" + std::to_string(f.closed_port) + " HTTP/1.1\r\n\r\n")) == 502);

  // None of the refused requests reached the upstream server.
  CHECK(f.echo.accepted() == accepted_before);
}

TEST_CASE("every decision is in the log, and the log verifies") {
  Fixture f;
  const std::string p = f.proxy->tcp_address();
  const std::string e = std::to_string(f.echo.port());
  {
    const int fd = Connect(p);
    SendAll(fd, "CONNECT localhost:" + e + " HTTP/1.1\r\n\r\n");
    CHECK(Status(RecvHead(fd)) == 200);
    ::close(fd);
  }
  CHECK(Status(Ask(p, "CONNECT api.example.com:" + e + " HTTP/1.1\r\n\r\n")) == 403);
  CHECK(Status(Ask(p, "CONNECT nope.example.net:443 HTTP/1.1\r\n\r\n")) == 403);
  CHECK(Status(Ask(p, "BREW coffee HTTP/1.1\r\n\r\n")) == 400);
  f.proxy->Stop();
  REQUIRE_FALSE(f.log->Close().has_value());

  const std::vector<nlohmann::json> records = f.Records();
  REQUIRE(records.size() == 4);
  const nlohmann::json& allow = records[0];
  CHECK(allow["verdict"] == "allow");
  CHECK(allow["call"]["tool_name"] == "egress");
  CHECK(allow["call"]["agent_id"] == "agent-1");
  CHECK(allow["call"]["session_id"] == "session-7");
  CHECK(allow["call"]["tool_input"]["host"] == "localhost");
  CHECK(allow["call"]["tool_input"]["port"] == f.echo.port());
  CHECK(allow["call"]["tool_input"]["addresses"] == nlohmann::json::array({"127.0.0.1"}));
  CHECK(allow["agent"]["profile"] == "sandboxed");
  CHECK(allow["deciders"][0]["id"] == "sandboxed.network.allow[0]");
  CHECK(allow["policy_digest"] == f.policy->digest());
  CHECK(allow["agent"]["via"] == "egress-proxy/tcp");

  const nlohmann::json& rebound = records[1];
  CHECK(rebound["verdict"] == "deny");
  CHECK(rebound["call"]["tool_input"]["addresses"] == nlohmann::json::array({"127.0.0.1"}));
  CHECK(rebound["reasons"][0]["note"].get<std::string>().find("loopback") != std::string::npos);
  CHECK(records[2]["verdict"] == "deny");
  CHECK(records[3]["verdict"] == "deny");
  CHECK(records[3]["call"]["tool_input"]["status"] == 400);

  VerifyOptions vo;
  vo.paths = {f.dir / "egress.jsonl"};
  const VerifyReport report = VerifyLog(vo);
  CHECK_MESSAGE(report.ok(), (report.error ? report.error->why : ""));
  CHECK(report.decisions == 4);
}

TEST_CASE("the Unix socket listener: mode 0600, tunnels, removed on Stop") {
  Fixture f;
  const std::string path = f.proxy->unix_socket_path();
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  const int fd = ConnectUnix(path);
  SendAll(fd, "CONNECT localhost:" + std::to_string(f.echo.port()) + " HTTP/1.1\r\n\r\n");
  CHECK(Status(RecvHead(fd)) == 200);
  SendAll(fd, "over unix");
  ::shutdown(fd, SHUT_WR);
  CHECK(RecvAll(fd) == "over unix");
  ::close(fd);
  f.proxy->Stop();
  CHECK(::stat(path.c_str(), &st) != 0);
  f.log->Close();
  const std::vector<nlohmann::json> records = f.Records();
  REQUIRE(records.size() == 1);
  CHECK(records[0]["agent"]["via"] == "egress-proxy/unix");
  CHECK(records[0]["agent"]["pid"] == static_cast<std::int64_t>(::getpid()));
}

TEST_CASE("Stop ends open tunnels; the connection limit answers 503") {
  Fixture f(/*max_connections=*/1);
  const int fd = Connect(f.proxy->tcp_address());
  SendAll(fd, "CONNECT localhost:" + std::to_string(f.echo.port()) + " HTTP/1.1\r\n\r\n");
  CHECK(Status(RecvHead(fd)) == 200);
  CHECK(Status(Ask(f.proxy->tcp_address(), "CONNECT localhost:1 HTTP/1.1\r\n\r\n")) == 503);
  f.proxy->Stop();  // returns although the tunnel is idle and open
  char c;
  CHECK(::recv(fd, &c, 1, 0) == 0);  // the client sees the tunnel close
  ::close(fd);
  f.proxy->Stop();  // idempotent
}

TEST_CASE("Start refuses bad options") {
  PolicyLoadResult r = LoadPolicyText(R"({"toolgate_policy": 1, "profiles": {"p": {}}})", "p.json");
  REQUIRE(r.ok());
  EgressProxyOptions o;
  o.tcp_listen = "127.0.0.1:0";
  CHECK_FALSE(EgressProxy::Start(o).ok());  // no profile
  o.profile = r.policy->ProfileNamed("p");
  o.tcp_listen = "0.0.0.0:0";
  CHECK_FALSE(EgressProxy::Start(o).ok());  // not loopback
  o.tcp_listen = "";
  CHECK_FALSE(EgressProxy::Start(o).ok());  // nowhere to listen
  o.unix_socket_path = "/tmp/" + std::string(200, 'x');
  CHECK_FALSE(EgressProxy::Start(o).ok());  // path too long
  TempDir dir;
  std::ofstream(dir / "file") << "x";
  o.unix_socket_path = dir / "file";
  CHECK_FALSE(EgressProxy::Start(o).ok());  // not a socket: never replaced
  o.unix_socket_path = dir / "ok.sock";
  auto first = EgressProxy::Start(o);
  REQUIRE(first.ok());
  CHECK_FALSE(EgressProxy::Start(o).ok());  // a live proxy holds it
}

TEST_CASE("a slow head gets 408 and an idle tunnel is closed") {
  TestServer echo{Echo};
  PolicyLoadResult r = LoadPolicyText(R"({"toolgate_policy": 1, "profiles": {"p": {"network": {"allow": ["127.0.0.1:)" +
                                          std::to_string(echo.port()) + R"("]}}}})",
                                      "slow.json");
  REQUIRE(r.ok());
  EgressProxyOptions o;
  o.tcp_listen = "127.0.0.1:0";
  o.profile = r.policy->ProfileNamed("p");
  o.header_timeout = std::chrono::milliseconds(200);
  o.idle_timeout = std::chrono::milliseconds(200);
  auto proxy = EgressProxy::Start(o);
  REQUIRE(proxy.ok());

  // Half a head, then silence: the proxy gives up on its own.
  int fd = Connect((*proxy)->tcp_address());
  SendAll(fd, "CONNECT 127.0.0.1:1 HTTP/1.1\r\nX-Slow: ");
  CHECK(Status(RecvAll(fd)) == 408);
  ::close(fd);

  // A tunnel nobody uses is closed after idle_timeout; the client sees EOF
  // well before its own 5 s receive timeout.
  fd = Connect((*proxy)->tcp_address());
  SendAll(fd, "CONNECT 127.0.0.1:" + std::to_string(echo.port()) + " HTTP/1.1\r\n\r\n");
  CHECK(Status(RecvHead(fd)) == 200);
  char c;
  errno = 0;
  CHECK(::recv(fd, &c, 1, 0) == 0);
  CHECK(errno == 0);  // EOF, not the receive timeout
  ::close(fd);
}

TEST_CASE("half-close: a client that stops sending still gets the whole answer") {
  TestServer slow_echo{[](int fd) {
    std::string all = RecvAll(fd);  // until the client's half-close arrives
    SendAll(fd, "got " + std::to_string(all.size()) + " bytes");
  }};
  PolicyLoadResult r = LoadPolicyText(R"({"toolgate_policy": 1, "profiles": {"p": {"network": {"allow": ["127.0.0.1:)" +
                                          std::to_string(slow_echo.port()) + R"("]}}}})",
                                      "half.json");
  REQUIRE(r.ok());
  EgressProxyOptions o;
  o.tcp_listen = "[::1]:0";
  o.profile = r.policy->ProfileNamed("p");
  auto proxy = EgressProxy::Start(o);
  if (!proxy.ok()) {
    MESSAGE("no IPv6 loopback here: " << proxy.error().message);
    o.tcp_listen = "127.0.0.1:0";
    proxy = EgressProxy::Start(o);
    REQUIRE(proxy.ok());
  }
  const std::string address = (*proxy)->tcp_address();
  int fd;
  if (address[0] == '[') {
    fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    sa.sin6_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    SetTimeouts(fd, 5000);
  } else {
    fd = Connect(address);
  }
  SendAll(fd, "CONNECT 127.0.0.1:" + std::to_string(slow_echo.port()) + " HTTP/1.1\r\n\r\n" + std::string(100000, 'z'));
  ::shutdown(fd, SHUT_WR);
  CHECK(Status(RecvHead(fd)) == 200);
  CHECK(RecvAll(fd) == "got 100000 bytes");
  ::close(fd);
}

TEST_CASE("many clients at once, in waves: every tunnel carries its own bytes") {
  Fixture f(/*max_connections=*/64);
  const std::string target = "localhost:" + std::to_string(f.echo.port());
  std::atomic<int> good{0};
  for (int wave = 0; wave < 3; ++wave) {  // later waves reuse the threads of earlier ones
    std::vector<std::thread> clients;
    for (int i = 0; i < 24; ++i) {
      clients.emplace_back([&, i] {
        const int fd = Connect(f.proxy->tcp_address());
        const std::string mine(65536, static_cast<char>('a' + i % 26));
        if (!SendAll(fd, "CONNECT " + target + " HTTP/1.1\r\n\r\n") || Status(RecvHead(fd)) != 200) {
          ::close(fd);
          return;
        }
        std::thread writer([&] {
          SendAll(fd, mine);
          ::shutdown(fd, SHUT_WR);
        });
        const std::string back = RecvAll(fd, mine.size() + 1);
        writer.join();
        ::close(fd);
        if (back == mine) ++good;
      });
    }
    for (std::thread& t : clients) t.join();
  }
  CHECK(good == 72);
  f.proxy->Stop();
  f.log->Close();
  CHECK(f.Records().size() == 72);
}

TEST_CASE("an upstream that resets mid-transfer ends the tunnel; the next tunnels carry only their own bytes") {
  TestServer resetter{[](int fd) {
    std::string got = RecvAll(fd, 1 << 20);  // a part of what the client sends
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);  // close() sends a reset
    (void)got;
  }};
  TestServer echo{Echo};
  PolicyLoadResult r =
      LoadPolicyText(R"({"toolgate_policy": 1, "profiles": {"p": {"network": {"allow": ["127.0.0.1"]}}}})", "reset.json");
  REQUIRE(r.ok());
  EgressProxyOptions o;
  o.tcp_listen = "127.0.0.1:0";
  o.profile = r.policy->ProfileNamed("p");
  o.max_connections = 4;
  auto proxy = EgressProxy::Start(o);
  REQUIRE(proxy.ok());
  const std::string address = (*proxy)->tcp_address();

  for (int round = 0; round < 3; ++round) {
    // The upstream goes away with data in flight: the client's sending ends
    // with an error and its receiving sees the end, both before their timeouts.
    int fd = Connect(address);
    REQUIRE(SendAll(fd, "CONNECT 127.0.0.1:" + std::to_string(resetter.port()) + " HTTP/1.1\r\n\r\n"));
    REQUIRE(Status(RecvHead(fd)) == 200);
    const std::string big(64 << 20, 'r');
    CHECK_FALSE(SendAll(fd, big));
    char c;
    errno = 0;
    const ssize_t n = ::recv(fd, &c, 1, 0);
    CHECK(n <= 0);
    CHECK(errno != EAGAIN);  // not the receive timeout
    ::close(fd);

    // A tunnel after it, likely on the same thread and its kept pipes.
    fd = Connect(address);
    REQUIRE(SendAll(fd, "CONNECT 127.0.0.1:" + std::to_string(echo.port()) + " HTTP/1.1\r\n\r\n"));
    REQUIRE(Status(RecvHead(fd)) == 200);
    std::string mine(3 << 20, '\0');
    for (std::size_t i = 0; i < mine.size(); ++i) {
      mine[i] = static_cast<char>((i * 7 + static_cast<std::size_t>(round)) & 0xff);
    }
    std::thread writer([&] {
      SendAll(fd, mine);
      ::shutdown(fd, SHUT_WR);
    });
    const std::string back = RecvAll(fd, mine.size() + 1);
    writer.join();
    ::close(fd);
    CHECK(back.size() == mine.size());
    CHECK(back == mine);
  }
}
