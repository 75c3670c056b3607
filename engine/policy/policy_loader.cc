// Public entry points of the policy loader, and Policy's own methods.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "grants/compiled_profile.h"
#include "policy/policy_compiler.h"
#include "policy/policy_file.h"
#include "policy/raw_policy.h"
#include "policy/rule_compiler.h"
#include "toolgate/policy.h"

namespace toolgate {

Policy::Policy() = default;
Policy::~Policy() = default;

const CompiledProfile* Policy::ProfileFor(std::string_view agent_id, std::string* profile_name) const {
  const AgentProfile* entry = &default_profile_;
  if (const auto it = agent_profiles_.find(agent_id); it != agent_profiles_.end()) entry = &it->second;
  const CompiledProfile* profile = entry->compiled;
  if (profile_name != nullptr) {
    if (profile != nullptr) {
      profile_name->assign(entry->name);
    } else {
      profile_name->clear();
    }
  }
  return profile;
}

const CompiledProfile* Policy::ProfileNamed(std::string_view name) const {
  const auto it = profiles_.find(name);
  return it == profiles_.end() ? nullptr : it->second.get();
}

const SandboxProfile* Policy::SandboxFor(std::string_view profile) const {
  const auto it = sandboxes_.find(profile);
  return it == sandboxes_.end() ? nullptr : &it->second;
}

const SandboxProfile* Policy::SandboxFor(std::string_view profile, std::string_view phase) const {
  if (phase.empty()) return SandboxFor(profile);
  if (!HasPhase(profile, phase)) return nullptr;
  return SandboxFor(PhaseViewName(profile, phase));
}

const CompiledProfile* Policy::ProfileInPhase(std::string_view profile, std::string_view phase) const {
  if (IsPhaseView(profile)) return nullptr;
  if (phase.empty()) return ProfileNamed(profile);
  if (!HasPhase(profile, phase)) return nullptr;
  return ProfileNamed(PhaseViewName(profile, phase));
}

const std::vector<std::string>& Policy::PhasesOf(std::string_view profile) const {
  static const std::vector<std::string> kNone;
  const auto it = phases_.find(profile);
  return it == phases_.end() ? kNone : it->second;
}

bool Policy::HasPhase(std::string_view profile, std::string_view phase) const {
  const std::vector<std::string>& phases = PhasesOf(profile);
  return std::binary_search(phases.begin(), phases.end(), phase);
}

Verdict Policy::AskFallbackFor(std::string_view profile) const {
  const auto it = profile_ask_fallback_.find(profile);
  return it != profile_ask_fallback_.end() ? it->second : ask_fallback_;
}

const char* SandboxTierName(SandboxTier tier) {
  switch (tier) {
    case SandboxTier::kProcess: return "process";
    case SandboxTier::kNamespace: return "namespace";
    case SandboxTier::kAuto: break;
  }
  return "auto";
}

std::vector<std::string> Policy::ProfileNames() const {
  std::vector<std::string> names;
  names.reserve(profiles_.size());
  for (const auto& [name, profile] : profiles_) {
    if (!IsPhaseView(name)) names.push_back(name);
  }
  return names;
}

bool ReadPolicyFile(const std::string& path, std::string* text, PolicyDiagnostic* error) {
  const auto fail = [&](ErrorCode code, std::string message) {
    error->severity = PolicyDiagnostic::Severity::kError;
    error->code = code;
    error->file = path;
    error->json_path = "";
    error->message = std::move(message);
    return false;
  };
  // O_NONBLOCK: a FIFO put where the policy was must not hang a reload (the
  // regular-file check below refuses it); it changes nothing for a regular file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(ErrorCode::kPolicyIo, std::string("cannot open policy file: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorCode::kPolicyIo, "policy path is not a regular file");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxPolicyBytes) {
    ::close(fd);
    return fail(ErrorCode::kPolicySchema, "policy is " + std::to_string(st.st_size) + " bytes; the limit is " +
                                              std::to_string(kMaxPolicyBytes));
  }
  text->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return fail(ErrorCode::kPolicyIo, std::string("cannot read policy file: ") + std::strerror(saved));
    }
    text->append(buf, static_cast<std::size_t>(n));
    if (text->size() > kMaxPolicyBytes) {  // grew while we read
      ::close(fd);
      return fail(ErrorCode::kPolicySchema, "policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
    }
  }
  ::close(fd);
  return true;
}

PolicyLoadResult LoadPolicyText(std::string_view text, const std::string& source_name,
                                const PolicyLoadOptions& options) {
  PolicyAnalysis analysis = PolicyCompiler::Analyze(text, source_name, options);
  PolicyLoadResult result;
  result.diagnostics = std::move(analysis.diagnostics);
  if (!analysis.has_errors()) result.policy = std::move(analysis.policy);
  if (analysis.raw) {
    for (const auto& [name, pack] : analysis.raw->rule_packs) {
      result.files.push_back(ResolvePackPath(analysis.raw->source, pack.path));
    }
  }
  return result;
}

PolicyLoadResult LoadPolicyFile(const std::string& path, const PolicyLoadOptions& options) {
  std::string text;
  PolicyDiagnostic error;
  if (!ReadPolicyFile(path, &text, &error)) {
    PolicyLoadResult result;
    result.diagnostics.push_back(std::move(error));
    result.files.push_back(path);
    return result;
  }
  PolicyLoadResult result = LoadPolicyText(text, path, options);
  result.files.insert(result.files.begin(), path);
  return result;
}

}  // namespace toolgate
