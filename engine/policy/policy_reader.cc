// Reader + schema validation: policy text -> RawPolicy. The JSON is checked
// before parsing (size, UTF-8, nesting) so hostile text gets a located error
// rather than a deep recursion, then parsed with duplicate-key detection, then
// walked key by key. Unknown keys are errors: a typo in a security policy must
// never be silently ignored.
#include <initializer_list>
#include <set>

#include <nlohmann/json.hpp>

#include "grants/path_scope.h"
#include "policy/raw_policy.h"
#include "util/utf8.h"

namespace toolgate {

std::string JsonPointerToken(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (const char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

namespace {

using json = nlohmann::json;

std::string LineColumn(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

class Reporter {
 public:
  Reporter(const std::string& source, std::vector<PolicyDiagnostic>* out) : source_(source), out_(out) {}
  void Error(ErrorCode code, std::string json_path, std::string message) {
    PolicyDiagnostic d;
    d.severity = PolicyDiagnostic::Severity::kError;
    d.code = code;
    d.file = source_;
    d.json_path = std::move(json_path);
    d.message = std::move(message);
    out_->push_back(std::move(d));
  }
  void Schema(std::string json_path, std::string message) {
    Error(ErrorCode::kPolicySchema, std::move(json_path), std::move(message));
  }

 private:
  const std::string& source_;
  std::vector<PolicyDiagnostic>* out_;
};

// Checks that text can be handed to the parser safely.
bool PreScan(std::string_view text, Reporter* r) {
  if (text.size() > kMaxPolicyBytes) {
    r->Schema("", "policy is " + std::to_string(text.size()) + " bytes; the limit is " +
                      std::to_string(kMaxPolicyBytes));
    return false;
  }
  const std::size_t bad = FindInvalidUtf8(text);
  if (bad != std::string_view::npos) {
    r->Schema("", LineColumn(text, bad) + ": invalid UTF-8 (byte offset " + std::to_string(bad) + ")");
    return false;
  }
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxPolicyNesting) {
        r->Schema("", LineColumn(text, i) + ": JSON nested deeper than " + std::to_string(kMaxPolicyNesting) +
                          " levels");
        return false;
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

std::optional<json> Parse(std::string_view text, Reporter* r) {
  struct Frame {
    bool array = false;
    std::size_t next = 0;
    std::set<std::string> keys;
    std::string key;
    std::string ptr;
  };
  std::vector<Frame> frames;
  const auto child_ptr = [&frames]() -> std::string {
    if (frames.empty()) return "";
    const Frame& f = frames.back();
    return f.ptr + "/" + (f.array ? std::to_string(f.next) : JsonPointerToken(f.key));
  };
  const auto end_value = [&frames]() {
    if (!frames.empty() && frames.back().array) ++frames.back().next;
  };
  const json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        Frame f;
        f.array = event == json::parse_event_t::array_start;
        f.ptr = child_ptr();
        frames.push_back(std::move(f));
        break;
      }
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          r->Schema(f.ptr + "/" + JsonPointerToken(f.key), "duplicate key '" + f.key + "'");
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames.empty()) frames.pop_back();
        end_value();
        break;
      case json::parse_event_t::value:
        end_value();
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    r->Schema("", LineColumn(text, offset) + ": malformed JSON: " + SanitizeUtf8(e.what()));
  } catch (const json::exception& e) {
    r->Schema("", std::string("malformed JSON: ") + SanitizeUtf8(e.what()));
  }
  return std::nullopt;
}

std::string JoinKeys(std::initializer_list<const char*> keys) {
  std::string out;
  for (const char* k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

bool IsPhaseName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

bool IsProfileName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

class Validator {
 public:
  Validator(Reporter* r, RawPolicy* out) : r_(r), out_(out) {}

  void Root(const json& root) {
    if (!root.is_object()) {
      r_->Schema("", std::string("expected a JSON object at the top level, found ") + root.type_name());
      return;
    }
    static constexpr std::initializer_list<const char*> kKeys = {
        "toolgate_policy", "description", "settings", "default_profile", "ask_fallback", "agents", "profiles",
        "rule_packs"};
    Keys(root, "", kKeys);
    const auto version = root.find("toolgate_policy");
    if (version == root.end()) {
      r_->Schema("/toolgate_policy", "missing required key 'toolgate_policy' (expected 1)");
    } else if (!version->is_number_integer() || version->get<long long>() != 1) {
      r_->Schema("/toolgate_policy", "expected the integer 1 (the only policy format version)");
    }
    if (const auto it = root.find("description"); it != root.end()) String(*it, "/description", true);
    if (const auto it = root.find("settings"); it != root.end()) Settings(*it);
    if (const auto it = root.find("default_profile"); it != root.end()) {
      if (auto name = String(*it, "/default_profile", false)) {
        out_->default_profile = RawReference{*name, "/default_profile"};
      }
    }
    if (const auto it = root.find("ask_fallback"); it != root.end()) out_->ask_fallback = FallbackValue(*it, "/ask_fallback");
    if (const auto it = root.find("agents"); it != root.end()) Agents(*it);
    if (const auto it = root.find("profiles"); it != root.end()) Profiles(*it);
    if (const auto it = root.find("rule_packs"); it != root.end()) RulePacks(*it);
  }

 private:
  void Keys(const json& obj, const std::string& ptr, std::initializer_list<const char*> allowed) {
    for (const auto& [key, value] : obj.items()) {
      bool known = false;
      for (const char* k : allowed) known = known || key == k;
      if (!known) {
        r_->Schema(ptr + "/" + JsonPointerToken(key),
                   "unknown key '" + SanitizeUtf8(key) + "'; expected one of: " + JoinKeys(allowed));
      }
    }
  }

  bool Object(const json& v, const std::string& ptr) {
    if (v.is_object()) return true;
    r_->Schema(ptr, std::string("expected an object, found ") + v.type_name());
    return false;
  }

  std::optional<std::string> String(const json& v, const std::string& ptr, bool allow_empty) {
    if (!v.is_string()) {
      r_->Schema(ptr, std::string("expected a string, found ") + v.type_name());
      return std::nullopt;
    }
    std::string s = v.get<std::string>();
    if (!allow_empty && s.empty()) {
      r_->Schema(ptr, "expected a non-empty string");
      return std::nullopt;
    }
    return s;
  }

  std::optional<long long> Integer(const json& v, const std::string& ptr, long long lo, long long hi) {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(hi)) ||
        v.get<long long>() < lo || v.get<long long>() > hi) {
      r_->Schema(ptr, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return std::nullopt;
    }
    return v.get<long long>();
  }

  std::optional<std::string> AbsolutePath(const json& v, const std::string& ptr) {
    auto s = String(v, ptr, false);
    if (!s) return std::nullopt;
    std::string normalized;
    if (!NormalizeAbsolutePath(*s, &normalized) || s->find("/..") != std::string::npos || s->find('\0') != std::string::npos) {
      r_->Schema(ptr, "expected an absolute path without '..'");
      return std::nullopt;
    }
    return normalized;
  }

  void Settings(const json& v) {
    const std::string ptr = "/settings";
    if (!Object(v, ptr)) return;
    Keys(v, ptr, {"home", "resolve_symlinks", "trusted_bin_dirs", "max_input_bytes", "max_json_depth", "max_shell_depth"});
    PolicySettings& s = out_->settings;
    if (const auto it = v.find("home"); it != v.end()) {
      if (auto p = AbsolutePath(*it, ptr + "/home")) s.home = *p;
    }
    if (const auto it = v.find("resolve_symlinks"); it != v.end()) {
      if (it->is_boolean()) s.resolve_symlinks = it->get<bool>();
      else r_->Schema(ptr + "/resolve_symlinks", std::string("expected true or false, found ") + it->type_name());
    }
    if (const auto it = v.find("trusted_bin_dirs"); it != v.end()) {
      if (!it->is_array()) {
        r_->Schema(ptr + "/trusted_bin_dirs", std::string("expected an array of absolute paths, found ") + it->type_name());
      } else {
        s.trusted_bin_dirs.clear();
        for (std::size_t i = 0; i < it->size(); ++i) {
          if (auto p = AbsolutePath((*it)[i], ptr + "/trusted_bin_dirs/" + std::to_string(i))) {
            s.trusted_bin_dirs.push_back(*p);
          }
        }
      }
    }
    if (const auto it = v.find("max_input_bytes"); it != v.end()) {
      if (auto n = Integer(*it, ptr + "/max_input_bytes", 1, 1LL << 30)) s.max_input_bytes = static_cast<std::size_t>(*n);
    }
    if (const auto it = v.find("max_json_depth"); it != v.end()) {
      if (auto n = Integer(*it, ptr + "/max_json_depth", 1, 1024)) s.max_json_depth = static_cast<int>(*n);
    }
    if (const auto it = v.find("max_shell_depth"); it != v.end()) {
      if (auto n = Integer(*it, ptr + "/max_shell_depth", 0, 64)) s.max_shell_depth = static_cast<int>(*n);
    }
  }

  void Agents(const json& v) {
    if (!Object(v, "/agents")) return;
    for (const auto& [id, agent] : v.items()) {
      const std::string ptr = "/agents/" + JsonPointerToken(id);
      if (id.empty()) {
        r_->Schema(ptr, "agent ids must be non-empty");
        continue;
      }
      if (!Object(agent, ptr)) continue;
      Keys(agent, ptr, {"profile", "description"});
      if (const auto it = agent.find("description"); it != agent.end()) String(*it, ptr + "/description", true);
      const auto profile = agent.find("profile");
      if (profile == agent.end()) {
        r_->Schema(ptr + "/profile", "missing required key 'profile'");
        continue;
      }
      if (auto name = String(*profile, ptr + "/profile", false)) {
        out_->agents.push_back(RawAgent{id, RawReference{*name, ptr + "/profile"}});
      }
    }
  }

  std::optional<RawVerdict> VerdictValue(const json& v, const std::string& ptr) {
    auto text = String(v, ptr, false);
    if (!text) return std::nullopt;
    const std::optional<Verdict> verdict = VerdictFromName(*text);
    if (!verdict) {
      r_->Schema(ptr, "expected \"allow\", \"ask\" or \"deny\", found \"" + SanitizeUtf8(*text) + "\"");
      return std::nullopt;
    }
    return RawVerdict{*verdict, *text, ptr};
  }

  // What an ask becomes where no human can be asked: allow or deny, never ask again.
  std::optional<RawVerdict> FallbackValue(const json& v, const std::string& ptr) {
    auto text = String(v, ptr, false);
    if (!text) return std::nullopt;
    if (*text != "allow" && *text != "deny") {
      r_->Schema(ptr, "expected \"deny\" or \"allow\" (what an ask becomes where no human can be asked), found \"" +
                          SanitizeUtf8(*text) + "\"");
      return std::nullopt;
    }
    return RawVerdict{*VerdictFromName(*text), *text, ptr};
  }

  void Profiles(const json& v) {
    if (!Object(v, "/profiles")) return;
    for (const auto& [name, body] : v.items()) {
      const std::string ptr = "/profiles/" + JsonPointerToken(name);
      if (!IsProfileName(name)) {
        r_->Schema(ptr, "profile names must be 1-64 characters of A-Z a-z 0-9 _ -");
        continue;
      }
      RawProfile p;
      p.name = name;
      p.json_path = ptr;
      if (Object(body, ptr)) Profile(body, &p);
      out_->profiles.emplace(name, std::move(p));
    }
  }

  void Profile(const json& v, RawProfile* p) {
    const std::string& ptr = p->json_path;
    Keys(v, ptr, {"description", "extends", "default", "unknown_effects", "ask_fallback", "tools", "fs", "network",
                  "exec", "rules", "sandbox", "phases"});
    Grants(v, p);
    if (const auto it = v.find("extends"); it != v.end()) {
      if (it->is_string()) {
        if (auto name = String(*it, ptr + "/extends", false)) p->extends.push_back({*name, ptr + "/extends"});
      } else if (it->is_array()) {
        for (std::size_t i = 0; i < it->size(); ++i) {
          const std::string item = ptr + "/extends/" + std::to_string(i);
          if (auto name = String((*it)[i], item, false)) p->extends.push_back({*name, item});
        }
      } else {
        r_->Schema(ptr + "/extends", std::string("expected a profile name or an array of them, found ") + it->type_name());
      }
    }
    if (const auto it = v.find("sandbox"); it != v.end()) Sandbox(*it, p);
    if (const auto it = v.find("phases"); it != v.end()) Phases(*it, p);
  }

  // What a profile and a phase body share: description, default,
  // unknown_effects, the four grant categories and rules.
  void Grants(const json& v, RawProfile* p) {
    const std::string& ptr = p->json_path;
    if (const auto it = v.find("description"); it != v.end()) String(*it, ptr + "/description", true);
    if (const auto it = v.find("default"); it != v.end()) p->default_verdict = VerdictValue(*it, ptr + "/default");
    if (const auto it = v.find("unknown_effects"); it != v.end()) {
      p->unknown_effects = VerdictValue(*it, ptr + "/unknown_effects");
    }
    if (const auto it = v.find("ask_fallback"); it != v.end()) p->ask_fallback = FallbackValue(*it, ptr + "/ask_fallback");
    Category(v, p, "tools", {GrantList::kToolsAllow, GrantList::kToolsAsk, GrantList::kToolsDeny});
    Category(v, p, "fs", {GrantList::kFsRead, GrantList::kFsWrite, GrantList::kFsAsk, GrantList::kFsDeny});
    Category(v, p, "network", {GrantList::kNetworkAllow, GrantList::kNetworkAsk, GrantList::kNetworkDeny});
    Category(v, p, "exec", {GrantList::kExecAllow, GrantList::kExecAsk, GrantList::kExecDeny});
    if (const auto it = v.find("rules"); it != v.end()) Rules(*it, p);
  }

  // "phases": { "<phase>": { <description, default, unknown_effects, tools,
  // fs, network, exec, rules> } }. A phase body has no extends, sandbox or
  // phases of its own: it layers on the profile (see the compiler).
  void Phases(const json& v, RawProfile* p) {
    const std::string ptr = p->json_path + "/phases";
    if (!Object(v, ptr)) return;
    if (v.size() > kMaxPhasesPerProfile) {
      r_->Schema(ptr, "more than " + std::to_string(kMaxPhasesPerProfile) + " phases in one profile");
      return;
    }
    for (const auto& [name, body] : v.items()) {
      const std::string phase_ptr = ptr + "/" + JsonPointerToken(name);
      if (!IsPhaseName(name)) {
        r_->Schema(phase_ptr, "phase names must be 1-64 characters of A-Z a-z 0-9 _ -");
        continue;
      }
      if (!Object(body, phase_ptr)) continue;
      Keys(body, phase_ptr, {"description", "default", "unknown_effects", "tools", "fs", "network", "exec", "rules"});
      RawProfile phase;
      phase.name = name;
      phase.json_path = phase_ptr;
      Grants(body, &phase);
      p->phases.push_back(std::move(phase));
    }
  }

  static bool IsEnvName(std::string_view name) {
    if (name.empty() || name.size() > 128 || (name[0] >= '0' && name[0] <= '9')) return false;
    for (const char c : name) {
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
  }

  // "sandbox": {"tier", "shell", "network", "timeout_s", "limits": {...}, "env": [...], "credentials": {...}}
  void Sandbox(const json& v, RawProfile* p) {
    const std::string ptr = p->json_path + "/sandbox";
    if (!Object(v, ptr)) return;
    Keys(v, ptr, {"tier", "shell", "network", "timeout_s", "limits", "env", "credentials"});
    RawSandbox sb;
    sb.json_path = ptr;
    const auto choice = [&](const char* key, std::initializer_list<const char*> names) -> std::optional<std::string> {
      const auto it = v.find(key);
      if (it == v.end()) return std::nullopt;
      auto text = String(*it, ptr + "/" + key, false);
      if (!text) return std::nullopt;
      for (const char* n : names) {
        if (*text == n) return text;
      }
      r_->Schema(ptr + "/" + key, "expected one of: " + JoinKeys(names) + ", found \"" + SanitizeUtf8(*text) + "\"");
      return std::nullopt;
    };
    if (auto t = choice("tier", {"process", "namespace", "auto"})) {
      sb.tier = *t == "process" ? SandboxTier::kProcess : *t == "namespace" ? SandboxTier::kNamespace : SandboxTier::kAuto;
    }
    if (auto t = choice("shell", {"direct", "sandboxed"})) sb.shell_sandboxed = *t == "sandboxed";
    if (auto t = choice("network", {"none", "proxy"})) {
      sb.network = *t == "proxy" ? SandboxNetwork::kProxy : SandboxNetwork::kNone;
    }
    sb.timeout_s = OptionalInteger(v, "timeout_s", ptr, 1, 86400);
    if (const auto it = v.find("limits"); it != v.end()) {
      const std::string lptr = ptr + "/limits";
      if (Object(*it, lptr)) {
        Keys(*it, lptr, {"cpu_s", "memory_mb", "processes", "file_size_mb", "open_files"});
        sb.cpu_s = OptionalInteger(*it, "cpu_s", lptr, 1, 86400);
        sb.memory_mb = OptionalInteger(*it, "memory_mb", lptr, 16, 1048576);
        sb.processes = OptionalInteger(*it, "processes", lptr, 1, 65536);
        sb.file_size_mb = OptionalInteger(*it, "file_size_mb", lptr, 1, 1048576);
        sb.open_files = OptionalInteger(*it, "open_files", lptr, 16, 1048576);
      }
    }
    if (const auto it = v.find("env"); it != v.end()) {
      const std::string eptr = ptr + "/env";
      if (!it->is_array()) {
        r_->Schema(eptr, std::string("expected an array of environment variable names, found ") + it->type_name());
      } else {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < it->size(); ++i) {
          auto name = String((*it)[i], eptr + "/" + std::to_string(i), false);
          if (!name) continue;
          if (!IsEnvName(*name)) {
            r_->Schema(eptr + "/" + std::to_string(i), "expected an environment variable name (A-Z a-z 0-9 _)");
            continue;
          }
          names.push_back(*name);
        }
        sb.env = std::move(names);
      }
    }
    if (const auto it = v.find("credentials"); it != v.end()) {
      const std::string cptr = ptr + "/credentials";
      if (Object(*it, cptr)) {
        std::map<std::string, SandboxCredential> creds;
        for (const auto& [name, body] : it->items()) {
          const std::string item = cptr + "/" + JsonPointerToken(name);
          if (!IsEnvName(name)) {
            r_->Schema(item, "credential names are environment variable names (A-Z a-z 0-9 _)");
            continue;
          }
          if (!Object(body, item)) continue;
          Keys(body, item, {"from_env", "from_file", "phases"});
          SandboxCredential c;
          if (const auto ph = body.find("phases"); ph != body.end()) {
            if (!ph->is_array() || ph->empty()) {
              r_->Schema(item + "/phases", "expected a non-empty array of phase names");
              continue;
            }
            bool ok = true;
            for (std::size_t i = 0; i < ph->size(); ++i) {
              auto name = String((*ph)[i], item + "/phases/" + std::to_string(i), false);
              if (name && IsPhaseName(*name)) {
                c.phases.push_back(*name);
              } else {
                if (name) r_->Schema(item + "/phases/" + std::to_string(i), "expected a phase name (A-Z a-z 0-9 _ -)");
                ok = false;
              }
            }
            if (!ok) continue;
          }
          const auto env = body.find("from_env");
          const auto file = body.find("from_file");
          if ((env == body.end()) == (file == body.end())) {
            r_->Schema(item, "expected exactly one of 'from_env' or 'from_file'");
            continue;
          }
          if (env != body.end()) {
            auto e = String(*env, item + "/from_env", false);
            if (!e) continue;
            if (!IsEnvName(*e)) {
              r_->Schema(item + "/from_env", "expected an environment variable name");
              continue;
            }
            c.from_env = *e;
          } else {
            auto f = AbsolutePath(*file, item + "/from_file");
            if (!f) continue;
            c.from_file = *f;
          }
          creds.emplace(name, std::move(c));
        }
        sb.credentials = std::move(creds);
      }
    }
    p->sandbox = std::move(sb);
  }

  static bool IsPackName(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (const char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    }
    return true;
  }

  std::optional<long long> OptionalInteger(const json& obj, const char* key, const std::string& ptr, long long lo,
                                           long long hi) {
    const auto it = obj.find(key);
    if (it == obj.end()) return std::nullopt;
    return Integer(*it, ptr + "/" + key, lo, hi);
  }

  // "rule_packs": { "<name>": { "path": "...", "description": "...", "budget": {...} } }
  void RulePacks(const json& v) {
    if (!Object(v, "/rule_packs")) return;
    for (const auto& [name, body] : v.items()) {
      const std::string ptr = "/rule_packs/" + JsonPointerToken(name);
      if (!IsPackName(name)) {
        r_->Schema(ptr, "rule pack names must be 1-64 characters of a-z 0-9 - _");
        continue;
      }
      if (!Object(body, ptr)) continue;
      Keys(body, ptr, {"path", "description", "budget"});
      RawRulePack pack;
      pack.name = name;
      pack.json_path = ptr;
      if (const auto it = body.find("description"); it != body.end()) String(*it, ptr + "/description", true);
      const auto path = body.find("path");
      if (path == body.end()) {
        r_->Schema(ptr + "/path", "missing required key 'path' (the pack's .lua file)");
        continue;
      }
      if (auto p = String(*path, ptr + "/path", false)) {
        if (p->find('\0') != std::string::npos || p->size() > 4096) {
          r_->Schema(ptr + "/path", "expected a file path");
          continue;
        }
        pack.path = *p;
      } else {
        continue;
      }
      if (const auto it = body.find("budget"); it != body.end()) {
        const std::string bptr = ptr + "/budget";
        if (Object(*it, bptr)) {
          Keys(*it, bptr, {"instructions", "memory_kb", "time_ms"});
          pack.instructions = OptionalInteger(*it, "instructions", bptr, 1000, 1000000000);
          pack.memory_kb = OptionalInteger(*it, "memory_kb", bptr, 64, 1048576);
          pack.time_ms = OptionalInteger(*it, "time_ms", bptr, 1, 600000);
        }
      }
      out_->rule_packs.emplace(name, std::move(pack));
    }
  }

  // "rules": { "<pack>": true | false | { "params": {...}, "capabilities": { "http": {...} | true } } }
  void Rules(const json& v, RawProfile* p) {
    const std::string ptr = p->json_path + "/rules";
    if (!Object(v, ptr)) return;
    for (const auto& [name, body] : v.items()) {
      const std::string use_ptr = ptr + "/" + JsonPointerToken(name);
      RawRuleUse use;
      use.pack = name;
      use.json_path = use_ptr;
      if (body.is_boolean()) {
        use.enabled = body.get<bool>();
        p->rules.push_back(std::move(use));
        continue;
      }
      if (!body.is_object()) {
        r_->Schema(use_ptr, std::string("expected true, false or an object, found ") + body.type_name());
        continue;
      }
      Keys(body, use_ptr, {"params", "capabilities"});
      if (const auto it = body.find("params"); it != body.end()) {
        if (Object(*it, use_ptr + "/params")) use.params = *it;
      }
      if (const auto it = body.find("capabilities"); it != body.end()) {
        const std::string cptr = use_ptr + "/capabilities";
        if (Object(*it, cptr)) {
          Keys(*it, cptr, {"http"});
          if (const auto http = it->find("http"); http != it->end()) {
            const std::string hptr = cptr + "/http";
            RawHttpGrant grant;
            grant.json_path = hptr;
            if (http->is_boolean()) {
              if (http->get<bool>()) use.http = grant;
            } else if (Object(*http, hptr)) {
              Keys(*http, hptr, {"timeout_ms", "max_redirects", "cache_ttl_s", "allow_private_addresses"});
              grant.timeout_ms = OptionalInteger(*http, "timeout_ms", hptr, 1, 60000);
              grant.max_redirects = OptionalInteger(*http, "max_redirects", hptr, 0, 20);
              grant.cache_ttl_s = OptionalInteger(*http, "cache_ttl_s", hptr, 0, 86400);
              if (const auto ap = http->find("allow_private_addresses"); ap != http->end()) {
                if (ap->is_boolean()) grant.allow_private_addresses = ap->get<bool>();
                else r_->Schema(hptr + "/allow_private_addresses", "expected true or false");
              }
              use.http = grant;
            }
          }
        }
      }
      p->rules.push_back(std::move(use));
    }
  }

  void Category(const json& profile, RawProfile* p, const char* category, std::initializer_list<GrantList> lists) {
    const auto it = profile.find(category);
    if (it == profile.end()) return;
    const std::string ptr = p->json_path + "/" + category;
    if (!Object(*it, ptr)) return;
    for (const auto& [key, value] : it->items()) {
      const GrantListInfo* info = nullptr;
      for (const GrantList l : lists) {
        if (key == InfoFor(l).name) info = &InfoFor(l);
      }
      const std::string list_ptr = ptr + "/" + JsonPointerToken(key);
      if (info == nullptr) {
        std::string expected;
        for (const GrantList l : lists) expected += (expected.empty() ? "" : ", ") + std::string(InfoFor(l).name);
        r_->Schema(list_ptr, "unknown key '" + SanitizeUtf8(key) + "'; expected one of: " + expected);
        continue;
      }
      if (!value.is_array()) {
        r_->Schema(list_ptr, std::string("expected an array of pattern strings, found ") + value.type_name());
        continue;
      }
      auto& out = p->lists[static_cast<std::size_t>(info->list)];
      for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string item = list_ptr + "/" + std::to_string(i);
        auto text = String(value[i], item, false);
        if (!text) continue;
        if (text->size() > kMaxPatternBytes) {
          r_->Error(ErrorCode::kPolicyPattern, item,
                    "pattern is longer than " + std::to_string(kMaxPatternBytes) + " bytes");
          continue;
        }
        out.push_back(RawPattern{*text, item, static_cast<int>(i)});
      }
    }
  }

  Reporter* r_;
  RawPolicy* out_;
};

}  // namespace

std::optional<RawPolicy> ReadPolicy(std::string_view text, const std::string& source,
                                    std::vector<PolicyDiagnostic>* diagnostics) {
  Reporter reporter(source, diagnostics);
  if (!PreScan(text, &reporter)) return std::nullopt;
  std::optional<json> root = Parse(text, &reporter);
  if (!root) return std::nullopt;
  if (!root->is_object()) {
    reporter.Schema("", std::string("expected a JSON object at the top level, found ") + root->type_name());
    return std::nullopt;
  }
  RawPolicy raw;
  raw.source = source;
  Validator(&reporter, &raw).Root(*root);
  return raw;
}

}  // namespace toolgate
