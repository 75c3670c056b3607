// PathScope: one fs glob from a policy, compiled for matching absolute,
// normalized paths. PathScopeSet: every scope of a profile in two RE2 sets
// (absolute scopes, and cwd-anchored scopes matched against the part of the
// path below the call's cwd), so one CheckPath is at most two set matches.
//
// Pattern syntax (on top of glob.h):
//   /abs/...          absolute
//   ~/x, ${home}/x    below settings.home (or PolicyLoadOptions.home)
//   ${cwd}/x, x, ./x  below the call's cwd; with no cwd such scopes match nothing
//   **/x              x at any depth anywhere (same as /**/x); "**" alone is "/**"
//   a/**              a itself and everything below it; "**" is only valid as a
//                     whole segment
// Patterns are normalized: duplicate '/', '.' segments and a trailing '/' are
// dropped; a '..' segment is an error. Other "${...}" variables are errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grants/glob.h"
#include "grants/regex_set.h"
#include "toolgate/result.h"
#include "util/normal_path.h"  // IsNormalizedAbsolutePath: what NormalizeAbsolutePath gives back unchanged

namespace toolgate {

struct PathScope {
  enum class Anchor { kAbsolute, kCwd };
  Anchor anchor = Anchor::kAbsolute;
  // Canonical text: "/home/dev/src/**" or "${cwd}/src/**". Two scopes with the
  // same canonical text match the same paths.
  std::string canonical;
  // Regex over the absolute path (kAbsolute) or over the remainder below cwd,
  // which is "" for cwd itself and "/rest" below it (kCwd).
  std::string regex;
  bool literal = false;  // no wildcard: matches exactly one path (canonical, for kAbsolute)
  bool matches_everything = false;  // "/**" and equivalents
  // The glob segments `regex` was built from (home expanded, normalized).
  std::vector<std::string> segments;
};

Result<PathScope> ParsePathScope(std::string_view pattern, std::string_view home);

// RE2's error for a scope its set compiles; "" when there is none or the
// scope has a simple shape (their regexes are always valid).
std::string RegexErrorOf(const PathScope& scope);

// Splits a '/'-separated glob into normalized segments ("**" kept as its own
// segment, runs of "**" collapsed). Errors on '..'.
Result<std::vector<std::string>> NormalizePathGlob(std::string_view glob);

// Regex for an absolute path built from normalized segments. segment_flavor
// translates one segment; any_run is the regex for "any bytes" that '**' may
// span (".*" for plain paths).
Result<std::string> PathSegmentsToRegex(const std::vector<std::string>& segments,
                                        const GlobFlavor& segment_flavor, std::string_view any_run);

// Lexically normalizes an absolute path into *out ("//" and "." dropped, ".."
// resolved, no trailing '/'). False when path is not absolute.
bool NormalizeAbsolutePath(std::string_view path, std::string* out);

// A scope whose regex is one of a few shapes, matched by comparing bytes.
// The shapes are the scopes policies mostly consist of: an exact path
// ("/dev/null"), a directory and everything below it ("/usr/**"), a name
// prefix in one directory ("/etc/shadow*") and a name at any depth
// ("**/.env", "**/.env.*"). Each compares exactly as its regex matches (the
// tests check both against each other).
struct SimpleScope {
  enum class Shape {
    kExact,     // subject == head
    kBelow,     // subject == head, or head + "/" + anything
    kChild,     // head + "/" + last + a run without '/'
    kAnyDepth,  // "" or "/" + anything, then head + "/" + last (+ a run without '/' when last_prefix)
  };
  Shape shape = Shape::kExact;
  std::string head;  // unescaped "/a/b" ("" for none)
  std::string last;  // unescaped last segment, or its text before the trailing '*'
  bool last_prefix = false;  // kAnyDepth: last is followed by '*'
  int slot = -1;

  // Fills *out from a scope's segments and returns true, or returns false
  // when its regex has another form (RE2 matches those). `absolute`: the
  // subject is a whole path (no segments means "/"); else the rest below cwd
  // ("" for cwd itself).
  static bool From(const std::vector<std::string>& segments, bool absolute, int slot, SimpleScope* out);
  bool Matches(std::string_view subject) const { return Matches(subject, subject.rfind('/')); }
  // The same, given where the subject's last '/' is (npos for none): an
  // index tries every headless scope on one subject, which then finds it once.
  bool Matches(std::string_view subject, std::size_t last_slash) const;
};

// The simple scopes of one anchor, indexed by their fixed head ("/etc" for
// "/etc/shadow*"), so a path is compared only with the scopes whose head is
// one of its prefixes and those without a head ("**/.env", "/**").
class SimpleScopeIndex {
 public:
  void Add(SimpleScope scope);
  bool empty() const { return count_ == 0; }
  // Appends the slot of every scope matching `subject`.
  void Match(std::string_view subject, std::vector<int>* slots) const;

  // The hash heads are found by: FNV-1a, which extends one byte at a time,
  // so one pass over a subject gives the hash of each of its prefixes.
  static constexpr std::uint64_t kHashStart = 0xcbf29ce484222325ULL;
  static std::uint64_t HashStep(std::uint64_t hash, char c) {
    return (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }

 private:
  struct Head {
    std::uint64_t hash = 0;
    std::string text;
    std::vector<SimpleScope> scopes;  // in the order added
  };
  const Head* Find(std::string_view prefix, std::uint64_t hash) const;
  void Rehash(std::size_t capacity);

  std::vector<SimpleScope> headless_;
  std::vector<Head> heads_;          // each head once, in the order first added
  std::vector<std::uint32_t> table_;  // open addressing: index into heads_ + 1, 0 empty;
                                      // a power of two in size, at most half full
  // Bit (hash % 64) of every head: most prefixes of a path are no head, and
  // this turns them away before the table is probed.
  std::uint64_t filter_ = 0;
  std::size_t count_ = 0;
};

class PathScopeSet {
 public:
  // True when the scope has a simple shape, compared without RE2 (never compiled).
  static bool InTable(const PathScope& scope);
  // slot is returned from Match for this scope.
  void Add(const PathScope& scope, int slot);
  [[nodiscard]] bool Compile(std::string* error);
  // Slots of every scope matching path (absolute, normalized) given cwd.
  SetOutcome Match(std::string_view path, std::string_view cwd, std::vector<int>* slots) const;

  // The call's cwd as the cwd-anchored scopes are matched against it,
  // prepared once for every path of a call.
  class Cwd {
   public:
    explicit Cwd(std::string_view cwd);
    Cwd(const Cwd&) = delete;
    Cwd& operator=(const Cwd&) = delete;

   private:
    friend class PathScopeSet;
    bool usable_ = false;    // a cwd was given and is absolute
    std::string_view text_;  // normalized, "" for the root
    std::string normalized_;  // what text_ points into when the cwd was not normalized
  };
  // Match with a prepared cwd: the same slots as Match(path, cwd, ...).
  SetOutcome Match(std::string_view path, const Cwd& cwd, std::vector<int>* slots) const;

 private:
  // Scopes of a simple shape are compared directly; only the others go to
  // RE2, whose set match allocates three times on every call.
  SimpleScopeIndex simple_absolute_;
  SimpleScopeIndex simple_cwd_;
  RegexSet absolute_;
  RegexSet below_cwd_;
  std::vector<int> absolute_slots_;
  std::vector<int> cwd_slots_;
};

}  // namespace toolgate
