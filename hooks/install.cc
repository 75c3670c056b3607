#include "hooks/install.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "util/sha256.h"

namespace toolgate::hooks {
namespace {

using ojson = nlohmann::ordered_json;

// How a client lays out its hook entries.
enum class Layout {
  kMatcherGroups,  // {"hooks":{"Event":[{"matcher":M,"hooks":[entry]}]}}  (Claude, Codex, Gemini)
  kFlat,           // {"version":1,"hooks":{"event":[entry]}}              (Copilot, Cursor)
};

struct ClientPlan {
  Layout layout = Layout::kMatcherGroups;
  std::string matcher;              // kMatcherGroups only
  std::vector<std::string> events;  // in the order they are written
  std::string command_key;          // "command", or Copilot's "bash"
  ojson entry;                      // one hook entry (command included)
};

bool IsToolgateCommand(const ojson& entry, const std::string& key) {
  const auto it = entry.find(key);
  if (it == entry.end() || !it->is_string()) return false;
  const std::string& cmd = it->get_ref<const std::string&>();
  // `toolgate hook --client X` or the fast shim `toolgate-hook --client X`.
  return cmd.find("toolgate") != std::string::npos &&
         (cmd.find(" hook --client ") != std::string::npos || cmd.find("toolgate-hook --client ") != std::string::npos ||
          cmd.find("toolgate-hook' --client ") != std::string::npos);
}

std::string ShellQuote(const std::string& s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::strchr("_/.-:=@%+,", c) != nullptr;
  });
  if (plain) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// The hook's own deadline for the daemon stays well inside the client's
// timeout, so the hook (not the client) decides what a slow daemon means.
int HookDeadlineMs(int timeout_seconds) { return std::clamp(timeout_seconds * 1000 / 2, 100, 2000); }

ClientPlan PlanFor(const InstallOptions& o) {
  ClientPlan p;
  const std::string cmd = HookCommand(o);
  const int secs = o.timeout_seconds;
  switch (o.client) {
    case Client::kClaude:
      p.matcher = "*";
      p.events = {"PreToolUse", "PostToolUse"};
      p.command_key = "command";
      // onFailure "block": a hook that cannot start, times out or exits with another code blocks the call.
      p.entry = ojson{{"type", "command"}, {"command", cmd}, {"timeout", secs}, {"onFailure", "block"}};
      break;
    case Client::kCodex:
      p.matcher = "*";
      p.events = {"PreToolUse", "PostToolUse"};
      p.command_key = "command";
      p.entry = ojson{{"type", "command"}, {"command", cmd}, {"timeout", secs}};
      break;
    case Client::kGemini:
      p.matcher = ".*";
      p.events = {"BeforeTool", "AfterTool"};
      p.command_key = "command";
      p.entry = ojson{{"name", "toolgate"}, {"type", "command"}, {"command", cmd}, {"timeout", secs * 1000}};
      break;
    case Client::kCopilot:
      p.layout = Layout::kFlat;
      p.events = {"preToolUse", "postToolUse"};
      p.command_key = "bash";
      p.entry = ojson{{"type", "command"}, {"bash", cmd}, {"timeoutSec", secs}};
      break;
    case Client::kCursor:
      p.layout = Layout::kFlat;
      p.events = {"beforeShellExecution", "beforeMCPExecution", "beforeReadFile", "preToolUse"};
      p.command_key = "command";
      p.entry = ojson{{"command", cmd}, {"timeout", secs}, {"failClosed", true}};
      break;
    default: break;
  }
  return p;
}

// Removes every toolgate entry from doc; returns the events it touched.
std::vector<std::string> RemoveToolgateEntries(ojson* doc, const ClientPlan& plan) {
  std::vector<std::string> touched;
  if (!doc->contains("hooks") || !(*doc)["hooks"].is_object()) return touched;
  ojson& hooks = (*doc)["hooks"];
  std::vector<std::string> empty_events;
  for (auto& [event, list] : hooks.items()) {
    if (!list.is_array()) continue;
    ojson kept = ojson::array();
    bool removed = false;
    for (ojson& item : list) {
      if (plan.layout == Layout::kFlat) {
        if (item.is_object() && IsToolgateCommand(item, plan.command_key)) {
          removed = true;
          continue;
        }
        kept.push_back(std::move(item));
        continue;
      }
      if (item.is_object() && item.contains("hooks") && item["hooks"].is_array()) {
        ojson inner = ojson::array();
        bool inner_removed = false;
        for (ojson& h : item["hooks"]) {
          if (h.is_object() && IsToolgateCommand(h, plan.command_key)) {
            inner_removed = true;
            continue;
          }
          inner.push_back(std::move(h));
        }
        if (inner_removed) {
          removed = true;
          if (inner.empty()) continue;  // the group held only toolgate's hook
        }
        item["hooks"] = std::move(inner);
      }
      kept.push_back(std::move(item));
    }
    if (!removed) {
      list = std::move(kept);
      continue;
    }
    touched.push_back(event);
    if (kept.empty()) {
      empty_events.push_back(event);
    } else {
      list = std::move(kept);
    }
  }
  for (const std::string& e : empty_events) hooks.erase(e);
  if (hooks.empty() && !touched.empty()) doc->erase("hooks");
  return touched;
}

void AddToolgateEntries(ojson* doc, const ClientPlan& plan) {
  if (plan.layout == Layout::kFlat && !doc->contains("version")) (*doc)["version"] = 1;
  if (!doc->contains("hooks") || !(*doc)["hooks"].is_object()) (*doc)["hooks"] = ojson::object();
  ojson& hooks = (*doc)["hooks"];
  for (const std::string& event : plan.events) {
    if (!hooks.contains(event) || !hooks[event].is_array()) hooks[event] = ojson::array();
    if (plan.layout == Layout::kFlat) {
      hooks[event].push_back(plan.entry);
    } else {
      hooks[event].push_back(ojson{{"matcher", plan.matcher}, {"hooks", ojson::array({plan.entry})}});
    }
  }
}

Result<std::string> ReadWhole(const std::string& path, bool* exists) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) {
      *exists = false;
      return std::string();
    }
    return Error{ErrorCode::kPolicyIo, std::string("cannot read: ") + std::strerror(errno), path};
  }
  *exists = true;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<Error> MakeDirs(const std::string& dir) {
  std::string cur;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error{ErrorCode::kPolicyIo, std::string("cannot create directory: ") + std::strerror(errno), cur};
    }
  }
  return std::nullopt;
}

// Writes bytes to path through a temporary file and rename, keeping `mode`.
std::optional<Error> WriteAtomically(const std::string& path, const std::string& bytes, mode_t mode) {
  const std::string tmp = path + ".toolgate-tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Error{ErrorCode::kPolicyIo, std::string("cannot write: ") + std::strerror(errno), tmp};
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Error{ErrorCode::kPolicyIo, std::string("cannot write: ") + std::strerror(err), tmp};
    }
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Error{ErrorCode::kPolicyIo, std::string("cannot sync: ") + std::strerror(errno), tmp};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error{ErrorCode::kPolicyIo, std::string("cannot replace: ") + std::strerror(err), path};
  }
  return std::nullopt;
}

std::string Dirname(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::vector<std::string> FailOpenNotes(const InstallOptions& o) {
  const std::string deadline = std::to_string(HookDeadlineMs(o.timeout_seconds)) + " ms";
  const std::string own =
      "toolgate's hook never answers in a way the client would ignore: every failure it sees (unreadable input, "
      "a policy that does not load, a daemon that does not answer within " + deadline +
      ", an audit log it cannot write) is a deny in the client's own form";
  const bool project = o.scope == InstallScope::kProject;
  switch (o.client) {
    case Client::kClaude:
      return {"Claude Code runs the tool anyway when a hook cannot start, times out, exits with a code other than "
              "0 or 2 or prints invalid JSON (onFailure \"continue\", its default); each entry written says "
              "onFailure \"block\", so such a failure blocks the call. " + own + ".",
              "Claude Code reads hook changes at session start: start a new session, or review them in /hooks."};
    case Client::kCopilot:
      return {"Copilot CLI runs the tool when a hook times out or prints something that is not JSON, and has no "
              "setting that changes this; " + own + " as JSON on exit 0 (the only answer whose reason reaches "
              "the model), well within timeoutSec " + std::to_string(o.timeout_seconds) + ".",
              project ? "Copilot CLI loads .github/hooks/*.json only in a trusted folder: run with --trust-folder, "
                        "set COPILOT_ALLOW_ALL=true, or trust " + o.dir + " interactively; otherwise the hooks are "
                        "silently skipped."
                      : "Copilot CLI loads user hooks from ~/.copilot/hooks/ ($COPILOT_HOME/hooks/) without a "
                        "trust step."};
    case Client::kCodex:
      return {"Codex silently skips a hook whose trust hash is not recorded in the user config.toml; the hash of "
              "each toolgate entry was recorded there ([hooks.state.\"<hooks.json>:<event>:<group>:<handler>\"]).",
              project ? "A project's .codex/ layer loads only for a trusted project: add [projects.\"" + o.dir +
                            "\"] trust_level = \"trusted\" to the user config.toml (toolgate does not trust a "
                            "whole project for you)."
                      : "User hooks ($CODEX_HOME/hooks.json) need no other trust step.",
              "Codex runs the tool when a hook fails, times out or answers something it rejects (a bare allow, "
              "an ask, a deny without a reason), and has no fail-closed switch; " + own +
                  ", never a bare allow or an ask, and always with a reason."};
    case Client::kGemini:
      return {"Gemini CLI runs the tool when a hook times out, cannot start or exits 1 with no JSON, with no "
              "setting that changes this; " + own + " (JSON on stdout, exit 2 when the input cannot be read), "
              "well within the timeout written (" + std::to_string(o.timeout_seconds * 1000) + " ms).",
              project ? "Gemini CLI reads a project's .gemini/settings.json, and runs any hook at all, only in a "
                        "trusted folder: set GEMINI_CLI_TRUST_WORKSPACE=true or add {\"" + o.dir +
                        "\": \"TRUST_FOLDER\"} to ~/.gemini/trustedFolders.json. --skip-trust does NOT load "
                        "project hooks (only user ones): prefer --scope user for headless runs."
                      : "User settings apply in every folder, including runs with --skip-trust.",
              "hooksConfig.disabled listing \"toolgate\" (or the command) in any settings layer turns the hook off."};
    case Client::kCursor:
      return {"Cursor lets an action through when its hook fails, unless the entry says failClosed: every entry "
              "written has failClosed: true, so a hook that crashes, times out or prints invalid JSON blocks.",
              "Shell commands are judged twice (beforeShellExecution and preToolUse); both give the same answer."};
    default: break;
  }
  return {};
}

// ---- Codex hook trust ------------------------------------------------------
// Codex runs a hook only when the user config.toml records the sha256 of its
// identity under [hooks.state."<abs hooks.json>:<event>:<group>:<handler>"].

std::string CodexEventLabel(const std::string& event) {
  return event == "PreToolUse" ? "pre_tool_use" : event == "PostToolUse" ? "post_tool_use" : "";
}

std::string TomlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// {section header -> trusted_hash} for every toolgate handler in doc.
std::vector<std::pair<std::string, std::string>> CodexTrustEntries(const ojson& doc, const ClientPlan& plan,
                                                                   const std::string& hooks_path) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!doc.contains("hooks") || !doc["hooks"].is_object()) return out;
  for (const auto& [event, groups] : doc["hooks"].items()) {
    const std::string label = CodexEventLabel(event);
    if (label.empty() || !groups.is_array()) continue;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const ojson& group = groups[g];
      if (!group.is_object() || !group.contains("hooks") || !group["hooks"].is_array()) continue;
      for (std::size_t h = 0; h < group["hooks"].size(); ++h) {
        const ojson& handler = group["hooks"][h];
        if (!handler.is_object() || !IsToolgateCommand(handler, plan.command_key)) continue;
        std::optional<std::string> matcher;
        if (group.contains("matcher") && group["matcher"].is_string()) matcher = group["matcher"].get<std::string>();
        out.emplace_back("[hooks.state." + TomlQuote(hooks_path + ":" + label + ":" + std::to_string(g) + ":" +
                                                     std::to_string(h)) + "]",
                         CodexTrustHash(label, matcher, handler.value("command", std::string()),
                                        handler.value("timeout", 600)));
      }
    }
  }
  return out;
}

// Removes the sections named in `remove`, then appends `add`; returns the new text.
std::string EditTomlSections(const std::string& text, const std::vector<std::string>& remove,
                             const std::vector<std::pair<std::string, std::string>>& add) {
  std::string out;
  bool skipping = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    std::string trimmed = line;
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\r' || trimmed.back() == '\t')) trimmed.pop_back();
    if (!trimmed.empty() && trimmed.front() == '[') {
      skipping = std::find(remove.begin(), remove.end(), trimmed) != remove.end();
    }
    if (!skipping) out += line + "\n";
  }
  for (const auto& [header, hash] : add) {
    if (!out.empty() && out.back() != '\n') out += "\n";
    out += header + "\ntrusted_hash = " + TomlQuote(hash) + "\n";
  }
  return out;
}

Result<std::string> CodexUserConfigPath(const InstallOptions& o, const std::string& hooks_path) {
  if (o.scope == InstallScope::kUser) return Dirname(hooks_path) + "/config.toml";
  if (const char* ch = std::getenv("CODEX_HOME"); ch != nullptr && *ch != '\0') return std::string(ch) + "/config.toml";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return Error{ErrorCode::kMissingField, "HOME is not set", "$HOME"};
  return std::string(home) + "/.codex/config.toml";
}

// Replaces the trust entries of toolgate's handlers as they were (before) by
// those they are now (after) in the user config.toml.
std::optional<Error> UpdateCodexTrust(const InstallOptions& o, const std::string& hooks_path, const ojson& before,
                                      const ojson& after, const ClientPlan& plan, InstallReport* report) {
  Result<std::string> config = CodexUserConfigPath(o, hooks_path);
  if (!config) return config.error();
  // Codex keys trust by the hooks.json's absolute, resolved path.
  std::string key_path = hooks_path;
  if (char* real = ::realpath(Dirname(hooks_path).c_str(), nullptr); real != nullptr) {
    key_path = std::string(real) + "/hooks.json";
    std::free(real);
  }
  std::vector<std::string> remove;
  for (const auto& [header, hash] : CodexTrustEntries(before, plan, key_path)) remove.push_back(header);
  const auto add = CodexTrustEntries(after, plan, key_path);
  for (const auto& [header, hash] : add) remove.push_back(header);
  bool exists = false;
  Result<std::string> text = ReadWhole(*config, &exists);
  if (!text) return text.error();
  const std::string updated = EditTomlSections(*text, remove, add);
  if (updated == *text || (!exists && add.empty())) return std::nullopt;
  struct stat st {};
  mode_t mode = 0600;
  if (exists && ::stat(config->c_str(), &st) == 0) mode = st.st_mode & 07777;
  if (exists) {
    if (auto e = WriteAtomically(*config + ".toolgate-backup", *text, mode)) return e;
  } else if (auto e = MakeDirs(Dirname(*config))) {
    return e;
  }
  if (auto e = WriteAtomically(*config, updated, mode)) return e;
  report->changes.push_back(*config + ": " +
                            (add.empty() ? std::string("toolgate's hook trust entries removed")
                                         : "trusted_hash recorded for " + std::to_string(add.size()) +
                                               " toolgate hook entries"));
  report->changed = true;
  return std::nullopt;
}

bool KnownClient(Client c) {
  return c == Client::kClaude || c == Client::kCopilot || c == Client::kCodex || c == Client::kGemini ||
         c == Client::kCursor;
}

Result<InstallReport> Apply(const InstallOptions& o, bool install) {
  if (!KnownClient(o.client)) return Error{ErrorCode::kUnsupportedFormat, "no hooks for this client", ""};
  Result<std::string> path = ConfigPath(o);
  if (!path) return path.error();
  InstallReport report;
  report.config_path = *path;

  bool exists = false;
  Result<std::string> bytes = ReadWhole(*path, &exists);
  if (!bytes) return bytes.error();
  ojson doc = ojson::object();
  if (exists && bytes->find_first_not_of(" \t\r\n") != std::string::npos) {
    try {
      doc = ojson::parse(*bytes);
    } catch (const ojson::parse_error& e) {
      return Error{ErrorCode::kMalformedJson,
                   std::string("is not valid JSON (byte ") + std::to_string(e.byte) +
                       "); toolgate does not rewrite a file it cannot read fully",
                   *path};
    }
    if (!doc.is_object()) return Error{ErrorCode::kWrongType, "does not hold a JSON object", *path};
    if (doc.contains("hooks") && !doc["hooks"].is_object()) {
      return Error{ErrorCode::kWrongType, "its \"hooks\" is not an object", *path};
    }
  }
  const ojson before = doc;
  const ClientPlan plan = PlanFor(o);
  const std::vector<std::string> removed = RemoveToolgateEntries(&doc, plan);
  if (install) AddToolgateEntries(&doc, plan);
  if (o.client == Client::kCodex) {
    // The trust key is the resolved path of hooks.json's directory: make sure it exists first.
    if (install && !exists) {
      if (auto e = MakeDirs(Dirname(*path))) return *e;
    }
    if (auto e = UpdateCodexTrust(o, *path, before, doc, plan, &report)) return *e;
  }

  if (install) {
    for (const std::string& e : plan.events) report.changes.push_back("hooks." + e + ": runs " + HookCommand(o));
    if (o.client == Client::kCursor) report.changes.push_back("each entry: failClosed true, timeout " +
                                                              std::to_string(o.timeout_seconds) + " s");
    report.notes = FailOpenNotes(o);
  } else {
    for (const std::string& e : removed) report.changes.push_back("hooks." + e + ": toolgate's entry removed");
  }
  if (doc == before && exists) return report;  // already exactly so: nothing to write (trust included)
  if (!install && !exists) return report;

  // Copilot's toolgate.json is toolgate's own file: an uninstall that empties it removes it.
  const bool own_file = o.client == Client::kCopilot && o.scope == InstallScope::kProject;
  const bool now_empty = !doc.contains("hooks") && (doc.empty() || (doc.size() == 1 && doc.contains("version")));

  struct stat st {};
  mode_t mode = 0644;
  if (exists && ::stat(path->c_str(), &st) == 0) mode = st.st_mode & 07777;
  if (exists) {
    report.backup_path = *path + ".toolgate-backup";
    if (auto e = WriteAtomically(report.backup_path, *bytes, mode)) return *e;
  } else if (auto e = MakeDirs(Dirname(*path))) {
    return *e;
  }
  if (!install && own_file && now_empty) {
    if (::unlink(path->c_str()) != 0) {
      return Error{ErrorCode::kPolicyIo, std::string("cannot remove: ") + std::strerror(errno), *path};
    }
    report.changes.push_back("removed " + *path + " (it held only toolgate's hooks)");
  } else if (auto e = WriteAtomically(*path, doc.dump(2) + "\n", mode)) {
    return *e;
  }
  report.changed = true;
  return report;
}

}  // namespace

std::string CodexTrustHash(std::string_view event_label, const std::optional<std::string>& matcher,
                           const std::string& command, int timeout_seconds) {
  // The identity Codex hashes: compact JSON, keys sorted, non-ASCII as is.
  nlohmann::json ident{{"event_name", std::string(event_label)},
                       {"hooks", nlohmann::json::array({nlohmann::json{{"type", "command"},
                                                                        {"command", command},
                                                                        {"timeout", std::max(1, timeout_seconds)},
                                                                        {"async", false}}})}};
  if (matcher) ident["matcher"] = *matcher;
  return "sha256:" + Sha256Hex(ident.dump());
}

std::string HookCommand(const InstallOptions& o) {
  std::string cmd = o.hook_shim_path.empty() ? ShellQuote(o.toolgate_path) + " hook --client "
                                             : ShellQuote(o.hook_shim_path) + " --client ";
  cmd += ClientName(o.client);
  if (!o.policy_path.empty()) cmd += " --policy " + ShellQuote(o.policy_path);
  if (o.agent) cmd += " --agent " + ShellQuote(*o.agent);
  cmd += " --timeout-ms " + std::to_string(HookDeadlineMs(o.timeout_seconds));
  return cmd;
}

Result<std::string> ConfigPath(const InstallOptions& o) {
  std::string base = o.dir;
  if (o.scope == InstallScope::kUser && base.empty()) {
    if (o.client == Client::kCodex) {
      if (const char* ch = std::getenv("CODEX_HOME"); ch != nullptr && *ch != '\0') return std::string(ch) + "/hooks.json";
    }
    if (o.client == Client::kCopilot) {
      if (const char* ch = std::getenv("COPILOT_HOME"); ch != nullptr && *ch != '\0') {
        return std::string(ch) + "/hooks/toolgate.json";
      }
    }
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') return Error{ErrorCode::kMissingField, "HOME is not set", "$HOME"};
    base = home;
  }
  if (base.empty()) return Error{ErrorCode::kMissingField, "no directory given", "--dir"};
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const bool user = o.scope == InstallScope::kUser;
  switch (o.client) {
    case Client::kClaude: return base + "/.claude/settings.json";
    case Client::kCopilot: return base + (user ? "/.copilot/hooks/toolgate.json" : "/.github/hooks/toolgate.json");
    case Client::kCodex: return base + "/.codex/hooks.json";
    case Client::kGemini: return base + "/.gemini/settings.json";
    case Client::kCursor: return base + "/.cursor/hooks.json";
    default: break;
  }
  return Error{ErrorCode::kUnsupportedFormat, "no hooks for this client", ""};
}

Result<InstallReport> InstallHooks(const InstallOptions& options) { return Apply(options, true); }
Result<InstallReport> UninstallHooks(const InstallOptions& options) { return Apply(options, false); }

}  // namespace toolgate::hooks
