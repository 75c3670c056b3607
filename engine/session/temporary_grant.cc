#include "session/temporary_grant.h"

#include "grants/argv_pattern.h"
#include "grants/host_pattern.h"
#include "grants/path_scope.h"
#include "grants/tool_pattern.h"

namespace toolgate {

Result<TemporaryGrantSpec> ParseTemporaryGrant(std::string_view text) {
  static constexpr std::pair<std::string_view, TemporaryGrantKind> kKinds[] = {
      {"tool", TemporaryGrantKind::kTool},    {"fs.read", TemporaryGrantKind::kFsRead},
      {"fs.write", TemporaryGrantKind::kFsWrite}, {"host", TemporaryGrantKind::kHost},
      {"exec", TemporaryGrantKind::kExec},
  };
  const std::size_t colon = text.find(':');
  const std::string expected = "expected KIND:PATTERN with KIND one of tool, fs.read, fs.write, host, exec";
  if (colon == std::string_view::npos) return Error{ErrorCode::kPolicySchema, expected, "grant"};
  const std::string_view kind = text.substr(0, colon);
  const std::string_view pattern = text.substr(colon + 1);
  if (pattern.empty()) return Error{ErrorCode::kPolicySchema, "the grant's pattern is empty; " + expected, "grant"};
  if (pattern.size() > 4096) return Error{ErrorCode::kPolicySchema, "the grant's pattern is longer than 4096 bytes", "grant"};
  for (const auto& [name, k] : kKinds) {
    if (kind == name) return TemporaryGrantSpec{k, std::string(pattern)};
  }
  return Error{ErrorCode::kPolicySchema, "unknown grant kind '" + std::string(kind) + "'; " + expected, "grant"};
}

TemporaryGrant::TemporaryGrant(TemporaryGrantInfo info, TemporaryGrantKind kind,
                               std::unique_ptr<CompiledProfileImpl> matcher)
    : info_(std::move(info)), kind_(kind), matcher_(std::move(matcher)) {
  grant_ = GrantInfo{"temporary:" + info_.id, "session " + info_.session, "", "", info_.text, Verdict::kAllow};
}

Result<std::shared_ptr<TemporaryGrant>> TemporaryGrant::Compile(const TemporaryGrantInfo& info,
                                                                const TemporaryGrantSpec& spec,
                                                                const PolicySettings& settings) {
  auto matcher = std::make_unique<CompiledProfileImpl>("temporary:" + info.id, settings.trusted_bin_dirs);
  matcher->SetDefault(Verdict::kDeny);
  GrantInfo g{"temporary:" + info.id, "session " + info.session, "", "", info.text, Verdict::kAllow};
  const auto bad = [&](const Error& e) -> Result<std::shared_ptr<TemporaryGrant>> {
    return Error{ErrorCode::kPolicyPattern, "pattern '" + spec.pattern + "': " + e.message, "grant"};
  };
  std::string re2_error;
  switch (spec.kind) {
    case TemporaryGrantKind::kTool: {
      Result<ToolPattern> p = ParseToolPattern(spec.pattern);
      if (!p) return bad(p.error());
      re2_error = RegexErrorOf(*p);
      matcher->AddTool(g, *p);
      break;
    }
    case TemporaryGrantKind::kFsRead:
    case TemporaryGrantKind::kFsWrite: {
      Result<PathScope> p = ParsePathScope(spec.pattern, settings.home);
      if (!p) return bad(p.error());
      re2_error = RegexErrorOf(*p);
      matcher->AddPath(g, spec.kind == TemporaryGrantKind::kFsRead ? GrantList::kFsRead : GrantList::kFsWrite, *p);
      break;
    }
    case TemporaryGrantKind::kHost: {
      Result<HostPattern> p = ParseHostPattern(spec.pattern);
      if (!p) return bad(p.error());
      re2_error = RegexErrorOf(*p);
      matcher->AddHost(g, *p);
      break;
    }
    case TemporaryGrantKind::kExec: {
      Result<ArgvPattern> p = ParseArgvPattern(spec.pattern, settings.home, settings.trusted_bin_dirs);
      if (!p) return bad(p.error());
      re2_error = RegexErrorOf(*p);
      matcher->AddExec(g, *p);
      break;
    }
  }
  if (!re2_error.empty()) return bad(Error{ErrorCode::kPolicyPattern, "does not compile: " + re2_error, ""});
  std::string error;
  if (!matcher->Finish(&error)) return bad(Error{ErrorCode::kPolicyPattern, error, ""});
  return std::shared_ptr<TemporaryGrant>(new TemporaryGrant(info, spec.kind, std::move(matcher)));
}

bool TemporaryGrant::AllowsTool(std::string_view agent, std::string_view tool) const {
  return kind_ == TemporaryGrantKind::kTool && ForAgent(agent) && Allowed(matcher_->CheckTool(tool));
}

bool TemporaryGrant::AllowsPath(std::string_view agent, const PathEffect& path, std::string_view cwd) const {
  const bool kind_ok = kind_ == TemporaryGrantKind::kFsWrite ||
                       (kind_ == TemporaryGrantKind::kFsRead && path.access == PathAccess::kRead);
  return kind_ok && ForAgent(agent) && Allowed(matcher_->CheckPath(path, cwd));
}

bool TemporaryGrant::AllowsHost(std::string_view agent, const HostEffect& host) const {
  return kind_ == TemporaryGrantKind::kHost && ForAgent(agent) && Allowed(matcher_->CheckHost(host));
}

bool TemporaryGrant::AllowsExec(std::string_view agent, const ExecEffect& exec) const {
  return kind_ == TemporaryGrantKind::kExec && ForAgent(agent) && Allowed(matcher_->CheckExec(exec));
}

namespace {
template <typename Pred>
const GrantInfo* First(const std::vector<std::shared_ptr<const TemporaryGrant>>& grants, Pred pred) {
  for (const auto& g : grants) {
    if (pred(*g)) {
      g->CountUse();
      return &g->grant();
    }
  }
  return nullptr;
}
}  // namespace

const GrantInfo* TemporaryGrants::Tool(std::string_view agent, std::string_view tool) const {
  return First(grants_, [&](const TemporaryGrant& g) { return g.AllowsTool(agent, tool); });
}
const GrantInfo* TemporaryGrants::Path(std::string_view agent, const PathEffect& path, std::string_view cwd) const {
  return First(grants_, [&](const TemporaryGrant& g) { return g.AllowsPath(agent, path, cwd); });
}
const GrantInfo* TemporaryGrants::Host(std::string_view agent, const HostEffect& host) const {
  return First(grants_, [&](const TemporaryGrant& g) { return g.AllowsHost(agent, host); });
}
const GrantInfo* TemporaryGrants::Exec(std::string_view agent, const ExecEffect& exec) const {
  return First(grants_, [&](const TemporaryGrant& g) { return g.AllowsExec(agent, exec); });
}

}  // namespace toolgate
