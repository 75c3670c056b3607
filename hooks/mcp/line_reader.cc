#include "hooks/mcp/line_reader.h"

namespace toolgate::mcp {

void LineReader::Feed(std::string_view bytes, std::vector<LineEvent>* events) {
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const std::string_view chunk = bytes.substr(0, nl);  // up to (not including) the newline
    if (!discarding_) {
      if (partial_.size() + chunk.size() > max_) {
        events->push_back({LineEvent::Kind::kOversized, {}});
        partial_.clear();
        partial_.shrink_to_fit();
        discarding_ = true;
      } else {
        partial_.append(chunk);
      }
    }
    if (nl == std::string_view::npos) return;
    if (!discarding_) events->push_back({LineEvent::Kind::kLine, std::move(partial_)});
    partial_.clear();
    discarding_ = false;
    bytes.remove_prefix(nl + 1);
  }
}

void LineReader::Finish(std::vector<LineEvent>* events) {
  if (!discarding_ && !partial_.empty()) events->push_back({LineEvent::Kind::kLine, std::move(partial_)});
  partial_.clear();
  discarding_ = false;
}

}  // namespace toolgate::mcp
