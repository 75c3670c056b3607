// ToolPattern: a glob over a whole tool name ("Read", "mcp__github__*").
// Case-sensitive; '/' is an ordinary character. Syntax: glob.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "grants/regex_set.h"
#include "toolgate/result.h"

namespace toolgate {

struct ToolPattern {
  std::string canonical;            // the pattern text as written
  std::string regex;
  bool literal = false;             // no wildcard: matches exactly UnescapeGlob(canonical)
  bool matches_everything = false;  // only '*'s
};

Result<ToolPattern> ParseToolPattern(std::string_view pattern);

class ToolPatternSet {
 public:
  void Add(const ToolPattern& pattern, int slot);
  [[nodiscard]] bool Compile(std::string* error);
  SetOutcome Match(std::string_view tool_name, std::vector<int>* slots) const;

 private:
  RegexSet set_;
  std::vector<int> slots_;
};

}  // namespace toolgate
