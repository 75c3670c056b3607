// The file system caches behind symlink resolution and glob expansion: the
// per-call lstat memo (PathCache) and the process-wide directory listing
// cache. Both must give exactly what uncached resolution gives, and a change
// to the file system between two calls must be seen by the second.
#include <dirent.h>
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "effects/dir_listing_cache.h"
#include "effects/path_normalizer.h"
#include "effects_test_util.h"

namespace toolgate::effects {
namespace {

using effects_test::Reads;
using effects_test::Sh;
using effects_test::TestContext;

struct Scratch : effects_test::ScratchDir {
  Scratch() : ScratchDir("tg-iocache") {}
  void Touch(std::string_view name) const { std::ofstream(*this / name) << "x\n"; }
};

// Lets a directory's timestamp tick move on, so a cached listing would be
// stale if validation were wrong (file system timestamps are coarse).
void Tick() { std::this_thread::sleep_for(std::chrono::milliseconds(30)); }

// Caches listings of fresh directories for the duration of a test.
struct EagerDirectoryCache {
  EagerDirectoryCache() { SetDirectoryCacheRacyMargin(0); }
  ~EagerDirectoryCache() { SetDirectoryCacheRacyMargin(2'000'000'000LL); }
};

NormalizeOptions ResolvingOptions(PathCache* cache = nullptr) {
  NormalizeOptions options;
  options.home = "/home/u";
  options.resolve_symlinks = true;
  options.cache = cache;
  return options;
}

TEST_CASE("a cached directory listing sees entries added, removed and renamed to a link") {
  EagerDirectoryCache eager;
  Scratch t;
  std::filesystem::create_directories(t / "dir");
  std::filesystem::create_directories(t / "secret");
  t.Touch("secret/key");
  t.Touch("dir/a");
  t.Touch("dir/b");
  EffectsContext context = TestContext(/*resolve_symlinks=*/true);
  std::string glob = "cat " + (t / "dir/*");
  Tick();

  Effects first = Sh(glob, "/work", context);
  CHECK(Reads(first, t / "dir/a"));
  CHECK(Reads(first, t / "dir/b"));
  DirCacheStats before = DirectoryCacheStats();
  Effects again = Sh(glob, "/work", context);
  CHECK(ToJson(again) == ToJson(first));
  CHECK(DirectoryCacheStats().hits > before.hits);  // the listing was reused

  t.Touch("dir/c");  // added
  Effects added = Sh(glob, "/work", context);
  CHECK(Reads(added, t / "dir/c"));
  Tick();

  std::filesystem::remove(t / "dir/a");  // removed
  Effects removed = Sh(glob, "/work", context);
  CHECK_FALSE(Reads(removed, t / "dir/a"));
  CHECK(Reads(removed, t / "dir/b"));
  Tick();

  // b renamed over by a symlink: the match now names the link's target.
  std::filesystem::create_symlink(t / "secret/key", t / "dir/tmp-link");
  std::filesystem::rename(t / "dir/tmp-link", t / "dir/b");
  Effects linked = Sh(glob, "/work", context);
  CHECK(Reads(linked, t / "secret/key"));
  CHECK_FALSE(Reads(linked, t / "dir/b"));
  Tick();

  // The directory itself replaced by another one of the same name.
  std::filesystem::rename(t / "dir", t / "old");
  std::filesystem::create_directories(t / "dir");
  t.Touch("dir/z");
  Effects replaced = Sh(glob, "/work", context);
  CHECK(Reads(replaced, t / "dir/z"));
  CHECK_FALSE(Reads(replaced, t / "dir/c"));
}

TEST_CASE("changes right after a listing are seen without waiting (racy timestamps)") {
  Scratch t;  // default margin: a just-changed directory is never cached
  std::filesystem::create_directories(t / "dir");
  t.Touch("target");
  t.Touch("dir/a");
  EffectsContext context = TestContext(true);
  std::string glob = "cat " + (t / "dir/*");
  for (int round = 0; round < 3; ++round) {
    std::string name = "n" + std::to_string(round);
    t.Touch("dir/" + name);
    CHECK(Reads(Sh(glob, "/work", context), t / ("dir/" + name)));
    std::filesystem::remove(t / ("dir/" + name));
    std::filesystem::create_symlink(t / "target", t / ("dir/" + name));
    Effects e = Sh(glob, "/work", context);
    CHECK(Reads(e, t / "target"));
    CHECK_FALSE(Reads(e, t / ("dir/" + name)));
    std::filesystem::remove(t / ("dir/" + name));
  }
}

TEST_CASE("the per-call lstat memo does not outlive its call") {
  Scratch t;
  std::filesystem::create_directories(t / "real/x");
  std::filesystem::create_directories(t / "other");
  EffectsContext context = TestContext(true);
  std::string read = "cat " + (t / "real/x/f") + " " + (t / "real/x/g");
  Effects before = Sh(read, "/work", context);
  CHECK(Reads(before, t / "real/x/f"));
  // x becomes a link: the very next call must resolve through it.
  std::filesystem::remove(t / "real/x");
  std::filesystem::create_directory_symlink(t / "other", t / "real/x");
  Effects after = Sh(read, "/work", context);
  CHECK(Reads(after, t / "other/f"));
  CHECK(Reads(after, t / "other/g"));
  CHECK_FALSE(Reads(after, t / "real/x/f"));
}

TEST_CASE("PathCache gives what lstat and readlink give, and stays bounded") {
  Scratch t;
  t.Touch("file");
  std::filesystem::create_symlink("file", t / "link");
  std::filesystem::create_symlink(t / "missing", t / "dangling");
  PathCache cache;
  CHECK(cache.Lookup(t / "file").exists);
  CHECK_FALSE(cache.Lookup(t / "file").is_link);
  const PathCache::Entry& link = cache.Lookup(t / "link");
  CHECK(link.is_link);
  CHECK(link.target_ok);
  CHECK(link.target == "file");
  CHECK_FALSE(cache.Lookup(t / "nope").exists);
  std::size_t misses = cache.misses();
  CHECK(cache.Lookup(t / "link").target == "file");
  CHECK(cache.misses() == misses);  // remembered
  for (std::size_t i = 0; i < PathCache::kMaxEntries + 50; ++i) cache.Lookup(t / ("n" + std::to_string(i)));
  CHECK(cache.size() <= PathCache::kMaxEntries);
  CHECK(cache.Lookup(t / "dangling").is_link);  // still exact once full

  // Resolution with and without the memo agrees, links and loops included.
  std::filesystem::create_symlink("loop2", t / "loop1");
  std::filesystem::create_symlink("loop1", t / "loop2");
  std::filesystem::create_directory_symlink(t.root, t / "self");
  PathCache fresh;
  for (std::string name : {"file", "link", "dangling/x", "loop1/x", "self/self/link", "self/../x", "nope/a"}) {
    CAPTURE(name);
    NormalizedPath plain = NormalizePath(t / name, ResolvingOptions());
    NormalizedPath memo = NormalizePath(t / name, ResolvingOptions(&fresh));
    CHECK(plain.path == memo.path);
    CHECK(plain.problem == memo.problem);
  }
}

TEST_CASE("a directory entry resolves as its full path does") {
  Scratch t;
  t.Touch("file");
  std::filesystem::create_directories(t / "sub");
  std::filesystem::create_symlink("file", t / "link");
  std::filesystem::create_symlink("sub", t / "dirlink");
  std::filesystem::create_symlink("nowhere", t / "dangling");
  std::filesystem::create_symlink("loopy", t / "loopy");
  std::filesystem::create_directory_symlink(t.root, t / "via");
  for (std::string dir : {t.root, t / "via", t / "sub", std::string("/"), std::string("/dev"),
                          std::string("/etc"), std::string("/proc"), std::string("/proc/self")}) {
    CAPTURE(dir);
    PathCache cache;
    NormalizeOptions options = ResolvingOptions(&cache);
    bool plain = IsPlainDirectory(dir, options);
    if (dir == t.root || dir == "/" || dir == "/etc") CHECK(plain);
    if (dir == t / "via" || dir == "/proc/self") CHECK_FALSE(plain);
    DIR* stream = ::opendir(dir.c_str());
    REQUIRE(stream != nullptr);
    int seen = 0;
    while (const dirent* entry = ::readdir(stream)) {
      if (++seen > 300) break;
      std::string name = entry->d_name;
      CAPTURE(name);
      std::string joined = (dir == "/" ? "" : dir) + "/" + name;
      NormalizedPath expected = NormalizePath(joined, ResolvingOptions());
      NormalizedPath got = NormalizeDirectoryEntry(dir, plain, name, entry->d_type, options);
      if (dir == "/proc" && got.path != expected.path) continue;  // a process came or went
      CHECK(got.path == expected.path);
      CHECK(got.problem == expected.problem);
    }
    ::closedir(stream);
  }
}

TEST_CASE("the directory cache is bounded") {
  EagerDirectoryCache eager;
  Scratch t;
  for (std::size_t i = 0; i < kMaxCachedDirectories + 20; ++i) {
    std::filesystem::create_directories(t / ("d" + std::to_string(i)));
  }
  Tick();
  for (std::size_t i = 0; i < kMaxCachedDirectories + 20; ++i) {
    std::shared_ptr<const DirListing> listing;
    CHECK(ListDirectory(t / ("d" + std::to_string(i)), 100, listing) == ListStatus::kOk);
    REQUIRE(listing != nullptr);
    CHECK(listing->entries.size() == 2);  // . and ..
  }
  DirCacheStats stats = DirectoryCacheStats();
  CHECK(stats.directories <= kMaxCachedDirectories);
  CHECK(stats.name_bytes <= kMaxCachedNameBytes);
  std::shared_ptr<const DirListing> none;
  CHECK(ListDirectory(t / "absent", 100, none) == ListStatus::kMissing);
  CHECK(ListDirectory(t / "d0/.", 100, none) == ListStatus::kOk);
  t.Touch("plainfile");
  CHECK(ListDirectory(t / "plainfile", 100, none) == ListStatus::kMissing);
  ClearDirectoryCache();
  CHECK(DirectoryCacheStats().directories == 0);
}

}  // namespace
}  // namespace toolgate::effects
