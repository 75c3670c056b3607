// DetectClient: which client wrote a hook input, from keys only that client
// sends. Order matters: the most specific shapes are tested first, and a
// guess that is wrong between Claude and Codex errs towards Codex, whose
// dialect is the stricter one (silence instead of a forced allow).
#include "hooks/adapter.h"

namespace toolgate::hooks {
namespace {

bool EventIs(const nlohmann::json& input, std::initializer_list<std::string_view> names) {
  const auto it = input.find("hook_event_name");
  if (it == input.end() || !it->is_string()) return false;
  const std::string& event = it->get_ref<const std::string&>();
  for (std::string_view n : names) {
    if (event == n) return true;
  }
  return false;
}

}  // namespace

Client DetectClient(const nlohmann::json& input) {
  if (!input.is_object()) return Client::kUnknown;
  if (input.contains("conversation_id") || input.contains("workspace_roots") || input.contains("cursor_version") ||
      EventIs(input, {"beforeShellExecution", "beforeMCPExecution", "beforeReadFile", "afterShellExecution",
                      "afterMCPExecution", "afterFileEdit"})) {
    return Client::kCursor;
  }
  if (input.contains("toolName") || input.contains("toolArgs")) return Client::kCopilot;
  if (EventIs(input, {"BeforeTool", "AfterTool"})) return Client::kGemini;
  if (!input.contains("tool_name")) return Client::kUnknown;
  if (input.contains("turn_id") || input.contains("model")) return Client::kCodex;
  if (const auto tool = input.find("tool_name"); tool->is_string() && tool->get_ref<const std::string&>() == "apply_patch") {
    return Client::kCodex;
  }
  if (input.contains("hook_event_name") || input.contains("tool_use_id") || input.contains("tool_input")) {
    return Client::kClaude;
  }
  return Client::kUnknown;
}

}  // namespace toolgate::hooks
