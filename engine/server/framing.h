// Framing of the daemon protocol: '\n'-terminated lines with a size bound.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace toolgate::server {

struct LineSplit {
  std::vector<std::string_view> lines;  // complete request lines, without '\n' (and a trailing '\r')
  std::size_t consumed = 0;             // bytes of the buffer the lines (and skipped blank lines) used
  bool oversized = false;               // a line passed max_bytes: nothing after the lines above is read
};

// Splits the complete lines off the front of buffer. Blank lines are skipped.
// A line longer than max_bytes (its '\n' not counted), or an unterminated tail
// already longer than that, sets oversized and ends the split there: the
// caller answers input_too_large and closes the connection without waiting
// for the rest of a line it will never accept. At end of input (at_eof) an
// unterminated tail is a last line.
void SplitLines(std::string_view buffer, std::size_t max_bytes, bool at_eof, LineSplit* out);

}  // namespace toolgate::server
