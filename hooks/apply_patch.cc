#include "hooks/apply_patch.h"

namespace toolgate::hooks {
namespace {

std::string_view TrimLineEnd(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  return line;
}

bool TakePrefix(std::string_view line, std::string_view prefix, std::string* rest) {
  if (line.substr(0, prefix.size()) != prefix) return false;
  std::string_view r = TrimLineEnd(line.substr(prefix.size()));
  while (!r.empty() && (r.front() == ' ' || r.front() == '\t')) r.remove_prefix(1);
  *rest = std::string(r);
  return true;
}

}  // namespace

Result<std::vector<PatchFileOp>> ParseApplyPatch(std::string_view patch) {
  std::vector<PatchFileOp> ops;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos <= patch.size()) {
    const std::size_t end = patch.find('\n', pos);
    const std::string_view raw = patch.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? patch.size() + 1 : end + 1;
    ++line_no;
    if (end == std::string_view::npos && raw.empty()) break;  // after the last newline
    if (TrimLineEnd(raw) == "*** End Patch") break;
    const std::string where = "patch line " + std::to_string(line_no);
    std::string path;
    PatchFileOp::Kind kind{};
    bool starts_file = false;
    if (TakePrefix(raw, "*** Add File:", &path)) {
      kind = PatchFileOp::Kind::kAdd;
      starts_file = true;
    } else if (TakePrefix(raw, "*** Update File:", &path)) {
      kind = PatchFileOp::Kind::kUpdate;
      starts_file = true;
    } else if (TakePrefix(raw, "*** Delete File:", &path)) {
      kind = PatchFileOp::Kind::kDelete;
      starts_file = true;
    }
    if (starts_file) {
      if (path.empty()) return Error{ErrorCode::kMissingField, "apply_patch names a file with an empty path", where};
      if (ops.size() >= kMaxPatchFiles) {
        return Error{ErrorCode::kInputTooLarge,
                     "apply_patch touches more than " + std::to_string(kMaxPatchFiles) + " files", where};
      }
      ops.push_back(PatchFileOp{kind, std::move(path), {}, {}, {}});
      continue;
    }
    if (TakePrefix(raw, "*** Move to:", &path)) {
      if (ops.empty() || ops.back().kind != PatchFileOp::Kind::kUpdate) {
        return Error{ErrorCode::kUnsupportedFormat, "apply_patch has a Move to: outside an Update File", where};
      }
      if (path.empty()) return Error{ErrorCode::kMissingField, "apply_patch moves a file to an empty path", where};
      ops.back().move_to = std::move(path);
      continue;
    }
    if (ops.empty() || raw.substr(0, 3) == "***" || raw.substr(0, 2) == "@@") continue;
    PatchFileOp& op = ops.back();
    const std::string_view body = raw.empty() ? raw : raw.substr(1);
    const char mark = raw.empty() ? ' ' : raw.front();
    if (op.kind == PatchFileOp::Kind::kAdd) {
      if (mark == '+') op.new_text.append(body).push_back('\n');
    } else if (op.kind == PatchFileOp::Kind::kUpdate) {
      if (mark == '-' || mark == ' ') op.old_text.append(body).push_back('\n');
      if (mark == '+' || mark == ' ') op.new_text.append(body).push_back('\n');
    }
  }
  if (ops.empty()) return Error{ErrorCode::kMissingField, "apply_patch names no file (no *** Add/Update/Delete File: line)", "/tool_input/command"};
  return ops;
}

}  // namespace toolgate::hooks
