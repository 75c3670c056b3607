// The process-wide link cache (effects/link_cache.h): with it on, every
// resolution must give exactly what a fresh component walk gives, right
// after any change to the file system, with no wait; and it must actually
// answer from memory when nothing changed.
#include "effects/link_cache.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "effects/path_normalizer.h"
#include "effects_test_util.h"

namespace toolgate::effects {
namespace {

struct Scratch : effects_test::ScratchDir {
  Scratch() : ScratchDir("tg-linkcache") {}
};

// Turns the cache on for one test and off again after it.
struct CacheOn {
  CacheOn() { SetLinkCacheEnabled(true); }
  ~CacheOn() { SetLinkCacheEnabled(false); }
};

// One call's resolution: a fresh per-call memo, so the process-wide cache is
// what carries anything over from the calls before.
NormalizedPath Cached(const std::string& path) {
  PathCache memo;
  NormalizeOptions options;
  options.resolve_symlinks = true;
  options.cache = &memo;
  return NormalizePath(path, options);
}

// The reference: no memo of any kind, every component from the kernel.
NormalizedPath Fresh(const std::string& path) {
  NormalizeOptions options;
  options.resolve_symlinks = true;
  return NormalizePath(path, options);
}

// Whether the scratch directory is on a file system the cache keeps entries
// for (the CI machine's /tmp is); elsewhere only equality is checked.
bool Keeps(const std::string& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  const unsigned long type = static_cast<unsigned long>(fs.f_type);
  return type == EXT4_SUPER_MAGIC || type == 0x58465342UL || type == BTRFS_SUPER_MAGIC || type == TMPFS_MAGIC;
}

// `name` in the directories `dirs` (made in `t`), resolved once: with the
// cache on, its lookups are kept.
std::string ResolvedOnce(const Scratch& t, const std::string& dirs, const std::string& name) {
  std::filesystem::create_directories(t / dirs);
  const std::string path = t / (dirs + "/" + name);
  CHECK(Cached(path).path == path);
  return path;
}

// Another process changing a directory the cache watches (/tmp, /) empties
// the cache and turns the next hits into misses. The tests that count hits
// and misses therefore repeat their steps until one attempt saw no flush
// (at most kAttempts), and assert on that attempt; if none was quiet (the
// cache flushing itself, say), they fail.
constexpr int kAttempts = 20;

TEST_CASE("the link cache answers from memory while nothing changes") {
  Scratch t;
  CacheOn on;
  std::string path = ResolvedOnce(t, "ws/src/lib", "main.c");
  if (!Keeps(t.root) || !GetLinkCacheStats().active) {
    for (int i = 0; i < 10; ++i) CHECK(Cached(path).path == path);
    MESSAGE("scratch directory not on a file system the cache keeps: only equality checked");
    return;
  }
  LinkCacheStats before, after;
  bool quiet = false;
  for (int attempt = 0; attempt < kAttempts && !quiet; ++attempt) {
    const std::uint64_t flushes = GetLinkCacheStats().flushes;
    path = ResolvedOnce(t, "ws/src/lib", "main.c");
    before = GetLinkCacheStats();
    for (int i = 0; i < 10; ++i) CHECK(Cached(path).path == path);
    after = GetLinkCacheStats();
    quiet = after.flushes == flushes;
  }
  REQUIRE(quiet);
  CHECK(after.misses == before.misses);  // no component went to the kernel again
  CHECK(after.hits > before.hits);
  // Off: nothing is answered from memory any more.
  SetLinkCacheEnabled(false);
  const LinkCacheStats off = GetLinkCacheStats();
  CHECK(Cached(path).path == path);
  CHECK(GetLinkCacheStats().hits == off.hits);
  CHECK(GetLinkCacheStats().entries == 0);
}

// Changes the kernel does not report are bounded by age: an entry is not
// used by a call that checked more than 10 s after it was looked up. The
// clock is read once per call, at its check: a call that checked before the
// clock moved still uses the entry, the next call does not.
TEST_CASE("an entry older than 10 s at a call's check is looked up again") {
  Scratch t;
  CacheOn on;
  std::string path = ResolvedOnce(t, "ws/src", "main.c");
  if (!Keeps(t.root) || !GetLinkCacheStats().active) return;
  bool quiet = false;
  bool young = false, nine_seconds = false, early_call = false, aged_again = false, young_again = false;
  for (int attempt = 0; attempt < kAttempts && !quiet; ++attempt) {
    const std::uint64_t flushes = GetLinkCacheStats().flushes;
    path = ResolvedOnce(t, "ws/src", "main.c");
    PathCache early;  // a call that checks now and resolves again after the clock moved
    NormalizeOptions options;
    options.resolve_symlinks = true;
    options.cache = &early;
    CHECK(NormalizePath(t / "ws", options).path == t / "ws");
    const LinkCacheStats fresh = GetLinkCacheStats();
    CHECK(Cached(path).path == path);
    young = GetLinkCacheStats().misses == fresh.misses;  // young: from memory
    AdvanceLinkCacheClockForTesting(9'000'000'000LL);
    CHECK(Cached(path).path == path);
    nine_seconds = GetLinkCacheStats().misses == fresh.misses;  // 9 s: still from memory
    AdvanceLinkCacheClockForTesting(2'000'000'000LL);
    // The early call's instant is 11 s before the clock: what it resolves is
    // no older than 10 s at that instant, so it is answered from memory.
    CHECK(NormalizePath(path, options).path == path);
    early_call = GetLinkCacheStats().misses == fresh.misses;
    // A new call checks 11 s after the lookups: each is made again.
    CHECK(Cached(path).path == path);
    const LinkCacheStats aged = GetLinkCacheStats();
    aged_again = aged.misses > fresh.misses;
    // Looked up again, they are young again.
    CHECK(Cached(path).path == path);
    young_again = GetLinkCacheStats().misses == aged.misses;
    quiet = GetLinkCacheStats().flushes == flushes;
  }
  REQUIRE(quiet);
  CHECK(young);
  CHECK(nine_seconds);
  CHECK(early_call);
  CHECK(aged_again);
  CHECK(young_again);
}

// Each way a path can come to mean something else, made right after the
// path was resolved and remembered; the next call must see it at once.
TEST_CASE("a change is seen by the very next call") {
  Scratch t;
  CacheOn on;
  std::filesystem::create_directories(t / "ws/dir/sub");
  std::filesystem::create_directories(t / "other/sub");
  { std::ofstream(t / "ws/dir/sub/file") << "x"; }

  // A directory replaced by a link.
  CHECK(Cached(t / "ws/dir/sub/file").path == t / "ws/dir/sub/file");
  std::filesystem::rename(t / "ws/dir", t / "ws/dir.old");
  std::filesystem::create_directory_symlink("/etc", t / "ws/dir");
  CHECK(Cached(t / "ws/dir/sub/file").path == "/etc/sub/file");

  // The link replaced by a directory again.
  std::filesystem::remove(t / "ws/dir");
  std::filesystem::rename(t / "ws/dir.old", t / "ws/dir");
  CHECK(Cached(t / "ws/dir/sub/file").path == t / "ws/dir/sub/file");

  // A missing component created as a link.
  CHECK(Cached(t / "ws/missing/passwd").path == t / "ws/missing/passwd");
  std::filesystem::create_directory_symlink("/etc", t / "ws/missing");
  CHECK(Cached(t / "ws/missing/passwd").path == "/etc/passwd");

  // A link retargeted (removed and made again with another target).
  std::filesystem::remove(t / "ws/missing");
  std::filesystem::create_directory_symlink(t / "other", t / "ws/missing");
  CHECK(Cached(t / "ws/missing/sub").path == t / "other/sub");

  // Two entries exchanged in one rename (RENAME_EXCHANGE).
  std::filesystem::create_directory_symlink("/etc", t / "ws/swap");
  CHECK(Cached(t / "ws/dir/sub").path == t / "ws/dir/sub");
  CHECK(Cached(t / "ws/swap/hostname").path == "/etc/hostname");
  REQUIRE(::renameat2(AT_FDCWD, (t / "ws/dir").c_str(), AT_FDCWD, (t / "ws/swap").c_str(), RENAME_EXCHANGE) == 0);
  CHECK(Cached(t / "ws/dir/hostname").path == "/etc/hostname");
  CHECK(Cached(t / "ws/swap/sub").path == t / "ws/swap/sub");

  // An ancestor several levels up replaced by a link.
  std::filesystem::create_directories(t / "deep/a/b/c");
  CHECK(Cached(t / "deep/a/b/c/d").path == t / "deep/a/b/c/d");
  std::filesystem::rename(t / "deep", t / "deep.old");
  std::filesystem::create_directory_symlink("/etc", t / "deep");
  CHECK(Cached(t / "deep/a/b/c/d").path == "/etc/a/b/c/d");

  // A watched directory moved away and a new one made at its path: the new
  // directory must be watched in turn, or a link made in it goes unseen.
  std::filesystem::create_directories(t / "mv/d");
  CHECK(Cached(t / "mv/d/x/passwd").path == t / "mv/d/x/passwd");
  std::filesystem::rename(t / "mv/d", t / "mv/away");
  CHECK(Cached(t / "mv/d/x/passwd").path == t / "mv/d/x/passwd");
  std::filesystem::create_directories(t / "mv/d");
  CHECK(Cached(t / "mv/d/x/passwd").path == t / "mv/d/x/passwd");
  std::filesystem::create_directory_symlink("/etc", t / "mv/d/x");
  CHECK(Cached(t / "mv/d/x/passwd").path == "/etc/passwd");

  // The directory holding a link removed altogether.
  std::filesystem::create_directories(t / "gone");
  std::filesystem::create_directory_symlink("/etc", t / "gone/l");
  CHECK(Cached(t / "gone/l/x").path == "/etc/x");
  std::filesystem::remove_all(t / "gone");
  CHECK(Cached(t / "gone/l/x").path == t / "gone/l/x");
}

// A file touched or chmod'ed changes no lookup: it does not empty the memo.
TEST_CASE("a file's attributes do not flush the cache") {
  Scratch t;
  CacheOn on;
  std::filesystem::create_directories(t / "ws");
  { std::ofstream(t / "ws/file") << "x"; }
  CHECK(Cached(t / "ws/file").path == t / "ws/file");
  if (!Keeps(t.root) || !GetLinkCacheStats().active) return;
  const std::uint64_t flushes = GetLinkCacheStats().flushes;
  std::filesystem::permissions(t / "ws/file", std::filesystem::perms::owner_read);
  CHECK(Cached(t / "ws/file").path == t / "ws/file");
  CHECK(GetLinkCacheStats().flushes == flushes);
  // A new entry in the directory does.
  { std::ofstream(t / "ws/new") << "x"; }
  CHECK(Cached(t / "ws/file").path == t / "ws/file");
  CHECK(GetLinkCacheStats().flushes > flushes);
}

// Each watch pins a directory in the kernel: past 1,024 of them the cache
// starts again with a new inotify instance, and keeps answering right.
TEST_CASE("the number of watched directories is bounded") {
  Scratch t;
  CacheOn on;
  const int dirs = 1100;
  for (int i = 0; i < dirs; ++i) std::filesystem::create_directories(t / ("d" + std::to_string(i) + "/sub"));
  for (int i = 0; i < dirs; ++i) {
    const std::string path = t / ("d" + std::to_string(i) + "/sub/file");
    REQUIRE(Cached(path).path == path);
  }
  const LinkCacheStats stats = GetLinkCacheStats();
  CHECK(stats.watches <= 1024);
  if (Keeps(t.root) && stats.active) CHECK(stats.restarts >= 1);
  // Still right after the restart: a link made in an early directory.
  std::filesystem::remove_all(t / "d3/sub");
  std::filesystem::create_directory_symlink("/etc", t / "d3/sub");
  CHECK(Cached(t / "d3/sub/file").path == "/etc/file");
}

// A directory exchanged for another after its facts were read and before
// the directory above it was watched: nothing reports the exchange, so the
// cache must notice that the path no longer names the directory it watched.
// The watch bound is filled first, so the lookup that needs it starts again
// with nothing watched (the whole chain new).
std::string g_exchange_a, g_exchange_b;
void ExchangeAfterDescribe(const std::string& dir) {
  if (dir != g_exchange_a) return;
  SetLinkCacheDescribeHookForTesting(nullptr);
  ::renameat2(AT_FDCWD, g_exchange_a.c_str(), AT_FDCWD, g_exchange_b.c_str(), RENAME_EXCHANGE);
}

TEST_CASE("a directory exchanged while it is being watched is not kept") {
  Scratch t;
  CacheOn on;
  if (!Keeps(t.root)) return;
  for (int i = 0; i < 1100; ++i) std::filesystem::create_directories(t / ("f/" + std::to_string(i)));
  std::filesystem::create_directories(t / "N/P");
  std::filesystem::create_directories(t / "N/Q");
  CHECK(Cached(t / "N").path == t / "N");
  for (int i = 0; i < 1100 && GetLinkCacheStats().watches < 1024; ++i) Cached(t / ("f/" + std::to_string(i) + "/x"));
  REQUIRE(GetLinkCacheStats().watches == 1024);
  g_exchange_a = t / "N/P";
  g_exchange_b = t / "N/Q";
  SetLinkCacheDescribeHookForTesting(ExchangeAfterDescribe);
  CHECK(Cached(t / "N/P/l/passwd").path == t / "N/P/l/passwd");
  SetLinkCacheDescribeHookForTesting(nullptr);
  // The exchange happened: what is now N/P gets a link, in a directory the
  // cache never watched.
  std::filesystem::create_directory_symlink("/etc", t / "N/P/l");
  CHECK(Cached(t / "N/P/l/passwd").path == "/etc/passwd");
}

// Random trees of directories, files and links (relative, absolute,
// dangling, looping), changed at random between calls: every call with the
// cache must resolve every path exactly as a fresh walk does.
// Every change stays inside the scratch directory: the tree is one level
// below it (so a relative `../x` link lands in it), absolute links point
// into it, and a change whose target or parent resolves anywhere else is
// skipped (links make that possible: a write through one lands where it
// points).
TEST_CASE("random changes: the cache always agrees with a fresh walk") {
  Scratch t;
  CacheOn on;
  const std::string tree = t / "tree";
  const std::string outside = t / "outside";
  std::filesystem::create_directories(tree);
  std::filesystem::create_directories(outside + "/a/b");
  std::mt19937 rng(20261123);
  const std::vector<std::string> names = {"a", "b", "c"};
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const auto random_relative = [&](int depth) {
    std::string p;
    for (int i = 0; i < depth; ++i) p += (p.empty() ? "" : "/") + names[pick(names.size())];
    return p;
  };
  const auto in_scratch = [&](const std::string& path) {
    std::error_code ec;
    const std::filesystem::path where = std::filesystem::weakly_canonical(path, ec);
    if (ec) return false;
    const std::string w = where.string();
    return w.compare(0, t.root.size() + 1, t.root + "/") == 0;
  };
  // Where a change to `path` lands: its parent, resolved (removing, renaming
  // or making `path` itself does not follow it when it is a link).
  const auto safe = [&](const std::string& path) {
    return in_scratch(std::filesystem::path(path).parent_path().string());
  };
  std::vector<std::string> probes;
  for (int i = 0; i < 40; ++i) probes.push_back(tree + "/" + random_relative(1 + static_cast<int>(pick(4))));
  probes.push_back(tree + "/a/../b/c");
  probes.push_back(tree + "/a/b/../../c/a");

  int changes = 0;
  const auto mutate = [&] {
    const std::string target = tree + "/" + random_relative(1 + static_cast<int>(pick(3)));
    const std::string other = tree + "/" + random_relative(1 + static_cast<int>(pick(3)));
    const std::size_t kind = pick(7);
    if (!safe(target) || ((kind == 4 || kind == 6) && !safe(other))) return;
    std::error_code ec;
    switch (kind) {
      case 0:
        std::filesystem::create_directories(target, ec);
        break;
      case 1:
        std::filesystem::remove_all(target, ec);
        break;
      case 2:  // relative link to a sibling or up
        std::filesystem::remove_all(target, ec);
        std::filesystem::create_symlink(pick(2) == 0 ? names[pick(names.size())] : "../" + names[pick(names.size())],
                                        target, ec);
        break;
      case 3:  // absolute link into the tree or out of it
        std::filesystem::remove_all(target, ec);
        std::filesystem::create_symlink(pick(2) == 0 ? tree + "/" + random_relative(2) : outside, target, ec);
        break;
      case 4:  // rename over another entry
        if (other.compare(0, target.size() + 1, target + "/") != 0) std::filesystem::rename(target, other, ec);
        break;
      case 5:
        std::filesystem::remove_all(target, ec);
        std::ofstream(target) << "f";
        break;
      case 6:  // exchange two entries
        ::renameat2(AT_FDCWD, target.c_str(), AT_FDCWD, other.c_str(), RENAME_EXCHANGE);
        break;
    }
    ++changes;
  };
  constexpr int kRounds = 600;
  int compared = 0;
  for (int round = 0; round < kRounds; ++round) {
    mutate();
    // Several calls between changes, so entries are kept and reused.
    for (int call = 0; call < 3; ++call) {
      for (const std::string& p : probes) {
        const NormalizedPath cached = Cached(p);
        const NormalizedPath fresh = Fresh(p);
        if (cached.path != fresh.path || cached.problem != fresh.problem) {
          FAIL_CHECK("round " << round << ": " << p << " -> cached " << cached.path << " [" << cached.problem
                              << "], fresh " << fresh.path << " [" << fresh.problem << "]");
        }
        ++compared;
      }
    }
  }
  CHECK(compared == kRounds * 3 * static_cast<int>(probes.size()));
  CHECK(changes > kRounds / 2);  // most changes were made, not skipped
  if (Keeps(t.root) && GetLinkCacheStats().active) CHECK(GetLinkCacheStats().hits > 0);
}

}  // namespace
}  // namespace toolgate::effects
