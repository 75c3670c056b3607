// Path normalization for effects: every PathEffect carries an absolute path
// with `.`, `..`, duplicate and trailing slashes removed, and (when asked)
// symlinks of the existing prefix resolved the way the kernel would.
#pragma once

#include <string>
#include <string_view>

namespace toolgate::effects {

struct NormalizedPath {
  std::string path;     // absolute and normalized; "" when it cannot be determined
  std::string problem;  // "" when fine; else an UnknownEffect `what`
                        // ("relative path with unknown working directory",
                        //  "unknown user home", "symlink loop", "process-relative path")
};

struct NormalizeOptions {
  std::string_view cwd;       // absolute; "" when unknown
  std::string_view home;      // what ~ means
  bool expand_tilde = false;  // treat a leading ~ / ~/ as the home directory
  bool resolve_symlinks = false;
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

// Lexical normalization of an absolute path (no file system access).
std::string LexicallyNormalize(std::string_view absolute_path);

// The directory part of a normalized absolute path ("/a/b" -> "/a", "/a" -> "/").
std::string_view ParentDirectory(std::string_view absolute_path);

// The last component ("/a/b" -> "b", "x" -> "x", "/" -> "").
std::string_view BaseName(std::string_view path);

}  // namespace toolgate::effects
