// Shared helpers for the daemon tests: the example policy, a temp directory,
// and a blocking line client for a Unix socket.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "toolgate/policy.h"
#include "tests/temp_dir.h"

namespace toolgate::server::testing {

inline std::string SourceRoot() {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  return root != nullptr ? root : ".";
}

inline std::shared_ptr<const Policy> ExamplePolicy(const std::string& name = "default.json") {
  return LoadPolicyFile(SourceRoot() + "/rules/examples/" + name).policy;
}

class TempDir : public toolgate::testing::TempDir {
 public:
  TempDir() : toolgate::testing::TempDir("tg-server") {}
};

// Connects to a Unix socket; -1 on failure.
inline int ConnectUnix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof addr.sun_path - 1));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until `lines` newlines arrived or the peer closed (bounded by a 10 s receive timeout).
inline std::string ReadLines(int fd, int lines) {
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  int seen = 0;
  char buf[65536];
  while (seen < lines) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) seen += buf[i] == '\n';
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace toolgate::server::testing
