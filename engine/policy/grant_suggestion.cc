#include "policy/grant_suggestion.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

namespace toolgate {
namespace {

using nlohmann::json;

// Characters with a meaning in tool globs, argv patterns or host patterns: a
// target holding one is not written into a pattern by a heuristic.
bool PlainName(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == '\\' || c == '"' ||
        c == '\'' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return false;
    }
  }
  return true;
}

// A path written into a glob: the same characters would be pattern syntax.
bool PlainPath(std::string_view s) { return !s.empty() && s[0] == '/' && PlainName(s); }

std::string ProgramPattern(const ExecEffect& x, const PolicySettings& settings) {
  if (x.program.find('/') == std::string::npos) return x.program;
  const std::string path = x.resolved.empty() ? x.program : x.resolved;
  const std::filesystem::path p(path);
  const std::string dir = p.parent_path().string();
  // A bare name already covers the trusted bin dirs, and reads better.
  if (std::find(settings.trusted_bin_dirs.begin(), settings.trusted_bin_dirs.end(), dir) !=
      settings.trusted_bin_dirs.end()) {
    return p.filename().string();
  }
  return path;
}

std::string Describe(const Finding& f) {
  return std::string(VerdictName(f.verdict)) + " " + SubjectName(f.subject) + " " + f.target;
}

// Depth of an absolute directory: "/" 0, "/srv" 1, "/srv/app" 2.
int Depth(std::string_view dir) {
  int n = 0;
  for (std::size_t i = 0; i < dir.size(); ++i) {
    if (dir[i] == '/' && i + 1 < dir.size()) ++n;
  }
  return n;
}

bool IsAncestorOrSelf(std::string_view dir, std::string_view path) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

std::string Parent(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

// A directory a glob may be written for: deep enough, and not the home
// directory or above it (that would grant ~/.ssh along with the rest).
bool MayGeneralise(const std::string& dir, const SuggestOptions& o) {
  if (Depth(dir) < 2) return false;
  if (!o.home.empty() && IsAncestorOrSelf(dir, o.home)) return false;
  return PlainPath(dir);
}

struct PathGroup {
  std::string pattern;
  std::vector<std::string> covers;
  bool generalised = false;
};

// Groups the distinct paths of one profile and access into directory globs
// where that is allowed, exact paths otherwise.
std::vector<PathGroup> GroupPaths(const std::set<std::string>& paths, const SuggestOptions& o) {
  std::vector<PathGroup> out;
  std::set<std::string> left(paths.begin(), paths.end());
  if (o.generalise) {
    for (const std::string& p : paths) {
      if (left.count(p) == 0) continue;
      std::string dir = Parent(p);
      for (int up = 0; up < o.max_levels_up && dir != "/"; ++up, dir = Parent(dir)) {
        if (!MayGeneralise(dir, o)) break;  // every ancestor is shallower, or home or above it
        std::vector<std::string> under;
        for (const std::string& q : left) {
          if (IsAncestorOrSelf(dir, q) && q != dir) under.push_back(q);
        }
        if (under.size() < o.min_group) continue;
        const bool children_only =
            std::all_of(under.begin(), under.end(), [&](const std::string& q) { return Parent(q) == dir; });
        PathGroup g;
        g.pattern = dir + (children_only ? "/*" : "/**");
        g.covers = under;
        g.generalised = true;
        for (const std::string& q : under) left.erase(q);
        out.push_back(std::move(g));
        break;
      }
    }
  }
  for (const std::string& p : left) out.push_back(PathGroup{p, {p}, false});
  return out;
}

// Does a suggested path pattern grant this exact path?
bool PatternCovers(const PathGroup& g, const std::string& path) {
  return std::find(g.covers.begin(), g.covers.end(), path) != g.covers.end();
}

}  // namespace

void CollectMissingGrants(const Decision& d, std::uint64_t call_index, const PolicySettings& settings,
                          std::vector<MissingGrant>* missing, std::vector<NotSuggestible>* not_suggestible) {
  std::size_t exec_i = 0, path_i = 0;
  for (const Finding& f : d.findings) {
    // Keep the walk over the effects in step, whatever the verdict.
    const ExecEffect* exec = nullptr;
    if (f.subject == Subject::kExec && exec_i < d.effects.execs.size()) exec = &d.effects.execs[exec_i++];
    const PathEffect* path = nullptr;
    if ((f.subject == Subject::kPathRead || f.subject == Subject::kPathWrite) && path_i < d.effects.paths.size()) {
      path = &d.effects.paths[path_i++];
    }
    if (f.verdict == Verdict::kAllow) continue;
    const auto refuse = [&](std::string why) {
      not_suggestible->push_back(NotSuggestible{d.profile, Describe(f), std::move(why), call_index});
    };
    if (f.subject == Subject::kUnknown) {
      refuse("an effect that cannot be determined before the call runs; rewrite the call, or set unknown_effects");
      continue;
    }
    if (f.grant != nullptr) {
      refuse(std::string(f.verdict == Verdict::kDeny ? "denied" : "asked") + " by grant " + f.grant->id + " (" +
             f.grant->pattern + "); an allow grant does not override it");
      continue;
    }
    if (f.rule != nullptr) {
      refuse("rule " + f.rule->id + " decided it; grants do not change a rule's verdict");
      continue;
    }
    if (d.profile.empty()) {
      refuse(f.note.empty() ? "no profile applies to the agent" : f.note);
      continue;
    }
    MissingGrant m;
    m.profile = d.profile;
    m.subject = f.subject;
    m.call = call_index;
    switch (f.subject) {
      case Subject::kTool: m.target = f.target; break;
      case Subject::kExec: m.target = exec != nullptr ? ProgramPattern(*exec, settings) : ""; break;
      case Subject::kPathRead:
      case Subject::kPathWrite: m.target = path != nullptr ? path->path : f.target; break;
      case Subject::kHost: m.target = f.target; break;
      default:
        refuse(f.note.empty() ? "not a grantable subject" : f.note);
        continue;
    }
    const bool plain = f.subject == Subject::kPathRead || f.subject == Subject::kPathWrite ? PlainPath(m.target)
                                                                                           : PlainName(m.target);
    if (!plain) {
      refuse("the target has characters that are pattern syntax; write its grant by hand");
      continue;
    }
    missing->push_back(std::move(m));
  }
}

std::vector<SuggestedGrant> SuggestGrants(const std::vector<MissingGrant>& missing, const SuggestOptions& options) {
  // (profile, subject) -> target -> calls that needed it
  std::map<std::pair<std::string, Subject>, std::map<std::string, std::set<std::uint64_t>>> need;
  for (const MissingGrant& m : missing) need[{m.profile, m.subject}][m.target].insert(m.call);

  std::vector<SuggestedGrant> out;
  const auto exact = [&](const std::string& profile, const char* category, const auto& targets) {
    for (const auto& [target, calls] : targets) {
      out.push_back(SuggestedGrant{profile, category, "allow", target, {target}, calls.size(), false});
    }
  };
  std::set<std::string> profiles;
  for (const auto& [key, targets] : need) profiles.insert(key.first);
  for (const std::string& profile : profiles) {
    const auto find = [&](Subject s) -> const std::map<std::string, std::set<std::uint64_t>>* {
      const auto it = need.find({profile, s});
      return it == need.end() ? nullptr : &it->second;
    };
    if (const auto* t = find(Subject::kTool)) exact(profile, "tools", *t);
    if (const auto* t = find(Subject::kExec)) exact(profile, "exec", *t);
    if (const auto* t = find(Subject::kHost)) exact(profile, "network", *t);

    // Writes first: a write grant also allows reading, so reads it covers need nothing more.
    std::vector<PathGroup> write_groups;
    const auto* writes = find(Subject::kPathWrite);
    const auto* reads = find(Subject::kPathRead);
    const auto add_groups = [&](const std::map<std::string, std::set<std::uint64_t>>& targets, const char* list,
                                std::vector<PathGroup>* keep) {
      std::set<std::string> paths;
      for (const auto& [p, calls] : targets) paths.insert(p);
      for (PathGroup& g : GroupPaths(paths, options)) {
        std::set<std::uint64_t> calls;
        for (const std::string& p : g.covers) calls.insert(targets.at(p).begin(), targets.at(p).end());
        out.push_back(SuggestedGrant{profile, "fs", list, g.pattern, g.covers, calls.size(), g.generalised});
        if (keep != nullptr) keep->push_back(std::move(g));
      }
    };
    if (writes != nullptr) add_groups(*writes, "write", &write_groups);
    if (reads != nullptr) {
      std::map<std::string, std::set<std::uint64_t>> uncovered;
      for (const auto& entry : *reads) {
        const std::string& p = entry.first;  // a named reference: clang 14 cannot capture a structured binding
        const bool covered = std::any_of(write_groups.begin(), write_groups.end(),
                                         [&](const PathGroup& g) { return PatternCovers(g, p); });
        if (!covered) uncovered.emplace(p, entry.second);
      }
      add_groups(uncovered, "read", nullptr);
    }
  }
  std::sort(out.begin(), out.end(), [](const SuggestedGrant& a, const SuggestedGrant& b) {
    return std::tie(a.profile, a.category, a.list, a.pattern) < std::tie(b.profile, b.category, b.list, b.pattern);
  });
  return out;
}

json SuggestionFragment(const std::vector<SuggestedGrant>& grants) {
  json profiles = json::object();
  for (const SuggestedGrant& g : grants) profiles[g.profile][g.category][g.list].push_back(g.pattern);
  return json{{"profiles", std::move(profiles)}};
}

Result<std::string> MergeSuggestion(std::string_view policy_text, const json& fragment) {
  json policy = json::parse(policy_text, nullptr, false);
  if (policy.is_discarded() || !policy.is_object() || !policy.contains("profiles") ||
      !policy["profiles"].is_object()) {
    return Error{ErrorCode::kPolicySchema, "the policy is not a JSON object with \"profiles\"", "/profiles"};
  }
  if (!fragment.contains("profiles") || !fragment["profiles"].is_object()) return policy.dump(2) + "\n";
  for (const auto& [name, categories] : fragment["profiles"].items()) {
    if (!policy["profiles"].contains(name) || !policy["profiles"][name].is_object()) {
      return Error{ErrorCode::kPolicyReference, "the policy has no profile '" + name + "'", "/profiles/" + name};
    }
    json& profile = policy["profiles"][name];
    for (const auto& [category, lists] : categories.items()) {
      if (!profile.contains(category)) profile[category] = json::object();
      if (!profile[category].is_object()) {
        return Error{ErrorCode::kPolicySchema, "'" + category + "' is not an object",
                     "/profiles/" + name + "/" + category};
      }
      for (const auto& [list, patterns] : lists.items()) {
        json& target = profile[category][list];
        if (target.is_null()) target = json::array();
        if (!target.is_array()) {
          return Error{ErrorCode::kPolicySchema, "'" + list + "' is not an array",
                       "/profiles/" + name + "/" + category + "/" + list};
        }
        for (const json& p : patterns) {
          if (std::find(target.begin(), target.end(), p) == target.end()) target.push_back(p);
        }
      }
    }
  }
  return policy.dump(2) + "\n";
}

}  // namespace toolgate
