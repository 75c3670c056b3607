#include "hooks/daemon_client.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "toolgate/decision.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

DaemonAnswer Failed(std::string message, const std::string& path) {
  DaemonAnswer a;
  a.status = DaemonAnswer::Status::kFailed;
  a.error = Error{ErrorCode::kInternal, std::move(message), path};
  return a;
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, RemainingMs(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A decision object as ToJson(Decision) writes it: at least a known verdict.
bool LooksLikeDecision(const json& d) {
  if (!d.is_object()) return false;
  const auto v = d.find("verdict");
  if (v == d.end() || !v->is_string() || !VerdictFromName(v->get<std::string>())) return false;
  const auto m = d.find("message");
  return m == d.end() || m->is_string();
}

}  // namespace

DaemonAnswer DecideViaDaemon(const std::string& socket_path, const std::vector<ToolCall>& calls,
                             std::chrono::milliseconds timeout, bool headless) {
  const Clock::time_point deadline = Clock::now() + timeout;
  struct stat st {};
  if (::stat(socket_path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      DaemonAnswer a;
      a.status = DaemonAnswer::Status::kUnavailable;
      return a;
    }
    return Failed(std::string("cannot reach the toolgate daemon socket: ") + std::strerror(errno), socket_path);
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return Failed("the daemon socket path is too long", socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return Failed(std::string("socket(): ") + std::strerror(errno), socket_path);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ECONNREFUSED || errno == ENOENT) {
      // A socket file nobody listens on: the daemon is down.
      DaemonAnswer a;
      a.status = DaemonAnswer::Status::kUnavailable;
      return a;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return Failed(std::string("cannot connect to the toolgate daemon: ") + std::strerror(errno), socket_path);
    }
    if (!WaitFor(fd.get(), POLLOUT, deadline)) {
      return Failed("the toolgate daemon did not accept the connection within " + std::to_string(timeout.count()) +
                        " ms",
                    socket_path);
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      return Failed(std::string("cannot connect to the toolgate daemon: ") + std::strerror(err != 0 ? err : errno),
                    socket_path);
    }
  }

  std::string out;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    json request{{"v", 1}, {"id", static_cast<std::uint64_t>(i + 1)}, {"op", "decide"}, {"call", ToJson(calls[i])}};
    if (headless) request["headless"] = true;
    out += request.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '\n';
  }
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd.get(), POLLOUT, deadline)) {
        return Failed("the toolgate daemon did not read the request within " + std::to_string(timeout.count()) + " ms",
                      socket_path);
      }
      continue;
    }
    return Failed(std::string("sending to the toolgate daemon failed: ") + std::strerror(errno), socket_path);
  }

  DaemonAnswer answer;
  std::string buffer;
  char chunk[65536];
  while (answer.decisions.size() < calls.size()) {
    const std::size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      const std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      Result<json> reply = ParseUntrustedJson(line, {kMaxDaemonReplyBytes, 128});
      if (!reply || !reply->is_object()) return Failed("the toolgate daemon answered something that is not a JSON object", socket_path);
      const json& r = *reply;
      const auto id = r.find("id");
      const std::uint64_t want = answer.decisions.size() + 1;
      if (r.value("v", json()) != json(1) || id == r.end() || !id->is_number_unsigned() || id->get<std::uint64_t>() != want) {
        return Failed("the toolgate daemon answered with a wrong version or request id", socket_path);
      }
      if (r.value("ok", json()) != json(true)) {
        std::string why = "the toolgate daemon refused the request";
        if (const auto e = r.find("error"); e != r.end() && e->is_object()) {
          // Only string members: json::value throws on another type, and this function never throws.
          const auto text = [&e](const char* key, const char* fallback) {
            const auto it = e->find(key);
            return it != e->end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
          };
          why += ": " + text("code", "?") + ": " + text("message", "");
        }
        return Failed(why, socket_path);
      }
      const auto d = r.find("decision");
      if (d == r.end() || !LooksLikeDecision(*d)) return Failed("the toolgate daemon's reply has no valid decision", socket_path);
      const auto sb = r.find("shell_sandboxed");
      if (sb != r.end() && !sb->is_boolean()) return Failed("the toolgate daemon's reply has a malformed shell_sandboxed", socket_path);
      answer.shell_sandboxed.push_back(sb != r.end() && sb->get<bool>());
      answer.decisions.push_back(*d);
      continue;
    }
    if (buffer.size() > kMaxDaemonReplyBytes) return Failed("the toolgate daemon's reply is too long", socket_path);
    if (!WaitFor(fd.get(), POLLIN, deadline)) {
      return Failed("the toolgate daemon did not answer within " + std::to_string(timeout.count()) + " ms", socket_path);
    }
    const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return Failed("the toolgate daemon closed the connection before answering", socket_path);
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Failed(std::string("reading from the toolgate daemon failed: ") + std::strerror(errno), socket_path);
    }
  }
  answer.status = DaemonAnswer::Status::kAnswered;
  return answer;
}

}  // namespace toolgate::hooks
