// The rules part of policy compilation: reads every declared rule pack file,
// runs it once in a scratch Lua state (engine/lua/rule_pack.h), merges each
// profile's "rules" through inheritance, checks parameters against the pack's
// declared defaults and capabilities against what the pack needs, and builds
// the RuleSet the engine evaluates. Every problem is a located diagnostic:
// pack errors carry the .lua file, line and rule id; policy errors the JSON
// pointer of the offending key.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "policy/raw_policy.h"
#include "toolgate/policy.h"

namespace toolgate {

namespace lua {
class RuleSet;
}

// Largest rule pack file accepted.
inline constexpr std::size_t kMaxRulePackBytes = std::size_t{1} << 20;

struct RuleCompileResult {
  std::shared_ptr<const lua::RuleSet> rules;  // null when no profile enables a pack, or on error
  std::vector<std::pair<std::string, std::string>> pack_digests;  // (name, sha256) of every loaded pack
};

// A rule pack's declared path as a file: relative paths are relative to the
// policy file's directory.
std::string ResolvePackPath(const std::string& policy_source, const std::string& path);

// `profiles`: the valid profiles with their extends chains (parents first).
RuleCompileResult CompileRules(const RawPolicy& raw, const std::vector<std::string>& profiles,
                               std::vector<PolicyDiagnostic>* diagnostics);

}  // namespace toolgate
