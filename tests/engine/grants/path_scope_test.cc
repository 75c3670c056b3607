#include "grants/path_scope.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace toolgate;

namespace {

bool Matches(std::string_view pattern, std::string_view path, std::string_view cwd = "",
             std::string_view home = "/home/dev") {
  Result<PathScope> scope = ParsePathScope(pattern, home);
  REQUIRE_MESSAGE(scope.ok(), std::string(pattern));
  PathScopeSet set;
  set.Add(*scope, 7);
  std::string error;
  REQUIRE(set.Compile(&error));
  std::vector<int> slots;
  const SetOutcome outcome = set.Match(path, cwd, &slots);
  REQUIRE(outcome != SetOutcome::kError);
  if (outcome == SetOutcome::kMatch) CHECK(slots == std::vector<int>{7});
  return outcome == SetOutcome::kMatch;
}

ErrorCode ErrorOf(std::string_view pattern) {
  Result<PathScope> scope = ParsePathScope(pattern, "/home/dev");
  REQUIRE_MESSAGE(!scope.ok(), std::string(pattern));
  return scope.error().code;
}

}  // namespace

TEST_CASE("single star stays within a segment and includes dotfiles") {
  CHECK(Matches("/src/*", "/src/a.c"));
  CHECK(Matches("/src/*", "/src/.hidden"));
  CHECK_FALSE(Matches("/src/*", "/src/a/b.c"));
  CHECK_FALSE(Matches("/src/*", "/src"));
  CHECK(Matches("/src/*.c", "/src/x.c"));
  CHECK_FALSE(Matches("/src/*.c", "/src/x.h"));
  CHECK(Matches("/a*b/c", "/ab/c"));
}

TEST_CASE("double star spans any number of segments, including zero") {
  CHECK(Matches("/x/**", "/x"));
  CHECK(Matches("/x/**", "/x/y"));
  CHECK(Matches("/x/**", "/x/y/z/w"));
  CHECK_FALSE(Matches("/x/**", "/xy"));
  CHECK_FALSE(Matches("/x/**", "/"));
  CHECK(Matches("/x/**/y", "/x/y"));
  CHECK(Matches("/x/**/y", "/x/a/b/y"));
  CHECK_FALSE(Matches("/x/**/y", "/x/a/by"));
  CHECK(Matches("/**", "/"));
  CHECK(Matches("/**", "/anything/at/all"));
  CHECK(Matches("/x/**/**/y", "/x/y"));
}

TEST_CASE("leading **/ matches at any depth anywhere") {
  CHECK(Matches("**/.env", "/.env"));
  CHECK(Matches("**/.env", "/home/dev/proj/.env"));
  CHECK_FALSE(Matches("**/.env", "/home/dev/proj/.env.local"));
  CHECK_FALSE(Matches("**/.env", "/home/dev/proj/x.env"));
  CHECK(Matches("**/.ssh/**", "/home/dev/.ssh"));
  CHECK(Matches("**/.ssh/**", "/home/dev/.ssh/id_ed25519"));
  CHECK(Matches("**", "/etc/passwd"));
}

TEST_CASE("question mark, classes and braces") {
  CHECK(Matches("/tmp/?.txt", "/tmp/a.txt"));
  CHECK_FALSE(Matches("/tmp/?.txt", "/tmp/ab.txt"));
  CHECK_FALSE(Matches("/tmp/?", "/tmp//"));
  CHECK(Matches("/tmp/?.txt", "/tmp/\xc3\xa9.txt"));  // one UTF-8 character
  CHECK(Matches("/tmp/[abc].txt", "/tmp/b.txt"));
  CHECK_FALSE(Matches("/tmp/[abc].txt", "/tmp/d.txt"));
  CHECK(Matches("/tmp/[a-c]x", "/tmp/cx"));
  CHECK_FALSE(Matches("/tmp/[a-c]x", "/tmp/dx"));
  CHECK(Matches("/tmp/[!a]x", "/tmp/bx"));
  CHECK_FALSE(Matches("/tmp/[!a]x", "/tmp/ax"));
  CHECK(Matches("/tmp/[]]", "/tmp/]"));
  CHECK(Matches("/etc/{passwd,shadow}", "/etc/shadow"));
  CHECK(Matches("/etc/{passwd,shadow}", "/etc/passwd"));
  CHECK_FALSE(Matches("/etc/{passwd,shadow}", "/etc/group"));
  CHECK(Matches("/a/{x,y{1,2}}", "/a/y2"));
  CHECK(Matches("/a/x\\*", "/a/x*"));
  CHECK_FALSE(Matches("/a/x\\*", "/a/xy"));
}

TEST_CASE("regex metacharacters in patterns are literal") {
  CHECK(Matches("/a.b/(c)+$^|d", "/a.b/(c)+$^|d"));
  CHECK_FALSE(Matches("/a.b", "/axb"));
  CHECK(Matches("/caf\xc3\xa9/x", "/caf\xc3\xa9/x"));
}

TEST_CASE("home anchors") {
  CHECK(Matches("~/.ssh/**", "/home/dev/.ssh/id_rsa"));
  CHECK(Matches("${home}/.aws/credentials", "/home/dev/.aws/credentials"));
  CHECK(Matches("~", "/home/dev"));
  CHECK_FALSE(Matches("~/x", "/root/x"));
  // A home with glob characters is taken literally.
  CHECK(Matches("~/x", "/home/we[i]rd/x", "", "/home/we[i]rd"));
  CHECK_FALSE(Matches("~/x", "/home/wexrd/x", "", "/home/we[i]rd"));
}

TEST_CASE("cwd anchors") {
  CHECK(Matches("src/**", "/work/proj/src/a.c", "/work/proj"));
  CHECK(Matches("src/**", "/work/proj/src", "/work/proj"));
  CHECK_FALSE(Matches("src/**", "/work/proj/srcx", "/work/proj"));
  CHECK_FALSE(Matches("src/**", "/work/projx/src/a", "/work/proj"));
  CHECK(Matches("./x", "/w/x", "/w"));
  CHECK(Matches("${cwd}/**", "/w", "/w"));
  CHECK(Matches("${cwd}/**", "/w/deep/file", "/w"));
  CHECK(Matches("${cwd}", "/w", "/w"));
  CHECK_FALSE(Matches("${cwd}", "/w/x", "/w"));
  CHECK(Matches(".", "/w", "/w"));
  // No cwd: cwd scopes match nothing.
  CHECK_FALSE(Matches("src/**", "/work/proj/src/a.c", ""));
  // Root cwd, and a cwd that needs normalizing.
  CHECK(Matches("etc/**", "/etc/hosts", "/"));
  CHECK(Matches("${cwd}", "/", "/"));
  CHECK(Matches("src/*", "/w/src/a", "/w/"));
  CHECK(Matches("src/*", "/w/src/a", "/w/./x/.."));
}

TEST_CASE("patterns are normalized") {
  Result<PathScope> s = ParsePathScope("//a//./b/", "/h");
  REQUIRE(s.ok());
  CHECK(s->canonical == "/a/b");
  CHECK(s->literal);
  CHECK(Matches("//a//./b/", "/a/b"));
  Result<PathScope> home = ParsePathScope("~/x", "/home/u");
  REQUIRE(home.ok());
  CHECK(home->canonical == "/home/u/x");
  Result<PathScope> rel = ParsePathScope("./src//**", "/h");
  REQUIRE(rel.ok());
  CHECK(rel->canonical == "${cwd}/src/**");
  CHECK(rel->anchor == PathScope::Anchor::kCwd);
  CHECK(ParsePathScope("/**", "/h")->matches_everything);
  CHECK(ParsePathScope("**", "/h")->matches_everything);
  CHECK_FALSE(ParsePathScope("/x/**", "/h")->matches_everything);
}

TEST_CASE("invalid path patterns") {
  CHECK(ErrorOf("") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/../b") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("..") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a**") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/[bc") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/{b,c") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/b}") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/{}") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/[/]") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/[z-a]") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/\\") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("${user}/x") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("~root/x") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/${home}") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/\x01") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/[\xc3\xa9]") == ErrorCode::kPolicyPattern);
  CHECK(ErrorOf("/a/{b/c,d}") == ErrorCode::kPolicyPattern);
  CHECK_FALSE(ParsePathScope("~/x", "").ok());
}

TEST_CASE("invalid UTF-8 and odd bytes in paths cannot slip past a scope") {
  CHECK(Matches("/etc/**", "/etc/\xff"));
  CHECK(Matches("/etc/**", "/etc/\xc3(/x"));
  CHECK(Matches("/etc/*", "/etc/\xff\xfe"));
  CHECK(Matches("/etc/?", "/etc/\xff"));
  CHECK(Matches("/etc/**", "/etc/a\nb"));
  CHECK(Matches("/etc/*", "/etc/a\nb"));
  CHECK(Matches("**/.env", "/\xff/.env"));
  CHECK(Matches("/x/[!a]", "/x/\xff"));
}

TEST_CASE("NormalizeAbsolutePath") {
  std::string out;
  CHECK(NormalizeAbsolutePath("/a//b/./c/../d/", &out));
  CHECK(out == "/a/b/d");
  CHECK(NormalizeAbsolutePath("/..", &out));
  CHECK(out == "/");
  CHECK_FALSE(NormalizeAbsolutePath("a/b", &out));
}

TEST_CASE("scopes of a simple shape compare exactly as their regex matches") {
  const std::vector<std::string> patterns = {
      "/dev/null", "/usr/**", "/**", "/", "/etc/shadow*", "/etc/*", "/*", "**/.env", "**/.env.*", "**/*",
      "**/a/b", "**/a/b*", "~/.ssh/**", "~/.netrc", "${cwd}/**", "${cwd}", "${cwd}/.git/config",
      "${cwd}/.git/hooks/**", "src/*", "**/x\\*", "/a\\*b/**", "/e\\\\*", "/x/**/y", "**/.ssh/**", "/a/*.c",
      "/a/b?", "/{a,b}/**", "/[ab]/c", "**", "/a\\**", "/caf\xc3\xa9/**", "/\xff*"};
  const std::vector<std::string> subjects = {
      "",           "/",          "/dev/null",  "/dev/null2",  "/dev",          "/usr",        "/usr/bin/ls",
      "/usrx",      "/etc/shadow", "/etc/shadow-", "/etc/shadow/x", "/etc",     "/etc/",       "/.env",
      "/a/.env",    "/a/.env.local", "/a/.envx",  "/a/b/.env.", "/a/b",        "/x/a/b",      "/x/a/bc",
      "/xa/b",      "/a/b/c",     "/home/dev/.ssh", "/home/dev/.ssh/id", "/home/dev/.sshx", "/home/dev/.netrc",
      "/.git/config", "/.git/hooks", "/.git/hooks/x", "/.gitx/hooks", "/src/main.cc", "/src/a/b",
      "/x*",        "/a/x*",      "/a*b",       "/a*b/c",      "/ab/c",        "/e\\",        "/e\\x",
      "/e\\x/y",    "/a*",        "/a*x",       "/caf\xc3\xa9", "/caf\xc3\xa9/x", "/\xff",     "/\xffz",
      "/\xff/z",    "env",        ".env",       "a/.env"};
  int simple = 0;
  for (const std::string& pattern : patterns) {
    Result<PathScope> scope = ParsePathScope(pattern, "/home/dev");
    REQUIRE_MESSAGE(scope.ok(), pattern);
    const bool absolute = scope->anchor == PathScope::Anchor::kAbsolute;
    SimpleScope shape;
    if (!SimpleScope::From(scope->segments, absolute, 0, &shape)) continue;
    ++simple;
    RegexSet reference;
    std::string error;
    REQUIRE(reference.Add(scope->regex, &error) >= 0);
    REQUIRE(reference.Compile());
    std::vector<int> hits;
    for (const std::string& subject : subjects) {
      INFO("pattern: ", pattern, "  subject: ", subject);
      CHECK(shape.Matches(subject) == (reference.Match(subject, &hits) == SetOutcome::kMatch));
    }
  }
  CHECK(simple >= 24);  // the shapes cover what they are meant to

  // The whole set (simple scopes indexed, the others in RE2) against one RE2
  // set of every scope: the same slots for every path, below a cwd or not.
  PathScopeSet set;
  RegexSet absolute_reference, cwd_reference;
  std::vector<int> absolute_slots, cwd_slots;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    Result<PathScope> scope = ParsePathScope(patterns[i], "/home/dev");
    set.Add(*scope, static_cast<int>(i));
    std::string error;
    if (scope->anchor == PathScope::Anchor::kAbsolute) {
      REQUIRE(absolute_reference.Add(scope->regex, &error) >= 0);
      absolute_slots.push_back(static_cast<int>(i));
    } else {
      REQUIRE(cwd_reference.Add(scope->regex, &error) >= 0);
      cwd_slots.push_back(static_cast<int>(i));
    }
  }
  std::string error;
  REQUIRE(set.Compile(&error));
  REQUIRE(absolute_reference.Compile());
  REQUIRE(cwd_reference.Compile());
  for (const std::string& cwd : {std::string("/p"), std::string("/")}) {
    for (const std::string& subject : subjects) {
      if (subject.empty() || subject[0] != '/' || !IsNormalizedAbsolutePath(subject)) continue;
      for (const std::string& path : {subject, cwd == "/" ? subject : cwd + subject}) {
        INFO("path: ", path, "  cwd: ", cwd);
        std::vector<int> got, want, hits;
        REQUIRE(set.Match(path, cwd, &got) != SetOutcome::kError);
        REQUIRE(absolute_reference.Match(path, &hits) != SetOutcome::kError);
        for (const int h : hits) want.push_back(absolute_slots[static_cast<std::size_t>(h)]);
        std::string_view rest;
        const std::string_view below = cwd == "/" ? std::string_view() : std::string_view(cwd);
        if (path.compare(0, below.size(), below) == 0 && (path.size() == below.size() || path[below.size()] == '/')) {
          rest = std::string_view(path).substr(below.size());
          if (below.empty() && rest == "/") rest = "";
          REQUIRE(cwd_reference.Match(rest, &hits) != SetOutcome::kError);
          for (const int h : hits) want.push_back(cwd_slots[static_cast<std::size_t>(h)]);
        }
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
        CHECK(got == want);
      }
    }
  }
  // Patterns of other shapes are not taken.
  for (const char* other : {"/x/**/y", "**/.ssh/**", "/a/*.c", "/a/b?", "/{a,b}/**", "/[ab]/c", "/a\\**"}) {
    Result<PathScope> scope = ParsePathScope(other, "/home/dev");
    REQUIRE(scope.ok());
    SimpleScope shape;
    CHECK_FALSE(SimpleScope::From(scope->segments, true, 0, &shape));
  }
}

TEST_CASE("a set mixing simple and regex scopes reports every matching slot") {
  PathScopeSet set;
  const std::vector<std::string> patterns = {"/usr/**", "/x/**/y", "**/.env", "${cwd}/**", "${cwd}/a/*.c", "/etc/shadow*"};
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    Result<PathScope> scope = ParsePathScope(patterns[i], "/home/dev");
    REQUIRE(scope.ok());
    set.Add(*scope, static_cast<int>(i));
  }
  std::string error;
  REQUIRE(set.Compile(&error));
  std::vector<int> slots;
  const auto match = [&](std::string_view path, std::string_view cwd) {
    REQUIRE(set.Match(path, cwd, &slots) != SetOutcome::kError);
    std::sort(slots.begin(), slots.end());
    return slots;
  };
  CHECK(match("/usr/x/y", "/p") == std::vector<int>{0});
  CHECK(match("/x/a/y", "/p") == std::vector<int>{1});
  CHECK(match("/x/.env", "/x") == std::vector<int>{2, 3});
  CHECK(match("/p/a/m.c", "/p") == std::vector<int>{3, 4});
  CHECK(match("/p/.env", "/p") == std::vector<int>{2, 3});
  CHECK(match("/etc/shadow", "/") == std::vector<int>{3, 5});
  CHECK(match("/q/a/m.c", "/p").empty());
}

TEST_CASE("the head index finds every head among many, nested and colliding") {
  // Enough heads that the index grows several times, heads that are prefixes
  // of one another, and every shape: each path gets the slots one RE2 set of
  // all the scopes gives.
  std::vector<std::string> patterns;
  for (int i = 0; i < 150; ++i) {
    const std::string d = "/d" + std::to_string(i);
    patterns.push_back(d + "/**");
    if (i % 3 == 0) patterns.push_back(d + "/sub/**");
    if (i % 5 == 0) patterns.push_back(d + "/f*");
    if (i % 7 == 0) patterns.push_back(d + "/sub/exact");
    if (i % 11 == 0) patterns.push_back(d);
  }
  patterns.push_back("**/.env");
  patterns.push_back("${cwd}/d1/**");
  patterns.push_back("${cwd}/d2/x*");
  PathScopeSet set;
  RegexSet absolute_reference, cwd_reference;
  std::vector<int> absolute_slots, cwd_slots;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    Result<PathScope> scope = ParsePathScope(patterns[i], "/home/dev");
    REQUIRE(scope.ok());
    REQUIRE(PathScopeSet::InTable(*scope));
    set.Add(*scope, static_cast<int>(i));
    std::string error;
    RegexSet& reference = scope->anchor == PathScope::Anchor::kAbsolute ? absolute_reference : cwd_reference;
    REQUIRE(reference.Add(scope->regex, &error) >= 0);
    (scope->anchor == PathScope::Anchor::kAbsolute ? absolute_slots : cwd_slots).push_back(static_cast<int>(i));
  }
  std::string error;
  REQUIRE(set.Compile(&error));
  REQUIRE(absolute_reference.Compile());
  REQUIRE(cwd_reference.Compile());
  std::vector<std::string> subjects = {"/", "/d", "/d1", "/d10", "/d100", "/d1x", "/d0/sub", "/d0/sub/x", "/d0/subx",
                                       "/d5/f", "/d5/fx", "/d5/fx/y", "/d7/sub/exact", "/d7/sub/exact/y", "/d11",
                                       "/d11/x", "/d149/.env", "/d150/x", "/x/.env", "/d33/sub/f"};
  for (const std::string& subject : subjects) {
    for (const std::string& path : std::vector<std::string>{subject, "/p" + subject, "/p/d1", "/p/d2/xy", "/p/d2/y"}) {
      INFO("path: ", path);
      std::vector<int> got, want, hits;
      REQUIRE(set.Match(path, "/p", &got) != SetOutcome::kError);
      REQUIRE(absolute_reference.Match(path, &hits) != SetOutcome::kError);
      for (const int h : hits) want.push_back(absolute_slots[static_cast<std::size_t>(h)]);
      if (path.rfind("/p/", 0) == 0 || path == "/p") {
        REQUIRE(cwd_reference.Match(std::string_view(path).substr(2), &hits) != SetOutcome::kError);
        for (const int h : hits) want.push_back(cwd_slots[static_cast<std::size_t>(h)]);
      }
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      CHECK(got == want);
    }
  }
}

TEST_CASE("IsNormalizedAbsolutePath is exactly: NormalizeAbsolutePath gives the path back") {
  // Every string of up to 8 bytes over '/', '.', 'a': each way a segment can
  // be empty, ".", "..", or merely start with dots, at the start, middle and end.
  std::vector<std::string> strings = {""};
  for (std::size_t begin = 0, length = 0; length < 8; ++length) {
    const std::size_t end = strings.size();
    for (std::size_t i = begin; i < end; ++i) {
      for (const char c : {'/', '.', 'a'}) strings.push_back(strings[i] + c);
    }
    begin = end;
  }
  REQUIRE(strings.size() > 9000);
  std::string normalized;
  for (const std::string& s : strings) {
    CAPTURE(s);
    const bool absolute = NormalizeAbsolutePath(s, &normalized);
    CHECK(IsNormalizedAbsolutePath(s) == (absolute && normalized == s));
  }
}
