#include "daemon_request.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "toolgate/tool_call.h"

namespace toolgate::cli {

Result<nlohmann::json> DaemonRequest(const std::string& socket_path, nlohmann::json request,
                                     std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  const auto fail = [&](std::string message) -> Result<nlohmann::json> {
    return Error{ErrorCode::kInternal, std::move(message), socket_path};
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return fail("the socket path is too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket(): ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(std::string("cannot connect to the toolgate daemon: ") + std::strerror(errno));
  }
  request["v"] = 1;
  request["id"] = 1;
  const std::string line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(std::string("sending to the toolgate daemon failed: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[65536];
  while (reply.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return fail("the toolgate daemon did not answer within " + std::to_string(timeout.count()) + " ms");
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("the toolgate daemon closed the connection without an answer");
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.size() > (std::size_t{1} << 22)) return fail("the toolgate daemon's answer is too long");
  }
  reply.resize(reply.find('\n'));
  Result<nlohmann::json> parsed = ParseUntrustedJson(reply, {std::size_t{1} << 22, 64});
  if (!parsed || !parsed->is_object() || !parsed->contains("ok")) {
    return fail("the toolgate daemon answered something that is not a protocol reply");
  }
  return parsed;
}

int ReportDaemonError(const char* command, const nlohmann::json& reply) {
  std::string code = "internal", message;
  if (const auto e = reply.find("error"); e != reply.end() && e->is_object()) {
    code = e->value("code", code);
    message = e->value("message", "");
  }
  std::cerr << "toolgate " << command << ": " << code << ": " << message << "\n";
  if (code == "forbidden") return 77;
  if (code == "invalid_argument" || code == "bad_request" || code == "not_found") return 64;
  return 1;
}

}  // namespace toolgate::cli
