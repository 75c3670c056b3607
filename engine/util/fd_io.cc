#include "util/fd_io.h"

#include <unistd.h>

#include <cerrno>

namespace toolgate {

int WriteAll(int fd, std::string_view bytes) {
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

std::string ReadBounded(int fd, std::size_t max_bytes) {
  std::string out;
  char buf[65536];
  while (out.size() <= max_bytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (out.size() > max_bytes + 1) out.resize(max_bytes + 1);
  return out;
}

}  // namespace toolgate
