// toolgate install / uninstall: writes (or removes) the hook entries that make
// a client run `toolgate hook --client X` before every tool call, merged into
// the client's own configuration file without losing anything else in it.
//
// | client  | project scope                 | user scope                                   | timeout unit |
// |---------|-------------------------------|----------------------------------------------|--------------|
// | claude  | .claude/settings.json         | ~/.claude/settings.json                      | seconds      |
// | copilot | .github/hooks/toolgate.json   | $COPILOT_HOME/hooks/toolgate.json (~/.copilot)| timeoutSec   |
// | codex   | .codex/hooks.json             | $CODEX_HOME/hooks.json (~/.codex/hooks.json) | seconds      |
//
// Codex also needs each hook's trust hash in the user config.toml; install
// records it (and uninstall removes it). Claude entries say onFailure "block",
// Cursor entries failClosed: true.
// | gemini  | .gemini/settings.json         | ~/.gemini/settings.json                      | milliseconds |
// | cursor  | .cursor/hooks.json            | ~/.cursor/hooks.json                         | seconds      |
//
// Toolgate's entries are recognised by their command (`... hook --client X`),
// so uninstall removes exactly those. Writing is idempotent: an unchanged
// document is not rewritten. Before a file is changed, its previous bytes go to
// FILE.toolgate-backup; the new bytes are written to a temporary file and
// renamed over it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toolgate/result.h"
#include "toolgate/tool_call.h"

namespace toolgate::hooks {

enum class InstallScope { kProject, kUser };

struct InstallOptions {
  Client client = Client::kUnknown;
  InstallScope scope = InstallScope::kProject;
  // Project scope: the project root. User scope: the home directory ("" =
  // $HOME; $CODEX_HOME is used for codex when dir is empty).
  std::string dir;
  std::string toolgate_path;  // absolute path of the toolgate binary
  // Absolute path of the fast shim (toolgate-hook, same options as `toolgate
  // hook`); "" = the hook command is `toolgate hook`.
  std::string hook_shim_path;
  std::string policy_path;    // "" = the embedded default (absolute otherwise)
  std::optional<std::string> agent;
  int timeout_seconds = 30;   // how long the client waits for the hook
};

struct InstallReport {
  std::string config_path;
  std::string backup_path;          // "" when no backup was written
  bool changed = false;             // false: the file already said exactly this
  std::vector<std::string> changes;  // what was added or removed, one line each
  std::vector<std::string> notes;    // fail-open defaults closed, trust steps left to the user
};

// The hook command written into the client's configuration.
std::string HookCommand(const InstallOptions& options);

// The trust hash Codex records for a command hook handler
// ("sha256:<hex>" of its identity: event label such as "pre_tool_use",
// matcher, command, timeout, async false).
std::string CodexTrustHash(std::string_view event_label, const std::optional<std::string>& matcher,
                           const std::string& command, int timeout_seconds);

// The configuration file for a client and scope.
Result<std::string> ConfigPath(const InstallOptions& options);

Result<InstallReport> InstallHooks(const InstallOptions& options);
Result<InstallReport> UninstallHooks(const InstallOptions& options);

}  // namespace toolgate::hooks
