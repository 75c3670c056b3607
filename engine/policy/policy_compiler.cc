#include "policy/policy_compiler.h"

#include <set>

#include "lua/rule_set.h"
#include "policy/rule_compiler.h"
#include "util/sha256.h"

namespace toolgate {

namespace {

void AddError(PolicyAnalysis* a, ErrorCode code, std::string json_path, std::string message) {
  PolicyDiagnostic d;
  d.code = code;
  d.file = a->raw ? a->raw->source : std::string();
  d.json_path = std::move(json_path);
  d.message = std::move(message);
  a->diagnostics.push_back(std::move(d));
}

// A reference names a declared profile; phase views ("dev@writing") are not
// names a policy may use: name the profile and set the phase.
bool HasProfile(const RawPolicy& raw, const std::string& name) {
  return !IsPhaseView(name) && raw.profiles.count(name) != 0;
}

void CheckReferences(PolicyAnalysis* a) {
  const RawPolicy& raw = *a->raw;
  if (raw.default_profile && !HasProfile(raw, raw.default_profile->name)) {
    AddError(a, ErrorCode::kPolicyReference, raw.default_profile->json_path,
             "default_profile names '" + raw.default_profile->name + "', which is not in /profiles");
  }
  for (const RawAgent& agent : raw.agents) {
    if (!HasProfile(raw, agent.profile.name)) {
      AddError(a, ErrorCode::kPolicyReference, agent.profile.json_path,
               "agent '" + agent.id + "' names profile '" + agent.profile.name + "', which is not in /profiles");
    }
  }
  for (const auto& [name, profile] : raw.profiles) {
    if (IsPhaseView(name)) continue;  // synthesized: its references are right by construction
    for (const RawReference& parent : profile.extends) {
      if (!HasProfile(raw, parent.name)) {
        AddError(a, ErrorCode::kPolicyReference, parent.json_path,
                 "profile '" + name + "' extends '" + parent.name + "', which is not in /profiles");
      }
    }
  }
}

// Depth-first search over extends edges in name order; each back edge is one
// cycle, reported at the extends entry that closes it.
class CycleFinder {
 public:
  CycleFinder(PolicyAnalysis* a) : a_(a), raw_(*a->raw) {}

  std::set<std::string> Run() {
    for (const auto& [name, profile] : raw_.profiles) {
      if (color_[name] == 0) Visit(name);
    }
    return cyclic_;
  }

 private:
  void Visit(const std::string& name) {
    color_[name] = 1;
    stack_.push_back(name);
    for (const RawReference& parent : raw_.profiles.at(name).extends) {
      if (!HasProfile(raw_, parent.name)) continue;
      const int c = color_[parent.name];
      if (c == 1) {
        std::string chain;
        bool in_cycle = false;
        for (const std::string& s : stack_) {
          in_cycle = in_cycle || s == parent.name;
          if (!in_cycle) continue;
          cyclic_.insert(s);
          chain += s + " -> ";
        }
        chain += parent.name;
        AddError(a_, ErrorCode::kPolicyCycle, parent.json_path, "profile inheritance loops: " + chain);
      } else if (c == 0) {
        Visit(parent.name);
      }
    }
    stack_.pop_back();
    color_[name] = 2;
  }

  PolicyAnalysis* a_;
  const RawPolicy& raw_;
  std::map<std::string, int> color_;
  std::vector<std::string> stack_;
  std::set<std::string> cyclic_;
};

// Every phase a profile knows: its own and, through extends, its ancestors'.
std::set<std::string> PhaseClosure(const RawPolicy& raw, const std::string& name, int depth) {
  std::set<std::string> out;
  const auto it = raw.profiles.find(name);
  if (it == raw.profiles.end() || depth > 64) return out;  // deeper: a cycle, reported by CycleFinder
  for (const RawProfile& phase : it->second.phases) out.insert(phase.name);
  for (const RawReference& parent : it->second.extends) {
    for (const std::string& p : PhaseClosure(raw, parent.name, depth + 1)) out.insert(p);
  }
  return out;
}

// Turns every (profile, phase) into a view profile "profile@phase" that the
// rest of the pipeline compiles like any other:
//   extends = [profile] + [parent@phase for each direct parent knowing phase]
//   own     = the profile's own body for that phase (may be empty)
// so a view holds the profile's grants plus every phase grant declared for
// that phase along the chain. The Flattener takes settings (default,
// unknown_effects) from a parent view only when a phase body set them, and
// the sandbox only from the profile itself.
void SynthesizePhaseViews(PolicyAnalysis* a) {
  RawPolicy& raw = *a->raw;
  std::map<std::string, std::set<std::string>> closures;
  for (const auto& [name, profile] : raw.profiles) closures[name] = PhaseClosure(raw, name, 0);
  std::vector<RawProfile> views;
  for (auto& [name, profile] : raw.profiles) {
    for (const std::string& phase : closures[name]) {
      RawProfile view;
      for (RawProfile& body : profile.phases) {
        if (body.name == phase) view = std::move(body);
      }
      view.name = PhaseViewName(name, phase);
      if (view.json_path.empty()) view.json_path = profile.json_path + "/phases/" + JsonPointerToken(phase);
      view.extends.push_back(RawReference{name, profile.json_path});
      for (const RawReference& parent : profile.extends) {
        const auto c = closures.find(parent.name);
        if (c != closures.end() && c->second.count(phase)) {
          view.extends.push_back(RawReference{PhaseViewName(parent.name, phase), parent.json_path});
        }
      }
      views.push_back(std::move(view));
    }
    profile.phases.clear();  // moved into the views
  }
  for (RawProfile& view : views) raw.profiles.emplace(view.name, std::move(view));
}

// A credential's "phases" must name phases its profile knows.
void CheckCredentialPhases(PolicyAnalysis* a) {
  const RawPolicy& raw = *a->raw;
  for (const auto& [name, profile] : raw.profiles) {
    if (IsPhaseView(name) || !profile.sandbox || !profile.sandbox->credentials) continue;
    for (const auto& [cred, c] : *profile.sandbox->credentials) {
      for (std::size_t i = 0; i < c.phases.size(); ++i) {
        // After SynthesizePhaseViews a phase the profile knows is a view.
        if (raw.profiles.count(PhaseViewName(name, c.phases[i]))) continue;
        AddError(a, ErrorCode::kPolicyReference,
                 profile.sandbox->json_path + "/credentials/" + JsonPointerToken(cred) + "/phases/" + std::to_string(i),
                 "credential " + cred + " names phase '" + c.phases[i] + "', which profile '" + name +
                     "' does not declare (in /profiles/" + name + "/phases or a profile it extends)");
      }
    }
  }
}

// Parses one declared pattern; reports kPolicyPattern at its pointer on failure.
void ParseGrant(PolicyAnalysis* a, ParsedGrant* g) {
  const RawPolicy& raw = *a->raw;
  const GrantListInfo& info = InfoFor(g->list);
  const std::string category = info.category;
  std::optional<Error> error;
  // The regex is checked with RE2 only for a pattern its set compiles: the
  // forms the sets answer from tables always translate to a valid regex, and
  // parsing each of those with RE2 was most of the policy's load time.
  std::string re2_error;
  const auto take = [&](auto&& parsed) {
    if (!parsed.ok()) {
      error = parsed.error();
      return;
    }
    re2_error = RegexErrorOf(*parsed);
    g->pattern = std::move(*parsed);
  };
  if (category == "tools") {
    take(ParseToolPattern(g->raw->text));
  } else if (category == "fs") {
    take(ParsePathScope(g->raw->text, raw.settings.home));
  } else if (category == "network") {
    take(ParseHostPattern(g->raw->text));
  } else {
    take(ParseArgvPattern(g->raw->text, raw.settings.home, raw.settings.trusted_bin_dirs));
  }
  if (!re2_error.empty()) error = Error{ErrorCode::kPolicyPattern, "pattern does not compile: " + re2_error, ""};
  if (error) {
    AddError(a, ErrorCode::kPolicyPattern, g->raw->json_path,
             std::string(category) + " pattern '" + g->raw->text + "': " + error->message);
    g->pattern = std::monostate{};
    return;
  }
  g->ok = true;
  g->info = GrantInfo{g->profile + "." + category + "." + info.name + "[" + std::to_string(g->raw->index) + "]",
                      g->profile, raw.source, g->raw->json_path, g->raw->text, info.verdict};
}

// Copies every key `from` sets over `into` (a child's keys override its parents').
void MergeSandbox(const RawSandbox& from, RawSandbox* into) {
  const auto take = [](const auto& src, auto* dst) {
    if (src) *dst = src;
  };
  take(from.tier, &into->tier);
  take(from.shell_sandboxed, &into->shell_sandboxed);
  take(from.network, &into->network);
  take(from.timeout_s, &into->timeout_s);
  take(from.cpu_s, &into->cpu_s);
  take(from.memory_mb, &into->memory_mb);
  take(from.processes, &into->processes);
  take(from.file_size_mb, &into->file_size_mb);
  take(from.open_files, &into->open_files);
  take(from.env, &into->env);
  take(from.credentials, &into->credentials);
}

SandboxProfile CompileSandbox(const FlatProfile& flat) {
  SandboxProfile sp;
  const RawSandbox& raw = flat.sandbox;
  if (raw.tier) sp.tier = *raw.tier;
  if (raw.shell_sandboxed) sp.shell_sandboxed = *raw.shell_sandboxed;
  if (raw.network) sp.network = *raw.network;
  if (raw.timeout_s) sp.timeout_s = *raw.timeout_s;
  if (raw.cpu_s) sp.limits.cpu_s = *raw.cpu_s;
  if (raw.memory_mb) sp.limits.memory_mb = *raw.memory_mb;
  if (raw.processes) sp.limits.processes = *raw.processes;
  if (raw.file_size_mb) sp.limits.file_size_mb = *raw.file_size_mb;
  if (raw.open_files) sp.limits.open_files = *raw.open_files;
  if (raw.env) sp.env = *raw.env;
  if (raw.credentials) sp.credentials = *raw.credentials;
  for (const ParsedGrant* g : flat.grants) {
    const auto* scope = std::get_if<PathScope>(&g->pattern);
    if (scope == nullptr) continue;
    if (g->list == GrantList::kFsRead) sp.fs_read.push_back(scope->canonical);
    else if (g->list == GrantList::kFsWrite) sp.fs_write.push_back(scope->canonical);
    else if (g->list == GrantList::kFsDeny) sp.fs_deny.push_back(scope->canonical);
  }
  return sp;
}

class Flattener {
 public:
  Flattener(PolicyAnalysis* a, const std::set<std::string>& cyclic,
            const std::map<std::string, std::vector<const ParsedGrant*>>& own)
      : a_(a), cyclic_(cyclic), own_(own) {}

  void Run() {
    for (const auto& [name, profile] : a_->raw->profiles) Flatten(name);
  }

 private:
  // True when the profile and its whole chain are valid (then a_->flat has it).
  bool Flatten(const std::string& name) {
    int& state = state_[name];
    if (state == 2) return true;
    if (state != 0) return false;  // broken, or in progress (a cycle, already reported)
    if (cyclic_.count(name) || !a_->raw->profiles.count(name)) {
      state = 3;
      return false;
    }
    state = 1;
    const RawProfile& raw = a_->raw->profiles.at(name);
    FlatProfile flat;
    flat.name = name;
    std::set<const ParsedGrant*> seen;  // a diamond brings an ancestor's grants in once
    bool ok = true;
    const bool view = IsPhaseView(name);
    for (const RawReference& parent : raw.extends) {
      if (!Flatten(parent.name)) {
        ok = false;
        continue;
      }
      const FlatProfile& p = a_->flat.at(parent.name);
      for (const ParsedGrant* g : p.grants) {
        if (seen.insert(g).second) flat.grants.push_back(g);
      }
      // A view's parent views bring their phase grants; their settings count
      // only where a phase body set them, so an ancestor's base default never
      // overrides the profile's own.
      const bool parent_view = view && IsPhaseView(parent.name);
      // Parents merge in order: a later parent's setting overrides an earlier one's.
      if (p.default_setting && (!parent_view || IsPhaseView(p.default_setting->first))) {
        flat.default_setting = p.default_setting;
      }
      if (p.unknown_effects && (!parent_view || IsPhaseView(p.unknown_effects->first))) {
        flat.unknown_effects = p.unknown_effects;
      }
      if (!parent_view) MergeSandbox(p.sandbox, &flat.sandbox);
      if (p.ask_fallback) flat.ask_fallback = p.ask_fallback;
    }
    if (const auto it = own_.find(name); it != own_.end()) {
      for (const ParsedGrant* g : it->second) {
        if (seen.insert(g).second) flat.grants.push_back(g);
      }
    }
    if (raw.default_verdict) flat.default_setting = std::make_pair(name, *raw.default_verdict);
    if (raw.unknown_effects) flat.unknown_effects = std::make_pair(name, *raw.unknown_effects);
    if (raw.ask_fallback) flat.ask_fallback = raw.ask_fallback->verdict;
    if (raw.sandbox) MergeSandbox(*raw.sandbox, &flat.sandbox);
    flat.default_verdict = flat.default_setting ? flat.default_setting->second.verdict : Verdict::kDeny;
    state_[name] = ok ? 2 : 3;
    if (ok) a_->flat.emplace(name, std::move(flat));
    return ok;
  }

  PolicyAnalysis* a_;
  const std::set<std::string>& cyclic_;
  const std::map<std::string, std::vector<const ParsedGrant*>>& own_;
  std::map<std::string, int> state_;
};

}  // namespace

bool PolicyAnalysis::has_errors() const {
  for (const PolicyDiagnostic& d : diagnostics) {
    if (d.severity == PolicyDiagnostic::Severity::kError) return true;
  }
  return false;
}

PolicyAnalysis PolicyCompiler::Analyze(std::string_view text, const std::string& source,
                                       const PolicyLoadOptions& options) {
  PolicyAnalysis a;
  a.raw = ReadPolicy(text, source, &a.diagnostics);
  if (!a.raw) return a;
  RawPolicy& raw = *a.raw;
  if (!options.home.empty()) {
    std::string home;
    if (NormalizeAbsolutePath(options.home, &home)) {
      raw.settings.home = home;
    } else {
      AddError(&a, ErrorCode::kPolicySchema, "", "PolicyLoadOptions.home must be an absolute path");
    }
  }
  if (raw.profiles.size() > kMaxProfiles) {
    AddError(&a, ErrorCode::kPolicySchema, "/profiles",
             "more than " + std::to_string(kMaxProfiles) + " profiles; split the policy");
    return a;
  }
  SynthesizePhaseViews(&a);
  if (raw.profiles.size() > kMaxProfiles * 8) {
    AddError(&a, ErrorCode::kPolicySchema, "/profiles",
             "more than " + std::to_string(kMaxProfiles * 8) + " profile phases; split the policy");
    return a;
  }
  std::size_t pattern_count = 0;
  for (const auto& [name, profile] : raw.profiles) {
    for (const auto& list : profile.lists) pattern_count += list.size();
  }
  if (pattern_count > kMaxPatterns) {
    AddError(&a, ErrorCode::kPolicySchema, "/profiles",
             "more than " + std::to_string(kMaxPatterns) + " patterns; split the policy");
    return a;
  }

  CheckReferences(&a);
  CheckCredentialPhases(&a);
  const std::set<std::string> cyclic = CycleFinder(&a).Run();

  std::map<std::string, std::vector<const ParsedGrant*>> own;
  for (const auto& [name, profile] : raw.profiles) {
    for (int l = 0; l < kGrantListCount; ++l) {
      for (const RawPattern& pattern : profile.lists[static_cast<std::size_t>(l)]) {
        ParsedGrant& g = a.grants.emplace_back();
        g.profile = name;
        g.list = static_cast<GrantList>(l);
        g.raw = &pattern;
        ParseGrant(&a, &g);
        own[name].push_back(&g);
      }
    }
  }
  Flattener(&a, cyclic, own).Run();

  if (!a.has_errors() && !raw.rule_packs.empty()) {
    std::vector<std::string> valid;
    for (const auto& [name, flat] : a.flat) valid.push_back(name);
    RuleCompileResult rules = CompileRules(raw, valid, &a.diagnostics);
    a.rules = std::move(rules.rules);
    a.pack_digests = std::move(rules.pack_digests);
  } else if (!a.has_errors()) {
    for (const auto& [name, profile] : raw.profiles) {
      for (const RawRuleUse& use : profile.rules) {
        AddError(&a, ErrorCode::kPolicyReference, use.json_path,
                 "rule pack '" + use.pack + "' is not declared in /rule_packs");
      }
    }
  }

  if (!a.has_errors()) {
    std::vector<PolicyDiagnostic> build_errors;
    a.policy = Build(a, text, &build_errors);
    for (PolicyDiagnostic& d : build_errors) a.diagnostics.push_back(std::move(d));
  }
  return a;
}

std::shared_ptr<const Policy> PolicyCompiler::Build(const PolicyAnalysis& a, std::string_view text,
                                                    std::vector<PolicyDiagnostic>* diagnostics) {
  const RawPolicy& raw = *a.raw;
  std::shared_ptr<Policy> policy(new Policy());
  policy->source_ = raw.source;
  if (a.pack_digests.empty()) {
    policy->digest_ = "sha256:" + Sha256Hex(text);
  } else {
    // The packs' code is part of what decides: the digest covers it too.
    std::string material(text);
    for (const auto& [name, sha] : a.pack_digests) material += "\n#rule_pack " + name + " sha256:" + sha;
    policy->digest_ = "sha256:" + Sha256Hex(material);
  }
  policy->rules_ = a.rules;
  policy->settings_ = raw.settings;
  for (const RawAgent& agent : raw.agents) policy->agent_profiles_[agent.id].name = agent.profile.name;
  if (raw.default_profile) policy->default_profile_.name = raw.default_profile->name;
  if (raw.ask_fallback) policy->ask_fallback_ = raw.ask_fallback->verdict;

  bool ok = true;
  for (const auto& [name, flat] : a.flat) {
    auto profile = std::make_unique<CompiledProfileImpl>(name, raw.settings.trusted_bin_dirs);
    profile->SetDefault(flat.default_verdict);
    if (flat.unknown_effects) {
      const auto& [declared_by, value] = *flat.unknown_effects;
      profile->SetUnknownEffects(GrantInfo{declared_by + ".unknown_effects", declared_by, raw.source, value.json_path,
                                           value.text, value.verdict});
    } else {
      profile->SetUnknownEffects(GrantInfo{name + ".unknown_effects", name, raw.source, "/profiles/" + name, "",
                                           Verdict::kDeny});
    }
    for (const ParsedGrant* g : flat.grants) {
      if (const auto* tool = std::get_if<ToolPattern>(&g->pattern)) {
        profile->AddTool(g->info, *tool);
      } else if (const auto* scope = std::get_if<PathScope>(&g->pattern)) {
        profile->AddPath(g->info, g->list, *scope);
      } else if (const auto* host = std::get_if<HostPattern>(&g->pattern)) {
        profile->AddHost(g->info, *host);
      } else if (const auto* argv = std::get_if<ArgvPattern>(&g->pattern)) {
        profile->AddExec(g->info, *argv);
      }
    }
    std::string error;
    if (!profile->Finish(&error)) {
      PolicyDiagnostic d;
      d.code = ErrorCode::kPolicyPattern;
      d.file = raw.source;
      d.json_path = "/profiles/" + JsonPointerToken(name);
      d.message = error;
      diagnostics->push_back(std::move(d));
      ok = false;
      continue;
    }
    policy->profiles_.emplace(name, std::move(profile));
    policy->sandboxes_.emplace(name, CompileSandbox(flat));
    if (IsPhaseView(name)) {
      const std::string_view base = PhaseViewBase(name);
      policy->phases_[std::string(base)].push_back(name.substr(base.size() + 1));
    }
    if (flat.ask_fallback) policy->profile_ask_fallback_.emplace(name, *flat.ask_fallback);
  }
  if (!ok) return nullptr;
  // profiles_ is complete: each agent's profile is found here once, not per decision.
  auto bind = [&](Policy::AgentProfile& entry) {
    entry.compiled = entry.name.empty() ? nullptr : policy->ProfileNamed(entry.name);
  };
  for (auto& [id, entry] : policy->agent_profiles_) bind(entry);
  bind(policy->default_profile_);
  return policy;
}

}  // namespace toolgate
