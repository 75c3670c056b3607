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
  return cmd.find("toolgate") != std::string::npos && cmd.find(" hook --client ") != std::string::npos;
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
      p.entry = ojson{{"type", "command"}, {"command", cmd}, {"timeout", secs}};
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

std::vector<std::string> FailOpenNotes(const InstallOptions& o) {
  const std::string deadline = std::to_string(HookDeadlineMs(o.timeout_seconds)) + " ms";
  const std::string own =
      "toolgate's hook never exits with a code the client would ignore: every failure it sees (unreadable input, "
      "a policy that does not load, a daemon that does not answer within " + deadline +
      ", an audit log it cannot write) is a deny in the client's own form";
  switch (o.client) {
    case Client::kClaude:
      return {"Claude Code runs the tool anyway when a hook crashes, times out or exits with a code other than 0 "
              "or 2, and has no setting that changes this; " + own + ", and the timeout written (" +
                  std::to_string(o.timeout_seconds) + " s) is longer than that deadline.",
              "Claude Code reads hook changes at session start: start a new session, or review them in /hooks."};
    case Client::kCopilot:
      return {"Copilot CLI logs and skips a hook that fails or times out (the tool runs) and has no setting that "
              "changes this; " + own + " on exit 0, within timeoutSec " + std::to_string(o.timeout_seconds) + ".",
              o.scope == InstallScope::kProject
                  ? "Copilot CLI loads .github/hooks/*.json from the repository it is started in."
                  : "Copilot CLI loads user hooks from ~/.copilot/hooks/."};
    case Client::kCodex:
      return {"Codex runs hooks only when its hooks feature is on: add `[features]` `hooks = true` (versions before "
              "it was renamed: `codex_hooks = true`) to $CODEX_HOME/config.toml (~/.codex/config.toml).",
              "Codex runs a new or changed hook only after you trust it: open /hooks in codex and trust toolgate's "
              "entries" + std::string(o.scope == InstallScope::kProject
                                          ? "; a project's .codex/ layer loads only for a trusted project "
                                            "([projects.\"" + o.dir + "\"] trust_level = \"trusted\")."
                                          : "."),
              "Codex ignores a hook answer it rejects (a bare allow, an ask, a deny without a reason) and runs the "
              "tool; " + own + ", never a bare allow or an ask, and always with a reason."};
    case Client::kGemini:
      return {"Gemini CLI treats a hook exit code other than 0 and 2 as a warning and runs the tool, with no "
              "setting that changes this; " + own + " (exit 2 when the input cannot be read), and the timeout "
              "written is " + std::to_string(o.timeout_seconds * 1000) + " ms.",
              o.scope == InstallScope::kProject
                  ? "Gemini CLI loads a project's .gemini/settings.json only in a trusted folder: trust " + o.dir +
                        " (Gemini's folder trust prompt, or ~/.gemini/trustedFolders.json)."
                  : "User settings apply to every folder.",
              "Versions that gate hooks behind a switch need tools.enableHooks / hooks.enabled set to true in the "
              "user settings."};
    case Client::kCursor:
      return {"Cursor lets an action through when its hook fails, unless the entry says failClosed: every entry "
              "written has failClosed: true, so a hook that crashes, times out or prints invalid JSON blocks.",
              "Shell commands are judged twice (beforeShellExecution and preToolUse); both give the same answer."};
    default: break;
  }
  return {};
}

bool KnownClient(Client c) {
  return c == Client::kClaude || c == Client::kCopilot || c == Client::kCodex || c == Client::kGemini ||
         c == Client::kCursor;
}

std::string Dirname(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
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

  if (install) {
    for (const std::string& e : plan.events) report.changes.push_back("hooks." + e + ": runs " + HookCommand(o));
    if (o.client == Client::kCursor) report.changes.push_back("each entry: failClosed true, timeout " +
                                                              std::to_string(o.timeout_seconds) + " s");
    report.notes = FailOpenNotes(o);
  } else {
    for (const std::string& e : removed) report.changes.push_back("hooks." + e + ": toolgate's entry removed");
  }
  if (doc == before && exists) return report;  // already exactly so: nothing to write
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

std::string HookCommand(const InstallOptions& o) {
  std::string cmd = ShellQuote(o.toolgate_path) + " hook --client " + ClientName(o.client);
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
