#include "audit/segment_files.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace toolgate::audit {
namespace {

namespace fs = std::filesystem;
constexpr std::size_t kIndexDigits = 6;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

SegmentName SplitLogPath(const std::string& path) {
  const fs::path p(path);
  SegmentName n;
  n.dir = p.parent_path().empty() ? "." : p.parent_path().string();
  n.stem = p.stem().string();
  n.ext = p.extension().string();
  return n;
}

std::string SegmentPath(const SegmentName& name, std::uint32_t index) {
  char idx[16];
  std::snprintf(idx, sizeof idx, "%0*u", static_cast<int>(kIndexDigits), index);
  return (fs::path(name.dir) / (name.stem + "." + idx + name.ext)).string();
}

std::vector<std::uint32_t> ListSegments(const SegmentName& name) {
  std::vector<std::uint32_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(name.dir, ec)) {
    const std::string file = entry.path().filename().string();
    const std::string prefix = name.stem + ".";
    if (file.size() != prefix.size() + kIndexDigits + name.ext.size()) continue;
    if (file.compare(0, prefix.size(), prefix) != 0) continue;
    if (file.compare(file.size() - name.ext.size(), name.ext.size(), name.ext) != 0) continue;
    const std::string digits = file.substr(prefix.size(), kIndexDigits);
    if (!AllDigits(digits)) continue;
    out.push_back(static_cast<std::uint32_t>(std::stoul(digits)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> BaseOfSegment(const std::string& segment_path) {
  const fs::path p(segment_path);
  const std::string ext = p.extension().string();
  const fs::path inner(p.stem());  // "decisions.000001"
  const std::string digits = inner.extension().string();
  if (digits.size() != kIndexDigits + 1 || !AllDigits(digits.substr(1))) return std::nullopt;
  return (p.parent_path() / (inner.stem().string() + ext)).string();
}

std::string SidecarPath(const std::string& log_path) { return log_path + ".sig"; }
std::string LockPath(const std::string& log_path) { return log_path + ".lock"; }

}  // namespace toolgate::audit
