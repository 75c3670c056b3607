// Policy: the immutable, compiled form of a policy file. Loading compiles every
// glob, host pattern and argv pattern (RE2 sets), so evaluation compiles nothing.
// Share it as std::shared_ptr<const Policy>; reload by swapping the pointer.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "toolgate/decision.h"
#include "toolgate/result.h"
#include "toolgate/sandbox_profile.h"

namespace toolgate {

class CompiledProfile;  // engine/grants/compiled_profile.h
namespace lua {
class RuleSet;  // engine/lua/rule_set.h
}

struct PolicyDiagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  ErrorCode code = ErrorCode::kPolicySchema;  // for errors
  std::string lint;       // for warnings: "unreachable_grant", "allow_deny_overlap", "matches_everything", "unused_profile"
  std::string file;
  std::string json_path;  // JSON pointer: "/profiles/dev/fs/read/2"
  std::string message;    // what was expected / what is wrong
  int line = 0;           // for rule pack errors: the line in `file` (a .lua file); 0 otherwise
  std::string rule;       // for rule pack errors: the rule id, when one is known
};

// "file:/json/path: error[policy_schema]: message", or for a rule pack
// "pack.lua:12: error[policy_rule] rule dev-guard.x: message".
std::string FormatDiagnostic(const PolicyDiagnostic& d);

// Settings that shape effect extraction; read from the policy's "settings".
struct PolicySettings {
  std::string home = "/root";  // what ~ means in patterns and commands
  bool resolve_symlinks = true;
  std::vector<std::string> trusted_bin_dirs = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                               "/usr/bin", "/sbin", "/bin"};
  std::size_t max_input_bytes = 1u << 20;
  int max_json_depth = 64;
  int max_shell_depth = 8;
};

struct PolicyLoadOptions {
  // Overrides settings.home when non-empty (tests, or the daemon's user).
  std::string home;
};

class Policy {
 public:
  ~Policy();
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  const std::string& source() const { return source_; }   // file path or name given
  const std::string& digest() const { return digest_; }   // "sha256:<hex>" of the bytes loaded
  const PolicySettings& settings() const { return settings_; }

  // The profile for an agent id: agents[id], else default_profile, else nullptr.
  // profile_name receives the chosen profile's name.
  const CompiledProfile* ProfileFor(std::string_view agent_id, std::string* profile_name) const;
  const CompiledProfile* ProfileNamed(std::string_view name) const;
  // The profile as it stands in a task phase: the profile's grants plus the
  // phase's (its own "phases" entry and those of profiles it extends). "" is
  // the profile itself. nullptr for an unknown profile or a phase the profile
  // does not declare: the caller denies (fail closed).
  const CompiledProfile* ProfileInPhase(std::string_view profile, std::string_view phase) const;
  // The phases a profile declares (its own and inherited), sorted; empty for
  // a profile without phases or an unknown one.
  const std::vector<std::string>& PhasesOf(std::string_view profile) const;
  bool HasPhase(std::string_view profile, std::string_view phase) const;
  // Declared profiles (phase views are not listed).
  std::vector<std::string> ProfileNames() const;
  // The compiled Lua rules stage (rule_packs + profiles' "rules"); nullptr
  // when the policy enables no pack.
  const lua::RuleSet* rules() const { return rules_.get(); }
  // How `toolgate run` sandboxes commands for a profile; nullptr for an unknown name.
  // With a phase, the sandbox of that phase (its fs grants included); nullptr
  // when the profile does not declare the phase.
  const SandboxProfile* SandboxFor(std::string_view profile) const;
  const SandboxProfile* SandboxFor(std::string_view profile, std::string_view phase) const;
  // What an ask becomes for this profile where no human can be asked: the
  // profile's "ask_fallback" (inherited through extends), else the policy's,
  // else deny. Never kAsk. See include/toolgate/ask_fallback.h.
  Verdict AskFallbackFor(std::string_view profile) const;

 private:
  friend class PolicyCompiler;  // engine/policy/policy_loader.cc
  Policy();

  std::string source_;
  std::string digest_;
  PolicySettings settings_;
  // An agent's profile, found once at load so a decision looks it up once.
  struct AgentProfile {
    std::string name;
    const CompiledProfile* compiled = nullptr;  // in profiles_; null when it names none
  };
  std::map<std::string, AgentProfile, std::less<>> agent_profiles_;  // agent id -> its profile
  AgentProfile default_profile_;  // name "" = unknown agents denied
  std::map<std::string, std::unique_ptr<CompiledProfile>, std::less<>> profiles_;
  std::shared_ptr<const lua::RuleSet> rules_;
  std::map<std::string, SandboxProfile, std::less<>> sandboxes_;  // profile name -> sandbox
  std::map<std::string, std::vector<std::string>, std::less<>> phases_;  // profile -> its phases, sorted
  Verdict ask_fallback_ = Verdict::kDeny;                          // top-level "ask_fallback"
  std::map<std::string, Verdict, std::less<>> profile_ask_fallback_;  // profiles that set their own
};

struct PolicyLoadResult {
  std::shared_ptr<const Policy> policy;  // null when any error was found
  std::vector<PolicyDiagnostic> diagnostics;
  // Every file the load read or tried to read: the policy file (LoadPolicyFile
  // only), then each rule pack it declares, resolved. What a watcher watches.
  std::vector<std::string> files;
  bool ok() const { return policy != nullptr; }
};

PolicyLoadResult LoadPolicyFile(const std::string& path, const PolicyLoadOptions& options = {});
PolicyLoadResult LoadPolicyText(std::string_view text, const std::string& source_name,
                                const PolicyLoadOptions& options = {});

// Load errors plus warnings (unreachable grants, allow/deny overlaps, patterns that
// match everything, profiles no agent uses).
std::vector<PolicyDiagnostic> LintPolicyFile(const std::string& path);

}  // namespace toolgate
