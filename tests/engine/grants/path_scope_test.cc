#include "grants/path_scope.h"

#include <doctest/doctest.h>

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
