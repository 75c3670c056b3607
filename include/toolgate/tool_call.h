// The canonical ToolCall: one agent's request to run one tool, whatever
// client it came from. Adapters (hooks/) produce it; the engine judges it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "toolgate/result.h"

namespace toolgate {

// Which agent client produced the call. kCanonical is toolgate's own form.
enum class Client { kUnknown, kCanonical, kClaude, kCopilot, kCodex, kGemini, kCursor, kMcp };

const char* ClientName(Client client);       // "claude", "canonical", ...
Client ClientFromName(std::string_view name);  // kUnknown when not a known name

struct ToolCall {
  std::string agent_id;         // configured agent identity ("" = policy default agent)
  std::string session_id;
  Client client = Client::kUnknown;
  std::string hook_event;       // "PreToolUse", ... ("" for canonical calls)
  std::string tool_name;        // "Bash", "Write", "mcp__github__create_issue", ...
  nlohmann::json tool_input = nlohmann::json::object();
  std::string cwd;              // absolute; "" when the client did not say
  std::string phase;            // task phase ("" = none)
  std::string permission_mode;  // Claude's permission_mode, informational
  std::int64_t timestamp_ms = 0;  // Unix epoch milliseconds, 0 when unknown
  std::string call_id;          // the client's id for this call (tool_use_id, ...)
  // The tool's name as the client sent it, when a hook adapter mapped it onto
  // toolgate's name (Gemini's run_shell_command judged as Bash); "" otherwise.
  // Only tool_name is judged; this keeps the original visible in logs.
  std::string client_tool_name;
  // Post events only (PostToolUse, AfterTool, postToolUse): what the tool
  // returned, as the client sent it (Claude/Codex/Gemini tool_response,
  // Copilot's toolResult). nullopt for pre events and canonical calls without
  // it. Bounded with the rest of the input (InputLimits); rules read it as
  // call.response / call.response_text. Not written to the decision log.
  std::optional<nlohmann::json> tool_response;
};

// A post event: the tool already ran (tool_response set, or a post hook event
// such as PostToolUse, postToolUse, AfterTool, Cursor's after* events).
bool IsPostEvent(const ToolCall& call);

// Limits applied to every untrusted input before and while it is parsed.
struct InputLimits {
  std::size_t max_bytes = 1u << 20;  // 1 MiB
  int max_depth = 64;                 // JSON nesting
};

// Checks size, UTF-8 and nesting, then parses. Every failure is an Error
// with a code (kInputTooLarge, kInvalidUtf8, kNestingTooDeep, kMalformedJson).
Result<nlohmann::json> ParseUntrustedJson(std::string_view text, const InputLimits& limits = {});

// Claude Code's PreToolUse (and PostToolUse) hook stdin object. Unknown keys
// are ignored; tool_name must be a non-empty string and tool_input an object.
Result<ToolCall> ToolCallFromClaudeHook(const nlohmann::json& input);

// toolgate's canonical form: the keys of ToolCall (tool_name required,
// tool_input object, client as a name, timestamp_ms as an integer,
// client_tool_name optional).
Result<ToolCall> ToolCallFromCanonical(const nlohmann::json& input);

// Picks the form from the input's shape: a "hook_event_name" or "tool_use_id"
// key means Claude's hook form; otherwise canonical.
Result<ToolCall> ParseToolCall(std::string_view text, const InputLimits& limits = {});

// client_tool_name and tool_response are emitted only when set, so records of unmapped calls
// keep their exact form.
nlohmann::json ToJson(const ToolCall& call);

}  // namespace toolgate
