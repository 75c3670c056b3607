// EffectsSink: the one place effects are added while a call is analysed. It
// drops exact duplicates (by scanning the short lists most calls have, and by
// hashing once a list grows past kLinearDedupe entries), caps every list (a hostile script cannot make the
// result unbounded), shortens unknown details to 120 bytes, and holds the
// analysis work budget that bounds re-parsing and expansion.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "effects/path_normalizer.h"
#include "effects/url.h"
#include "toolgate/effects.h"

namespace toolgate::effects {

inline constexpr std::size_t kMaxEffectsPerKind = 4096;
inline constexpr std::size_t kDefaultWorkBudget = std::size_t{32} << 20;
inline constexpr std::size_t kMaxUnknownDetail = 120;
// Below this many entries a duplicate is found by comparing with each entry;
// building a key and hashing it costs more than that (and allocates).
inline constexpr std::size_t kLinearDedupe = 16;

class EffectsSink {
 public:
  explicit EffectsSink(Effects& out, std::size_t work_budget = kDefaultWorkBudget);

  void AddExec(ExecEffect&& exec);
  void AddPath(std::string path, std::string_view raw, PathAccess access, std::string_view source);
  // AddPath for each of `paths` in order, which must be pairwise distinct
  // (ShellInterpreter::ResolvePath's result is). A path of the batch can then
  // only duplicate an entry that was there before it, so a glob's hundreds
  // of paths are compared with those few, not with each other, and the list
  // grows once. Moves from `paths`.
  void AddPaths(std::span<std::string> paths, std::string_view raw, PathAccess access,
                std::string_view source);
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
  // True when no entry of `list` equals the new one. Short lists are scanned
  // with `same`; a longer one has every entry's key (from `key_of`) in seen_
  // from the moment it first grows past kLinearDedupe, so the answer is the
  // same either way: an entry is in the list exactly when its key was seen.
  template <class List, class Same, class KeyOf, class NewKey>
  bool Fresh(const List& list, bool& hashed, Same same, KeyOf key_of, NewKey new_key);
  bool FreshHost(const ParsedUrl& host);

  // Path effects, once hashed, are found by their index in out_.paths: the
  // set hashes and compares the entries themselves, so adding a path builds
  // no key string (a glob adds hundreds).
  struct PathIndexHash {
    const std::vector<PathEffect>* paths;
    std::size_t operator()(std::size_t i) const;
  };
  struct PathIndexEqual {
    const std::vector<PathEffect>* paths;
    bool operator()(std::size_t a, std::size_t b) const;
  };

  Effects& out_;
  std::size_t budget_;
  bool exhausted_ = false;
  std::unordered_set<std::string> seen_;
  std::unordered_set<std::size_t, PathIndexHash, PathIndexEqual> path_index_;
  bool execs_hashed_ = false, paths_hashed_ = false, hosts_hashed_ = false;
  bool urls_hashed_ = false, emails_hashed_ = false, unknowns_hashed_ = false;
  PathCache path_cache_;
};

// `text` cut to at most `max_bytes`, never inside a UTF-8 sequence.
std::string_view ShortenUtf8(std::string_view text, std::size_t max_bytes);

}  // namespace toolgate::effects
