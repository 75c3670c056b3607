#include "hooks/codex.h"

#include "hooks/apply_patch.h"
#include "hooks/claude.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;

std::string NonEmpty(const std::string& reason) {
  return reason.empty() ? std::string("toolgate: this call was blocked by policy.") : reason;
}

// One Write/Edit call per file the patch touches, each keeping apply_patch as
// its client tool name so logs show what Codex asked for.
Result<std::vector<ToolCall>> PatchCalls(const ToolCall& call) {
  const json& input = call.tool_input;
  const json* text = nullptr;
  for (const char* key : {"command", "patch", "input"}) {
    if (const auto it = input.find(key); it != input.end() && !it->is_null()) {
      text = &*it;
      break;
    }
  }
  if (text == nullptr) return Error{ErrorCode::kMissingField, "apply_patch has no patch text", "/tool_input/command"};
  if (!text->is_string()) return Error{ErrorCode::kWrongType, "apply_patch patch text must be a string", "/tool_input/command"};
  Result<std::vector<PatchFileOp>> ops = ParseApplyPatch(text->get_ref<const std::string&>());
  if (!ops) return ops.error();
  std::vector<ToolCall> calls;
  for (const PatchFileOp& op : *ops) {
    ToolCall c = call;
    c.client_tool_name = call.tool_name;
    switch (op.kind) {
      case PatchFileOp::Kind::kAdd:
        c.tool_name = "Write";
        c.tool_input = json{{"file_path", op.path}, {"content", op.new_text}, {"patch_operation", "add"}};
        break;
      case PatchFileOp::Kind::kDelete:
        // Deleting a file writes its path.
        c.tool_name = "Write";
        c.tool_input = json{{"file_path", op.path}, {"content", ""}, {"patch_operation", "delete"}};
        break;
      case PatchFileOp::Kind::kUpdate:
        c.tool_name = "Edit";
        c.tool_input = json{{"file_path", op.path},
                            {"old_string", op.old_text},
                            {"new_string", op.new_text},
                            {"patch_operation", op.move_to.empty() ? "update" : "move"}};
        break;
    }
    calls.push_back(c);
    if (!op.move_to.empty()) {
      ToolCall moved = c;
      moved.tool_name = "Write";
      moved.tool_input = json{{"file_path", op.move_to}, {"content", op.new_text}, {"patch_operation", "move"}};
      calls.push_back(std::move(moved));
    }
  }
  return calls;
}

class Codex final : public Adapter {
 public:
  Client client() const override { return Client::kCodex; }

  Result<ParsedHook> Parse(const json& input) const override {
    Result<ParsedHook> parsed = ParseSnakeCaseToolHook(input, Client::kCodex, {"PreToolUse"}, {"PostToolUse"});
    if (!parsed) return parsed;
    parsed->context.can_ask = false;  // Codex rejects "ask" from a hook
    ToolCall& call = parsed->calls[0];
    if (call.tool_name == "apply_patch") {
      Result<std::vector<ToolCall>> calls = PatchCalls(call);
      if (!calls) return calls.error();
      parsed->calls = std::move(calls).value();
      parsed->context.input_not_rewritable = true;
      return parsed;
    }
    MapTool(CodexToolMappings(), &call, &parsed->context);
    return parsed;
  }

  HookOutput Render(const HookContext& context, const HookAnswer& answer) const override {
    HookOutput out;
    if (context.input_unreadable) {
      out.stdout_text = JsonLine(Deny(answer.reason_for_model));
      out.stderr_text = NonEmpty(answer.reason_for_model) + "\n";
      out.exit_code = 2;
      return out;
    }
    if (context.phase == HookPhase::kPost) {
      if (answer.additional_context) {
        out.stdout_text = JsonLine(json{{"hookSpecificOutput",
                                         {{"hookEventName", "PostToolUse"},
                                          {"additionalContext", *answer.additional_context}}}});
      }
      return out;
    }
    switch (answer.verdict) {
      case Verdict::kDeny:
        out.stdout_text = JsonLine(Deny(answer.reason_for_model));
        return out;
      case Verdict::kAsk:
        // Codex hooks cannot ask the user (it rejects "ask"). The decision was
        // made headless (ask_fallback), so an ask arrives here only from a
        // daemon that predates it: blocked, and the reason says so.
        out.stdout_text = JsonLine(Deny("toolgate: this call needs a human's approval, which a Codex hook cannot "
                                        "ask for, so it is blocked. " + answer.reason_for_model));
        return out;
      case Verdict::kAllow: break;
    }
    if (answer.updated_input) {
      if (context.input_not_rewritable) {
        out.stdout_text = JsonLine(Deny("toolgate: this call would have to be rewritten, and a patch judged file by "
                                        "file cannot be; it is blocked."));
        return out;
      }
      json specific{{"hookEventName", "PreToolUse"},
                    {"permissionDecision", "allow"},
                    {"updatedInput", RenameBack(*answer.updated_input, context.renamed_keys)}};
      if (answer.additional_context) specific["additionalContext"] = *answer.additional_context;
      out.stdout_text = JsonLine(json{{"hookSpecificOutput", std::move(specific)}});
      return out;
    }
    if (answer.additional_context) {
      out.stdout_text = JsonLine(json{{"hookSpecificOutput",
                                       {{"hookEventName", "PreToolUse"},
                                        {"additionalContext", *answer.additional_context}}}});
    }
    // A plain allow is silence: Codex rejects permissionDecision "allow" without updatedInput.
    return out;
  }

 private:
  static json Deny(const std::string& reason) {
    return json{{"hookSpecificOutput",
                 {{"hookEventName", "PreToolUse"},
                  {"permissionDecision", "deny"},
                  {"permissionDecisionReason", NonEmpty(reason)}}}};
  }
};

}  // namespace

const std::vector<ToolMapping>& CodexToolMappings() {
  static const std::vector<ToolMapping> table = {
      {"Bash", "Bash", {}},
      {"shell", "Bash", {}},
      {"local_shell", "Bash", {}},
      {"exec_command", "Bash", {{"cmd", "command"}}},
      {"unified_exec", "Bash", {{"cmd", "command"}}},
  };
  return table;
}

const Adapter& CodexAdapter() {
  static const Codex adapter;
  return adapter;
}

}  // namespace toolgate::hooks
