// RawPolicy: a policy file after reading and schema validation, before any
// pattern is compiled. Every value remembers the JSON pointer it came from so
// later stages (references, cycles, patterns, lint) can locate their findings.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "grants/compiled_profile_impl.h"
#include "toolgate/policy.h"

namespace toolgate {

struct RawPattern {
  std::string text;
  std::string json_path;  // "/profiles/dev/fs/read/2"
  int index = 0;          // position in its list
};

struct RawVerdict {
  Verdict verdict = Verdict::kDeny;
  std::string text;       // as written
  std::string json_path;  // "/profiles/dev/default"
};

struct RawReference {
  std::string name;       // profile named
  std::string json_path;  // where it was named
};

// A top-level "rule_packs" entry: a Lua rule pack file the policy may enable.
struct RawRulePack {
  std::string name;
  std::string path;       // as written (relative paths are relative to the policy file)
  std::string json_path;  // "/rule_packs/dev-guard"
  std::optional<long long> instructions, memory_kb, time_ms;  // budget overrides
};

// The "http" capability granted to a pack in a profile.
struct RawHttpGrant {
  std::string json_path;
  std::optional<long long> timeout_ms, max_redirects, cache_ttl_s;
  std::optional<bool> allow_private_addresses;
};

// A profile's "rules" entry: enables (or, with false, disables) a pack.
struct RawRuleUse {
  std::string pack;
  std::string json_path;  // "/profiles/dev/rules/dev-guard"
  bool enabled = true;
  nlohmann::json params = nlohmann::json::object();
  std::optional<RawHttpGrant> http;
};

// A profile's "sandbox" object; every key is optional and inherited per key.
struct RawSandbox {
  std::string json_path;  // "/profiles/dev/sandbox"
  std::optional<SandboxTier> tier;
  std::optional<bool> shell_sandboxed;
  std::optional<SandboxNetwork> network;
  std::optional<long long> timeout_s, cpu_s, memory_mb, processes, file_size_mb, open_files;
  std::optional<std::vector<std::string>> env;
  std::optional<std::map<std::string, SandboxCredential>> credentials;
};

struct RawProfile {
  std::string name;       // for a phase body: the phase's name
  std::string json_path;  // "/profiles/dev", or "/profiles/dev/phases/writing" for a phase body
  std::vector<RawReference> extends;
  std::optional<RawVerdict> default_verdict;
  std::optional<RawVerdict> unknown_effects;
  std::array<std::vector<RawPattern>, kGrantListCount> lists;  // indexed by GrantList
  std::vector<RawRuleUse> rules;  // in file order
  std::optional<RawSandbox> sandbox;
  // "phases": each phase body as the reader found it (no extends, sandbox or
  // phases of its own), in name order. The compiler turns every (profile,
  // phase) into a view profile named PhaseViewName(profile, phase).
  std::vector<RawProfile> phases;
  std::optional<RawVerdict> ask_fallback;  // "allow" or "deny"
};

// Most phases one profile may declare.
inline constexpr std::size_t kMaxPhasesPerProfile = 32;

// The name of the view profile of (profile, phase): "dev@writing". '@' is not
// allowed in profile names, so a view never collides with a declared profile.
inline std::string PhaseViewName(std::string_view profile, std::string_view phase) {
  std::string out(profile);
  out += '@';
  out += phase;
  return out;
}
inline bool IsPhaseView(std::string_view name) { return name.find('@') != std::string_view::npos; }
// "dev@writing" -> "dev"; a name that is not a view is returned as it is.
inline std::string_view PhaseViewBase(std::string_view name) { return name.substr(0, name.find('@')); }

// Phase names follow profile names' alphabet: 1-64 of A-Z a-z 0-9 _ -.
bool IsPhaseName(std::string_view name);

struct RawAgent {
  std::string id;
  RawReference profile;
};

struct RawPolicy {
  std::string source;
  PolicySettings settings;
  std::optional<RawReference> default_profile;
  std::optional<RawVerdict> ask_fallback;  // "allow" or "deny"; absent = deny
  std::vector<RawAgent> agents;                 // sorted by id
  std::map<std::string, RawProfile> profiles;   // sorted by name
  std::map<std::string, RawRulePack> rule_packs;  // sorted by name
};

// Upper bound on policy text; larger files are refused before parsing.
inline constexpr std::size_t kMaxPolicyBytes = std::size_t{4} << 20;
// JSON nesting a policy may use; deeper text is refused before parsing, so a
// hostile file cannot exhaust the stack of a recursive parser.
inline constexpr int kMaxPolicyNesting = 32;
// Longest pattern string accepted.
inline constexpr std::size_t kMaxPatternBytes = 4096;

// Reads policy text into a RawPolicy, appending every schema problem found to
// *diagnostics (the walk continues past errors so all are reported). Returns
// nullopt only when the text is not a JSON object at all.
std::optional<RawPolicy> ReadPolicy(std::string_view text, const std::string& source,
                                    std::vector<PolicyDiagnostic>* diagnostics);

// JSON pointer token escaping (RFC 6901): "~" -> "~0", "/" -> "~1".
std::string JsonPointerToken(std::string_view key);

}  // namespace toolgate
