#include "effects/dir_listing_cache.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace toolgate::effects {
namespace {

struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  struct timespec mtim {};
  struct timespec ctim {};

  bool operator==(const Identity& o) const {
    return dev == o.dev && ino == o.ino && mtim.tv_sec == o.mtim.tv_sec && mtim.tv_nsec == o.mtim.tv_nsec &&
           ctim.tv_sec == o.ctim.tv_sec && ctim.tv_nsec == o.ctim.tv_nsec;
  }
};

struct Cached {
  Identity identity;
  std::shared_ptr<const DirListing> listing;
  std::size_t bytes = 0;
};

struct Cache {
  std::shared_mutex mutex;
  std::unordered_map<std::string, Cached> map;  // guarded by mutex
  std::size_t bytes = 0;                        // guarded by mutex
  std::atomic<std::size_t> hits{0};
  std::atomic<std::size_t> misses{0};
  std::atomic<long long> racy_margin_ns{2'000'000'000LL};
};

Cache& TheCache() {
  static Cache* cache = new Cache();  // never destroyed: used from any thread until exit
  return *cache;
}

long long Nanoseconds(const struct timespec& t) {
  return static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec;
}

std::size_t ListingBytes(const std::string& dir, const DirListing& listing) {
  std::size_t bytes = dir.size();
  for (const DirListing::Entry& e : listing.entries) bytes += e.name.size() + 1;
  return bytes;
}

void SortByName(DirListing& listing) {
  const std::vector<DirListing::Entry>& entries = listing.entries;
  listing.by_name.resize(entries.size());
  for (std::uint32_t i = 0; i < entries.size(); ++i) listing.by_name[i] = i;
  std::sort(listing.by_name.begin(), listing.by_name.end(),
            [&](std::uint32_t a, std::uint32_t b) { return entries[a].name < entries[b].name; });
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (entries[listing.by_name[i - 1]].name == entries[listing.by_name[i]].name) {
      listing.by_name.clear();
      return;
    }
  }
}

}  // namespace

ListStatus ListDirectory(const std::string& dir, std::size_t max_entries,
                         std::shared_ptr<const DirListing>& listing) {
  Cache& cache = TheCache();
  struct stat st {};
  bool have_identity = ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  Identity identity;
  if (have_identity) {
    identity.dev = st.st_dev;
    identity.ino = st.st_ino;
    identity.mtim = st.st_mtim;
    identity.ctim = st.st_ctim;
    std::shared_lock lock(cache.mutex);
    auto it = cache.map.find(dir);
    if (it != cache.map.end() && it->second.identity == identity) {
      listing = it->second.listing;
      lock.unlock();
      cache.hits.fetch_add(1, std::memory_order_relaxed);
      return ListStatus::kOk;
    }
  }
  cache.misses.fetch_add(1, std::memory_order_relaxed);

  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) {
    return errno == ENOENT || errno == ENOTDIR ? ListStatus::kMissing : ListStatus::kUnreadable;
  }
  auto fresh = std::make_shared<DirListing>();
  bool complete = false;
  while (true) {
    if (fresh->entries.size() >= max_entries) break;
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) {
      complete = errno == 0;
      break;
    }
    fresh->entries.push_back({std::string(entry->d_name), entry->d_type});
  }
  ::closedir(stream);
  listing = fresh;

  // Cache only a whole listing of a directory whose identity was taken before
  // reading it and whose last change is safely in the past: a change while
  // reading, or later, then shows up as a different identity.
  if (!complete || !have_identity) return ListStatus::kOk;
  struct timespec now {};
  if (::clock_gettime(CLOCK_REALTIME, &now) != 0) return ListStatus::kOk;
  long long margin = cache.racy_margin_ns.load(std::memory_order_relaxed);
  long long limit = Nanoseconds(now) - margin;
  if (Nanoseconds(identity.mtim) >= limit || Nanoseconds(identity.ctim) >= limit) return ListStatus::kOk;
  std::size_t bytes = ListingBytes(dir, *fresh);
  if (bytes > kMaxCachedNameBytes / 4) return ListStatus::kOk;
  // Its name order is worth building only for a listing that is kept: a
  // glob sorts just its matches when there is none (a directory too large to
  // keep would be sorted whole on every use).
  SortByName(*fresh);
  std::unique_lock lock(cache.mutex);
  auto existing = cache.map.find(dir);
  if (existing != cache.map.end()) {
    cache.bytes -= existing->second.bytes;
    cache.map.erase(existing);
  }
  while (!cache.map.empty() &&
         (cache.map.size() >= kMaxCachedDirectories || cache.bytes + bytes > kMaxCachedNameBytes)) {
    cache.bytes -= cache.map.begin()->second.bytes;
    cache.map.erase(cache.map.begin());
  }
  cache.map.emplace(dir, Cached{identity, std::move(fresh), bytes});
  cache.bytes += bytes;
  return ListStatus::kOk;
}

DirCacheStats DirectoryCacheStats() {
  Cache& cache = TheCache();
  DirCacheStats stats;
  stats.hits = cache.hits.load();
  stats.misses = cache.misses.load();
  std::shared_lock lock(cache.mutex);
  stats.directories = cache.map.size();
  stats.name_bytes = cache.bytes;
  return stats;
}

void ClearDirectoryCache() {
  Cache& cache = TheCache();
  std::unique_lock lock(cache.mutex);
  cache.map.clear();
  cache.bytes = 0;
}

void SetDirectoryCacheRacyMargin(long long nanoseconds) {
  TheCache().racy_margin_ns.store(nanoseconds, std::memory_order_relaxed);
}

}  // namespace toolgate::effects
