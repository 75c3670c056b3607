// UTF-8 checks for untrusted text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace toolgate {

// Byte offset of the first byte that starts an invalid UTF-8 sequence (overlong
// forms, surrogates and code points past U+10FFFF are invalid), or npos.
std::size_t FindInvalidUtf8(std::string_view text);

// Copy with every invalid sequence replaced by U+FFFD, for logs and messages.
std::string SanitizeUtf8(std::string_view text);

// True when every byte is ASCII.
bool IsAscii(std::string_view text);

// Appends code point cp (at most U+10FFFF, not a surrogate: the caller checks)
// as UTF-8.
void AppendUtf8(std::uint32_t cp, std::string* out);

}  // namespace toolgate
