#include "hooks/gemini.h"

#include "hooks/claude.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;

class Gemini final : public Adapter {
 public:
  Client client() const override { return Client::kGemini; }

  Result<ParsedHook> Parse(const json& input) const override {
    Result<ParsedHook> parsed = ParseSnakeCaseToolHook(input, Client::kGemini, {"BeforeTool"}, {"AfterTool"});
    if (!parsed) return parsed;
    parsed->context.can_ask = false;  // a headless Gemini CLI run never gets a person to ask
    MapTool(GeminiToolMappings(), &parsed->calls[0], &parsed->context);
    return parsed;
  }

  HookOutput Render(const HookContext& context, const HookAnswer& answer) const override {
    HookOutput out;
    if (context.input_unreadable) {
      // Exit 2 blocks in every Gemini CLI version that runs hooks; stderr is the reason.
      out.stdout_text = JsonLine(Deny(answer.reason_for_model));
      out.stderr_text = answer.reason_for_model + "\n";
      out.exit_code = 2;
      return out;
    }
    if (context.phase == HookPhase::kPost) {
      json o = json::object();
      if (answer.additional_context) {
        o["hookSpecificOutput"] = json{{"hookEventName", "AfterTool"}, {"additionalContext", *answer.additional_context}};
      }
      out.stdout_text = JsonLine(o);
      return out;
    }
    switch (answer.verdict) {
      case Verdict::kDeny:
        out.stdout_text = JsonLine(Deny(answer.reason_for_model));
        return out;
      case Verdict::kAsk:
        // Gemini's "ask" waits for a person; a headless run never gets one.
        // The decision was made headless (ask_fallback), so an ask arrives
        // here only from a daemon that predates it.
        out.stdout_text = JsonLine(Deny("toolgate: this call needs a human's approval, which a Gemini CLI hook "
                                        "cannot ask for, so it is blocked. " + answer.reason_for_model));
        return out;
      case Verdict::kAllow: break;
    }
    json o{{"decision", "allow"}};
    if (answer.updated_input) {
      // Gemini merges these keys over the model's arguments.
      o["hookSpecificOutput"] = json{{"hookEventName", "BeforeTool"},
                                     {"tool_input", RenameBack(*answer.updated_input, context.renamed_keys)}};
    }
    if (answer.additional_context) o["systemMessage"] = *answer.additional_context;
    out.stdout_text = JsonLine(o);
    return out;
  }

 private:
  static json Deny(const std::string& reason) {
    return json{{"decision", "deny"},
                {"reason", reason.empty() ? std::string("toolgate: this call was blocked by policy.") : reason}};
  }
};

}  // namespace

const std::vector<ToolMapping>& GeminiToolMappings() {
  static const std::vector<ToolMapping> table = {
      {"run_shell_command", "Bash", {}},
      {"write_file", "Write", {{"absolute_path", "file_path"}}},
      {"replace", "Edit", {{"absolute_path", "file_path"}}},
      {"read_file", "Read", {{"absolute_path", "file_path"}}},
      {"list_directory", "LS", {{"dir_path", "path"}}},
      {"glob", "Glob", {{"dir_path", "path"}}},
      {"search_file_content", "Grep", {{"dir_path", "path"}, {"include", "glob"}}},
      {"grep_search", "Grep", {{"dir_path", "path"}, {"include", "glob"}, {"include_pattern", "glob"}}},
      {"web_fetch", "WebFetch", {}},
      {"google_web_search", "WebSearch", {}},
  };
  return table;
}

const Adapter& GeminiAdapter() {
  static const Gemini adapter;
  return adapter;
}

}  // namespace toolgate::hooks
