// Path normalization for effects: every PathEffect carries an absolute path
// with `.`, `..`, duplicate and trailing slashes removed, and (when asked)
// symlinks of the existing prefix resolved the way the kernel would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>

namespace toolgate::effects {

// What one call knows of the process-wide link cache (link_cache.h): set by
// the call's first lookup through it, which checks for reported changes.
// Owned by the call's PathCache, so a new call always checks again.
struct LinkCacheCall {
  bool checked = false;      // this call has checked for reported changes
  long long checked_at = 0;  // CLOCK_MONOTONIC_COARSE, in ns, at that check: the call's instant
};

struct NormalizedPath {
  std::string path;     // absolute and normalized; "" when it cannot be determined
  std::string problem;  // "" when fine; else an UnknownEffect `what`
                        // ("relative path with unknown working directory",
                        //  "unknown user home", "symlink loop", "process-relative path")
};

// Per-call memo of lstat/readlink results, so the prefixes one call resolves
// many times (cwd, home, /etc) cost one system call each. Owned by whatever
// spans the call (EffectsSink); one call is treated as one instant, exactly
// as a sequence of lstat calls would be. Bounded: once full, further paths
// are simply not remembered.
class PathCache {
 public:
  PathCache() = default;
  ~PathCache();
  PathCache(const PathCache&) = delete;
  PathCache& operator=(const PathCache&) = delete;

  struct Entry {
    bool exists = false;       // lstat succeeded
    bool is_link = false;      // S_ISLNK
    bool target_ok = false;    // readlink succeeded and fit in PATH_MAX
    std::string target;        // the link's contents when target_ok
    bool definite = false;     // readlink answered (not a link, missing, or the target read in full)
  };
  static constexpr std::size_t kMaxEntries = 512;

  // The entry for `path` (absolute), from the memo or from lstat (and
  // readlink for a link) now. Stays valid as long as the cache.
  const Entry& Lookup(const std::string& path);
  std::size_t size() const { return inline_count_ + entries_.size(); }
  std::size_t misses() const { return misses_; }

 private:
  // A call names a handful of prefixes (cwd, home, /etc): the first ones are
  // kept inline, found by comparing bytes, so the common call neither
  // allocates nor hashes here. The rest go to the map.
  // Entries are constructed only when used: most calls that name no path
  // never touch the memo, and should not pay for building it.
  static constexpr std::size_t kInlineEntries = 16;
  static constexpr std::size_t kInlineKeyBytes = 512;
  // Raw storage: entry i (i < inline_count_) is constructed in place.
  alignas(Entry) unsigned char inline_[kInlineEntries * sizeof(Entry)];
  std::uint16_t key_offsets_[kInlineEntries];  // of each key in keys_ (set up to inline_count_)
  std::uint16_t key_lengths_[kInlineEntries];
  std::size_t inline_count_ = 0;
  char keys_[kInlineKeyBytes];
  Entry* InlineEntry(std::size_t i) { return std::launder(reinterpret_cast<Entry*>(inline_ + i * sizeof(Entry))); }
  std::size_t key_bytes_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  Entry scratch_;  // returned when the memo is full
  LinkCacheCall link_cache_call_;
  std::size_t misses_ = 0;
};

struct NormalizeOptions {
  std::string_view cwd;       // absolute; "" when unknown
  std::string_view home;      // what ~ means
  bool expand_tilde = false;  // treat a leading ~ / ~/ as the home directory
  bool resolve_symlinks = false;
  PathCache* cache = nullptr;  // per-call memo of lstat/readlink; null = none
};

// Kernel limit on symlinks followed while resolving one path (ELOOP).
inline constexpr int kMaxSymlinks = 40;

// Joins `path` to cwd (and home for ~), then normalizes. With
// resolve_symlinks, each existing component is lstat'ed in order and links are
// followed (at most kMaxSymlinks); `..` after a link applies to the link's
// target, as the kernel does. /proc/self/root and /proc/<pid>/root mean `/`;
// other /proc/self magic links (cwd, fd, exe) are a problem: they name the
// tool's process, not ours. Never throws.
NormalizedPath NormalizePath(std::string_view path, const NormalizeOptions& options);

// Resolution of the entry `name` of directory `dir` (normalized absolute,
// e.g. a glob's directory) whose readdir d_type is `d_type`, with
// resolve_symlinks. Equal to NormalizePath(dir + "/" + name, options), but
// when `dir_plain` (see IsPlainDirectory) and the entry is not a link (d_type
// neither DT_LNK nor DT_UNKNOWN) it is built without touching the file system.
NormalizedPath NormalizeDirectoryEntry(std::string_view dir, bool dir_plain, std::string_view name,
                                       unsigned char d_type, const NormalizeOptions& options);

// Whether resolving `dir` (normalized absolute) with symlinks gives `dir`
// itself with every component existing and no link, /proc/<pid> or /dev/fd
// special case on the way: then resolving dir/<name> walks the same steps.
bool IsPlainDirectory(std::string_view dir, const NormalizeOptions& options);

// Lexical normalization of an absolute path (no file system access).
std::string LexicallyNormalize(std::string_view absolute_path);

// The directory part of a normalized absolute path ("/a/b" -> "/a", "/a" -> "/").
std::string_view ParentDirectory(std::string_view absolute_path);

// The last component ("/a/b" -> "b", "x" -> "x", "/" -> "").
std::string_view BaseName(std::string_view path);

}  // namespace toolgate::effects
