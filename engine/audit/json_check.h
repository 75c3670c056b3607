// A strict JSON validator (RFC 8259) for verifying millions of records: no
// allocation, no DOM. Checks UTF-8, string escapes (including surrogate
// pairs), numbers, literals and nesting (bounded depth).
#pragma once

#include <string_view>

namespace toolgate::audit {

inline constexpr int kMaxJsonDepth = 256;

bool IsValidJson(std::string_view text);

}  // namespace toolgate::audit
