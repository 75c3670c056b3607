// PolicyCompiler: RawPolicy -> Policy. Resolves references, detects
// inheritance cycles, parses every pattern once at the place it was declared,
// flattens inheritance, and builds one CompiledProfileImpl per profile. Every
// problem becomes a located diagnostic; any error means no Policy at all.
// The intermediate results are kept in a PolicyAnalysis so the linter can
// reason about the same parsed patterns the engine would use.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "grants/compiled_profile_impl.h"
#include "policy/raw_policy.h"
#include "toolgate/policy.h"

namespace toolgate {

// Caps that keep a hostile or runaway policy from exhausting memory or time
// at load; real policies are far below them.
inline constexpr std::size_t kMaxProfiles = 256;
inline constexpr std::size_t kMaxPatterns = 10000;

// One pattern from the file, parsed once where it was declared.
struct ParsedGrant {
  std::string profile;  // declaring profile
  GrantList list = GrantList::kToolsAllow;
  const RawPattern* raw = nullptr;
  bool ok = false;      // false: a kPolicyPattern error was reported for it
  std::variant<std::monostate, ToolPattern, PathScope, HostPattern, ArgvPattern> pattern;
  GrantInfo info;
};

// A profile after inheritance: its grants in evaluation order (parents first).
struct FlatProfile {
  std::string name;
  Verdict default_verdict = Verdict::kDeny;  // default_setting's verdict, else deny
  // Most derived setting in the chain, with the profile that declared it.
  std::optional<std::pair<std::string, RawVerdict>> default_setting;
  std::optional<std::pair<std::string, RawVerdict>> unknown_effects;
  std::optional<Verdict> ask_fallback;  // most derived profile setting it
  std::vector<const ParsedGrant*> grants;
  RawSandbox sandbox;  // merged along the chain: each key from the most derived profile setting it
};

struct PolicyAnalysis {
  std::optional<RawPolicy> raw;
  std::vector<PolicyDiagnostic> diagnostics;
  std::deque<ParsedGrant> grants;           // every declared pattern
  std::map<std::string, FlatProfile> flat;  // profiles whose whole chain is valid
  std::shared_ptr<const Policy> policy;     // set only when there are no errors
  std::shared_ptr<const lua::RuleSet> rules;                    // the rules stage, when packs are enabled
  std::vector<std::pair<std::string, std::string>> pack_digests;  // (pack, sha256) of every loaded pack
  bool has_errors() const;
};

class PolicyCompiler {
 public:
  // The whole load pipeline for text already in memory.
  static PolicyAnalysis Analyze(std::string_view text, const std::string& source, const PolicyLoadOptions& options);

 private:
  static std::shared_ptr<const Policy> Build(const PolicyAnalysis& analysis, std::string_view text,
                                             std::vector<PolicyDiagnostic>* diagnostics);
};

}  // namespace toolgate
