// ToolPattern: a glob over a whole tool name ("Read", "mcp__github__*").
// Case-sensitive; '/' is an ordinary character. Syntax: glob.h.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
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

// RE2's error for a pattern its set compiles; "" when there is none or the
// pattern is answered from the tables (their forms always translate to a
// valid regex).
std::string RegexErrorOf(const ToolPattern& pattern);

// Exact names ("Bash") and name prefixes ("mcp__github__*", "*") are
// answered from tables, exactly as their regexes would; only patterns of
// other forms ("mcp__*__delete_*", "{Read,Write}") go through the RE2 set.
class ToolPatternSet {
 public:
  // True when the pattern is answered from the tables alone (never compiled).
  static bool InTable(const ToolPattern& pattern);
  void Add(const ToolPattern& pattern, int slot);
  [[nodiscard]] bool Compile(std::string* error);
  SetOutcome Match(std::string_view tool_name, std::vector<int>* slots) const;

 private:
  // "word*": the word, or false for another form.
  static bool PrefixWord(const std::string& text, std::string* word);

  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Prefix {
    std::string text;
    int slot;
  };
  std::unordered_map<std::string, std::vector<int>, NameHash, std::equal_to<>> exact_;
  std::vector<Prefix> prefixes_;
  RegexSet set_;  // the other patterns
  std::vector<int> slots_;
};

}  // namespace toolgate
