// Directory listings for glob expansion, cached process-wide and validated
// on every use by a fresh stat() of the directory: st_dev, st_ino, st_mtim
// and st_ctim must all match. Adding, removing or renaming an entry changes
// the directory's mtime, so a validated listing is what readdir would return
// now. A listing whose directory changed too recently (its timestamps are
// within kRacyMargin of the clock, so a second change could land on the same
// timestamp tick) is returned but not cached. Thread-safe and bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace toolgate::effects {

struct DirListing {
  struct Entry {
    std::string name;
    unsigned char type = 0;  // dirent::d_type (DT_UNKNOWN when not known)
  };
  std::vector<Entry> entries;  // in readdir order, "." and ".." included
  // Indices of `entries` in name order (bytes compared as unsigned char, as
  // std::string's operator< does), built once for a listing the cache keeps
  // so that a glob, which lists its matches sorted as bash does, need not
  // sort them on each use. Empty for a listing that is not kept (the glob
  // sorts its matches) and when two entries have the same name (a broken
  // file system can list one twice): the order of equal names is then
  // whatever sorting the matches gives.
  std::vector<std::uint32_t> by_name;
};

enum class ListStatus : unsigned char {
  kOk,          // listing set
  kMissing,     // ENOENT / ENOTDIR: the directory does not exist
  kUnreadable,  // any other failure
};

inline constexpr std::size_t kMaxCachedDirectories = 256;
inline constexpr std::size_t kMaxCachedNameBytes = std::size_t{1} << 20;

// The first `max_entries` entries of `dir` (an absolute path), or all when
// fewer, the way readdir returns them (an error while reading ends the list,
// as for readdir). Never throws anything but std::bad_alloc.
ListStatus ListDirectory(const std::string& dir, std::size_t max_entries,
                         std::shared_ptr<const DirListing>& listing);

struct DirCacheStats {
  std::size_t hits = 0;
  std::size_t misses = 0;
  std::size_t directories = 0;
  std::size_t name_bytes = 0;
};
DirCacheStats DirectoryCacheStats();
void ClearDirectoryCache();
// Nanoseconds a directory's mtime/ctime must lie in the past to be cached
// (default 2 s). Tests lower it to exercise the cache on fresh directories.
void SetDirectoryCacheRacyMargin(long long nanoseconds);

}  // namespace toolgate::effects
