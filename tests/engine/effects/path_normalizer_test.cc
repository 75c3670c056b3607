#include "effects/path_normalizer.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "effects_test_util.h"

namespace toolgate::effects {
namespace {

NormalizedPath Lexical(std::string_view path, std::string_view cwd = "/work") {
  NormalizeOptions options;
  options.cwd = cwd;
  options.home = "/home/u";
  options.expand_tilde = true;
  return NormalizePath(path, options);
}

NormalizedPath Resolved(std::string_view path, std::string_view cwd = "/work") {
  NormalizeOptions options;
  options.cwd = cwd;
  options.home = "/home/u";
  options.expand_tilde = true;
  options.resolve_symlinks = true;
  return NormalizePath(path, options);
}

// A temporary directory removed at scope end.
struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tg-effects-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    REQUIRE(made != nullptr);
    // The resolver sees through a symlinked /tmp too; compare real paths.
    path = std::filesystem::canonical(made).string();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string path;
};

TEST_CASE("lexical normalization") {
  CHECK(Lexical("a/b").path == "/work/a/b");
  CHECK(Lexical("./a/./b/").path == "/work/a/b");
  CHECK(Lexical("a//b///c").path == "/work/a/b/c");
  CHECK(Lexical("../x").path == "/x");
  CHECK(Lexical("../../../../x").path == "/x");
  CHECK(Lexical("/..").path == "/");
  CHECK(Lexical(".").path == "/work");
  CHECK(Lexical("/").path == "/");
  CHECK(Lexical("//etc//passwd").path == "/etc/passwd");
  CHECK(Lexical("~").path == "/home/u");
  CHECK(Lexical("~/.ssh/../.aws").path == "/home/u/.aws");
  CHECK(Lexical("~bob/x").problem == "unknown user home");
  CHECK(Lexical("x", "").problem == "relative path with unknown working directory");
  CHECK(Lexical("x", "relative/cwd").problem == "relative path with unknown working directory");
  CHECK(Lexical("/abs", "").path == "/abs");
  CHECK(Lexical("").problem == "empty path");
}

TEST_CASE("tilde is literal unless asked") {
  NormalizeOptions options;
  options.cwd = "/work";
  options.home = "/home/u";
  CHECK(NormalizePath("~/x", options).path == "/work/~/x");
}

TEST_CASE("helpers") {
  CHECK(LexicallyNormalize("/a/./b/../c/") == "/a/c");
  // Already-normal paths come back as they are; anything else is rebuilt.
  CHECK(LexicallyNormalize("/") == "/");
  CHECK(LexicallyNormalize("/work/project") == "/work/project");
  CHECK(LexicallyNormalize("/a.b/..c/c..") == "/a.b/..c/c..");
  CHECK(LexicallyNormalize("//") == "/");
  CHECK(LexicallyNormalize("/a//b") == "/a/b");
  CHECK(LexicallyNormalize("/a/b/") == "/a/b");
  CHECK(LexicallyNormalize("/a/.") == "/a");
  CHECK(LexicallyNormalize("/a/b/..") == "/a");
  CHECK(LexicallyNormalize("/..") == "/");
  CHECK(ParentDirectory("/a/b") == "/a");
  CHECK(ParentDirectory("/a") == "/");
  CHECK(BaseName("/a/b/") == "b");
  CHECK(BaseName("x") == "x");
  CHECK(BaseName("/") == "");
}

TEST_CASE("symlinks are resolved component by component") {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path + "/ws/real");
  std::filesystem::create_directory_symlink("/etc", tmp.path + "/ws/link");
  std::filesystem::create_directory_symlink("real", tmp.path + "/ws/rel");
  std::filesystem::create_directory_symlink("../link", tmp.path + "/ws/real/up");
  CHECK(Resolved(tmp.path + "/ws/link/passwd").path == "/etc/passwd");
  CHECK(Resolved("link/passwd", tmp.path + "/ws").path == "/etc/passwd");
  CHECK(Resolved("rel/new/file", tmp.path + "/ws").path == tmp.path + "/ws/real/new/file");
  CHECK(Resolved("real/up/shadow", tmp.path + "/ws").path == "/etc/shadow");
  // `..` after a link applies to the link's target, as in the kernel.
  std::filesystem::create_directories(tmp.path + "/a/b");
  std::filesystem::create_directory_symlink(tmp.path + "/a/b", tmp.path + "/ws/deep");
  CHECK(Resolved(tmp.path + "/ws/deep/../x").path == tmp.path + "/a/x");
  CHECK(Lexical(tmp.path + "/ws/deep/../x").path == tmp.path + "/ws/x");
  // Missing tail stays lexical.
  CHECK(Resolved(tmp.path + "/ws/nope/../y").path == tmp.path + "/ws/y");
}

// Plain, untidy, missing, linked (inside, trailing, dangling) and
// file-as-directory paths, and which of them count as plain directories.
TEST_CASE("each kind of path resolves as the kernel would") {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path + "/ws/real/sub");
  std::filesystem::create_directory_symlink("/etc", tmp.path + "/ws/link");
  std::filesystem::create_symlink(tmp.path + "/ws/real", tmp.path + "/ws/tail");
  std::filesystem::create_symlink(tmp.path + "/nowhere", tmp.path + "/ws/dangling");
  { std::ofstream(tmp.path + "/ws/file") << "x"; }
  CHECK(Resolved(tmp.path + "/ws/real/sub").path == tmp.path + "/ws/real/sub");          // plain
  CHECK(Resolved(tmp.path + "/ws/real/./sub//").path == tmp.path + "/ws/real/sub");      // plain, untidy
  CHECK(Resolved(tmp.path + "/ws/real/missing/x").path == tmp.path + "/ws/real/missing/x");  // missing
  CHECK(Resolved(tmp.path + "/ws/link/passwd").path == "/etc/passwd");                   // link inside
  CHECK(Resolved(tmp.path + "/ws/tail").path == tmp.path + "/ws/real");                  // trailing link
  CHECK(Resolved(tmp.path + "/ws/dangling/x").path == tmp.path + "/nowhere/x");          // dangling link
  CHECK(Resolved(tmp.path + "/ws/file/x").path == tmp.path + "/ws/file/x");              // not a directory
  CHECK(Resolved(tmp.path + "/ws/./link/./passwd").path == "/etc/passwd");
  NormalizeOptions options;
  options.resolve_symlinks = true;
  CHECK(IsPlainDirectory(tmp.path + "/ws/real", options));
  CHECK_FALSE(IsPlainDirectory(tmp.path + "/ws/tail", options));
  CHECK_FALSE(IsPlainDirectory(tmp.path + "/ws/real/missing", options));
  CHECK_FALSE(IsPlainDirectory(tmp.path + "/ws/link/ssl", options));
}

// After a link the rest of the path may be checked in one openat2 when it
// has no link at all; every other shape must still come out as the
// component-by-component walk gives it.
TEST_CASE("the tail after a link resolves as the walk would") {
  TempDir tmp;
  const std::string t = tmp.path;
  std::filesystem::create_directories(t + "/d/a/b/c/d");
  { std::ofstream(t + "/d/a/b/c/d/file") << "x"; }
  std::filesystem::create_directories(t + "/ws");
  std::filesystem::create_directory_symlink("../d/a", t + "/ws/up");
  // Every component of the tail exists and none is a link.
  CHECK(Resolved(t + "/ws/up/b/c/d/file").path == t + "/d/a/b/c/d/file");
  CHECK(Resolved(t + "/ws/up/./b//c/d/file").path == t + "/d/a/b/c/d/file");
  // A missing component, a file used as a directory, `..` inside the tail.
  CHECK(Resolved(t + "/ws/up/b/c/missing/x/y").path == t + "/d/a/b/c/missing/x/y");
  CHECK(Resolved(t + "/ws/up/b/c/d/file/x/y").path == t + "/d/a/b/c/d/file/x/y");
  CHECK(Resolved(t + "/ws/up/b/c/../c/d/file").path == t + "/d/a/b/c/d/file");
  // A link in the middle of the tail and as its last component.
  std::filesystem::create_directory_symlink("/etc", t + "/d/a/b/c/d/etc");
  CHECK(Resolved(t + "/ws/up/b/c/d/etc/passwd").path == "/etc/passwd");
  std::filesystem::create_symlink("/etc/hostname", t + "/d/a/b/c/d/host");
  CHECK(Resolved(t + "/ws/up/b/c/d/host").path == "/etc/hostname");
  // A link made after a first resolution is seen by the next one: nothing is
  // remembered between resolutions.
  CHECK(Resolved(t + "/ws/up/b/c/d/file").path == t + "/d/a/b/c/d/file");
  std::filesystem::rename(t + "/d/a/b/c/d", t + "/d/a/b/c/moved");
  std::filesystem::create_directory_symlink("/etc", t + "/d/a/b/c/d");
  CHECK(Resolved(t + "/ws/up/b/c/d/file").path == "/etc/file");
  // The /proc and /dev rules still apply after a link.
  std::filesystem::create_directory_symlink("/proc/self/root/etc", t + "/ws/procroot");
  CHECK(Resolved(t + "/ws/procroot/ssl/certs/x/y").path == "/etc/ssl/certs/x/y");
  std::filesystem::create_directory_symlink("/proc/1/root/etc", t + "/ws/pid1");
  CHECK(Resolved(t + "/ws/pid1/ssl/certs/x/y").path == "/etc/ssl/certs/x/y");
  std::filesystem::create_directory_symlink("/dev/fd", t + "/ws/fds");
  CHECK(Resolved(t + "/ws/fds/1/a/b/c").path == "/dev/fd/1/a/b/c");
}

TEST_CASE("symlink loops are bounded") {
  TempDir tmp;
  std::filesystem::create_symlink(tmp.path + "/b", tmp.path + "/a");
  std::filesystem::create_symlink(tmp.path + "/a", tmp.path + "/b");
  NormalizedPath result = Resolved(tmp.path + "/a/x");
  CHECK(result.problem == "symlink loop");
  CHECK(!result.path.empty());
  std::filesystem::create_symlink("self", tmp.path + "/self");
  CHECK(Resolved(tmp.path + "/self/x").problem == "symlink loop");
}

TEST_CASE("/proc/self/root and friends") {
  CHECK(Resolved("/proc/self/root/etc/passwd").path == "/etc/passwd");
  CHECK(Resolved("/proc/thread-self/root/etc/shadow").path == "/etc/shadow");
  CHECK(Resolved("/proc/1/root/etc/shadow").path == "/etc/shadow");
  CHECK(Resolved("/proc/self/root/proc/self/root/etc/x").path == "/etc/x");
  CHECK(Resolved("/proc/self/cwd/secret", "/work").path == "/work/secret");
  CHECK(Resolved("/proc/self/cwd/secret", "").problem == "process-relative path");
  CHECK(Resolved("/proc/self/environ").path == "/proc/self/environ");
  CHECK(Resolved("/dev/stdout").path == "/dev/stdout");
  CHECK(Resolved("/dev/fd/1").path == "/dev/fd/1");
}

TEST_CASE("the shell extractor resolves symlinks when configured") {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path + "/ws");
  std::filesystem::create_directory_symlink("/etc", tmp.path + "/ws/link");
  Effects e = effects_test::Sh("cat link/passwd /proc/self/root/etc/shadow", tmp.path + "/ws",
                               effects_test::TestContext(/*resolve_symlinks=*/true));
  CHECK(effects_test::Reads(e, "/etc/passwd"));
  CHECK(effects_test::Reads(e, "/etc/shadow"));
  // Off: purely lexical.
  Effects lexical = effects_test::Sh("cat link/passwd", tmp.path + "/ws");
  CHECK(effects_test::Reads(lexical, tmp.path + "/ws/link/passwd"));
}

}  // namespace
}  // namespace toolgate::effects
