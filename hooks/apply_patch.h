// Codex's apply_patch envelope: which files a patch adds, updates, moves and
// deletes, so each becomes a file tool call the policy's grants judge.
//
//   *** Begin Patch
//   *** Add File: path        (+lines follow: the new content)
//   *** Update File: path     (optional "*** Move to: path", then @@ hunks of ' ', '-', '+' lines)
//   *** Delete File: path
//   *** End Patch
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "toolgate/result.h"

namespace toolgate::hooks {

struct PatchFileOp {
  enum class Kind { kAdd, kUpdate, kDelete };
  Kind kind = Kind::kAdd;
  std::string path;
  std::string move_to;     // Update with "*** Move to:"; "" otherwise
  std::string old_text;    // Update: the ' ' and '-' lines; Delete/Add: ""
  std::string new_text;    // Add: the '+' lines; Update: the ' ' and '+' lines
};

inline constexpr std::size_t kMaxPatchFiles = 1024;

// Every file operation, in order. An empty path, a patch that names no file,
// or more than kMaxPatchFiles files is an error (the call is then denied).
Result<std::vector<PatchFileOp>> ParseApplyPatch(std::string_view patch);

}  // namespace toolgate::hooks
