#include "hooks/claude.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;

bool OneOf(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

class Claude final : public Adapter {
 public:
  Client client() const override { return Client::kClaude; }

  Result<ParsedHook> Parse(const json& input) const override {
    return ParseSnakeCaseToolHook(input, Client::kClaude, {"PreToolUse"}, {"PostToolUse"});
  }

  HookOutput Render(const HookContext& context, const HookAnswer& answer) const override {
    HookOutput out;
    if (context.phase == HookPhase::kPost && !context.input_unreadable) {
      // The tool already ran: the call is logged, and context (if any) reaches the model.
      if (answer.additional_context) {
        out.stdout_text = JsonLine(json{{"hookSpecificOutput",
                                         {{"hookEventName", "PostToolUse"},
                                          {"additionalContext", *answer.additional_context}}}});
      }
      return out;
    }
    out.stdout_text = JsonLine(ClaudePreToolUseAnswer(context, answer));
    if (context.input_unreadable) {
      // Without a parsed input, exit 2 is the block Claude Code honors in
      // every version; its stderr is the reason the model sees.
      out.stderr_text = answer.reason_for_model + "\n";
      out.exit_code = 2;
    }
    return out;
  }
};

}  // namespace

Result<ParsedHook> ParseSnakeCaseToolHook(const json& input, Client client,
                                          std::initializer_list<std::string_view> pre_events,
                                          std::initializer_list<std::string_view> post_events) {
  if (!input.is_object()) return Error{ErrorCode::kWrongType, "hook input must be a JSON object", "/"};
  ParsedHook parsed;
  parsed.context.client = client;
  if (auto e = ReadString(input, "hook_event_name", &parsed.context.event)) return *e;
  if (parsed.context.event.empty() || OneOf(parsed.context.event, pre_events)) {
    parsed.context.phase = HookPhase::kPre;
  } else if (OneOf(parsed.context.event, post_events)) {
    parsed.context.phase = HookPhase::kPost;
  } else {
    return Error{ErrorCode::kUnsupportedFormat,
                 "hook event '" + parsed.context.event + "' is not a tool event toolgate judges", "/hook_event_name"};
  }
  Result<ToolCall> call = ToolCallFromClaudeHook(input);
  if (!call) return call.error();
  call->client = client;
  call->agent_id.clear();
  // Only a post event carries what the tool returned.
  if (parsed.context.phase == HookPhase::kPre) call->tool_response.reset();
  parsed.context.client_tool = call->tool_name;
  parsed.calls.push_back(std::move(call).value());
  return parsed;
}

json ClaudePreToolUseAnswer(const HookContext& context, const HookAnswer& answer) {
  json specific{{"hookEventName", "PreToolUse"}, {"permissionDecision", VerdictName(answer.verdict)}};
  if (answer.verdict != Verdict::kAllow || !answer.reason_for_model.empty()) {
    specific["permissionDecisionReason"] = answer.reason_for_model;
  }
  if (answer.updated_input && answer.verdict != Verdict::kDeny) {
    specific["updatedInput"] = RenameBack(*answer.updated_input, context.renamed_keys);
  }
  if (answer.additional_context) specific["additionalContext"] = *answer.additional_context;
  return json{{"hookSpecificOutput", std::move(specific)}};
}

const Adapter& ClaudeAdapter() {
  static const Claude adapter;
  return adapter;
}

}  // namespace toolgate::hooks
