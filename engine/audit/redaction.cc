#include "audit/redaction.h"

#include <algorithm>
#include <cctype>

#include <re2/re2.h>
#include <re2/set.h>

namespace toolgate::audit {
namespace {

using nlohmann::json;

struct BuiltIn {
  const char* kind;
  const char* regex;    // RE2; group 1, when present, is kept (the "name=" part)
  bool keeps_group;
};

// Ordered: whole-token detectors first, so an AWS key inside an assignment is
// named as an AWS key rather than as a generic assignment.
constexpr BuiltIn kBuiltIns[] = {
    {"private_key",
     R"(-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\z))",
     false},
    {"aws_access_key_id", R"(\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b)", false},
    {"github_token", R"(\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})\b)", false},
    {"slack_token", R"(\bxox[abposr]-[A-Za-z0-9-]{10,})", false},
    {"api_key", R"(\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}))", false},
    {"google_api_key", R"(\bAIza[0-9A-Za-z_-]{35}\b)", false},
    {"jwt", R"(\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})", false},
    {"authorization", R"((?i)((?:proxy-)?authorization\s*:\s*(?:bearer|basic|token|digest)?\s*)[^\s'"\\]{8,})", true},
    {"bearer_token", R"((?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{16,})", true},
    {"url_password", R"(([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'"]+:)[^/\s@'"]+@)", true},
    {"secret_flag",
     R"((?i)(--[a-z0-9-]*(?:password|passwd|token|secret|api-?key)(?:=|\s+))("[^"]*"|'[^']*'|[^\s"'\[][^\s"']*))", true},
    {"secret_assignment",
     R"((?i)((?:^|[^A-Za-z0-9])(?:[A-Za-z0-9_]*_)?(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?token|credentials?)[A-Za-z0-9_]*["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s"'&;,\[\\][^\s"'&;,\\]*))",
     true},
};

// An argv element that says the next one is a secret: ["--password", "hunter2"].
constexpr const char* kSecretFlagAlone =
    R"((?i)^-{1,2}[a-z0-9-]*(?:password|passwd|passphrase|token|secret|api-?key)$)";

// A JSON key whose string value is a secret as a whole.
constexpr const char* kSecretKey =
    R"((?i)^(?:[a-z0-9_-]*[_-])?(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|client[_-]?secret|private[_-]?key|credentials?)$)";

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

struct SecretRedactor::Detector {
  std::string kind;
  std::unique_ptr<RE2> re;
  std::string rewrite;
};

struct SecretRedactor::Prefilter {
  RE2::Set set{RE2::DefaultOptions, RE2::UNANCHORED};
  std::unique_ptr<RE2> secret_key;
  std::unique_ptr<RE2> secret_flag;
};

SecretRedactor::SecretRedactor() = default;
SecretRedactor::~SecretRedactor() = default;

Result<std::shared_ptr<const SecretRedactor>> SecretRedactor::Create(const RedactionOptions& options) {
  std::shared_ptr<SecretRedactor> r(new SecretRedactor());
  r->enabled_ = options.enabled || !options.extra.empty();
  r->secret_key_names_ = options.enabled;
  r->scans_combine_ = options.extra.empty();
  r->prefilter_ = std::make_unique<Prefilter>();
  r->prefilter_->secret_key = std::make_unique<RE2>(kSecretKey);
  r->prefilter_->secret_flag = std::make_unique<RE2>(kSecretFlagAlone);
  const auto add = [&](const std::string& kind, const std::string& regex, bool keeps_group) -> std::optional<Error> {
    auto d = std::make_unique<Detector>();
    d->kind = kind;
    RE2::Options o;
    o.set_log_errors(false);
    d->re = std::make_unique<RE2>(regex, o);
    if (!d->re->ok()) {
      return Error{ErrorCode::kInternal, "redaction pattern '" + kind + "' does not compile: " + d->re->error(), ""};
    }
    d->rewrite = std::string(keeps_group ? "\\1" : "") + "[REDACTED:" + kind + "]";
    std::string set_error;
    if (r->prefilter_->set.Add(regex, &set_error) < 0) {
      return Error{ErrorCode::kInternal, "redaction pattern '" + kind + "': " + set_error, ""};
    }
    r->detectors_.push_back(std::move(d));
    return std::nullopt;
  };
  if (options.enabled) {
    for (const BuiltIn& b : kBuiltIns) {
      if (auto e = add(b.kind, b.regex, b.keeps_group)) return *e;
    }
  }
  for (const RedactionPattern& p : options.extra) {
    if (p.kind.empty() || p.kind.find_first_of("[]") != std::string::npos) {
      return Error{ErrorCode::kInternal, "redaction pattern kind must be a plain non-empty name", p.kind};
    }
    if (auto e = add(p.kind, p.regex, false)) return *e;
  }
  if (!r->detectors_.empty() && !r->prefilter_->set.Compile()) {
    return Error{ErrorCode::kInternal, "redaction patterns do not compile as a set", ""};
  }
  return std::shared_ptr<const SecretRedactor>(std::move(r));
}

bool SecretRedactor::RedactText(std::string* text, std::vector<std::string>* kinds) const {
  if (detectors_.empty() || text->empty()) return false;
  std::vector<int> hits;
  if (!prefilter_->set.Match(*text, &hits)) return false;
  std::sort(hits.begin(), hits.end());
  bool changed = false;
  for (int i : hits) {
    const Detector& d = *detectors_[static_cast<std::size_t>(i)];
    if (RE2::GlobalReplace(text, *d.re, d.rewrite) > 0) {
      changed = true;
      if (kinds != nullptr && std::find(kinds->begin(), kinds->end(), d.kind) == kinds->end()) {
        kinds->push_back(d.kind);
      }
    }
  }
  return changed;
}

namespace {

// A cheap test before the key-name regex: does the key mention a secret word?
// (Case-insensitive, without allocating.)
bool KeyMightNameSecret(std::string_view key) {
  static constexpr std::string_view kWords[] = {"pass", "secret", "token", "key", "cred"};
  // ASCII lower case: the words are ASCII, and std::tolower is a call per byte.
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  // One pass over the key; only a byte that starts one of the words is
  // compared further (every key and many values of every record come here).
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = lower(key[i]);
    if (c != 'p' && c != 's' && c != 't' && c != 'k' && c != 'c') continue;
    for (std::string_view w : kWords) {
      if (w[0] != c || i + w.size() > key.size()) continue;
      std::size_t k = 1;
      while (k < w.size() && lower(key[i + k]) == w[k]) ++k;
      if (k == w.size()) return true;
    }
  }
  return false;
}

// Appends every string of value to the scan, separated by newlines (no
// detector matches across a newline boundary in a way that could hide a
// secret; extra matches only cost the detailed walk). Keys and argv flags
// that need the detailed walk anyway mark the scan suspicious.
void Collect(const json& value, RedactionScan* scan) {
  if (value.is_string()) {
    scan->String(value.get_ref<const std::string&>());
  } else if (value.is_array()) {
    for (const json& v : value) Collect(v, scan);
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      scan->Key(it.key());
      Collect(it.value(), scan);
    }
  }
}

}  // namespace

void RedactionScan::Key(std::string_view key) {
  if (!suspicious) suspicious = KeyMightNameSecret(key);
}

void RedactionScan::String(std::string_view value) {
  text += value;
  text += '\n';
  if (!suspicious) suspicious = !value.empty() && value[0] == '-' && value.size() < 64 && KeyMightNameSecret(value);
}

bool SecretRedactor::ScanIsClean(const RedactionScan& scan) const {
  return !scan.suspicious && (detectors_.empty() || !prefilter_->set.Match(scan.text, nullptr));
}

bool SecretRedactor::IsSecretKey(std::string_view key) const {
  return RE2::FullMatch(re2::StringPiece(key.data(), key.size()), *prefilter_->secret_key);
}

bool SecretRedactor::IsSecretFlag(std::string_view item) const {
  return RE2::FullMatch(re2::StringPiece(item.data(), item.size()), *prefilter_->secret_flag);
}

void SecretRedactor::RedactJson(json* value, const std::string& base, std::vector<Redaction>* found) const {
  if (!enabled_) return;
  // Most records hold no secret: one DFA pass over all their text decides that.
  RedactionScan scan;
  Collect(*value, &scan);
  if (ScanIsClean(scan)) return;
  RedactJsonWalk(value, base, found);
}

void SecretRedactor::RedactJsonWalk(json* value, const std::string& base, std::vector<Redaction>* found) const {
  if (value->is_string()) {
    std::string s = value->get<std::string>();
    std::vector<std::string> kinds;
    if (RedactText(&s, &kinds)) {
      *value = std::move(s);
      for (auto& k : kinds) found->push_back(Redaction{std::move(k), base});
    }
    return;
  }
  if (value->is_array()) {
    bool next_is_secret = false;
    std::size_t i = 0;
    for (json& item : *value) {
      const std::string pointer = base + "/" + std::to_string(i++);
      if (next_is_secret && secret_key_names_ && item.is_string()) {
        item = "[REDACTED:secret_flag]";
        found->push_back(Redaction{"secret_flag", pointer});
        next_is_secret = false;
        continue;
      }
      next_is_secret = item.is_string() && IsSecretFlag(item.get_ref<const std::string&>());
      RedactJsonWalk(&item, pointer, found);
    }
    return;
  }
  if (value->is_object()) {
    for (auto it = value->begin(); it != value->end(); ++it) {
      const std::string pointer = base + "/" + EscapePointerToken(it.key());
      if (secret_key_names_ && it.value().is_string() && !it.value().get_ref<const std::string&>().empty() &&
          IsSecretKey(it.key())) {
        it.value() = "[REDACTED:secret_field]";
        found->push_back(Redaction{"secret_field", pointer});
        continue;
      }
      RedactJsonWalk(&it.value(), pointer, found);
    }
  }
}

}  // namespace toolgate::audit
