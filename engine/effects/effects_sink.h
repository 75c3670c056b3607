// EffectsSink: the one place effects are added while a call is analysed. It
// drops exact duplicates, caps every list (a hostile script cannot make the
// result unbounded), shortens unknown details to 120 bytes, and holds the
// analysis work budget that bounds re-parsing and expansion.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

#include "effects/path_normalizer.h"
#include "effects/url.h"
#include "toolgate/effects.h"

namespace toolgate::effects {

inline constexpr std::size_t kMaxEffectsPerKind = 4096;
inline constexpr std::size_t kDefaultWorkBudget = std::size_t{32} << 20;
inline constexpr std::size_t kMaxUnknownDetail = 120;

class EffectsSink {
 public:
  explicit EffectsSink(Effects& out, std::size_t work_budget = kDefaultWorkBudget);

  void AddExec(ExecEffect exec);
  void AddPath(std::string path, std::string_view raw, PathAccess access, std::string_view source);
  // Records `url_text` in urls and its host as a HostEffect; a non-ASCII or
  // ambiguous host is also an UnknownEffect. file: URLs become path reads.
  void AddUrl(const ParsedUrl& url, std::string_view url_text, std::string_view source);
  void AddHost(const ParsedUrl& host, std::string_view source);  // no url recorded
  void AddUrlText(std::string_view url_text);                      // urls only
  void AddEmail(std::string_view email);
  void AddUnknown(std::string_view what, std::string_view detail);

  // Spends `units` of the work budget. Returns false once it is exhausted;
  // the first failure records an UnknownEffect "analysis budget exceeded".
  bool Charge(std::size_t units);
  bool exhausted() const { return exhausted_; }

  Effects& effects() { return out_; }

  // The per-call lstat/readlink memo (NormalizeOptions::cache): the sink
  // lives exactly as long as one call's analysis.
  PathCache* path_cache() { return &path_cache_; }

 private:
  bool FirstTime(std::string key);
  bool Room(std::size_t size, std::string_view kind);

  Effects& out_;
  std::size_t budget_;
  bool exhausted_ = false;
  std::unordered_set<std::string> seen_;
  PathCache path_cache_;
};

// `text` cut to at most `max_bytes`, never inside a UTF-8 sequence.
std::string_view ShortenUtf8(std::string_view text, std::size_t max_bytes);

}  // namespace toolgate::effects
