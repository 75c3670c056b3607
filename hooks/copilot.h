// GitHub Copilot CLI's hook dialect: preToolUse / postToolUse in camelCase
// (sessionId, timestamp in ms, cwd, toolName, toolArgs as an object or a JSON
// string), answered with a flat {"permissionDecision", "permissionDecisionReason",
// "modifiedArgs"} on exit 0. Copilot also runs Claude-format hooks
// (PreToolUse / PostToolUse, snake_case); those are parsed like Claude's and
// answered in both forms.
#pragma once

#include "hooks/adapter.h"

namespace toolgate::hooks {

// Copilot's tool names and argument names mapped onto toolgate's:
// bash -> Bash, create -> Write (path, file_text), edit -> Edit (path, old_str,
// new_str), view -> Read (path), glob -> Glob, grep -> Grep, web_fetch -> WebFetch.
const std::vector<ToolMapping>& CopilotToolMappings();

}  // namespace toolgate::hooks
