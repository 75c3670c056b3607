#include "effects/link_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace toolgate::effects {
namespace {

constexpr std::size_t kMaxEntries = 8192;
constexpr std::size_t kMaxWatches = 1024;
constexpr std::size_t kMaxDepth = 128;  // directories from the root; deeper ones are not kept
// Every change that can alter a lookup of D/name, or D itself.
constexpr std::uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                                     IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR | IN_DONT_FOLLOW;

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif

// Local file systems whose every change goes through the VFS, so inotify
// reports it. Network and user-space file systems (NFS, CIFS, 9p, FUSE) can
// change without a report; overlayfs when its layers are changed directly.
bool ReportsEveryChange(const struct statfs& fs) {
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
      return true;
    default:
      return false;
  }
}

bool Under(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

// /proc, /sys and /dev change without reports (and /proc/<pid> means
// another process to every caller). Only normalized absolute paths below
// the root are kept (what the resolver asks about), so a path's parent is
// its text up to the last slash.
bool MayKeep(std::string_view path) {
  if (path.size() < 2 || path.front() != '/' || path.back() == '/') return false;
  if (path.find("//") != std::string_view::npos || path.find("/./") != std::string_view::npos ||
      path.find("/../") != std::string_view::npos) {
    return false;
  }
  const std::string_view last = path.substr(path.rfind('/') + 1);
  if (last == "." || last == "..") return false;
  return !(Under(path, "/proc") || Under(path, "/sys") || Under(path, "/dev"));
}

std::string_view Parent(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

class LinkCache {
 public:
  ~LinkCache() {
    if (epoll_ >= 0) ::close(epoll_);
    if (inotify_ >= 0) ::close(inotify_);
    if (mounts_ >= 0) ::close(mounts_);
  }

  std::atomic<bool> enabled{false};

  PathCache::Entry Lookup(const std::string& path, bool* checked) {
    std::uint64_t generation = 0;
    bool keep = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Ready()) {
        if (!*checked) {
          Check();
          *checked = true;
        }
        auto it = entries_.find(path);
        if (it != entries_.end()) {
          ++hits_;
          return it->second;
        }
        ++misses_;
        keep = Watched(Parent(path));
        if (keep && entries_.size() >= kMaxEntries) Flush();
        generation = generation_;
      }
    }
    // Outside the lock: the system call must not hold up other threads.
    // When kept, the parent is watched already: a change after this lookup
    // will be reported.
    PathCache::Entry entry = LookupPathNow(path);
    if (keep && entry.definite) {
      std::lock_guard<std::mutex> lock(mu_);
      // A report handled since may be of a change after the lookup.
      if (generation == generation_) entries_.emplace(path, entry);
    }
    return entry;
  }

  LinkCacheStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    LinkCacheStats s;
    s.active = enabled.load(std::memory_order_relaxed) && epoll_ >= 0 && !broken_;
    s.hits = hits_;
    s.misses = misses_;
    s.flushes = flushes_;
    s.entries = entries_.size();
    s.watches = watches_.size();
    s.restarts = restarts_;
    return s;
  }

  void Disable() {
    std::lock_guard<std::mutex> lock(mu_);
    Flush();
  }

 private:
  // Sets up inotify, the mount table and epoll once; false for good when
  // any of them cannot be had.
  bool Ready() {
    if (broken_) return false;
    if (epoll_ >= 0) return true;
    inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    mounts_ = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    bool ok = inotify_ >= 0 && mounts_ >= 0 && epoll_ >= 0;
    if (ok) {
      struct epoll_event changes {};
      changes.events = EPOLLIN;
      changes.data.fd = inotify_;
      struct epoll_event mounts {};
      mounts.events = EPOLLPRI | EPOLLERR;
      mounts.data.fd = mounts_;
      ok = ::epoll_ctl(epoll_, EPOLL_CTL_ADD, inotify_, &changes) == 0 &&
           ::epoll_ctl(epoll_, EPOLL_CTL_ADD, mounts_, &mounts) == 0;
    }
    if (!ok) {
      for (int* fd : {&epoll_, &inotify_, &mounts_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
      }
      broken_ = true;
    }
    return ok;
  }

  // Drops every entry when anything was reported since the last check.
  void Check() {
    struct epoll_event ready[2];
    int n = ::epoll_wait(epoll_, ready, 2, 0);
    if (n == 0) return;
    bool flush = n < 0;  // cannot tell: assume a change
    for (int i = 0; i < n; ++i) {
      if (ready[i].data.fd == mounts_) {
        // Mounts change what a path names without a report on its directory,
        // and may move a watched directory onto another file system.
        flush = true;
      } else if (Drain()) {
        flush = true;
      }
    }
    if (flush) Flush();
  }

  // Reads every queued inotify event; true unless all of them were a named
  // entry's attributes (a file touched or chmod'ed: its lookup is the same;
  // a directory's own attribute change is reported on its own watch too).
  bool Drain() {
    bool relevant = false;
    alignas(struct inotify_event) char buffer[4096];
    for (int rounds = 0; rounds < 1024; ++rounds) {
      const ssize_t n = ::read(inotify_, buffer, sizeof buffer);
      if (n < 0) {
        if (errno == EINTR) continue;
        return relevant || errno != EAGAIN;
      }
      if (n == 0) return true;
      for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
        struct inotify_event event;
        std::memcpy(&event, buffer + at, sizeof event);
        at += static_cast<ssize_t>(sizeof event + event.len);
        const std::uint32_t kind = event.mask & ~static_cast<std::uint32_t>(IN_ISDIR);
        if (event.len > 0 && kind == IN_ATTRIB) continue;
        relevant = true;
        if (event.mask & IN_IGNORED) watches_.erase(event.wd);  // the kernel dropped it (directory gone)
      }
    }
    return true;  // still more after 4 MiB of events: assume a change
  }

  // Drops every answer, and which directory each path names: a watch
  // follows its directory's inode, so after a reported change a path may
  // name another directory, which must be watched in turn (the kernel gives
  // the same watch back for a directory already watched).
  void Flush() {
    entries_.clear();
    watched_.clear();
    ++generation_;
    ++flushes_;
  }

  // Whether `dir` is watched, with every directory above it (adding the
  // watches now where they may be). Watching the whole way down is what makes
  // `dir` keep naming the directory watched now: none of them can be renamed,
  // removed or replaced without a report (and a mount shows in the mount
  // table), so an answer for dir/name stays right until a report comes.
  bool Watched(std::string_view dir) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (dir != "/" && (!MayKeep(dir) || dir == "/proc" || dir == "/sys" || dir == "/dev")) return false;
      if (auto it = watched_.find(std::string(dir)); it != watched_.end()) return it->second;
      // `dir` and the directories above it not known yet, deepest first.
      std::vector<std::string_view> chain;
      for (std::string_view d = dir;;) {
        chain.push_back(d);
        if (d == "/" || chain.size() > kMaxDepth) break;
        d = Parent(d);
        auto it = watched_.find(std::string(d));
        if (it == watched_.end()) continue;
        if (!it->second) {
          for (std::string_view c : chain) watched_.emplace(std::string(c), false);
          return false;
        }
        break;
      }
      if (chain.size() > kMaxDepth) return false;
      // Every watch pins its directory's inode in the kernel: past the bound,
      // start again with a new inotify instance (which drops them all).
      if (watches_.size() + chain.size() > kMaxWatches || watched_.size() + chain.size() > 4 * kMaxWatches) {
        if (attempt > 0 || !Restart()) return false;
        continue;  // again from the root, in the new instance
      }
      bool ok = true;
      for (auto c = chain.rbegin(); c != chain.rend(); ++c) {  // from the top down
        if (ok) ok = AddWatch(*c);
        watched_.emplace(std::string(*c), ok);
      }
      return ok;
    }
    return false;
  }

  bool AddWatch(std::string_view dir) {
    const std::string name(dir);
    struct statfs fs {};
    if (::statfs(name.c_str(), &fs) != 0 || !ReportsEveryChange(fs)) return false;
    const int wd = ::inotify_add_watch(inotify_, name.c_str(), kWatchMask);
    if (wd < 0) return false;
    watches_.insert(wd);
    return true;
  }

  // A new inotify instance in place of the old one, with no watch and no
  // entry. False (and off for good) when it cannot be had.
  bool Restart() {
    Flush();
    watches_.clear();
    // Out of the epoll set first: a forked child may still hold the old
    // descriptor, which would keep it in the set after close.
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, inotify_, nullptr);
    ::close(inotify_);
    inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    struct epoll_event changes {};
    changes.events = EPOLLIN;
    changes.data.fd = inotify_;
    if (inotify_ < 0 || ::epoll_ctl(epoll_, EPOLL_CTL_ADD, inotify_, &changes) != 0) {
      broken_ = true;
      return false;
    }
    ++restarts_;
    return true;
  }

  std::mutex mu_;
  bool broken_ = false;
  int inotify_ = -1;
  int mounts_ = -1;
  int epoll_ = -1;
  std::uint64_t generation_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::uint64_t flushes_ = 0;
  std::unordered_map<std::string, PathCache::Entry> entries_;
  std::unordered_map<std::string, bool> watched_;  // directory -> watched (false: may not be)
  std::unordered_set<int> watches_;                 // the watch descriptors in place
  std::uint64_t restarts_ = 0;
};

LinkCache& TheLinkCache() {
  static LinkCache* cache = new LinkCache();  // never destroyed: threads may outlive main
  return *cache;
}

}  // namespace

PathCache::Entry LookupThroughLinkCache(const std::string& path, bool* checked) {
  LinkCache& cache = TheLinkCache();
  if (!cache.enabled.load(std::memory_order_relaxed) || !MayKeep(path)) {
    return LookupPathNow(path);
  }
  return cache.Lookup(path, checked);
}

void SetLinkCacheEnabled(bool enabled) {
  LinkCache& cache = TheLinkCache();
  cache.enabled.store(enabled, std::memory_order_relaxed);
  if (!enabled) cache.Disable();
}

bool LinkCacheEnabled() { return TheLinkCache().enabled.load(std::memory_order_relaxed); }

LinkCacheStats GetLinkCacheStats() { return TheLinkCache().Stats(); }

}  // namespace toolgate::effects
