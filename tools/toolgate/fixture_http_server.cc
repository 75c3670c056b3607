#include "fixture_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace toolgate::cli {
namespace {

constexpr int kMaxConnections = 32;
constexpr std::size_t kMaxRequestBytes = 8192;

void WriteAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

std::string Response(int status, const char* reason, const std::string& location, bool head) {
  const std::string body = std::to_string(status) + " " + reason + "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  if (!location.empty()) out += "Location: " + location + "\r\n";
  out += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

}  // namespace

FixtureHttpServer::~FixtureHttpServer() { Stop(); }

bool FixtureHttpServer::Start(std::string* error) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = std::string("bind/listen on 127.0.0.1: ") + std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return true;
}

void FixtureHttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void FixtureHttpServer::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (active_.load() >= kMaxConnections) {
      ::close(fd);
      continue;
    }
    ++active_;
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, fd] {
      Serve(fd);
      ::close(fd);
      --active_;
    });
  }
}

void FixtureHttpServer::Serve(int fd) {
  std::string request;
  char buf[1024];
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    if (stopping_.load() || std::chrono::steady_clock::now() > give_up) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<std::size_t>(n));
  }
  ++requests_;
  const std::size_t sp1 = request.find(' ');
  const std::size_t sp2 = request.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return;
  const std::string method = request.substr(0, sp1);
  std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const std::size_t q = path.find('?'); q != std::string::npos) path.resize(q);
  const bool head = method == "HEAD";
  std::string out;
  if (path == "/ok") {
    out = Response(200, "OK", "", head);
  } else if (path == "/error") {
    out = Response(500, "Internal Server Error", "", head);
  } else if (path == "/redirect") {
    out = Response(302, "Found", "/ok", head);
  } else if (path == "/redirect-broken") {
    out = Response(302, "Found", "/not-found", head);
  } else if (path == "/redirect-loop") {
    out = Response(302, "Found", "/redirect-loop", head);
  } else if (path == "/head-refused") {
    out = head ? Response(405, "Method Not Allowed", "", true) : Response(200, "OK", "", false);
  } else if (path == "/slow") {
    for (int i = 0; i < 60 && !stopping_.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out = Response(200, "OK", "", head);
  } else {
    out = Response(404, "Not Found", "", head);
  }
  WriteAll(fd, out);
}

}  // namespace toolgate::cli
