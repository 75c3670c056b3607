// CompiledProfileImpl: the concrete CompiledProfile. Built once by the policy
// compiler (Add* in declaration order, then Finish), then only read: the
// Check* methods are const, thread-safe, compile nothing and do no I/O.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grants/argv_pattern.h"
#include "grants/compiled_profile.h"
#include "grants/host_pattern.h"
#include "grants/path_scope.h"
#include "grants/tool_pattern.h"

namespace toolgate {

// Every list a profile can declare, with the verdict a match means.
enum class GrantList {
  kToolsAllow, kToolsAsk, kToolsDeny,
  kFsRead, kFsWrite, kFsAsk, kFsDeny,
  kNetworkAllow, kNetworkAsk, kNetworkDeny,
  kExecAllow, kExecAsk, kExecDeny,
};
inline constexpr int kGrantListCount = 13;

struct GrantListInfo {
  GrantList list;
  const char* category;  // JSON key: "tools", "fs", "network", "exec"
  const char* name;      // JSON key inside the category: "allow", "read", ...
  Verdict verdict;       // what a match means (fs read/write: allow)
};
const GrantListInfo& InfoFor(GrantList list);

class CompiledProfileImpl final : public CompiledProfile {
 public:
  CompiledProfileImpl(std::string name, std::vector<std::string> trusted_bin_dirs);

  // Load time. Grants must be added in declaration order (parents first):
  // among equally severe matches the first added wins.
  void SetDefault(Verdict verdict) { default_ = verdict; }
  void SetUnknownEffects(GrantInfo info);  // info.verdict is the verdict
  void AddTool(GrantInfo info, const ToolPattern& pattern);
  void AddPath(GrantInfo info, GrantList list, const PathScope& scope);
  void AddHost(GrantInfo info, const HostPattern& pattern);
  void AddExec(GrantInfo info, const ArgvPattern& pattern);
  [[nodiscard]] bool Finish(std::string* error);

  const std::deque<GrantInfo>& grants() const { return grants_; }

  const std::string& name() const override { return name_; }
  Verdict default_verdict() const override { return default_; }
  Verdict unknown_effects_verdict() const override { return unknown_.verdict; }
  GrantMatch CheckTool(std::string_view tool_name) const override;
  GrantMatch CheckPath(const PathEffect& path, std::string_view cwd) const override;
  void CheckPaths(std::span<const PathEffect> paths, std::string_view cwd, GrantMatch* out) const override;
  GrantMatch CheckExec(const ExecEffect& exec) const override;
  GrantMatch CheckHost(const HostEffect& host) const override;
  GrantMatch CheckUnknown(const UnknownEffect& unknown) const override;

 private:
  struct Entry {
    const GrantInfo* grant;
    GrantList list;
  };
  int AddEntry(GrantInfo info, GrantList list);
  GrantMatch FailClosed() const { return GrantMatch{Verdict::kDeny, &fail_closed_}; }
  GrantMatch MatchTool(std::string_view tool_name) const;
  GrantMatch MatchPath(const PathEffect& path, const PathScopeSet::Cwd& cwd) const;

  // Hash and equality that accept a string_view, so a lookup copies nothing.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::string name_;
  std::vector<std::string> trusted_bin_dirs_;
  Verdict default_ = Verdict::kDeny;
  GrantInfo unknown_;
  // Decides when a matcher cannot give an answer (RE2 out of memory, a path
  // that is not absolute and normalized): deny, traced to the profile.
  GrantInfo fail_closed_;
  std::deque<GrantInfo> grants_;  // stable addresses: Decisions hold pointers
  std::vector<Entry> entries_;    // slot -> grant, in declaration order
  ToolPatternSet tools_;
  // CheckTool's answer for the tool names agents use all the time, computed
  // by Finish with the same matcher: the profile never changes afterwards,
  // so this is the answer the set would give, without an RE2 search per call.
  std::unordered_map<std::string, GrantMatch, NameHash, std::equal_to<>> known_tools_;
  PathScopeSet paths_;
  HostPatternSet hosts_;
  ArgvPatternSet execs_;
};

}  // namespace toolgate
