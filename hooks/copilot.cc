#include "hooks/copilot.h"

#include <cmath>
#include <cstdint>

#include "hooks/claude.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;

class Copilot final : public Adapter {
 public:
  Client client() const override { return Client::kCopilot; }

  Result<ParsedHook> Parse(const json& input) const override {
    if (!input.is_object()) return Error{ErrorCode::kWrongType, "hook input must be a JSON object", "/"};
    if (!input.contains("toolName") && input.contains("tool_name")) {
      // Copilot's Claude-compatible form (event configured as PreToolUse).
      Result<ParsedHook> parsed = ParseSnakeCaseToolHook(input, Client::kCopilot, {"PreToolUse", "preToolUse"},
                                                         {"PostToolUse", "postToolUse"});
      if (!parsed) return parsed;
      parsed->context.claude_shaped = true;
      MapTool(CopilotToolMappings(), &parsed->calls[0], &parsed->context);
      return parsed;
    }
    ParsedHook parsed;
    parsed.context.client = Client::kCopilot;
    ToolCall call;
    call.client = Client::kCopilot;
    if (auto e = ReadString(input, "sessionId", &call.session_id)) return *e;
    if (auto e = ReadString(input, "cwd", &call.cwd)) return *e;
    const auto name = input.find("toolName");
    if (name == input.end()) return Error{ErrorCode::kMissingField, "toolName is missing", "/toolName"};
    if (!name->is_string()) return Error{ErrorCode::kWrongType, "toolName must be a string", "/toolName"};
    call.tool_name = name->get<std::string>();
    if (call.tool_name.empty()) return Error{ErrorCode::kMissingField, "toolName is empty", "/toolName"};
    Result<json> args = ArgumentsObject(input.contains("toolArgs") ? input["toolArgs"] : json(), "/toolArgs");
    if (!args) return args.error();
    call.tool_input = std::move(args).value();
    if (const auto ts = input.find("timestamp"); ts != input.end() && !ts->is_null()) {
      if (!ts->is_number()) return Error{ErrorCode::kWrongType, "timestamp must be a number (ms)", "/timestamp"};
      // Milliseconds since the epoch; a value no int64 can hold (or NaN) is
      // refused rather than converted (a float cast out of range is undefined).
      constexpr double kLimit = 9.2e18;  // below 2^63
      const bool fits = ts->is_number_unsigned()  ? ts->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)
                        : ts->is_number_integer() ? true
                                                  : std::fabs(ts->get<double>()) < kLimit;
      if (!fits) return Error{ErrorCode::kWrongType, "timestamp is out of range (ms since the epoch)", "/timestamp"};
      call.timestamp_ms = ts->is_number_integer() ? ts->get<std::int64_t>() : static_cast<std::int64_t>(ts->get<double>());
    }
    // The event is named by the hook configuration, not the input: a toolResult
    // (or an error) means the tool already ran.
    if (input.contains("toolResult") || input.contains("error")) {
      parsed.context.phase = HookPhase::kPost;
      parsed.context.event = "postToolUse";
      // {resultType, textResultForLlm} as Copilot sends it; judged by rules as call.response.
      if (const auto result = input.find("toolResult"); result != input.end() && !result->is_null()) {
        call.tool_response = *result;
      }
    } else {
      parsed.context.event = "preToolUse";
    }
    call.hook_event = parsed.context.event;
    MapTool(CopilotToolMappings(), &call, &parsed.context);
    parsed.calls.push_back(std::move(call));
    return parsed;
  }

  HookOutput Render(const HookContext& context, const HookAnswer& answer) const override {
    HookOutput out;
    if (context.phase == HookPhase::kPost && !context.input_unreadable) return out;  // logged; nothing to say
    json flat{{"permissionDecision", VerdictName(answer.verdict)}};
    if (answer.verdict != Verdict::kAllow || !answer.reason_for_model.empty()) {
      flat["permissionDecisionReason"] = answer.reason_for_model;
    }
    if (answer.updated_input && answer.verdict != Verdict::kDeny) {
      flat["modifiedArgs"] = RenameBack(*answer.updated_input, context.renamed_keys);
    }
    if (answer.additional_context) flat["additionalContext"] = *answer.additional_context;
    if (context.claude_shaped || context.input_unreadable) {
      // Claude-format hook: answer in Claude's form too; each side ignores the other's keys.
      json both = ClaudePreToolUseAnswer(context, answer);
      for (auto& [k, v] : flat.items()) both[k] = v;
      out.stdout_text = JsonLine(both);
    } else {
      out.stdout_text = JsonLine(flat);
    }
    return out;
  }
};

}  // namespace

const std::vector<ToolMapping>& CopilotToolMappings() {
  static const std::vector<ToolMapping> table = {
      {"bash", "Bash", {}},
      {"create", "Write", {{"path", "file_path"}, {"file_text", "content"}}},
      {"edit", "Edit", {{"path", "file_path"}, {"old_str", "old_string"}, {"new_str", "new_string"}}},
      {"view", "Read", {{"path", "file_path"}}},
      {"glob", "Glob", {}},
      {"grep", "Grep", {}},
      {"web_fetch", "WebFetch", {}},
  };
  return table;
}

const Adapter& CopilotAdapter() {
  static const Copilot adapter;
  return adapter;
}

}  // namespace toolgate::hooks
