// Ed25519 checkpoint signatures through OpenSSL's EVP interface. Keys are PEM
// files (PKCS#8 private, SubjectPublicKeyInfo public) so `openssl pkey` can
// inspect them and other tools can verify checkpoints.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "toolgate/result.h"

namespace toolgate::audit {

// Signatures cover this prefix plus the canonical JSON of the payload, so a
// checkpoint signature can never be mistaken for a signature over anything else.
inline constexpr std::string_view kCheckpointDomain = "toolgate-checkpoint-v1\n";

class SigningKey {
 public:
  // Refuses a key readable by group or others, or one inside forbidden_dir.
  static Result<std::shared_ptr<const SigningKey>> LoadPrivate(const std::string& path,
                                                               const std::string& forbidden_dir);
  ~SigningKey();
  std::string Sign(std::string_view message) const;  // base64 signature
  const std::string& key_id() const { return key_id_; }

  struct Impl;

 private:
  SigningKey();
  std::unique_ptr<Impl> impl_;
  std::string key_id_;
};

class VerifyKey {
 public:
  static Result<std::shared_ptr<const VerifyKey>> LoadPublic(const std::string& path);
  ~VerifyKey();
  bool Verify(std::string_view message, std::string_view signature_base64) const;
  const std::string& key_id() const { return key_id_; }

  struct Impl;

 private:
  VerifyKey();
  std::unique_ptr<Impl> impl_;
  std::string key_id_;
};

// The bytes a checkpoint signature covers.
std::string CheckpointMessage(const nlohmann::json& payload);

// True when path (after resolving symlinks of its existing parts) is dir or inside it.
bool PathIsInside(const std::string& path, const std::string& dir);

}  // namespace toolgate::audit
