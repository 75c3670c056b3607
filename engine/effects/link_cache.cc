#include "effects/link_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "util/normal_path.h"

namespace toolgate::effects {
namespace {

constexpr std::size_t kMaxEntries = 8192;
constexpr std::size_t kMaxWatches = 1024;
constexpr std::size_t kMaxDepth = 128;  // directories from the root; deeper ones are not kept
// Changes the kernel does not report (a mounted image's backing file or a
// block device written directly, a security policy reloaded) are outside
// what the watches can see; an answer is never older than this.
constexpr long long kMaxAgeNs = 10'000'000'000LL;
constexpr std::size_t kMaxMountTableBytes = std::size_t{16} << 20;
// Every change that can alter a lookup of D/name, or D itself.
constexpr std::uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                                     IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR | IN_DONT_FOLLOW;

// Local file systems whose every change goes through this kernel's VFS, so
// inotify reports it; named as the kernel names them in the mount table
// (statfs's type is no proof: on 9p it is whatever the server says). Network
// and user-space file systems (NFS, CIFS, 9p, FUSE) change without a report;
// overlayfs when its layers are changed directly.
bool ReportsEveryChange(std::string_view fstype) {
  return fstype == "ext4" || fstype == "ext3" || fstype == "ext2" || fstype == "xfs" || fstype == "btrfs" ||
         fstype == "tmpfs";
}

std::atomic<long long> g_clock_offset{0};  // tests only: AdvanceLinkCacheClockForTesting

long long CoarseNow() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec +
         g_clock_offset.load(std::memory_order_relaxed);
}

bool Under(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

// /proc, /sys and /dev change without reports (and /proc/<pid> means
// another process to every caller). Only normalized absolute paths below
// the root are kept (what the resolver asks about), so a path's parent is
// its text up to the last slash.
bool MayKeep(std::string_view path) {
  if (path.size() < 2 || path.size() >= 4096 || path.find('\0') != std::string_view::npos) return false;
  if (!IsNormalizedAbsolutePath(path)) return false;
  return !(Under(path, "/proc") || Under(path, "/sys") || Under(path, "/dev"));
}

bool MayWatch(std::string_view dir) {
  return dir == "/" || (MayKeep(dir) && dir != "/proc" && dir != "/sys" && dir != "/dev");
}

// What a directory is, asked outside the lock (a path on a file system
// that never answers blocks only its caller). `fd` (O_PATH) pins the very
// directory the facts describe: its watch is added through /proc/self/fd,
// so the watch and the facts are about one inode.
struct DirFacts {
  int fd = -1;
  bool ok = false;  // a directory, and its mount id known
  std::uint64_t mount_id = 0;
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  bool encrypted = false;  // fscrypt: unlocking changes its names without a report
  bool encryption_known = false;
};

std::uint64_t DeviceOf(const struct statx& stx) {
  return (static_cast<std::uint64_t>(stx.stx_dev_major) << 32) | stx.stx_dev_minor;
}

// Identity of what `dir` names now (by path, not following a last link).
bool Identity(const std::string& dir, std::uint64_t* dev, std::uint64_t* ino) {
  struct statx stx {};
  if (::statx(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, STATX_INO, &stx) != 0 ||
      (stx.stx_mask & STATX_INO) == 0) {
    return false;
  }
  *dev = DeviceOf(stx);
  *ino = stx.stx_ino;
  return true;
}

DirFacts Describe(const std::string& dir) {
  DirFacts facts;
  facts.fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (facts.fd < 0) return facts;
  struct statx stx {};
  if (::statx(facts.fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx) != 0) {
    return facts;
  }
  const unsigned want = STATX_TYPE | STATX_INO | STATX_MNT_ID;
  if ((stx.stx_mask & want) != want || !S_ISDIR(stx.stx_mode)) return facts;
  facts.ok = true;
  facts.mount_id = stx.stx_mnt_id;
  facts.dev = DeviceOf(stx);
  facts.ino = stx.stx_ino;
  facts.encryption_known = (stx.stx_attributes_mask & STATX_ATTR_ENCRYPTED) != 0;
  facts.encrypted = (stx.stx_attributes & STATX_ATTR_ENCRYPTED) != 0;
  return facts;
}

void CloseAll(std::vector<DirFacts>& facts) {
  for (DirFacts& f : facts) {
    if (f.fd >= 0) ::close(f.fd);
    f.fd = -1;
  }
}

std::atomic<void (*)(const std::string&)> g_describe_hook{nullptr};

// Set in a child made by fork(): it shares the parent's inotify queue and
// mount-table descriptor (and maybe a held lock), so it never uses them.
std::atomic<bool> g_forked{false};

class LinkCache {
 public:
  LinkCache() { ::pthread_atfork(nullptr, nullptr, [] { g_forked.store(true, std::memory_order_relaxed); }); }
  ~LinkCache() {
    if (epoll_ >= 0) ::close(epoll_);
    if (inotify_ >= 0) ::close(inotify_);
    if (mounts_ >= 0) ::close(mounts_);
  }

  std::atomic<bool> enabled{false};

  PathCache::Entry Lookup(const std::string& path, LinkCacheCall* call) {
    std::uint64_t generation = 0;
    bool keep = false;
    bool through_cache = false;  // set up, and `path` may be kept
    std::vector<std::string> chain;  // directories to decide, deepest first
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Ready()) {
        if (!call->checked) {
          Check();
          call->checked = true;
          // The call's instant: every entry it uses from here on is one no
          // report has touched since this check, so it answers as a lookup
          // at this check would have. The age bound is measured to this
          // instant too, like everything else the call sees (its per-call
          // memo keeps an answer for the rest of the call the same way):
          // one clock read per call, not one per lookup.
          call->checked_at = CoarseNow();
        }
        // Looked up before MayKeep: only paths MayKeep accepted are ever
        // kept (the one insertion below is behind it), and it is a function
        // of the text alone, so a path found here passed it already. A path
        // it refuses is never found and goes on to the check below.
        auto it = entries_.find(path);
        if (it != entries_.end()) {
          // An entry kept after the call's check is younger than the call.
          if (call->checked_at - it->second.at <= kMaxAgeNs) {
            ++hits_;
            return it->second.entry;
          }
          entries_.erase(it);
        }
        if (MayKeep(path)) {
          through_cache = true;
          ++misses_;
          keep = Pending(ParentDirectory(path), &chain);
          generation = generation_;
        }
      }
    }
    if (!through_cache) return LookupPathNow(path);  // never a system call under the lock
    if (keep && !chain.empty()) keep = WatchNewChain(chain, &generation);
    // When kept, the parent and every directory above it are watched
    // already: a change after this lookup will be reported.
    PathCache::Entry entry = LookupPathNow(path);
    if (keep && entry.definite) {
      std::lock_guard<std::mutex> lock(mu_);
      Check();
      // A report handled since may be of a change after the lookup.
      if (generation == generation_) {
        if (entries_.size() >= kMaxEntries) Flush();
        else entries_.insert_or_assign(path, Kept{entry, CoarseNow()});
      }
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
  struct Kept {
    PathCache::Entry entry;
    long long at;  // CoarseNow() when looked up
  };

  // Sets up inotify, the mount table and epoll once; false for good when
  // any of them cannot be had.
  bool Ready() {
    if (broken_) return false;
    if (epoll_ >= 0) return true;
    inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    mounts_ = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    const bool ok = inotify_ >= 0 && mounts_ >= 0 && epoll_ >= 0 && Poll(inotify_, EPOLLIN) &&
                    Poll(mounts_, EPOLLPRI | EPOLLERR) && ReadMountTable();
    if (!ok) {
      for (int* fd : {&epoll_, &inotify_, &mounts_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
      }
      broken_ = true;
    }
    return ok;
  }

  // Adds `fd` to the epoll set Check waits on.
  bool Poll(int fd, std::uint32_t events) {
    struct epoll_event ev {};
    ev.events = events;
    ev.data.fd = fd;
    return ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) == 0;
  }

  // Each mount's file system type, from the kernel's mount table. Read after
  // the descriptor is polled, so a change after the read is reported.
  bool ReadMountTable() {
    fs_types_.clear();
    std::string text;
    char buffer[16384];
    if (::lseek(mounts_, 0, SEEK_SET) != 0) return false;
    while (text.size() < kMaxMountTableBytes) {
      const ssize_t n = ::read(mounts_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
    }
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string_view line = std::string_view(text).substr(pos, end - pos);
      pos = end + 1;
      std::uint64_t id = 0;
      const auto [after, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
      const std::size_t dash = line.find(" - ");
      if (ec != std::errc() || after == line.data() || dash == std::string_view::npos) continue;
      std::string_view type = line.substr(dash + 3);
      type = type.substr(0, type.find(' '));
      fs_types_.insert_or_assign(id, std::string(type));
    }
    return !fs_types_.empty();
  }

  // Drops every entry when anything was reported since the last check.
  void Check() {
    struct epoll_event ready[2];
    const int n = ::epoll_wait(epoll_, ready, 2, 0);
    if (n == 0) return;
    bool flush = n < 0;  // cannot tell: assume a change
    bool mounts_changed = false;
    for (int i = 0; i < n; ++i) {
      if (ready[i].data.fd == mounts_) {
        // Mounts change what a path names without a report on its directory,
        // and may put another file system under a watched path.
        flush = true;
        mounts_changed = true;
      } else if (Drain()) {
        flush = true;
      }
    }
    if (flush) Flush();
    if (mounts_changed && !ReadMountTable()) fs_types_.clear();  // nothing is watched until it reads again
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

  // Whether answers for entries of `dir` may be kept. Watching `dir` and
  // every directory above it is what makes `dir` keep naming the directory
  // watched now: none of them can be renamed, removed or replaced without a
  // report (and a mount shows in the mount table). Known answers come from
  // watched_; `chain` gets the directories still to decide, deepest first
  // (empty when `dir` is known).
  bool Pending(std::string_view dir, std::vector<std::string>* chain) {
    for (std::string_view d = dir;;) {
      if (!MayWatch(d)) return false;
      if (auto it = watched_.find(std::string(d)); it != watched_.end()) return it->second;
      chain->emplace_back(d);
      if (d == "/") return true;
      if (chain->size() > kMaxDepth) return false;
      d = ParentDirectory(d);
    }
  }

  // Decides `chain` (deepest first, none known yet) and watches it; true
  // when every directory in it is watched and still the one described.
  //  1. outside the lock: open each directory (O_PATH) and read its facts
  //     from the descriptor;
  //  2. under the lock: watch each eligible one, from the top down, through
  //     /proc/self/fd (the inode described, and a walk that cannot wait on
  //     another file system);
  //  3. outside the lock: each path must still name the inode watched.
  //     Until a directory's parent is watched, it could have been exchanged
  //     for another without a report; once the watches are in place, any
  //     later exchange is reported;
  //  4. under the lock: no report since, then the chain is recorded.
  bool WatchNewChain(const std::vector<std::string>& chain, std::uint64_t* generation) {
    std::vector<DirFacts> facts;
    facts.reserve(chain.size());
    for (const std::string& dir : chain) {
      facts.push_back(Describe(dir));
      if (auto hook = g_describe_hook.load(std::memory_order_relaxed)) hook(dir);
    }
    std::size_t eligible = 0;  // from the top: chain[size-1] down to chain[size-eligible]
    {
      std::lock_guard<std::mutex> lock(mu_);
      Check();
      if (*generation != generation_) {
        CloseAll(facts);
        return false;
      }
      if (watches_.size() + chain.size() > kMaxWatches || watched_.size() + chain.size() > 4 * kMaxWatches) {
        // Every watch pins its directory's inode in the kernel: past the
        // bound, start again with a new inotify instance (which drops them).
        Restart();
        CloseAll(facts);
        return false;
      }
      for (std::size_t i = chain.size(); i-- > 0;) {
        if (!Eligible(facts[i])) break;
        const std::string via = "/proc/self/fd/" + std::to_string(facts[i].fd);
        const int wd = ::inotify_add_watch(inotify_, via.c_str(), kWatchMask & ~static_cast<std::uint32_t>(IN_DONT_FOLLOW));
        if (wd < 0) break;
        watches_.insert(wd);
        ++eligible;
      }
    }
    bool same = true;
    for (std::size_t k = 0; k < eligible && same; ++k) {
      const std::size_t i = chain.size() - 1 - k;
      std::uint64_t dev = 0, ino = 0;
      same = Identity(chain[i], &dev, &ino) && dev == facts[i].dev && ino == facts[i].ino;
    }
    CloseAll(facts);
    std::lock_guard<std::mutex> lock(mu_);
    Check();
    if (!same || *generation != generation_) return false;
    for (std::size_t k = 0; k < chain.size(); ++k) {
      const std::size_t i = chain.size() - 1 - k;
      watched_.insert_or_assign(chain[i], k < eligible);
    }
    return eligible == chain.size();
  }

  // A file system that reports every change, by the mount table's name, and
  // not an encrypted directory.
  bool Eligible(const DirFacts& facts) const {
    if (!facts.ok || facts.encrypted) return false;
    const auto type = fs_types_.find(facts.mount_id);
    if (type == fs_types_.end() || !ReportsEveryChange(type->second)) return false;
    // ext4 is the one of them with encrypted directories: it must say.
    return type->second.compare(0, 3, "ext") != 0 || facts.encryption_known;
  }

  // A new inotify instance in place of the old one, with no watch and no
  // entry. Off for good when it cannot be had.
  void Restart() {
    Flush();
    watches_.clear();
    // Out of the epoll set first: a forked child may still hold the old
    // descriptor, which would keep it in the set after close.
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, inotify_, nullptr);
    ::close(inotify_);
    inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_ < 0 || !Poll(inotify_, EPOLLIN)) {
      broken_ = true;
      return;
    }
    ++restarts_;
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
  std::uint64_t restarts_ = 0;
  std::unordered_map<std::string, Kept> entries_;
  std::unordered_map<std::string, bool> watched_;  // directory -> watched (false: may not be)
  std::unordered_set<int> watches_;                 // the watch descriptors in place
  std::unordered_map<std::uint64_t, std::string> fs_types_;  // mount id -> file system type
};

LinkCache& TheLinkCache() {
  static LinkCache* cache = new LinkCache();  // never destroyed: threads may outlive main
  return *cache;
}

}  // namespace

PathCache::Entry LookupThroughLinkCache(const std::string& path, LinkCacheCall* call) {
  LinkCache& cache = TheLinkCache();
  if (!cache.enabled.load(std::memory_order_relaxed) || g_forked.load(std::memory_order_relaxed)) {
    return LookupPathNow(path);
  }
  return cache.Lookup(path, call);
}

void SetLinkCacheEnabled(bool enabled) {
  LinkCache& cache = TheLinkCache();
  cache.enabled.store(enabled, std::memory_order_relaxed);
  if (!enabled && !g_forked.load(std::memory_order_relaxed)) cache.Disable();
}

void SetLinkCacheDescribeHookForTesting(void (*hook)(const std::string& dir)) {
  g_describe_hook.store(hook, std::memory_order_relaxed);
}

void AdvanceLinkCacheClockForTesting(long long ns) { g_clock_offset.fetch_add(ns, std::memory_order_relaxed); }

bool LinkCacheEnabled() { return TheLinkCache().enabled.load(std::memory_order_relaxed); }

LinkCacheStats GetLinkCacheStats() {
  if (g_forked.load(std::memory_order_relaxed)) return {};
  return TheLinkCache().Stats();
}

}  // namespace toolgate::effects
