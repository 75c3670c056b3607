#include "server/framing.h"

#include <cstring>

namespace toolgate::server {

void SplitLines(std::string_view buffer, std::size_t max_bytes, bool at_eof, LineSplit* out) {
  out->lines.clear();
  out->consumed = 0;
  out->oversized = false;
  std::size_t pos = 0;
  while (pos < buffer.size()) {
    const void* nl = std::memchr(buffer.data() + pos, '\n', buffer.size() - pos);
    const std::size_t end = nl == nullptr ? buffer.size() : static_cast<std::size_t>(static_cast<const char*>(nl) -
                                                                                     buffer.data());
    std::string_view line = buffer.substr(pos, end - pos);
    if (line.size() > max_bytes) {
      out->oversized = true;
      return;
    }
    if (nl == nullptr && !at_eof) return;  // an incomplete line: wait for the rest
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) out->lines.push_back(line);
    pos = nl == nullptr ? buffer.size() : end + 1;
    out->consumed = pos;
  }
}

}  // namespace toolgate::server
