#include "grants/argv_pattern.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace toolgate;

namespace {

const std::vector<std::string> kTrusted = {"/usr/bin", "/bin", "/usr/local/bin"};

ExecEffect Exec(std::vector<std::string> argv, std::string resolved = "") {
  ExecEffect e;
  e.program = argv.empty() ? "" : argv[0];
  e.argv = std::move(argv);
  e.resolved = std::move(resolved);
  if (e.resolved.empty() && e.program.find('/') != std::string::npos && e.program[0] == '/') e.resolved = e.program;
  return e;
}

bool Matches(std::string_view pattern, const ExecEffect& exec) {
  Result<ArgvPattern> p = ParseArgvPattern(pattern, "/home/dev", kTrusted);
  REQUIRE_MESSAGE(p.ok(), std::string(pattern));
  ArgvPatternSet set;
  set.Add(*p, 5);
  std::string error;
  REQUIRE(set.Compile(&error));
  std::vector<int> slots;
  const SetOutcome outcome = set.Match(exec, kTrusted, &slots);
  REQUIRE(outcome != SetOutcome::kError);
  return outcome == SetOutcome::kMatch;
}

bool Rejected(std::string_view pattern) {
  Result<ArgvPattern> p = ParseArgvPattern(pattern, "/home/dev", kTrusted);
  if (p.ok()) return false;
  CHECK(p.error().code == ErrorCode::kPolicyPattern);
  return true;
}

}  // namespace

TEST_CASE("a pattern matches a prefix of the argv") {
  CHECK(Matches("git", Exec({"git"})));
  CHECK(Matches("git", Exec({"git", "status"})));
  CHECK(Matches("git status", Exec({"git", "status", "-s"})));
  CHECK_FALSE(Matches("git status", Exec({"git", "stash"})));
  CHECK_FALSE(Matches("git status", Exec({"git"})));
  CHECK_FALSE(Matches("git", Exec({"gitk"})));
  CHECK_FALSE(Matches("gi", Exec({"git"})));
}

TEST_CASE("element globs") {
  CHECK(Matches("npm run test*", Exec({"npm", "run", "test:unit"})));
  CHECK_FALSE(Matches("npm run test*", Exec({"npm", "run", "lint"})));
  CHECK(Matches("ls -?", Exec({"ls", "-l"})));
  CHECK_FALSE(Matches("ls -?", Exec({"ls", "-la"})));
  CHECK(Matches("ls -[al]", Exec({"ls", "-a"})));
  CHECK(Matches("ls -[!al]", Exec({"ls", "-x"})));
  CHECK_FALSE(Matches("ls -[!al]", Exec({"ls", "-a"})));
  CHECK(Matches("git {push,pull}", Exec({"git", "pull"})));
  CHECK(Matches("cat *", Exec({"cat", "/etc/passwd"})));  // '*' in an element spans '/'
  CHECK(Matches("*", Exec({"/tmp/evil", "x"})));
}

TEST_CASE("** matches any number of elements") {
  CHECK(Matches("git push ** --force", Exec({"git", "push", "origin", "main", "--force", "x"})));
  CHECK(Matches("git push ** --force", Exec({"git", "push", "--force"})));
  CHECK_FALSE(Matches("git push ** --force", Exec({"git", "push", "origin", "--forced"})));
  CHECK_FALSE(Matches("git push ** --force", Exec({"git", "fetch", "--force"})));
  CHECK(Matches("** --force", Exec({"anything", "a", "--force"})));
  CHECK(Matches("rm ** -rf", Exec({"rm", "-v", "-rf", "/"})));
  CHECK(Matches("**", Exec({"x"})));
}

TEST_CASE("quotes group elements and make them literal") {
  CHECK(Matches("git commit -m \"wip now\"", Exec({"git", "commit", "-m", "wip now"})));
  CHECK(Matches("echo 'a b' c", Exec({"echo", "a b", "c"})));
  CHECK_FALSE(Matches("echo 'a b'", Exec({"echo", "a", "b"})));
  CHECK(Matches("rm '*'", Exec({"rm", "*"})));
  CHECK_FALSE(Matches("rm '*'", Exec({"rm", "file"})));
  CHECK(Matches("rm x\\*", Exec({"rm", "x*"})));
  CHECK_FALSE(Matches("rm x\\*", Exec({"rm", "xy"})));
  CHECK(Matches("echo \"\"", Exec({"echo", ""})));
  CHECK(Matches("echo pre'fix *'", Exec({"echo", "prefix *"})));
  CHECK(Matches("echo '**'", Exec({"echo", "**"})));
  CHECK_FALSE(Matches("echo '**' x", Exec({"echo", "a", "x"})));
}

TEST_CASE("program identity: trusted dirs, bare names, other paths") {
  CHECK(Matches("git", Exec({"/usr/bin/git", "status"})));
  CHECK(Matches("git", Exec({"/bin/git"})));
  CHECK_FALSE(Matches("git", Exec({"/tmp/git"})));
  CHECK_FALSE(Matches("git", Exec({"./git"}, "/home/dev/proj/git")));
  CHECK_FALSE(Matches("git", Exec({"./git"})));  // unresolved relative program
  CHECK_FALSE(Matches("git", Exec({"/usr/bin/../../tmp/git"}, "/tmp/git")));
  // Path patterns match the program's full path.
  CHECK(Matches("/tmp/git", Exec({"/tmp/git"})));
  CHECK(Matches("/tmp/*", Exec({"/tmp/git", "x"})));
  CHECK_FALSE(Matches("/tmp/*", Exec({"/tmp/sub/git"})));
  CHECK(Matches("/opt/**", Exec({"/opt/a/b/tool"})));
  CHECK(Matches("/home/dev/proj/**", Exec({"./build.sh"}, "/home/dev/proj/build.sh")));
  CHECK(Matches("~/bin/*", Exec({"/home/dev/bin/tool"})));
  CHECK_FALSE(Matches("/tmp/git", Exec({"git"})));
  // A literal trusted directory means the bare name too.
  CHECK(Matches("/usr/bin/curl", Exec({"curl", "x"})));
  CHECK(Matches("/usr/bin/curl", Exec({"/bin/curl"})));
  CHECK(Matches("/usr/bin/curl", Exec({"/usr/bin/curl"})));
  CHECK_FALSE(Matches("/usr/bin/curl", Exec({"/tmp/curl"})));
  CHECK(Matches("/usr/bin/*", Exec({"ls"})));
  CHECK_FALSE(Matches("/usr/bin/*", Exec({"/tmp/ls"})));
  CHECK(Matches("/usr/**", Exec({"/usr/bin/git"})));
  CHECK(Matches("/usr/bin/git status", Exec({"git", "status"})));
}

TEST_CASE("ExecIdentity") {
  CHECK(ExecIdentity(Exec({"git"}), kTrusted) == "git");
  CHECK(ExecIdentity(Exec({"/usr/bin/git"}), kTrusted) == "git");
  CHECK(ExecIdentity(Exec({"/usr/bin/"}), kTrusted) == "/usr/bin/");
  CHECK(ExecIdentity(Exec({"/tmp/git"}), kTrusted) == "/tmp/git");
  CHECK(ExecIdentity(Exec({"./git"}, "/w/git"), kTrusted) == "/w/git");
  CHECK(ExecIdentity(Exec({"./git"}), kTrusted) == "./git");
  ExecEffect trusted_resolved = Exec({"./git"}, "/usr/bin/git");
  CHECK(ExecIdentity(trusted_resolved, kTrusted) == "git");
}

TEST_CASE("separator bytes in argv cannot forge element boundaries") {
  // The real argv has 2 elements; a forged encoding would show 3.
  const ExecEffect nul = Exec({"git", std::string("push\0--force", 12)});
  CHECK_FALSE(Matches("git push", nul));
  CHECK_FALSE(Matches("git push --force", nul));
  CHECK_FALSE(Matches("git * --force", nul));
  CHECK(Matches("git push*", nul));
  CHECK(Matches("git *force", nul));
  CHECK(Matches("git ?????????????", Exec({"git", std::string("push\0\x01--force", 13)})));  // 13 chars
  CHECK_FALSE(Matches("git ??????????????", Exec({"git", std::string("push\0\x01--force", 13)})));
  const ExecEffect esc = Exec({"git", std::string("a\x01\x02", 3), "b"});
  CHECK(Matches("git * b", esc));
  CHECK(Matches("git a?? b", esc));
  CHECK_FALSE(Matches("git a? b", esc));
  // A deny that matches the real element keeps matching it; the escape pair is one char.
  CHECK(Matches("x [!a]", Exec({"x", std::string("\0", 1)})));
  CHECK(Matches("x ?", Exec({"x", std::string("\x01", 1)})));
  // Forged program identity.
  CHECK_FALSE(Matches("git", Exec({std::string("git\0rm", 6)})));
  CHECK_FALSE(Matches("rm", Exec({std::string("git\0rm", 6)})));
  CHECK_FALSE(Matches("rm", Exec({std::string("/usr/bin/x\x01\x04rm", 14)})));
}

TEST_CASE("invalid UTF-8 in argv matches wildcards") {
  CHECK(Matches("rm *", Exec({"rm", "\xff\xfe"})));
  CHECK(Matches("rm ?", Exec({"rm", "\xff"})));
  CHECK(Matches("cat /etc/\xff", Exec({"cat", "/etc/\xff"})));
}

TEST_CASE("invalid argv patterns") {
  CHECK(Rejected(""));
  CHECK(Rejected("   "));
  CHECK(Rejected("echo 'unterminated"));
  CHECK(Rejected("echo \"unterminated"));
  CHECK(Rejected("echo x\\"));
  CHECK(Rejected("git [abc"));
  CHECK(Rejected("git {a,b"));
  CHECK(Rejected("./build.sh"));
  CHECK(Rejected("bin/tool"));
  CHECK(Rejected("/usr/../bin/x"));
  CHECK(Rejected("/"));
  CHECK(Rejected("/a**"));
  CHECK(Rejected("echo \x01"));
}

TEST_CASE("pattern facts used by lint") {
  CHECK(ParseArgvPattern("*", "/h", kTrusted)->matches_everything);
  CHECK(ParseArgvPattern("**", "/h", kTrusted)->matches_everything);
  CHECK(ParseArgvPattern("* **", "/h", kTrusted)->matches_everything);
  CHECK_FALSE(ParseArgvPattern("* *", "/h", kTrusted)->matches_everything);
  CHECK_FALSE(ParseArgvPattern("git", "/h", kTrusted)->matches_everything);
  CHECK(ParseArgvPattern("git  push", "/h", kTrusted)->canonical == "git push");
  CHECK(ParseArgvPattern("git push", "/h", kTrusted)->literal);
  CHECK_FALSE(ParseArgvPattern("git **", "/h", kTrusted)->literal);
}

namespace {

std::vector<int> Sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Builds a set from `patterns` (slot = index) and checks that it answers
// every argv exactly as one RE2 set of every pattern's regex does (the
// table answers some patterns, RE2 the others).
void CheckTableAgreesWithRegex(const std::vector<std::string>& patterns, const std::vector<ExecEffect>& execs) {
  ArgvPatternSet set;
  RegexSet reference_set;
  std::size_t in_table = 0;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    Result<ArgvPattern> p = ParseArgvPattern(patterns[i], "/home/dev", kTrusted);
    REQUIRE_MESSAGE(p.ok(), patterns[i]);
    set.Add(*p, static_cast<int>(i));
    std::string error;
    REQUIRE(reference_set.Add(p->regex, &error) == static_cast<int>(i));
    if (ArgvPatternSet::InTable(*p)) ++in_table;
  }
  std::string error;
  REQUIRE(set.Compile(&error));
  REQUIRE(reference_set.Compile());
  CHECK(set.regex_count() == patterns.size() - in_table);
  for (const ExecEffect& e : execs) {
    std::vector<int> fast, reference;
    const SetOutcome a = set.Match(e, kTrusted, &fast);
    std::string encoded;
    EncodeArgv(e, ExecIdentity(e, kTrusted), &encoded);
    const SetOutcome b = reference_set.Match(encoded, &reference);
    INFO("program: ", e.program, " argc: ", e.argv.size(), " resolved: ", e.resolved);
    CHECK(a == b);
    CHECK(Sorted(fast) == Sorted(reference));
  }
}

}  // namespace

TEST_CASE("the program table answers exactly as the RE2 set") {
  const std::vector<std::string> programs = {
      "ls",        "git",          "gitk",       "rm",          "mkfs",       "mkfs.ext4", "sudo",
      "bash",      "sh",           "",           "/usr/bin/ls", "/bin/rm",    "/tmp/git",  "/usr/sbin/mkfs.ext4",
      "./ls",      "l",            "LS",         "ls ",         "g++",        "clang++",   "x,y",
      "a{b",       "a\\b",         "~/bin/tool", "/opt/x/run",  "/home/dev/bin/tool", "a", "find", "chmod",
      std::string("ls\0x", 4),     std::string("ls\x01\x04", 4), "\xff\xfe"};
  const std::vector<std::string> args = {"-rf", "/", "push", "--force", "-c", "status", "x", "", "*", "-f",
                                         "reset", "--hard", "-exec", "/*", "-fq", "a", "b", "c", "d", "+x",
                                         "--force-with-lease=x", "0777", std::string("p\0ush", 5), "pu"};
  std::vector<ExecEffect> execs;
  std::uint32_t seed = 12345;
  const auto next = [&seed](std::uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
  };
  for (const std::string& p : programs) {
    execs.push_back(Exec({p}));
    for (int k = 0; k < 12; ++k) {
      std::vector<std::string> argv = {p};
      const std::uint32_t n = next(7);
      for (std::uint32_t i = 0; i < n; ++i) argv.push_back(args[next(static_cast<std::uint32_t>(args.size()))]);
      execs.push_back(Exec(argv));
    }
  }
  // Plain names only (the table answers everything), with longer patterns
  // for some names, with globs, and with a path pattern (always the set).
  CheckTableAgreesWithRegex({"ls", "cat", "rm", "sudo", "''", "ls", "g++"}, execs);
  CheckTableAgreesWithRegex({"ls", "git", "git ** push", "rm -rf /", "rm", "bash -c", "sudo"}, execs);
  CheckTableAgreesWithRegex({"ls", "mkfs*", "git", "l?", "x\\,y", "a\\{b", "'a\\b'", "{g,h}it", "[gr]m", "**"}, execs);
  CheckTableAgreesWithRegex({"ls", "/usr/bin/rm", "git"}, execs);
  CheckTableAgreesWithRegex({"ls", "~/bin/*", "git"}, execs);
  CheckTableAgreesWithRegex({"*", "ls"}, execs);
  // Longer patterns matched element by element, and patterns of other forms
  // that send a call to the set only when their words are all there.
  CheckTableAgreesWithRegex({"git", "git ** push", "git ** push ** --force", "git ** push ** -f*",
                             "git ** push ** +*", "git ** push ** -[!-]*f*", "git ** reset ** --hard",
                             "rm -rf /", "rm -rf '/*'", "rm", "find ** -exec", "bash -c", "sh -c x"},
                            execs);
  CheckTableAgreesWithRegex({"a ** b c ** d", "a b ** c", "a ** *", "a * b", "a **", "a b* ** c*", "a '' x",
                             "a ** {b,c}", "a ** b?", "a ** *x", "x ** a ** a ** a", "l* ** a"},
                            execs);
  // Every form at once: names, longer patterns, globs, other forms and paths.
  CheckTableAgreesWithRegex({"git", "git ** push ** -[!-]*f*", "mkfs*", "chmod ** *777", "chmod ** {a,o}+*w*",
                             "/usr/bin/rm -rf", "rm -rf /", "~/bin/*", "l*", "ls -l", "sudo", "find ** -exec"},
                            execs);
}

TEST_CASE("which patterns the table answers alone") {
  const auto in_table = [](std::string_view pattern) {
    Result<ArgvPattern> p = ParseArgvPattern(pattern, "/home/dev", kTrusted);
    REQUIRE_MESSAGE(p.ok(), std::string(pattern));
    return ArgvPatternSet::InTable(*p);
  };
  CHECK(in_table("git"));
  CHECK(in_table("git ** push ** --force"));
  CHECK(in_table("git ** push ** -f*"));
  CHECK(in_table("rm -rf '/*'"));
  CHECK(in_table("''"));
  CHECK_FALSE(in_table("mkfs*"));
  CHECK_FALSE(in_table("chmod ** *777"));
  CHECK_FALSE(in_table("git ** push ** -[!-]*f*"));
  CHECK_FALSE(in_table("/usr/bin/rm"));
  CHECK_FALSE(in_table("~/bin/tool"));
  CHECK_FALSE(in_table("x\\,y"));
  CHECK_FALSE(in_table("*"));
}
