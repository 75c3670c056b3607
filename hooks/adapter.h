// Hook adapters: one per agent client. An adapter turns the client's hook stdin
// JSON into toolgate ToolCalls (with the client's tool and argument names
// mapped onto the names the engine judges, so one policy applies whatever the
// client), and renders toolgate's answer in exactly the form that client
// honors. Rendering never fails: a deny can always be written.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/decision.h"
#include "toolgate/result.h"
#include "toolgate/tool_call.h"

namespace toolgate::hooks {

// What the shim answers, before it is put in a client's words.
struct HookAnswer {
  Verdict verdict = Verdict::kDeny;
  std::string reason_for_model;  // reaches the model so the agent can correct itself
  std::string reason_for_human;  // shown to the user where the client has a place for it
  // Replacement tool input in toolgate's argument names (Bash: command, Write:
  // file_path + content, ...); adapters map it back to the client's names.
  std::optional<nlohmann::json> updated_input;
  std::optional<std::string> additional_context;  // extra text for the model
};

// What the hook process writes and how it exits.
struct HookOutput {
  std::string stdout_text;  // "" = print nothing
  std::string stderr_text;
  int exit_code = 0;
};

enum class HookPhase { kPre, kPost };

// Everything Render needs to know about the input it answers.
struct HookContext {
  Client client = Client::kUnknown;
  HookPhase phase = HookPhase::kPre;
  std::string event;        // the client's event name as sent ("PreToolUse", "beforeShellExecution", ...)
  std::string client_tool;  // the tool name as sent
  bool claude_shaped = false;     // Copilot: the input came in Claude's snake_case form
  bool input_unreadable = false;  // the input could not be parsed at all
  // Argument names the adapter renamed, {client name, toolgate name}; Render
  // renames updated_input back with them.
  std::vector<std::pair<std::string, std::string>> renamed_keys;
  // The call cannot be rewritten (a Codex patch judged as several file writes):
  // an updated_input becomes a deny.
  bool input_not_rewritable = false;
  // The client can put an ask to a human for this event. When it cannot
  // (Codex and Gemini CLI hooks, Cursor's beforeReadFile), the decision is
  // made headless: an ask follows the policy's ask_fallback
  // (include/toolgate/ask_fallback.h) before it is logged and answered.
  bool can_ask = true;
};

// A parsed hook input: usually one call; a Codex apply_patch becomes one call
// per file it touches. The verdict is the most severe of them.
struct ParsedHook {
  HookContext context;
  std::vector<ToolCall> calls;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual Client client() const = 0;
  // Parses an already size/UTF-8/depth-checked JSON document. Errors carry a
  // code and a JSON pointer, like ParseToolCall's.
  virtual Result<ParsedHook> Parse(const nlohmann::json& input) const = 0;
  // Puts an answer in the client's words. context.input_unreadable set means
  // Parse never succeeded: the answer is a deny in the most robust form.
  virtual HookOutput Render(const HookContext& context, const HookAnswer& answer) const = 0;
};

const Adapter& ClaudeAdapter();
const Adapter& CopilotAdapter();
const Adapter& CodexAdapter();
const Adapter& GeminiAdapter();
const Adapter& CursorAdapter();

// The adapter for a client; nullptr for clients without hooks (canonical, mcp, unknown).
const Adapter* AdapterFor(Client client);

// Which client wrote this hook input, from its shape (hooks/detect.cc):
// Cursor's conversation_id/workspace_roots or its event names, Copilot's
// camelCase toolName/toolArgs, Gemini's BeforeTool/AfterTool, Codex's turn_id
// or its tool names (apply_patch), else Claude for any snake_case
// tool_name/tool_input. kUnknown when none fits.
Client DetectClient(const nlohmann::json& input);

// ---- helpers shared by the adapters (hooks/adapter.cc) ----------------------

// Reads an optional string key; a present non-string, non-null value is a
// kWrongType error at /key.
std::optional<Error> ReadString(const nlohmann::json& obj, std::string_view key, std::string* out);

// Renames keys of an object input ({client name, toolgate name}); a key whose
// toolgate name is already present is left alone. Records each rename done.
void RenameKeys(nlohmann::json* input, const std::vector<std::pair<std::string, std::string>>& renames,
                std::vector<std::pair<std::string, std::string>>* done);

// The inverse of RenameKeys, for updated_input.
nlohmann::json RenameBack(const nlohmann::json& input, const std::vector<std::pair<std::string, std::string>>& done);

// A tool argument object that may arrive as an object or as a JSON string
// holding one (Copilot's toolArgs, Cursor's MCP tool_input). A missing/null
// value is an empty object; a string that is not an object is an error.
Result<nlohmann::json> ArgumentsObject(const nlohmann::json& value, std::string_view pointer);

// One client tool known under a toolgate name, with its argument renames.
struct ToolMapping {
  std::string_view client_tool;
  std::string_view toolgate_tool;
  std::vector<std::pair<std::string, std::string>> renames;  // {client key, toolgate key}
};

// Maps call->tool_name through the table (exact, case-sensitive names). A
// mapped call keeps the client's name in client_tool_name; an unknown tool is
// judged under its own name (a policy that does not grant it denies it).
void MapTool(const std::vector<ToolMapping>& table, ToolCall* call, HookContext* context);

// The text a deny shows when the shim itself failed, naming what failed.
std::string FailureReason(const Error& error);

// Serializes an answer object on one line; invalid UTF-8 in reasons is replaced.
std::string JsonLine(const nlohmann::json& value);

}  // namespace toolgate::hooks
