// OpenAI Codex CLI's hook dialect: Claude's PreToolUse / PostToolUse shape plus
// turn_id and model. Codex rejects a bare "allow" and an "ask" answer, and
// needs a non-empty reason on a deny, so: allow = print nothing, ask = deny
// saying a human must approve, deny = hookSpecificOutput deny with its reason.
// apply_patch (tool_input.command holds the patch) is judged as one file tool
// call per file the patch touches.
#pragma once

#include "hooks/adapter.h"

namespace toolgate::hooks {

// Codex's shell tool names mapped onto Bash.
const std::vector<ToolMapping>& CodexToolMappings();

}  // namespace toolgate::hooks
