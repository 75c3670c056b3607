// LintPolicyFile: every load error, then warnings. The warning rules, applied
// to each profile after inheritance (profiles in name order, grants in
// evaluation order; a warning about a grant inherited by several profiles is
// reported once, for the first profile in name order):
//
//   matches_everything  an allow-ish grant (tools/network/exec allow or ask;
//                       fs read, write or ask) that matches every subject of
//                       its category: a tool glob of only '*'; a path scope
//                       "/**" (also written "**", "**/**"); the host "*" (any
//                       port); an argv pattern of only "*"/"**" elements with at
//                       most one "*".
//   unreachable_grant   an allow-ish grant that can never decide: (a) the
//                       category has a deny grant that matches everything, or
//                       (b) another allow-ish grant in the category has the
//                       same canonical pattern and is at least as strong —
//                       ask beats allow, fs ask beats write beats read (write
//                       also allows reading) — and among equals the earlier
//                       one wins, so the later duplicate is reported.
//   allow_deny_overlap  an allow-ish grant (not already unreachable by (a))
//                       whose canonical pattern equals a deny pattern of the
//                       category, or which names exactly one subject (no
//                       wildcard) that a deny pattern matches. The deny wins
//                       at evaluation; the grant is at best misleading.
//   unused_profile      a profile that no agent, default_profile or extends
//                       names.
// Canonical patterns: path scopes after anchoring and normalization
// ("~/x//y" == "/home/u/x/y"), host patterns lower-cased without trailing
// dot, tool and argv patterns as written (argv elements re-joined by one
// space).
#include <re2/re2.h>

#include <map>
#include <memory>
#include <set>

#include "grants/regex_set.h"
#include "policy/policy_compiler.h"
#include "policy/policy_file.h"
#include "sandbox/landlock.h"
#include "toolgate/policy.h"

namespace toolgate {

namespace {

enum class Category { kTools, kFs, kNetwork, kExec };

Category CategoryOf(GrantList list) {
  const std::string c = InfoFor(list).category;
  if (c == "tools") return Category::kTools;
  if (c == "fs") return Category::kFs;
  if (c == "network") return Category::kNetwork;
  return Category::kExec;
}

bool IsDeny(const ParsedGrant& g) { return InfoFor(g.list).verdict == Verdict::kDeny; }

// Strength among allow-ish grants with the same pattern.
int Strength(GrantList list) {
  switch (list) {
    case GrantList::kFsRead: return 0;
    case GrantList::kFsWrite: return 1;
    case GrantList::kFsAsk: return 2;
    case GrantList::kToolsAsk:
    case GrantList::kNetworkAsk:
    case GrantList::kExecAsk: return 2;
    default: return 0;
  }
}

std::string Canonical(const ParsedGrant& g) {
  if (const auto* p = std::get_if<ToolPattern>(&g.pattern)) return p->canonical;
  if (const auto* p = std::get_if<PathScope>(&g.pattern)) return p->canonical;
  if (const auto* p = std::get_if<HostPattern>(&g.pattern)) return p->canonical;
  if (const auto* p = std::get_if<ArgvPattern>(&g.pattern)) return p->canonical;
  return {};
}

bool MatchesEverything(const ParsedGrant& g) {
  if (const auto* p = std::get_if<ToolPattern>(&g.pattern)) return p->matches_everything;
  if (const auto* p = std::get_if<PathScope>(&g.pattern)) return p->matches_everything;
  if (const auto* p = std::get_if<HostPattern>(&g.pattern)) return p->kind == HostPattern::Kind::kAny && p->port < 0;
  if (const auto* p = std::get_if<ArgvPattern>(&g.pattern)) return p->matches_everything;
  return false;
}

class Linter {
 public:
  Linter(const PolicyAnalysis& a, std::vector<PolicyDiagnostic>* out) : a_(a), out_(out) {}

  void Run() {
    for (const auto& [name, flat] : a_.flat) Profile(flat);
    for (const auto& [name, flat] : a_.flat) Sandbox(flat);
    UnusedProfiles();
  }

 private:
  void Warn(const char* lint, const std::string& json_path, std::string message) {
    if (!reported_.insert(std::string(lint) + "\n" + json_path).second) return;
    PolicyDiagnostic d;
    d.severity = PolicyDiagnostic::Severity::kWarning;
    d.lint = lint;
    d.file = a_.raw->source;
    d.json_path = json_path;
    d.message = std::move(message);
    out_->push_back(std::move(d));
  }

  void Profile(const FlatProfile& flat) {
    const std::string where = " (in profile '" + flat.name + "')";
    for (std::size_t i = 0; i < flat.grants.size(); ++i) {
      const ParsedGrant& g = *flat.grants[i];
      if (!g.ok || IsDeny(g)) continue;
      const Category category = CategoryOf(g.list);
      const std::string canonical = Canonical(g);
      if (MatchesEverything(g)) {
        Warn("matches_everything", g.info.json_path,
             "'" + g.raw->text + "' grants " + InfoFor(g.list).name + " on every " + InfoFor(g.list).category +
                 " subject" + where);
      }
      const ParsedGrant* everything = nullptr;
      const ParsedGrant* same_deny = nullptr;
      const ParsedGrant* literal_deny = nullptr;
      for (const ParsedGrant* d : flat.grants) {
        if (!d->ok || !IsDeny(*d) || CategoryOf(d->list) != category) continue;
        if (everything == nullptr && MatchesEverything(*d)) everything = d;
        if (same_deny == nullptr && Canonical(*d) == canonical) same_deny = d;
        if (literal_deny == nullptr && DenyMatchesLiteral(*d, g)) literal_deny = d;
      }
      if (everything != nullptr) {
        Warn("unreachable_grant", g.info.json_path,
             "'" + g.raw->text + "' can never apply: deny " + everything->info.id + " ('" + everything->raw->text +
                 "') matches everything" + where);
        continue;
      }
      if (same_deny != nullptr || literal_deny != nullptr) {
        const ParsedGrant* d = same_deny != nullptr ? same_deny : literal_deny;
        Warn("allow_deny_overlap", g.info.json_path,
             "'" + g.raw->text + "' is also denied by " + d->info.id + " ('" + d->raw->text + "'); the deny wins" +
                 where);
        continue;
      }
      for (std::size_t j = 0; j < flat.grants.size(); ++j) {
        const ParsedGrant& h = *flat.grants[j];
        if (j == i || !h.ok || IsDeny(h) || CategoryOf(h.list) != category || Canonical(h) != canonical) continue;
        const int sh = Strength(h.list), sg = Strength(g.list);
        if (sh > sg || (sh == sg && j < i)) {
          Warn("unreachable_grant", g.info.json_path,
               "'" + g.raw->text + "' is shadowed by " + h.info.id + " ('" + h.raw->text + "')" + where);
          break;
        }
      }
    }
  }

  const RE2& Compiled(const ParsedGrant& d, const std::string& regex, bool case_sensitive) {
    auto& slot = regexes_[&d];
    if (!slot) slot = std::make_unique<RE2>(regex, RegexSet::Options(case_sensitive));
    return *slot;
  }

  // True when g names exactly one subject and deny pattern d matches it.
  bool DenyMatchesLiteral(const ParsedGrant& d, const ParsedGrant& g) {
    const RawPolicy& raw = *a_.raw;
    if (const auto* gp = std::get_if<ToolPattern>(&g.pattern)) {
      const auto* dp = std::get_if<ToolPattern>(&d.pattern);
      return gp->literal && dp != nullptr && RE2::FullMatch(UnescapeGlob(gp->canonical), Compiled(d, dp->regex, true));
    }
    if (const auto* gp = std::get_if<PathScope>(&g.pattern)) {
      const auto* dp = std::get_if<PathScope>(&d.pattern);
      if (!gp->literal || dp == nullptr || dp->anchor != gp->anchor) return false;
      std::string subject = gp->canonical;
      if (gp->anchor == PathScope::Anchor::kCwd) subject = subject.substr(6);  // drop "${cwd}"
      return RE2::FullMatch(subject, Compiled(d, dp->regex, true));
    }
    if (const auto* gp = std::get_if<HostPattern>(&g.pattern)) {
      const auto* dp = std::get_if<HostPattern>(&d.pattern);
      if (!gp->literal || dp == nullptr) return false;
      HostPatternSet set;
      set.Add(*dp, 0);
      std::string ignored;
      if (!set.Compile(&ignored)) return false;
      std::vector<int> slots;
      bool well_formed = false;
      return set.Match(gp->literal_host, gp->port < 0 ? 0 : gp->port, &slots, &well_formed) == SetOutcome::kMatch;
    }
    if (const auto* gp = std::get_if<ArgvPattern>(&g.pattern)) {
      const auto* dp = std::get_if<ArgvPattern>(&d.pattern);
      if (!gp->literal || dp == nullptr) return false;
      ExecEffect exec;
      for (const std::string& e : gp->elements) exec.argv.push_back(UnescapeGlob(e));
      exec.program = exec.argv[0];
      if (exec.program.find('/') != std::string::npos) exec.resolved = exec.program;
      std::string encoded;
      EncodeArgv(exec, ExecIdentity(exec, raw.settings.trusted_bin_dirs), &encoded);
      return RE2::FullMatch(encoded, Compiled(d, dp->regex, true));
    }
    return false;
  }

  // What `toolgate run` would make of a profile's grants.
  void Sandbox(const FlatProfile& flat) {
    const RawProfile& own = a_.raw->profiles.at(flat.name);
    const std::string where = own.sandbox ? own.sandbox->json_path : own.json_path;
    if (flat.sandbox.network == SandboxNetwork::kProxy) {
      bool any_host = false;
      for (const ParsedGrant* g : flat.grants) {
        any_host = any_host || g->list == GrantList::kNetworkAllow || g->list == GrantList::kNetworkAsk;
      }
      if (!any_host) {
        Warn("sandbox_proxy_without_hosts", where,
             "profile '" + flat.name + "' sends sandboxed traffic through the egress proxy but grants no host: "
             "every connection will be refused (use \"network\": \"none\" to say so)");
      }
    }
    if (flat.sandbox.shell_sandboxed) {
      for (const ParsedGrant* g : flat.grants) {
        if (g->list != GrantList::kFsRead && g->list != GrantList::kFsWrite) continue;
        const auto* scope = std::get_if<PathScope>(&g->pattern);
        if (scope == nullptr) continue;
        if (sandbox::LandlockPathForScope(scope->canonical, "/cwd").empty()) {
          Warn("sandbox_scope_not_granted", g->raw->json_path,
               "'" + g->raw->text + "' has no literal directory prefix, so the sandbox of profile '" + flat.name +
                   "' cannot grant it (Landlock grants whole directories; it is never widened to /)");
        }
      }
    }
  }

  void UnusedProfiles() {
    const RawPolicy& raw = *a_.raw;
    std::set<std::string> used;
    if (raw.default_profile) used.insert(raw.default_profile->name);
    for (const RawAgent& agent : raw.agents) used.insert(agent.profile.name);
    for (const auto& [name, profile] : raw.profiles) {
      if (IsPhaseView(name)) continue;  // a phase view extends its own profile: that is no use
      for (const RawReference& parent : profile.extends) used.insert(parent.name);
    }
    for (const auto& [name, profile] : raw.profiles) {
      if (IsPhaseView(name)) continue;
      if (!used.count(name)) {
        Warn("unused_profile", profile.json_path,
             "profile '" + name + "' is not used by any agent, default_profile or extends");
      }
    }
  }

  const PolicyAnalysis& a_;
  std::vector<PolicyDiagnostic>* out_;
  std::set<std::string> reported_;
  std::map<const ParsedGrant*, std::unique_ptr<RE2>> regexes_;
};

}  // namespace

std::vector<PolicyDiagnostic> LintPolicyFile(const std::string& path) {
  std::string text;
  PolicyDiagnostic error;
  if (!ReadPolicyFile(path, &text, &error)) return {error};
  PolicyAnalysis analysis = PolicyCompiler::Analyze(text, path, PolicyLoadOptions{});
  std::vector<PolicyDiagnostic> out = std::move(analysis.diagnostics);
  if (analysis.raw) Linter(analysis, &out).Run();
  return out;
}

}  // namespace toolgate
