// Secrets out of the decision log: tool input is attacker- and user-supplied
// text that routinely carries credentials (an `export AWS_SECRET_ACCESS_KEY=…`,
// a token pasted into a curl header). The log keeps the shape of the call and
// replaces each secret with [REDACTED:kind].
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/audit.h"
#include "toolgate/result.h"

namespace toolgate::audit {

// Where one secret was found: a JSON pointer into the record and the detector.
struct Redaction {
  std::string kind;
  std::string pointer;
};

// The text RedactJson's prefilter looks at, built from the strings and keys of a
// JSON value in its (sorted) iteration order. A writer that serializes a value
// without building it as nlohmann::json feeds the same strings in the same
// order, so SecretRedactor::ScanIsClean gives the answer RedactJson would.
struct RedactionScan {
  std::string text;         // every string value, each followed by '\n'
  bool suspicious = false;  // a key or an argv-like flag needs the detailed walk
  void Key(std::string_view key);
  void String(std::string_view value);
  void Clear() {
    text.clear();
    suspicious = false;
  }
};

class SecretRedactor {
 public:
  // Compiles every detector once; an extra pattern that does not compile is an error.
  static Result<std::shared_ptr<const SecretRedactor>> Create(const RedactionOptions& options);

  // Replaces secrets in text. Returns true when anything was replaced and
  // appends the kinds found (once each) to kinds.
  bool RedactText(std::string* text, std::vector<std::string>* kinds) const;

  // Redacts every string in value (and the whole value of a key that names a
  // secret, like "password" or "api_key"), recording JSON pointers under base.
  void RedactJson(nlohmann::json* value, const std::string& base, std::vector<Redaction>* found) const;

  // True when RedactJson would leave a value with this scan unchanged without
  // looking further (no detector can match its text and no key or flag is
  // suspicious). RedactJson itself returns early exactly when this holds.
  bool ScanIsClean(const RedactionScan& scan) const;

  bool enabled() const { return enabled_; }

  // True when the scans of several values may share one pass: ScanIsClean
  // over their concatenated text is clean only if each one's own text is.
  // That holds for the built-in detectors (their only anchors are \b, a
  // `^` that also accepts any non-alphanumeric byte before the match, and a
  // `\z` after a lazy (?s:.*?)), each string's text ending in '\n'. An extra
  // pattern may anchor at the start of the text, so with extras it is false.
  bool scans_combine() const { return scans_combine_; }

  // The two whole-value tests of RedactJson's walk, for a writer that redacts
  // while it serializes (record_writer.cc) and must decide exactly as the walk:
  // a non-empty string under a key named like a secret is replaced whole, and
  // so is the array element after an argv flag that names a secret.
  bool secret_key_names() const { return secret_key_names_; }
  bool IsSecretKey(std::string_view key) const;
  bool IsSecretFlag(std::string_view item) const;

 private:
  void RedactJsonWalk(nlohmann::json* value, const std::string& base, std::vector<Redaction>* found) const;

 public:

  struct Detector;
  ~SecretRedactor();

 private:
  SecretRedactor();
  bool enabled_ = true;
  bool secret_key_names_ = true;
  bool scans_combine_ = true;
  std::vector<std::unique_ptr<Detector>> detectors_;
  struct Prefilter;
  std::unique_ptr<Prefilter> prefilter_;
};

}  // namespace toolgate::audit
