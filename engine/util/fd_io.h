// Complete reads and writes on a file descriptor, shared by the CLI, the
// static hook shim and the decision log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace toolgate {

// Writes all bytes, retrying short writes and EINTR. 0, or the errno that
// stopped it (EIO when write(2) returned 0).
int WriteAll(int fd, std::string_view bytes);

// Reads until end of file, but at most max_bytes + 1 bytes: one byte past the
// limit is enough for the caller to see that an input is too large. A read
// error ends the input where it stopped.
std::string ReadBounded(int fd, std::size_t max_bytes);

}  // namespace toolgate
