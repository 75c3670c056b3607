// The policy compiler checks a pattern's regex with RE2 only when its set
// compiles it; a pattern a set answers from its tables skips that check. These
// tests hold the reason: every table form translates to a regex RE2 accepts,
// whatever its bytes and up to the longest pattern a policy may hold.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "grants/argv_pattern.h"
#include "grants/host_pattern.h"
#include "grants/path_scope.h"
#include "grants/regex_set.h"
#include "grants/tool_pattern.h"

using namespace toolgate;

namespace {

const std::vector<std::string> kTrusted = {"/usr/bin", "/bin"};

class Words {
 public:
  // A word of printable ASCII and Latin-1 bytes with no glob syntax; some
  // characters escaped with '\', sometimes ending in '*'.
  std::string Next(std::size_t max_length, bool slash_ok, bool star_ok) {
    std::string out;
    const std::size_t n = 1 + Pick(max_length);
    for (std::size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(Pick(2) ? 0x21 + Pick(0x5e) : 0xa0 + Pick(0x60));
      if (c == '/' && !slash_ok) c = '.';
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == '\\' || c == '"' ||
          c == '\'') {
        out.push_back('\\');
      }
      out.push_back(static_cast<char>(c));
    }
    if (star_ok && Pick(3) == 0) out.push_back('*');
    return out;
  }
  std::size_t Pick(std::size_t n) {
    seed_ = seed_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::size_t>(seed_ >> 33) % n;
  }

 private:
  std::uint64_t seed_ = 42;
};

// Every table-form pattern: its regex parses, and RegexErrorOf has nothing to say.
template <typename Pattern>
void CheckTableForm(const Pattern& p, bool in_table, bool case_sensitive = true) {
  if (!in_table) return;
  CHECK(RegexErrorOf(p).empty());
  CHECK_MESSAGE(RegexSet::Validate(p.regex, case_sensitive).empty(), p.regex.substr(0, 80));
}

}  // namespace

TEST_CASE("table-form patterns always translate to a regex RE2 accepts") {
  Words words;
  int tabled = 0;
  for (int round = 0; round < 300; ++round) {
    const std::size_t length = round % 10 == 0 ? 4000 : 40;
    if (Result<ToolPattern> t = ParseToolPattern(words.Next(length, true, true)); t.ok()) {
      tabled += ToolPatternSet::InTable(*t);
      CheckTableForm(*t, ToolPatternSet::InTable(*t));
    }
    std::string path;
    const std::size_t segments = 1 + words.Pick(4);
    for (std::size_t i = 0; i < segments; ++i) path += "/" + words.Next(length / segments, false, i + 1 == segments);
    if (words.Pick(4) == 0) path += "/**";
    if (words.Pick(4) == 0) path = "**" + path;
    if (Result<PathScope> s = ParsePathScope(path, "/home/dev"); s.ok()) {
      tabled += PathScopeSet::InTable(*s);
      CheckTableForm(*s, PathScopeSet::InTable(*s));
    }
    std::string argv = words.Next(length / 4, false, false);
    const std::size_t elements = words.Pick(5);
    for (std::size_t i = 0; i < elements; ++i) argv += words.Pick(4) == 0 ? " **" : " " + words.Next(length / 4, true, true);
    if (Result<ArgvPattern> a = ParseArgvPattern(argv, "/home/dev", kTrusted); a.ok()) {
      tabled += ArgvPatternSet::InTable(*a);
      CheckTableForm(*a, ArgvPatternSet::InTable(*a));
    }
  }
  CHECK(tabled > 600);  // most of the generated patterns are table forms
  for (const char* host : {"example.com", "*.example.com:443", "a-b_c.d", "10.0.0.0/8", "[::1]", "*"}) {
    Result<HostPattern> h = ParseHostPattern(host);
    REQUIRE(h.ok());
    CHECK(HostPatternSet::InTable(*h));
    CheckTableForm(*h, true, false);
  }
  Result<HostPattern> longest = ParseHostPattern(std::string(63, 'a') + "." + std::string(63, 'b') + ".example");
  REQUIRE(longest.ok());
  CheckTableForm(*longest, HostPatternSet::InTable(*longest), false);
}

TEST_CASE("patterns of other forms are checked with RE2") {
  // Not table forms: RegexErrorOf runs RE2's parse (which accepts these).
  Result<ToolPattern> t = ParseToolPattern("mcp__*__delete_*");
  REQUIRE(t.ok());
  CHECK_FALSE(ToolPatternSet::InTable(*t));
  CHECK(RegexErrorOf(*t).empty());
  Result<PathScope> s = ParsePathScope("/a/*/b", "/home/dev");
  REQUIRE(s.ok());
  CHECK_FALSE(PathScopeSet::InTable(*s));
  CHECK(RegexErrorOf(*s).empty());
  Result<ArgvPattern> a = ParseArgvPattern("chmod ** *777", "/home/dev", kTrusted);
  REQUIRE(a.ok());
  CHECK_FALSE(ArgvPatternSet::InTable(*a));
  CHECK(RegexErrorOf(*a).empty());
  // RE2's own refusal is what RegexErrorOf reports for such a pattern.
  CHECK_FALSE(RegexSet::Validate("a{2000}").empty());
}
