// Process-wide memo of path lookups (what one readlink says of an absolute
// path: missing, there and not a link, or a link to what), kept from one
// decision to the next and dropped as soon as the kernel reports a change
// that could make any of it wrong.
//
// Resolving a call's paths costs one system call per component (about
// 0.6-0.9 µs each on a virtual machine), the largest part of a decision that
// names a path. The kernel reports every change that can alter a lookup of
// D/name: creating, removing or renaming name in D (inotify IN_CREATE,
// IN_DELETE, IN_MOVED_*), the directory itself changing (IN_ATTRIB,
// IN_DELETE_SELF, IN_MOVE_SELF) and the mount table changing
// (/proc/self/mountinfo polls as changed). So:
//   - an entry for D/name is kept only while D and every directory above it
//     are watched by inotify, each on a local file system that reports every
//     change (ext2/3/4, xfs, btrfs, tmpfs, as the kernel's mount table names
//     them: statfs's type is the server's word on 9p) and not encrypted
//     (unlocking an fscrypt directory changes its names without a report);
//     never under /proc, /sys or /dev.
//     Then no directory on the way can be renamed, removed or replaced
//     without a report, so D keeps naming the directory watched;
//   - after a report, which directory each path names is found again (a
//     watch follows its inode, not its path);
//   - the watch on D is in place before the lookup is made, so any change
//     after the lookup is reported;
//   - each call checks for reports once, with one epoll_wait (about 0.15 µs),
//     before it uses an entry; any report but a file's attributes drops
//     every entry (the watches stay), as does a change of the mount table or
//     an event queue overflow;
//   - an entry looked up while a report was being handled is not kept.
// What a call sees is what lookups at that check would have seen: one call
// is one instant, as for the per-call memo. A change made while a call is
// being judged is seen by the next call, as before.
//
// Changes that bypass the kernel's VFS (a mounted image's backing file or a
// block device written directly, a security policy reloaded) are not
// reported: an entry is never used by a call whose check came more than 10 s
// after its lookup (the clock is read once per call, at its check: the call
// is one instant). A child
// made by fork() shares the inotify queue, so it never uses the cache. The
// system calls that may wait on a file system (statx of a new directory, the
// lookups) run outside the cache's lock.
//
// Off by default; long-lived processes that judge many calls (the daemon,
// the bench) turn it on. Bounded: 8,192 entries, 1,024 watched directories;
// past that, lookups go to the kernel as before. When inotify or epoll cannot
// be set up (no instance left, a seccomp filter), it stays off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "effects/path_normalizer.h"

namespace toolgate::effects {

// What the kernel says of `path` now: one readlink (lstat when readlink
// cannot tell). No memo.
PathCache::Entry LookupPathNow(const std::string& path);

// The entry for `path`, from the process-wide memo when it holds it, else
// from the kernel (kept when it may be). `call` is the calling call's state:
// its first lookup checks for reported changes and notes when.
PathCache::Entry LookupThroughLinkCache(const std::string& path, LinkCacheCall* call);

void SetLinkCacheEnabled(bool enabled);

// Tests only: called with each new directory right after its facts are read
// (to change the file system at that moment).
void SetLinkCacheDescribeHookForTesting(void (*hook)(const std::string& dir));
// Tests only: moves the cache's clock forward by `ns` (to age its entries).
void AdvanceLinkCacheClockForTesting(long long ns);
bool LinkCacheEnabled();

struct LinkCacheStats {
  bool active = false;         // enabled and set up
  std::uint64_t hits = 0;      // lookups answered from the memo
  std::uint64_t misses = 0;    // lookups that went to the kernel
  std::uint64_t flushes = 0;   // times every entry was dropped
  std::size_t entries = 0;
  std::size_t watches = 0;     // directories watched
  std::uint64_t restarts = 0;  // times the watch bound was reached and every watch dropped
};
LinkCacheStats GetLinkCacheStats();

}  // namespace toolgate::effects
