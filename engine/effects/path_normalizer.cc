#include "effects/path_normalizer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>

#include "effects/link_cache.h"
#include "util/normal_path.h"

namespace toolgate::effects {
namespace {

constexpr std::string_view kUnknownCwd = "relative path with unknown working directory";

void PopComponent(std::string& result) {
  std::size_t slash = result.rfind('/');
  result.resize(slash == std::string::npos ? 0 : slash);
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Next component of `rest` from `pos` (skipping slashes); empty at the end.
std::string_view NextComponent(const std::string& rest, std::size_t& pos) {
  while (pos < rest.size() && rest[pos] == '/') ++pos;
  std::size_t end = rest.find('/', pos);
  if (end == std::string::npos) end = rest.size();
  std::string_view comp = std::string_view(rest).substr(pos, end - pos);
  pos = end;
  return comp;
}

// What a resolution went through, for IsPlainDirectory.
struct ResolveTrace {
  int links = 0;         // symlinks followed
  bool special = false;  // a /proc/<pid> or /dev/fd rule applied
  bool exists = true;    // every component existed
};

#if defined(SYS_openat2) && defined(RESOLVE_NO_SYMLINKS)
// Cleared for good once the kernel (before 5.6) or a seccomp filter refuses
// openat2: the walk below is then the only way.
std::atomic<bool> g_openat2_usable{true};
#endif

// Where a followed link left the walk: `parent` (resolved: "" or "/a/b",
// every component existing and no link) and the text still to walk, `rest`.
// When every component of `rest` exists and none is a link, the walk would
// lstat each of them and keep them as written; one openat2 with
// RESOLVE_NO_SYMLINKS checks exactly that in one system call (it fails with
// ELOOP on any link, the last component included, ENOENT / ENOTDIR on a
// missing one). Returns true and the resolved path only then; on any failure
// the caller walks component by component as before, so the answer is the
// walk's either way. Taken only where the walk has no special case to apply:
// no `..` after a component of `rest` (leading ones pop `parent`, as in the
// walk; `.` is skipped as the walk skips it), nothing under /proc or
// /dev (the /proc/<pid> and /dev/fd rules), and at least four components:
// this costs two system calls when it works and one more when it does not,
// the walk one per component.
bool ResolveTailWithoutLinks(std::string_view parent, std::string_view rest, std::string& resolved) {
#if defined(SYS_openat2) && defined(RESOLVE_NO_SYMLINKS)
  if (!g_openat2_usable.load(std::memory_order_relaxed)) return false;
  // Fewer than four components at most (a merged-/usr link's "usr/bin"):
  // known before anything is built.
  if (std::count(rest.begin(), rest.end(), '/') < 3) return false;
  std::string candidate;
  candidate.reserve(parent.size() + 1 + rest.size());
  candidate.append(parent);
  int components = 0;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == '/') ++pos;
    if (pos == rest.size()) break;
    std::size_t end = rest.find('/', pos);
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view comp = rest.substr(pos, end - pos);
    pos = end;
    if (comp == ".") continue;  // the walk skips it wherever it is
    if (comp == "..") {
      // Before the first component the walk looks up, `..` pops the parent,
      // which is resolved already (a relative link's usual ../../x).
      if (components > 0) return false;
      PopComponent(candidate);
      continue;
    }
    candidate.append("/").append(comp);
    ++components;
  }
  if (components < 4 || candidate.size() >= PATH_MAX) return false;  // candidate is "/..." here
  const std::string_view first = std::string_view(candidate).substr(1, candidate.find('/', 1) - 1);
  if (first == "proc" || first == "dev") return false;
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;  // no O_NOFOLLOW: a link as the last component is ELOOP too
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, AT_FDCWD, candidate.c_str(), &how, sizeof how);
  if (fd < 0) {
    if (errno == ENOSYS || errno == EPERM || errno == E2BIG) g_openat2_usable.store(false, std::memory_order_relaxed);
    return false;
  }
  ::close(static_cast<int>(fd));
  resolved = std::move(candidate);
  return true;
#else
  (void)parent;
  (void)rest;
  (void)resolved;
  return false;
#endif
}

NormalizedPath Resolve(std::string joined, std::string_view cwd, PathCache* cache,
                       ResolveTrace* trace = nullptr) {
  NormalizedPath out;
  std::string result;  // "" is the root; otherwise "/a/b"
  result.reserve(joined.size());
  std::string rest = std::move(joined);
  std::size_t pos = 0;
  bool exists = true;
  int links = 0;
  PathCache::Entry uncached;
  while (true) {
    std::string_view comp = NextComponent(rest, pos);
    if (comp.empty()) break;
    if (comp == ".") continue;
    if (comp == "..") {
      PopComponent(result);
      continue;
    }
    // The special cases compare as string_views: their lengths first, where
    // std::string's operator== with a C string would scan and compare each.
    if (exists && std::string_view(result) == "/proc" &&
        (comp == "self" || comp == "thread-self" || IsDigits(comp))) {
      if (trace != nullptr) trace->special = true;
      // /proc/self names *our* process; the call runs in another one. Only
      // `root` is the same for both; `cwd` is the tool's working directory.
      std::size_t peek = pos;
      std::string_view next = NextComponent(rest, peek);
      if (next == "root") {
        result.clear();
        pos = peek;
        continue;
      }
      if (next == "cwd") {
        if (cwd.empty() || cwd.front() != '/' || ++links > kMaxSymlinks) {
          out.problem = "process-relative path";
        } else {
          rest = std::string(cwd) + "/" + rest.substr(peek);
          pos = 0;
          result.clear();
          continue;
        }
      }
      result.append("/").append(comp);
      exists = false;  // keep the rest as written: no pid of ours leaks in
      continue;
    }
    // The candidate is built in `result` itself (no string per component);
    // only a followed link takes the component back off.
    const std::size_t parent_size = result.size();
    result.append("/").append(comp);
    if (!exists) continue;
    const std::string_view candidate = result;
    if (candidate == "/dev/stdin" || candidate == "/dev/stdout" || candidate == "/dev/stderr" ||
        candidate == "/dev/fd") {
      if (trace != nullptr) trace->special = true;
      exists = false;
      continue;
    }
    const PathCache::Entry* entry;
    if (cache != nullptr) {
      entry = &cache->Lookup(result);
    } else {
      uncached = LookupPathNow(result);
      entry = &uncached;
    }
    if (!entry->exists) {
      exists = false;
      continue;
    }
    if (!entry->is_link) continue;
    if (++links > kMaxSymlinks) {
      out.problem = "symlink loop";
      exists = false;
      continue;
    }
    if (!entry->target_ok) {
      exists = false;
      continue;
    }
    // `entry` stays valid: the memo never erases, and nothing is added
    // before its target is copied into `rest`.
    std::string next;
    next.reserve(entry->target.size() + 1 + rest.size() - pos);
    next.append(entry->target).append("/").append(std::string_view(rest).substr(pos));
    result.resize(parent_size);
    if (next.front() == '/') result.clear();
    rest = std::move(next);
    pos = 0;
    if (ResolveTailWithoutLinks(result, rest, result)) break;
  }
  if (trace != nullptr) {
    trace->links = links;
    trace->exists = exists;
  }
  out.path = result.empty() ? "/" : std::move(result);
  return out;
}

}  // namespace

// What `candidate` is, always from the file system; PathCache::Lookup
// memoises it per call (and LinkCache across calls, when on). One readlink
// answers what lstat + readlink did: it returns a link's target, fails with
// EINVAL for an existing entry that is not a link and with ENOENT / ENOTDIR
// for a missing one. A system call
// costs about a microsecond, most of what a decision naming a path costs.
PathCache::Entry LookupPathNow(const std::string& candidate) {
  PathCache::Entry entry;
  std::array<char, PATH_MAX> buffer;
  const ssize_t n = ::readlink(candidate.c_str(), buffer.data(), buffer.size());
  if (n < 0) {
    if (errno == EINVAL) {
      entry.exists = true;  // not a link
      entry.definite = true;
      return entry;
    }
    if (errno == ENOENT || errno == ENOTDIR) {  // does not exist
      entry.definite = true;
      return entry;
    }
    // EACCES (a security module may refuse reading a link it lets lstat
    // see), ELOOP, ENAMETOOLONG, EIO, ENOMEM: lstat decides, as it always did.
    struct stat st {};
    if (::lstat(candidate.c_str(), &st) != 0) return entry;
    entry.exists = true;
    entry.is_link = S_ISLNK(st.st_mode);
    return entry;  // a link whose target could not be read: target_ok stays false
  }
  entry.exists = true;
  entry.is_link = true;
  if (n == 0 || static_cast<std::size_t>(n) >= buffer.size()) return entry;
  entry.target_ok = true;
  entry.definite = true;
  entry.target.assign(buffer.data(), static_cast<std::size_t>(n));
  return entry;
}

std::string LexicallyNormalize(std::string_view absolute_path) {
  // Already normal (the usual cwd): the answer is the text itself.
  if (IsNormalizedAbsolutePath(absolute_path)) return std::string(absolute_path);
  std::string result;
  result.reserve(absolute_path.size());
  std::size_t pos = 0;
  while (pos < absolute_path.size()) {
    while (pos < absolute_path.size() && absolute_path[pos] == '/') ++pos;
    std::size_t end = absolute_path.find('/', pos);
    if (end == std::string_view::npos) end = absolute_path.size();
    std::string_view comp = absolute_path.substr(pos, end - pos);
    pos = end;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      PopComponent(result);
      continue;
    }
    result += '/';
    result.append(comp);
  }
  return result.empty() ? "/" : result;
}

NormalizedPath NormalizePath(std::string_view path, const NormalizeOptions& options) {
  NormalizedPath out;
  if (path.empty()) {
    out.problem = "empty path";
    return out;
  }
  std::string joined;
  if (options.expand_tilde && path.front() == '~') {
    if (path.size() == 1 || path[1] == '/') {
      if (options.home.empty() || options.home.front() != '/') {
        out.problem = "unknown user home";
        return out;
      }
      joined.append(options.home).append(path.substr(1));
    } else {
      out.problem = "unknown user home";
      return out;
    }
  } else if (path.front() == '/') {
    joined.assign(path);
  } else {
    if (options.cwd.empty() || options.cwd.front() != '/') {
      out.problem = std::string(kUnknownCwd);
      return out;
    }
    joined.reserve(options.cwd.size() + 1 + path.size());
    joined.append(options.cwd).append("/").append(path);
  }
  if (!options.resolve_symlinks) {
    out.path = LexicallyNormalize(joined);
    return out;
  }
  return Resolve(std::move(joined), options.cwd, options.cache);
}

PathCache::~PathCache() {
  for (std::size_t i = 0; i < inline_count_; ++i) InlineEntry(i)->~Entry();
}

const PathCache::Entry& PathCache::Lookup(const std::string& path) {
  for (std::size_t i = 0; i < inline_count_; ++i) {
    if (key_lengths_[i] == path.size() && std::memcmp(keys_ + key_offsets_[i], path.data(), path.size()) == 0) {
      return *InlineEntry(i);
    }
  }
  if (!entries_.empty()) {
    auto it = entries_.find(path);
    if (it != entries_.end()) return it->second;
  }
  ++misses_;
  if (inline_count_ < kInlineEntries && path.size() <= kInlineKeyBytes - key_bytes_) {
    const std::size_t i = inline_count_;
    Entry* entry = new (inline_ + i * sizeof(Entry)) Entry(LookupThroughLinkCache(path, &link_cache_call_));
    ++inline_count_;  // only once constructed: the destructor destroys [0, inline_count_)
    key_offsets_[i] = static_cast<std::uint16_t>(key_bytes_);
    key_lengths_[i] = static_cast<std::uint16_t>(path.size());
    std::memcpy(keys_ + key_bytes_, path.data(), path.size());
    key_bytes_ += path.size();
    return *entry;
  }
  if (size() >= kMaxEntries) {
    scratch_ = LookupThroughLinkCache(path, &link_cache_call_);
    return scratch_;
  }
  return entries_.emplace(path, LookupThroughLinkCache(path, &link_cache_call_)).first->second;
}

bool IsPlainDirectory(std::string_view dir, const NormalizeOptions& options) {
  if (!options.resolve_symlinks || dir.empty() || dir.front() != '/') return false;
  ResolveTrace trace;
  NormalizedPath resolved = Resolve(std::string(dir), options.cwd, options.cache, &trace);
  return resolved.problem.empty() && resolved.path == dir && trace.links == 0 && !trace.special &&
         trace.exists;
}

NormalizedPath NormalizeDirectoryEntry(std::string_view dir, bool dir_plain, std::string_view name,
                                       unsigned char d_type, const NormalizeOptions& options) {
  bool fast = dir_plain && options.resolve_symlinks && d_type != DT_LNK && d_type != DT_UNKNOWN &&
              !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
              dir != "/proc" && dir != "/dev";
  std::string joined;
  joined.reserve(dir.size() + 1 + name.size());
  if (dir != "/") joined.append(dir);
  joined.append("/").append(name);
  if (!fast) return NormalizePath(joined, options);
  // Resolving dir/name: dir's components resolve to themselves (plain), then
  // name is lstat'ed: not a link, so it is kept whether or not it still exists.
  NormalizedPath out;
  out.path = std::move(joined);
  return out;
}

std::string_view ParentDirectory(std::string_view absolute_path) {
  std::size_t slash = absolute_path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return absolute_path.substr(0, slash);
}

std::string_view BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/") return "";
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace toolgate::effects
