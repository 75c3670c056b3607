// The daemon's listening socket: bound to a path with safe permissions, or
// handed over by systemd (socket activation).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "toolgate/result.h"

namespace toolgate::server {

struct ListenerOptions {
  std::string path;   // the socket path (ignored when systemd passes a socket)
  std::string group;  // "" = mode 0600; else mode 0660 with this group
  int backlog = 512;
};

struct Listener {
  int fd = -1;
  bool activated = false;  // passed by systemd: systemd owns the path, it is never removed here
  std::string path;        // the path bound ("" when activated)
  dev_t dev = 0;           // identity of the socket file bound, so shutdown removes only ours
  ino_t ino = 0;
};

// sd_listen_fds(3) without libsystemd: the number of sockets passed from fd 3
// on when LISTEN_PID names this process and LISTEN_FDS is a count, else 0.
// The variables are unset either way (children must not take them as theirs)
// and the descriptors are made close-on-exec.
int ListenFdsFromEnvironment();

// Uses a socket systemd passed (fd 3, which must be a listening Unix stream
// socket), or binds options.path:
//   * a missing parent directory is created with mode 0700;
//   * an existing path that is not a socket is refused (never deleted);
//   * an existing socket that another daemon answers on is refused; a stale
//     one (connection refused) is removed;
//   * the socket is created under umask 0177, then given mode 0600, or 0660
//     and the group when options.group is set.
// Errors name the path and what failed.
Result<Listener> OpenListener(const ListenerOptions& options);

// Removes the socket file if it is still the one this listener bound.
void RemoveSocketFile(const Listener& listener);

// What became of the socket file a listener bound. The daemon checks it
// periodically: a removed file leaves the daemon unreachable (hooks then
// judge in-process, outside the daemon's log), a loosened mode lets other
// users connect, and another file at the path is someone else's.
enum class SocketFileState {
  kIntact,       // still ours, with the mode asked for (or passed by systemd: not watched)
  kRemoved,      // nothing at the path
  kReplaced,     // the path names another file
  kModeChanged,  // ours, but its mode is not the one asked for (mode says what it is)
};
struct SocketFileCheck {
  SocketFileState state = SocketFileState::kIntact;
  mode_t mode = 0;
};
SocketFileCheck CheckSocketFile(const Listener& listener, const ListenerOptions& options);

// Gives our socket file the mode OpenListener gave it. Error text on failure.
std::optional<std::string> RestoreSocketMode(const Listener& listener, const ListenerOptions& options);

}  // namespace toolgate::server
