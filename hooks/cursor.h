// Cursor's hook dialect: beforeShellExecution {command, cwd},
// beforeMCPExecution {tool_name, tool_input (object or JSON string), url|command},
// beforeReadFile {file_path, content}, preToolUse {tool_name, tool_input,
// tool_use_id, cwd}, with conversation_id, generation_id and workspace_roots
// on every event. Answers {"permission":"allow|deny|ask","user_message",
// "agent_message"}; beforeReadFile only honors allow/deny (ask becomes deny).
// The after* events and postToolUse are accepted and logged.
#pragma once

#include "hooks/adapter.h"

namespace toolgate::hooks {

// preToolUse tools: Shell -> Bash, Read -> Read, Write -> Write, StrReplace/Edit
// -> Edit, Delete -> Write (a deletion writes its path), Grep, Glob, LS.
const std::vector<ToolMapping>& CursorToolMappings();

// MCP tools from beforeMCPExecution are judged as mcp__cursor__<tool_name>
// (Cursor does not name the server), so policies grant "mcp__cursor__*".
inline constexpr std::string_view kCursorMcpPrefix = "mcp__cursor__";

}  // namespace toolgate::hooks
