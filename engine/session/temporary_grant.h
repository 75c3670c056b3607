// TemporaryGrant: one operator-given grant of one session, compiled once when
// it is added (the same pattern parsers and RE2 sets a policy uses), then
// only matched. TemporaryGrants is an immutable snapshot of a session's live
// grants that Engine::Decide consults for checks no policy grant decided.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "grants/compiled_profile_impl.h"
#include "toolgate/decision.h"
#include "toolgate/policy.h"
#include "toolgate/session.h"

namespace toolgate {

enum class TemporaryGrantKind { kTool, kFsRead, kFsWrite, kHost, kExec };

struct TemporaryGrantSpec {
  TemporaryGrantKind kind = TemporaryGrantKind::kTool;
  std::string pattern;  // the text after "kind:"
};

// Splits "fs.write:/srv/blog/**" into kind and pattern (kinds: tool, fs.read,
// fs.write, host, exec). A kPolicySchema error names what was expected.
Result<TemporaryGrantSpec> ParseTemporaryGrant(std::string_view text);

class TemporaryGrant {
 public:
  // Compiles the pattern with the policy's settings. kPolicyPattern when the
  // pattern does not parse or compile.
  static Result<std::shared_ptr<TemporaryGrant>> Compile(const TemporaryGrantInfo& info, const TemporaryGrantSpec& spec,
                                                         const PolicySettings& settings);

  const TemporaryGrantInfo& info() const { return info_; }
  const GrantInfo& grant() const { return grant_; }
  TemporaryGrantKind kind() const { return kind_; }
  std::uint64_t uses() const { return uses_.load(std::memory_order_relaxed); }
  void CountUse() const { uses_.fetch_add(1, std::memory_order_relaxed); }

  // Whether the grant allows this subject for this agent.
  bool AllowsTool(std::string_view agent, std::string_view tool) const;
  bool AllowsPath(std::string_view agent, const PathEffect& path, std::string_view cwd) const;
  bool AllowsHost(std::string_view agent, const HostEffect& host) const;
  bool AllowsExec(std::string_view agent, const ExecEffect& exec) const;

 private:
  TemporaryGrant(TemporaryGrantInfo info, TemporaryGrantKind kind, std::unique_ptr<CompiledProfileImpl> matcher);
  bool ForAgent(std::string_view agent) const { return info_.agent.empty() || info_.agent == agent; }
  static bool Allowed(const GrantMatch& m) { return m.grant != nullptr && m.verdict == Verdict::kAllow; }

  TemporaryGrantInfo info_;
  GrantInfo grant_;  // id "temporary:tg-7", pattern the grant text; what a widened finding points at
  TemporaryGrantKind kind_;
  std::unique_ptr<CompiledProfileImpl> matcher_;  // holds just this grant, default deny
  mutable std::atomic<std::uint64_t> uses_{0};
};

// A session's live grants at one moment. Findings point at the grants'
// GrantInfo: keep the snapshot alive as long as the Decision it widened.
// Shared (the registry hands out shared_ptrs): a decision whose findings
// point at a grant keeps the set alive through weak_from_this().
class TemporaryGrants : public std::enable_shared_from_this<TemporaryGrants> {
 public:
  explicit TemporaryGrants(std::vector<std::shared_ptr<const TemporaryGrant>> grants) : grants_(std::move(grants)) {}
  const std::vector<std::shared_ptr<const TemporaryGrant>>& grants() const { return grants_; }

  // The first grant that allows the subject, or nullptr; counts the use.
  const GrantInfo* Tool(std::string_view agent, std::string_view tool) const;
  const GrantInfo* Path(std::string_view agent, const PathEffect& path, std::string_view cwd) const;
  const GrantInfo* Host(std::string_view agent, const HostEffect& host) const;
  const GrantInfo* Exec(std::string_view agent, const ExecEffect& exec) const;

 private:
  std::vector<std::shared_ptr<const TemporaryGrant>> grants_;
};

}  // namespace toolgate
