#include "hooks/cursor.h"

#include <chrono>

namespace toolgate::hooks {
namespace {

using nlohmann::json;

bool OneOf(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

Result<std::string> RequiredString(const json& input, const char* key) {
  const auto it = input.find(key);
  if (it == input.end() || it->is_null()) {
    return Error{ErrorCode::kMissingField, std::string(key) + " is missing", std::string("/") + key};
  }
  if (!it->is_string()) return Error{ErrorCode::kWrongType, std::string(key) + " must be a string", std::string("/") + key};
  std::string value = it->get<std::string>();
  if (value.empty()) return Error{ErrorCode::kMissingField, std::string(key) + " is empty", std::string("/") + key};
  return value;
}

class Cursor final : public Adapter {
 public:
  Client client() const override { return Client::kCursor; }

  Result<ParsedHook> Parse(const json& input) const override {
    if (!input.is_object()) return Error{ErrorCode::kWrongType, "hook input must be a JSON object", "/"};
    ParsedHook parsed;
    HookContext& ctx = parsed.context;
    ctx.client = Client::kCursor;
    ToolCall call;
    call.client = Client::kCursor;
    if (auto e = ReadString(input, "hook_event_name", &ctx.event)) return *e;
    if (auto e = ReadString(input, "conversation_id", &call.session_id)) return *e;
    if (auto e = ReadString(input, "cwd", &call.cwd)) return *e;
    if (call.cwd.empty()) {
      // Cursor sends the workspace roots on every event; the first is where the agent works.
      if (const auto roots = input.find("workspace_roots"); roots != input.end() && !roots->is_null()) {
        if (!roots->is_array()) return Error{ErrorCode::kWrongType, "workspace_roots must be an array", "/workspace_roots"};
        if (!roots->empty()) {
          if (!(*roots)[0].is_string()) {
            return Error{ErrorCode::kWrongType, "workspace_roots entries must be strings", "/workspace_roots/0"};
          }
          call.cwd = (*roots)[0].get<std::string>();
        }
      }
    }
    call.hook_event = ctx.event;
    call.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string& ev = ctx.event;
    if (OneOf(ev, {"beforeShellExecution", "afterShellExecution"})) {
      Result<std::string> command = RequiredString(input, "command");
      if (!command) return command.error();
      call.tool_name = "Bash";
      call.tool_input = json{{"command", *command}};
      ctx.client_tool = "Shell";
      call.client_tool_name = "Shell";
    } else if (OneOf(ev, {"beforeReadFile", "afterFileEdit"})) {
      Result<std::string> path = RequiredString(input, "file_path");
      if (!path) return path.error();
      // The file's content (beforeReadFile) is not the call's input: it is not copied into logs.
      call.tool_name = ev == "beforeReadFile" ? "Read" : "Edit";
      call.tool_input = json{{"file_path", *path}};
      ctx.client_tool = call.tool_name;
    } else if (OneOf(ev, {"beforeMCPExecution", "afterMCPExecution"})) {
      Result<std::string> tool = RequiredString(input, "tool_name");
      if (!tool) return tool.error();
      Result<json> args = ArgumentsObject(input.contains("tool_input") ? input["tool_input"] : json(), "/tool_input");
      if (!args) return args.error();
      ctx.client_tool = *tool;
      call.client_tool_name = *tool;
      call.tool_name = tool->rfind("mcp__", 0) == 0 ? *tool : std::string(kCursorMcpPrefix) + *tool;
      call.tool_input = std::move(args).value();
    } else if (OneOf(ev, {"preToolUse", "postToolUse"})) {
      Result<std::string> tool = RequiredString(input, "tool_name");
      if (!tool) return tool.error();
      Result<json> args = ArgumentsObject(input.contains("tool_input") ? input["tool_input"] : json(), "/tool_input");
      if (!args) return args.error();
      if (auto e = ReadString(input, "tool_use_id", &call.call_id)) return *e;
      call.tool_name = *tool;
      call.tool_input = std::move(args).value();
      MapTool(CursorToolMappings(), &call, &ctx);
    } else if (ev.empty()) {
      return Error{ErrorCode::kMissingField, "hook_event_name is missing", "/hook_event_name"};
    } else {
      return Error{ErrorCode::kUnsupportedFormat, "hook event '" + ev + "' is not a tool event toolgate judges",
                   "/hook_event_name"};
    }
    if (call.call_id.empty()) {
      if (auto e = ReadString(input, "generation_id", &call.call_id)) return *e;
    }
    ctx.phase = ev.rfind("before", 0) == 0 || ev == "preToolUse" ? HookPhase::kPre : HookPhase::kPost;
    ctx.can_ask = ev != "beforeReadFile";  // it honors only allow and deny
    parsed.calls.push_back(std::move(call));
    return parsed;
  }

  HookOutput Render(const HookContext& context, const HookAnswer& answer) const override {
    HookOutput out;
    if (context.phase == HookPhase::kPost && !context.input_unreadable) {
      out.stdout_text = "{}\n";
      return out;
    }
    Verdict v = answer.verdict;
    std::string agent_message = answer.reason_for_model;
    if (v == Verdict::kAsk && context.event == "beforeReadFile") {
      // beforeReadFile honors only allow and deny; the decision was made
      // headless (ask_fallback), so an ask arrives only from an older daemon.
      v = Verdict::kDeny;
      agent_message = "toolgate: reading this file needs a human's approval, which Cursor cannot ask for here, "
                      "so it is blocked. " + agent_message;
    }
    json o{{"permission", VerdictName(v)}};
    if (v != Verdict::kAllow) {
      o["user_message"] = answer.reason_for_human.empty() ? agent_message : answer.reason_for_human;
      o["agent_message"] = agent_message.empty() ? std::string("toolgate: this call was blocked by policy.") : agent_message;
    }
    if (answer.updated_input && v != Verdict::kDeny && context.event == "preToolUse") {
      o["updated_input"] = RenameBack(*answer.updated_input, context.renamed_keys);
    }
    out.stdout_text = JsonLine(o);
    if (context.input_unreadable) {
      // Exit 2 blocks too, for a hook entry whose event could not be read.
      out.stderr_text = agent_message + "\n";
      out.exit_code = 2;
    }
    return out;
  }
};

}  // namespace

const std::vector<ToolMapping>& CursorToolMappings() {
  static const std::vector<ToolMapping> table = {
      {"Shell", "Bash", {}},
      {"Read", "Read", {{"path", "file_path"}, {"target_file", "file_path"}}},
      {"Write", "Write", {{"path", "file_path"}, {"contents", "content"}}},
      {"StrReplace", "Edit", {{"path", "file_path"}}},
      {"Edit", "Edit", {{"path", "file_path"}}},
      {"Delete", "Write", {{"path", "file_path"}}},
      {"Grep", "Grep", {}},
      {"Glob", "Glob", {}},
      {"LS", "LS", {}},
  };
  return table;
}

const Adapter& CursorAdapter() {
  static const Cursor adapter;
  return adapter;
}

}  // namespace toolgate::hooks
