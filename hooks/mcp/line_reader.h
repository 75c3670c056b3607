// LineReader: splits a byte stream into newline-delimited lines (the MCP stdio
// framing) without ever holding more than one line's limit. A line longer than
// the limit is reported once and its bytes are dropped up to its '\n', so a
// peer that never sends a newline cannot grow the buffer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::mcp {

struct LineEvent {
  enum class Kind { kLine, kOversized };
  Kind kind = Kind::kLine;
  std::string text;  // kLine: the line without its '\n' (a '\r' before it stays)
};

class LineReader {
 public:
  explicit LineReader(std::size_t max_line_bytes) : max_(max_line_bytes) {}

  // Appends the events the bytes complete to *events.
  void Feed(std::string_view bytes, std::vector<LineEvent>* events);
  // At end of input: an unterminated last line counts as a line.
  void Finish(std::vector<LineEvent>* events);

  std::size_t buffered() const { return partial_.size(); }

 private:
  std::size_t max_;
  std::string partial_;
  bool discarding_ = false;  // inside a line already reported as oversized
};

}  // namespace toolgate::mcp
