#include "server/listener.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

namespace toolgate::server {
namespace {

constexpr int kListenFdsStart = 3;  // SD_LISTEN_FDS_START

Error ListenError(const std::string& what, const std::string& where) {
  return Error{ErrorCode::kInternal, what, where};
}

std::string ErrnoText(int e) { return std::strerror(e); }

bool ParseInt(const char* text, long* out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool FillAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr->sun_path) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// Creates the missing directories of dir, each with mode 0700 (a runtime
// directory nobody else needs to list).
std::optional<Error> MakeParentDirs(const std::string& dir) {
  if (dir.empty()) return std::nullopt;
  std::vector<std::string> missing;
  std::string d = dir;
  struct stat st {};
  while (!d.empty() && d != "/" && ::stat(d.c_str(), &st) != 0) {
    if (errno != ENOENT) return ListenError("cannot inspect the socket's directory: " + ErrnoText(errno), d);
    missing.push_back(d);
    const std::size_t slash = d.find_last_of('/');
    d = slash == std::string::npos ? "" : d.substr(0, slash);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return ListenError("cannot create the socket's directory: " + ErrnoText(errno), *it);
    }
  }
  return std::nullopt;
}

Result<Listener> FromActivation(int count) {
  if (count != 1) {
    return ListenError("systemd passed " + std::to_string(count) + " sockets; toolgate serve takes exactly one",
                       "LISTEN_FDS");
  }
  const int fd = kListenFdsStart;
  int type = 0;
  int listening = 0;
  socklen_t len = sizeof type;
  sockaddr_storage addr{};
  socklen_t alen = sizeof addr;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
      ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0 || addr.ss_family != AF_UNIX) {
    return ListenError("the socket systemd passed is not a listening Unix stream socket (ListenStream=/path)",
                       "fd 3");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return ListenError("cannot make the passed socket non-blocking: " + ErrnoText(errno), "fd 3");
  }
  Listener l;
  l.fd = fd;
  l.activated = true;
  return l;
}

mode_t SocketMode(const ListenerOptions& options) { return options.group.empty() ? 0600 : 0660; }

}  // namespace

int ListenFdsFromEnvironment() {
  long pid = 0;
  long count = 0;
  const bool mine = ParseInt(std::getenv("LISTEN_PID"), &pid) && pid == static_cast<long>(::getpid()) &&
                    ParseInt(std::getenv("LISTEN_FDS"), &count) && count > 0 && count < 1024;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!mine) return 0;
  for (int fd = kListenFdsStart; fd < kListenFdsStart + static_cast<int>(count); ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  return static_cast<int>(count);
}

Result<Listener> OpenListener(const ListenerOptions& options) {
  if (const int passed = ListenFdsFromEnvironment(); passed > 0) return FromActivation(passed);

  const std::string& path = options.path;
  sockaddr_un addr{};
  if (!FillAddress(path, &addr)) {
    return ListenError("the socket path is empty or longer than " + std::to_string(sizeof addr.sun_path - 1) +
                           " bytes",
                       path);
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (!options.group.empty()) {
    const group* g = ::getgrnam(options.group.c_str());
    if (g == nullptr) return ListenError("no such group: " + options.group, "--group");
    gid = g->gr_gid;
  }
  const std::size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto e = MakeParentDirs(path.substr(0, slash))) return *e;
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return ListenError("the socket path exists and is not a socket; not touching it", path);
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return ListenError("socket: " + ErrnoText(errno), path);
    const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    ::close(probe);
    if (rc == 0) return ListenError("another daemon is already listening on this socket", path);
    if (err != ECONNREFUSED && err != ENOENT) {
      return ListenError("cannot tell whether the existing socket is in use: " + ErrnoText(err), path);
    }
    // Nobody answers: a daemon that died without cleaning up left it.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ListenError("cannot remove the stale socket: " + ErrnoText(errno), path);
    }
  } else if (errno != ENOENT) {
    return ListenError("cannot inspect the socket path: " + ErrnoText(errno), path);
  }

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ListenError("socket: " + ErrnoText(errno), path);
  // No window in which the socket exists with looser permissions than asked.
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bind_err = errno;
  ::umask(old_mask);
  if (bound != 0) {
    ::close(fd);
    return ListenError("cannot bind the socket: " + ErrnoText(bind_err), path);
  }
  Listener l;
  l.fd = fd;
  l.path = path;
  if (::lstat(path.c_str(), &st) == 0) {
    l.dev = st.st_dev;
    l.ino = st.st_ino;
  }
  const auto fail = [&](const std::string& what) -> Result<Listener> {
    const int e = errno;
    RemoveSocketFile(l);
    ::close(fd);
    return ListenError(what + ": " + ErrnoText(e), path);
  };
  if (gid != static_cast<gid_t>(-1)) {
    if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) return fail("cannot give the socket its group");
  }
  if (::chmod(path.c_str(), SocketMode(options)) != 0) return fail("cannot set the socket's mode");
  if (::listen(fd, options.backlog) != 0) return fail("cannot listen");
  return l;
}

void RemoveSocketFile(const Listener& listener) {
  if (listener.activated || listener.path.empty()) return;
  struct stat st {};
  if (::lstat(listener.path.c_str(), &st) != 0) return;
  if (S_ISSOCK(st.st_mode) && st.st_dev == listener.dev && st.st_ino == listener.ino) ::unlink(listener.path.c_str());
}

SocketFileCheck CheckSocketFile(const Listener& listener, const ListenerOptions& options) {
  SocketFileCheck c;
  if (listener.activated || listener.path.empty()) return c;  // systemd owns the path
  struct stat st {};
  if (::lstat(listener.path.c_str(), &st) != 0) {
    // Only a vanished path counts as removed; an unreadable one is left as it is.
    if (errno == ENOENT || errno == ENOTDIR) c.state = SocketFileState::kRemoved;
    return c;
  }
  c.mode = st.st_mode & 07777;
  if (!S_ISSOCK(st.st_mode) || st.st_dev != listener.dev || st.st_ino != listener.ino) {
    c.state = SocketFileState::kReplaced;
  } else if (c.mode != SocketMode(options)) {
    c.state = SocketFileState::kModeChanged;
  }
  return c;
}

std::optional<std::string> RestoreSocketMode(const Listener& listener, const ListenerOptions& options) {
  // The directory is ours (0700 when we made it): re-checking the identity
  // right before chmod leaves no useful window to swap the file.
  struct stat st {};
  if (::lstat(listener.path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_dev != listener.dev ||
      st.st_ino != listener.ino) {
    return std::string("the socket file changed while its mode was being restored");
  }
  if (::chmod(listener.path.c_str(), SocketMode(options)) != 0) return ErrnoText(errno);
  return std::nullopt;
}

}  // namespace toolgate::server
