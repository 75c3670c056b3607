// SHA-256 through OpenSSL's libcrypto: policy digests and input hashes.
#pragma once

#include <string>
#include <string_view>

namespace toolgate {

// Lower-case hex digest of the bytes.
std::string Sha256Hex(std::string_view bytes);
// The same 64 digits into hex, without allocating.
void Sha256HexTo(std::string_view bytes, char* hex);

}  // namespace toolgate
