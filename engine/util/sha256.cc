#include "util/sha256.h"

// The one-shot SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour
// of EVP, but they are the same block function without the provider layer:
// the first EVP_MD_fetch in a process loads the default provider and reads
// openssl.cnf, some 5 million instructions, more than the rest of a
// `toolgate run` start takes to load the policy whose digest it wants.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <array>
#include <stdexcept>

namespace toolgate {

std::string Sha256Hex(std::string_view bytes) {
  std::string out(64, '0');
  Sha256HexTo(bytes, out.data());
  return out;
}

void Sha256HexTo(std::string_view bytes, char* hex) {
  SHA256_CTX ctx;
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, bytes.data(), bytes.size()) != 1 ||
      SHA256_Final(md.data(), &ctx) != 1) {
    throw std::runtime_error("sha256 failed in libcrypto");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < md.size(); ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 0xf];
  }
}

}  // namespace toolgate
