#include "grants/tool_pattern.h"

#include "grants/glob.h"

namespace toolgate {

Result<ToolPattern> ParseToolPattern(std::string_view pattern) {
  if (pattern.empty()) return Error{ErrorCode::kPolicyPattern, "empty tool pattern", ""};
  Result<std::string> regex = GlobToRegex(pattern, kToolFlavor);
  if (!regex.ok()) return regex.error();
  ToolPattern out;
  out.canonical = std::string(pattern);
  out.regex = std::move(*regex);
  out.literal = IsLiteralGlob(pattern);
  out.matches_everything = pattern.find_first_not_of('*') == std::string_view::npos;
  return out;
}

bool ToolPatternSet::PrefixWord(const std::string& text, std::string* word) {
  // "word*": the word, then [\x00-\xff]* (any rest of the name).
  if (text.empty() || text.back() != '*') return false;
  *word = text.substr(0, text.size() - 1);
  return IsLiteralGlob(*word) && (word->empty() || word->back() != '*');
}

bool ToolPatternSet::InTable(const ToolPattern& pattern) {
  std::string word;
  return IsLiteralGlob(pattern.canonical) || PrefixWord(pattern.canonical, &word);
}

std::string RegexErrorOf(const ToolPattern& pattern) {
  return ToolPatternSet::InTable(pattern) ? std::string() : RegexSet::Validate(pattern.regex);
}

void ToolPatternSet::Add(const ToolPattern& pattern, int slot) {
  const std::string& text = pattern.canonical;
  if (IsLiteralGlob(text)) {
    exact_[UnescapeGlob(text)].push_back(slot);
    return;
  }
  if (std::string word; PrefixWord(text, &word)) {
    prefixes_.push_back(Prefix{UnescapeGlob(word), slot});
    return;
  }
  std::string ignored;
  if (set_.Add(pattern.regex, &ignored) >= 0) slots_.push_back(slot);
}

bool ToolPatternSet::Compile(std::string* error) {
  if (set_.Compile()) return true;
  *error = "the profile's tool patterns are too large for RE2 to compile";
  return false;
}

SetOutcome ToolPatternSet::Match(std::string_view tool_name, std::vector<int>* slots) const {
  thread_local std::vector<int> hits;
  slots->clear();
  if (const auto it = exact_.find(tool_name); it != exact_.end()) {
    slots->insert(slots->end(), it->second.begin(), it->second.end());
  }
  for (const Prefix& p : prefixes_) {
    if (tool_name.substr(0, p.text.size()) == p.text) slots->push_back(p.slot);
  }
  if (set_.size() > 0) {
    const SetOutcome outcome = set_.Match(tool_name, &hits);
    if (outcome == SetOutcome::kError) return outcome;
    for (const int h : hits) slots->push_back(slots_[static_cast<std::size_t>(h)]);
  }
  return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
}

}  // namespace toolgate
