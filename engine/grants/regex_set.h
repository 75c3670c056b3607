// RegexSet: an RE2::Set with the options every grant matcher needs — Latin-1
// (byte) semantics, '.' matches newline, both ends anchored, no logging — and
// a Match that tells "no match" apart from "the DFA gave up", so callers can
// fail closed instead of reading an error as "nothing matched".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>

namespace toolgate {

enum class SetOutcome { kNoMatch, kMatch, kError };

class RegexSet {
 public:
  explicit RegexSet(bool case_sensitive = true);
  RegexSet(RegexSet&&) noexcept;
  RegexSet& operator=(RegexSet&&) noexcept;
  ~RegexSet();

  // Adds one regex; returns its index or -1 with *error set.
  int Add(const std::string& regex, std::string* error);
  // Returns false when RE2 cannot build the set (too large).
  [[nodiscard]] bool Compile();

  std::size_t size() const { return size_; }
  // hits receives the matching indices (unsorted). An empty set never matches.
  SetOutcome Match(std::string_view text, std::vector<int>* hits) const;

  // The options used for every grant regex; also for one-off validation.
  static RE2::Options Options(bool case_sensitive = true);
  // Parses one regex alone (no compile); returns "" when it is valid, else RE2's error.
  static std::string Validate(const std::string& regex, bool case_sensitive = true);

 private:
  std::unique_ptr<RE2::Set> set_;
  std::size_t size_ = 0;
  bool compiled_ = false;
};

}  // namespace toolgate
