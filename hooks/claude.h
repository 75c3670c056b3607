// Claude Code's hook dialect (PreToolUse / PostToolUse, snake_case keys).
// Codex, Gemini and Copilot's Claude-compatible form share its input shape,
// so its parser is shared with them.
#pragma once

#include <nlohmann/json.hpp>

#include "hooks/adapter.h"

namespace toolgate::hooks {

// Parses {session_id, cwd, hook_event_name, tool_name, tool_input, tool_use_id,
// permission_mode, ...} into one call for `client`. pre_events / post_events
// are the event names that mean before / after the tool runs; a missing
// hook_event_name means before. Any other event is kUnsupportedFormat.
// The input's agent_id (Claude's subagent id) is not toolgate's agent
// identity and is dropped; the shim's --agent sets it.
Result<ParsedHook> ParseSnakeCaseToolHook(const nlohmann::json& input, Client client,
                                          std::initializer_list<std::string_view> pre_events,
                                          std::initializer_list<std::string_view> post_events);

// Claude's PreToolUse answer object (hookSpecificOutput with
// permissionDecision, permissionDecisionReason, updatedInput, additionalContext).
nlohmann::json ClaudePreToolUseAnswer(const HookContext& context, const HookAnswer& answer);

}  // namespace toolgate::hooks
