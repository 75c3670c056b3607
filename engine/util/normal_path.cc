#include "util/normal_path.h"

#include <cstddef>

namespace toolgate {

bool IsNormalizedAbsolutePath(std::string_view p) {
  const std::size_t n = p.size();
  if (n == 0 || p[0] != '/') return false;
  if (n == 1) return true;
  if (p[n - 1] == '/') return false;
  // Only a '/' needs a look at what follows, which is never the end (the
  // last byte is not '/'), and must be a segment that is neither empty, "."
  // nor "..".
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != '/') continue;
    const char next = p[i + 1];
    if (next == '/') return false;
    if (next != '.') continue;
    if (i + 2 == n || p[i + 2] == '/') return false;                        // "."
    if (p[i + 2] == '.' && (i + 3 == n || p[i + 3] == '/')) return false;  // ".."
  }
  return true;
}

}  // namespace toolgate
