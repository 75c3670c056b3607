// Whether a path's text is already absolute and lexically normal. Shared by
// the effects resolver and link cache (which keep and look up such paths)
// and the grants (which match only such paths and refuse anything else).
#pragma once

#include <string_view>

namespace toolgate {

// True when `path` is "/" or "/c1/c2/..." with every component non-empty and
// neither "." nor "..": lexical normalization would give it back unchanged.
// One pass over the bytes: it runs for every path of every call.
bool IsNormalizedAbsolutePath(std::string_view path);

}  // namespace toolgate
