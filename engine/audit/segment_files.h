// Where a log's bytes live: the segment files, the checkpoint sidecar and the
// writer's lock, all derived from the configured path.
//   rotation off:  decisions.jsonl
//   rotation on:   decisions.000001.jsonl, decisions.000002.jsonl, ...
//   always:        decisions.jsonl.sig (signed checkpoints), decisions.jsonl.lock
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace toolgate::audit {

struct SegmentName {
  std::string dir;   // "." when the path has none
  std::string stem;  // "decisions"
  std::string ext;   // ".jsonl" (may be empty)
};

SegmentName SplitLogPath(const std::string& path);
std::string SegmentPath(const SegmentName& name, std::uint32_t index);  // dir/stem.000042.ext
// Segment indexes present on disk, ascending.
std::vector<std::uint32_t> ListSegments(const SegmentName& name);
// For a segment path dir/stem.NNNNNN.ext, the base log path dir/stem.ext.
std::optional<std::string> BaseOfSegment(const std::string& segment_path);

std::string SidecarPath(const std::string& log_path);  // PATH.sig
std::string LockPath(const std::string& log_path);     // PATH.lock

}  // namespace toolgate::audit
