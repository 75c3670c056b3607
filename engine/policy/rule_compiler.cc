#include "policy/rule_compiler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "lua/rule_set.h"

namespace toolgate {
namespace {

PolicyDiagnostic Diagnostic(ErrorCode code, std::string file, std::string json_path, std::string message) {
  PolicyDiagnostic d;
  d.code = code;
  d.file = std::move(file);
  d.json_path = std::move(json_path);
  d.message = std::move(message);
  return d;
}


bool ReadPackFile(const std::string& path, std::string* text, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::string("cannot open rule pack: ") + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = "rule pack path is not a regular file";
    return false;
  }
  text->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("cannot read rule pack: ") + std::strerror(errno);
      ::close(fd);
      return false;
    }
    text->append(buf, static_cast<std::size_t>(n));
    if (text->size() > kMaxRulePackBytes) {
      ::close(fd);
      *error = "rule pack is larger than 1 MiB";
      return false;
    }
  }
  ::close(fd);
  return true;
}

// The diagnostic carries file, line and rule itself: drop Lua's own
// "x.lua:12: " prefix and a repeated "rule <id>: " from the message.
std::string TrimPackMessage(std::string message, const lua::PackError& e) {
  const std::size_t slash = e.file.rfind('/');
  const std::string prefix =
      (slash == std::string::npos ? e.file : e.file.substr(slash + 1)) + ":" + std::to_string(e.line) + ": ";
  if (e.line > 0 && message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
  const std::string rule = "rule " + e.rule + ": ";
  if (!e.rule.empty() && message.rfind(rule, 0) == 0) message.erase(0, rule.size());
  return message;
}

const char* JsonKind(const nlohmann::json& v) {
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "boolean";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

// Profile -> its merged rule uses (parents first, a child's entry replaces the
// parent's for the same pack, `false` removes it).
class RuleMerger {
 public:
  explicit RuleMerger(const RawPolicy& raw) : raw_(raw) {}

  // A phase view ("dev@writing"): the profile's merged uses, then the phase
  // bodies' uses along the chain (parents' first), so a phase can enable,
  // re-parameterise or (with false) disable a pack for that phase only.
  std::vector<const RawRuleUse*> For(const std::string& name, int depth = 0) {
    std::vector<const RawRuleUse*> out;
    const auto it = raw_.profiles.find(name);
    if (it == raw_.profiles.end() || depth > 64) return out;
    if (IsPhaseView(name)) {
      out = For(std::string(PhaseViewBase(name)), depth + 1);
      for (const RawRuleUse* use : PhaseUses(name, depth + 1)) Upsert(&out, use);
    } else {
      for (const RawReference& parent : it->second.extends) {
        for (const RawRuleUse* use : For(parent.name, depth + 1)) Upsert(&out, use);
      }
      for (const RawRuleUse& use : it->second.rules) Upsert(&out, &use);
    }
    std::erase_if(out, [](const RawRuleUse* use) { return !use->enabled; });
    return out;
  }

 private:
  static void Upsert(std::vector<const RawRuleUse*>* out, const RawRuleUse* use) {
    for (auto& existing : *out) {
      if (existing->pack == use->pack) {
        existing = use;
        return;
      }
    }
    out->push_back(use);
  }

  // The uses phase bodies declare for a view, parents' views first (disabled
  // ones kept: they remove the pack from the profile's list).
  std::vector<const RawRuleUse*> PhaseUses(const std::string& view, int depth) {
    std::vector<const RawRuleUse*> out;
    const auto it = raw_.profiles.find(view);
    if (it == raw_.profiles.end() || depth > 64) return out;
    for (const RawReference& parent : it->second.extends) {
      if (!IsPhaseView(parent.name)) continue;
      for (const RawRuleUse* use : PhaseUses(parent.name, depth + 1)) Upsert(&out, use);
    }
    for (const RawRuleUse& use : it->second.rules) Upsert(&out, &use);
    return out;
  }

  const RawPolicy& raw_;
};

}  // namespace

std::string ResolvePackPath(const std::string& policy_source, const std::string& path) {
  if (!path.empty() && path[0] == '/') return std::filesystem::path(path).lexically_normal().string();
  const std::size_t slash = policy_source.rfind('/');
  if (slash == std::string::npos) return std::filesystem::path(path).lexically_normal().string();
  return std::filesystem::path(policy_source.substr(0, slash + 1) + path).lexically_normal().string();
}

RuleCompileResult CompileRules(const RawPolicy& raw, const std::vector<std::string>& profiles,
                               std::vector<PolicyDiagnostic>* diagnostics) {
  RuleCompileResult result;
  const std::size_t errors_before = diagnostics->size();
  RuleMerger merger(raw);
  std::map<std::string, std::vector<const RawRuleUse*>> uses;
  std::set<std::string> used_packs;
  for (const std::string& profile : profiles) {
    auto merged = merger.For(profile);
    for (const RawRuleUse* use : merged) used_packs.insert(use->pack);
    if (!merged.empty()) uses.emplace(profile, std::move(merged));
  }
  // Every "rules" entry anywhere must name a declared pack, even if disabled.
  for (const auto& [name, profile] : raw.profiles) {
    for (const RawRuleUse& use : profile.rules) {
      if (!raw.rule_packs.count(use.pack)) {
        diagnostics->push_back(Diagnostic(ErrorCode::kPolicyReference, raw.source, use.json_path,
                                          "rule pack '" + use.pack + "' is not declared in /rule_packs"));
      }
    }
  }
  if (diagnostics->size() != errors_before) return result;

  // Load every declared pack (a pack no profile uses is still checked: a
  // broken file should not wait until someone enables it).
  lua::RuleSetSpec spec;
  spec.home = raw.settings.home;
  for (const std::string& profile : profiles) {
    if (IsPhaseView(profile)) {
      spec.phases[std::string(PhaseViewBase(profile))].push_back(profile.substr(PhaseViewBase(profile).size() + 1));
    }
  }
  std::map<std::string, std::size_t> pack_index;
  for (const auto& [name, declared] : raw.rule_packs) {
    const std::string file = ResolvePackPath(raw.source, declared.path);
    std::string source, error;
    if (!ReadPackFile(file, &source, &error)) {
      diagnostics->push_back(Diagnostic(ErrorCode::kPolicyRule, raw.source, declared.json_path + "/path",
                                        error + " (" + file + ")"));
      continue;
    }
    lua::PackDefinition def;
    lua::PackError pack_error;
    if (!lua::CompilePack(name, file, std::move(source), &def, &pack_error)) {
      PolicyDiagnostic d = Diagnostic(ErrorCode::kPolicyRule, pack_error.file.empty() ? file : pack_error.file, "",
                                      TrimPackMessage(pack_error.message, pack_error));
      d.line = pack_error.line;
      d.rule = pack_error.rule;
      diagnostics->push_back(std::move(d));
      continue;
    }
    result.pack_digests.emplace_back(name, def.sha256);
    pack_index.emplace(name, spec.packs.size());
    spec.packs.push_back(std::move(def));
  }
  if (diagnostics->size() != errors_before) return result;

  for (const auto& [profile, list] : uses) {
    std::vector<lua::EnabledPack>& enabled_list = spec.profiles[profile];
    for (const RawRuleUse* use : list) {
      const std::size_t index = pack_index.at(use->pack);
      const lua::PackDefinition& pack = spec.packs[index];
      const RawRulePack& declared = raw.rule_packs.at(use->pack);
      lua::EnabledPack enabled;
      enabled.pack = index;
      enabled.json_path = use->json_path;
      enabled.params = pack.params;
      for (const auto& [key, value] : use->params.items()) {
        const std::string ptr = use->json_path + "/params/" + JsonPointerToken(key);
        const auto def = pack.params.find(key);
        if (def == pack.params.end()) {
          std::string known;
          for (const auto& [k, v] : pack.params.items()) known += (known.empty() ? "" : ", ") + k;
          diagnostics->push_back(Diagnostic(ErrorCode::kPolicyRule, raw.source, ptr,
                                            "pack '" + use->pack + "' has no parameter '" + key + "'" +
                                                (known.empty() ? "" : "; it takes: " + known)));
          continue;
        }
        // An empty list default accepts a list; otherwise the JSON kinds must agree.
        // A Lua default of {} is an empty object in JSON; it accepts a list too.
        const bool empty_table_default = def->is_object() && def->empty() && value.is_array();
        if (std::string(JsonKind(*def)) != JsonKind(value) && !empty_table_default) {
          diagnostics->push_back(Diagnostic(ErrorCode::kPolicyRule, raw.source, ptr,
                                            "parameter '" + key + "' of pack '" + use->pack + "' expects a " +
                                                JsonKind(*def) + ", found a " + JsonKind(value)));
          continue;
        }
        enabled.params[key] = value;
      }
      const bool needs_http =
          std::find(pack.capabilities.begin(), pack.capabilities.end(), "http") != pack.capabilities.end();
      if (needs_http && !use->http) {
        diagnostics->push_back(Diagnostic(
            ErrorCode::kPolicyRule, raw.source, use->json_path,
            "pack '" + use->pack + "' needs the 'http' capability; grant it with \"capabilities\": {\"http\": {...}}"));
        continue;
      }
      if (!needs_http && use->http) {
        diagnostics->push_back(Diagnostic(ErrorCode::kPolicyRule, raw.source, use->http->json_path,
                                          "pack '" + use->pack + "' does not use http; do not grant it"));
        continue;
      }
      bool time_set = false;
      if (declared.instructions) enabled.budget.instructions = static_cast<std::uint64_t>(*declared.instructions);
      if (declared.memory_kb) enabled.budget.memory_bytes = static_cast<std::size_t>(*declared.memory_kb) * 1024;
      if (declared.time_ms) {
        enabled.budget.wall_time = std::chrono::milliseconds(*declared.time_ms);
        time_set = true;
      }
      if (use->http) {
        lua::HttpGrant grant;
        if (use->http->timeout_ms) grant.timeout = std::chrono::milliseconds(*use->http->timeout_ms);
        if (use->http->max_redirects) grant.max_redirects = static_cast<int>(*use->http->max_redirects);
        if (use->http->cache_ttl_s) grant.cache_ttl = std::chrono::seconds(*use->http->cache_ttl_s);
        if (use->http->allow_private_addresses) grant.allow_private_addresses = *use->http->allow_private_addresses;
        enabled.http = grant;
        // Probes need time: by default a rule may wait for a handful of them.
        if (!time_set) enabled.budget.wall_time = std::max(enabled.budget.wall_time, grant.timeout * 4);
      }
      enabled_list.push_back(std::move(enabled));
    }
  }
  if (diagnostics->size() != errors_before || spec.profiles.empty()) return result;

  lua::PackError error;
  std::unique_ptr<lua::RuleSet> set = lua::RuleSet::Build(std::move(spec), &error);
  if (!set) {
    PolicyDiagnostic d = Diagnostic(ErrorCode::kPolicyRule, error.file.empty() ? raw.source : error.file, "",
                                    error.message);
    d.line = error.line;
    d.rule = error.rule;
    diagnostics->push_back(std::move(d));
    return result;
  }
  result.rules = std::move(set);
  return result;
}

}  // namespace toolgate
