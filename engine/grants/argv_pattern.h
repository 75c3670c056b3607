// ArgvPattern: one exec grant ("git", "git push ** --force", "/opt/tools/bin/*").
// ArgvPatternSet: all of a profile's argv patterns in one RE2 set over an
// encoded argv.
//
// Pattern syntax: the text is split on whitespace into elements; single or
// double quotes group an element containing spaces and make their content
// literal (no globbing), a backslash escapes the next character. Each element
// is a glob over one argv element (glob.h); an unquoted element "**" matches
// any number of argv elements, including none. A pattern matches a prefix of
// the argv (an implicit trailing "**").
//
// The first element is matched against the program's identity:
//   program without '/'                         -> the program as written ("git")
//   program whose directory (of `resolved`, else program) is one of
//     settings.trusted_bin_dirs                 -> its basename ("/usr/bin/git" -> "git")
//   anything else                               -> its normalized path ("/tmp/git")
// A first element without '/' is a glob over that identity ('*' spans '/', so
// "*" matches every program; "git" never matches "/tmp/git"). A first element
// with '/' must be absolute (or start with "~/") and is a path glob ('*' stops
// at '/', '**' spans segments) over the program's full path (`resolved`, else
// program when it contains '/'); when its directory is literally a trusted dir
// it also matches the bare name, so "/usr/bin/curl" covers a PATH lookup of
// "curl" just as it covers "/bin/curl" (both are identified as "curl").
//
// Encoding: each element is written as "\x00" + bytes with "\x00" -> "\x01\x02"
// and "\x01" -> "\x01\x03"; the first element is identity + "\x01\x04" + full path
// (empty when unknown). argv elements cannot forge an element boundary, and
// pattern wildcards consume escape pairs whole, so a pattern sees exactly the
// argv the program would get.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grants/regex_set.h"
#include "toolgate/effects.h"
#include "toolgate/result.h"

namespace toolgate {

struct ArgvPattern {
  std::vector<std::string> elements;  // element globs after quote processing
  std::string canonical;              // elements joined by ' '
  std::string regex;
  bool literal = false;               // every element literal, no "**"
  bool matches_everything = false;    // only "*"/"**" elements, at most one "*"
};

// Splits pattern text into element globs (quotes become escapes).
Result<std::vector<std::string>> SplitArgvPattern(std::string_view pattern);

Result<ArgvPattern> ParseArgvPattern(std::string_view pattern, std::string_view home,
                                     const std::vector<std::string>& trusted_bin_dirs);

// RE2's error for a pattern its set compiles; "" when there is none or the
// pattern is answered from the program table (its forms always translate to
// a valid regex).
std::string RegexErrorOf(const ArgvPattern& pattern);

// The identity argv[0] is matched as (see above). Views into exec.
std::string_view ExecIdentity(const ExecEffect& exec, const std::vector<std::string>& trusted_bin_dirs);
// The normalized path of the program when known (`resolved`, else program
// when it contains '/'), else "".
std::string_view ExecFullPath(const ExecEffect& exec);
// Appends the encoded argv (identity and full path in place of argv[0]) to *out.
void EncodeArgv(const ExecEffect& exec, std::string_view identity, std::string* out);

// A profile's exec patterns. Most patterns never reach RE2: a pattern whose
// first element is a plain name and whose other elements are all plain
// words, "**" or a word followed by one '*' ("git ** push", "rm -rf /",
// "-f*") is indexed by that name and matched element by element, exactly as
// its regex would. Only the patterns of other forms go into the RE2 set
// ("mkfs*", "/opt/**", "chmod ** *777"), and a call runs that set only when
// one of them may match: the identity starts with a glob first element's
// literal text, the set has a path pattern, or the argv contains, in order,
// the plain words of a pattern of another form for its identity.
class ArgvPatternSet {
 public:
  // True when the pattern is matched from the table alone: it is never
  // compiled, so the policy compiler need not check its regex with RE2.
  static bool InTable(const ArgvPattern& pattern);
  void Add(const ArgvPattern& pattern, int slot);
  [[nodiscard]] bool Compile(std::string* error);
  SetOutcome Match(const ExecEffect& exec, const std::vector<std::string>& trusted_bin_dirs,
                   std::vector<int>* slots) const;
  // How many patterns run through RE2 (the others are in the table).
  std::size_t regex_count() const { return set_.size(); }

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // One argv element of a pattern, after the first.
  struct Element {
    enum class Kind { kWord, kPrefix, kAny };  // "word", "word*", "**"
    Kind kind = Kind::kWord;
    std::string text;  // unescaped
  };
  struct SimplePattern {
    std::vector<Element> rest;  // the elements after the first
    int slot = -1;
  };
  // The patterns whose first element is exactly this identity.
  struct ProgramEntry {
    std::vector<SimplePattern> simple;
    // For each other pattern: its plain words, which the argv must contain in
    // this order for the pattern to match.
    std::vector<std::vector<std::string>> other_words;
  };
  // The table form of a pattern (its first element is then by_program_'s
  // key), or false when the pattern needs the set.
  static bool ToSimple(const ArgvPattern& pattern, SimplePattern* out);
  static bool MatchesRest(const std::vector<Element>& rest, const std::vector<std::string>& argv);

  std::size_t count_ = 0;  // every pattern added
  RegexSet set_;           // the patterns that are not InTable
  std::vector<int> slots_; // set index -> slot
  bool compiled_ = false;
  std::unordered_map<std::string, ProgramEntry, NameHash, std::equal_to<>> by_program_;
  // Literal prefixes of first elements that are globs: an identity starting
  // with one of them goes through the set.
  std::vector<std::string> glob_prefixes_;
  bool always_regex_ = false;  // a first element is a path pattern
};

}  // namespace toolgate
