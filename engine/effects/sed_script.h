// Sed scripts: which files a sed program reads or writes by itself (r, R, w,
// W, the w flag of s) and whether it runs shell commands (e, the e flag of s).
//
// The scanner follows GNU sed's grammar command by command, so the text of
// addresses (/regex/, \%regex%), s/// and y/// operands and a/i/c text is
// never mistaken for a file name. A script it cannot follow is reported as
// not understood rather than guessed at: sed refuses such a script, and a
// scanner that disagrees with sed must fail closed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace toolgate::effects {

struct SedFileAccess {
  std::string name;  // as written; relative names are relative to sed's cwd
  bool write = false;
  char command = 0;  // 'r', 'R', 'w', 'W', or 's' for s///w
};

struct SedScriptEffects {
  std::vector<SedFileAccess> files;
  bool runs_command = false;  // e, or s///e
  bool understood = true;     // false: the scanner could not follow the script
};

// GNU sed treats these names as its own streams, not files.
bool IsSedSpecialFile(std::string_view name, bool write);

// `script` is the whole program: GNU sed joins several -e pieces with newlines.
// Linear in the script's length.
SedScriptEffects AnalyzeSedScript(std::string_view script);

}  // namespace toolgate::effects
