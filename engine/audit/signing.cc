#include "audit/signing.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "audit/record.h"
#include "toolgate/audit.h"
#include "util/sha256.h"

namespace toolgate::audit {
namespace {

namespace fs = std::filesystem;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Error KeyError(const std::string& path, const std::string& what) {
  return Error{ErrorCode::kInternal, what, path};
}

// First 16 hex digits of sha256(raw 32-byte public key).
std::string KeyIdOf(EVP_PKEY* key) {
  unsigned char raw[64];
  std::size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) return "";
  return Sha256Hex(std::string_view(reinterpret_cast<const char*>(raw), len)).substr(0, 16);
}

std::string Base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

bool Unbase64(std::string_view text, std::vector<unsigned char>* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  out->assign(text.size() / 4 * 3 + 1, 0);
  const int len = EVP_DecodeBlock(out->data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
  if (len < 0) return false;
  std::size_t n = static_cast<std::size_t>(len);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (text.back() == '=') --n;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --n;
  out->resize(n);
  return true;
}

fs::path Resolve(const std::string& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) return fs::path(p);
  // weakly_canonical resolves the existing prefix and normalizes the rest.
  fs::path canon = fs::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : canon;
}

}  // namespace

struct SigningKey::Impl {
  Pkey key;
};
struct VerifyKey::Impl {
  Pkey key;
};

SigningKey::SigningKey() = default;
SigningKey::~SigningKey() = default;
VerifyKey::VerifyKey() = default;
VerifyKey::~VerifyKey() = default;

bool PathIsInside(const std::string& path, const std::string& dir) {
  const fs::path p = Resolve(path);
  const fs::path d = Resolve(dir);
  auto pi = p.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++pi) {
    if (di->empty()) continue;  // trailing separator
    if (pi == p.end() || *pi != *di) return false;
  }
  return true;
}

std::string CheckpointMessage(const nlohmann::json& payload) {
  return std::string(kCheckpointDomain) + CanonicalJson(payload);
}

Result<std::shared_ptr<const SigningKey>> SigningKey::LoadPrivate(const std::string& path,
                                                                   const std::string& forbidden_dir) {
  if (!forbidden_dir.empty() && PathIsInside(path, forbidden_dir)) {
    return KeyError(path, "the signing key must live outside the log directory " + forbidden_dir +
                              " (whoever can rewrite the log must not be able to re-sign it)");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return KeyError(path, std::string("cannot open signing key: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return KeyError(path, "signing key is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return KeyError(path, "signing key is readable or writable by group or others; chmod 600 it");
  }
  std::unique_ptr<FILE, FileClose> f(::fdopen(fd, "r"));
  if (!f) {
    ::close(fd);
    return KeyError(path, "cannot read signing key");
  }
  Pkey key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  if (!key) return KeyError(path, "signing key is not a PEM private key");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) return KeyError(path, "signing key is not Ed25519");
  std::shared_ptr<SigningKey> out(new SigningKey());
  out->key_id_ = KeyIdOf(key.get());
  out->impl_ = std::make_unique<Impl>();
  out->impl_->key = std::move(key);
  return std::shared_ptr<const SigningKey>(std::move(out));
}

std::string SigningKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  std::size_t sig_len = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return "";
  }
  return Base64(sig, sig_len);
}

Result<std::shared_ptr<const VerifyKey>> VerifyKey::LoadPublic(const std::string& path) {
  std::unique_ptr<FILE, FileClose> f(std::fopen(path.c_str(), "re"));
  if (!f) return KeyError(path, std::string("cannot open public key: ") + std::strerror(errno));
  Pkey key(PEM_read_PUBKEY(f.get(), nullptr, nullptr, nullptr));
  if (!key) return KeyError(path, "public key is not a PEM SubjectPublicKeyInfo");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) return KeyError(path, "public key is not Ed25519");
  std::shared_ptr<VerifyKey> out(new VerifyKey());
  out->key_id_ = KeyIdOf(key.get());
  out->impl_ = std::make_unique<Impl>();
  out->impl_->key = std::move(key);
  return std::shared_ptr<const VerifyKey>(std::move(out));
}

bool VerifyKey::Verify(std::string_view message, std::string_view signature_base64) const {
  std::vector<unsigned char> sig;
  if (!Unbase64(signature_base64, &sig) || sig.size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace toolgate::audit

namespace toolgate {

std::optional<Error> GenerateSigningKeyPair(const std::string& private_key_path, const std::string& public_key_path,
                                            const std::string& forbidden_dir) {
  using audit::KeyError;
  if (!forbidden_dir.empty() && audit::PathIsInside(private_key_path, forbidden_dir)) {
    return KeyError(private_key_path, "the private key must live outside the log directory " + forbidden_dir);
  }
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                  &EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return KeyError(private_key_path, "Ed25519 key generation failed");
  }
  audit::Pkey key(raw);
  // O_EXCL: never overwrite a key that may already sign a log.
  const int fd = ::open(private_key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return KeyError(private_key_path, std::string("cannot create private key file: ") + std::strerror(errno));
  }
  std::unique_ptr<FILE, audit::FileClose> f(::fdopen(fd, "w"));
  if (!f || PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      std::fflush(f.get()) != 0 || ::fsync(fd) != 0) {
    ::unlink(private_key_path.c_str());
    return KeyError(private_key_path, "cannot write private key");
  }
  f.reset();
  const int pfd = ::open(public_key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (pfd < 0) {
    return KeyError(public_key_path, std::string("cannot create public key file: ") + std::strerror(errno));
  }
  std::unique_ptr<FILE, audit::FileClose> pf(::fdopen(pfd, "w"));
  if (!pf || PEM_write_PUBKEY(pf.get(), key.get()) != 1 || std::fflush(pf.get()) != 0) {
    return KeyError(public_key_path, "cannot write public key");
  }
  return std::nullopt;
}

}  // namespace toolgate
