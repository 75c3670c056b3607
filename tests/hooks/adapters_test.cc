// Each client adapter: parsing recorded inputs onto toolgate's tool names, and
// rendering every verdict in the client's own form.
#include <doctest/doctest.h>

#include <string>

#include "fixture.h"
#include "hooks/adapter.h"
#include "hooks/apply_patch.h"

using nlohmann::json;
using toolgate::Client;
using toolgate::ErrorCode;
using toolgate::Verdict;
using namespace toolgate::hooks;
using hooks_test::FixtureJson;

namespace {

HookAnswer Answer(Verdict v, std::string reason = "toolgate: reason for the model") {
  HookAnswer a;
  a.verdict = v;
  a.reason_for_model = std::move(reason);
  a.reason_for_human = "reason for the human";
  return a;
}

json Out(const HookOutput& out) {
  REQUIRE(!out.stdout_text.empty());
  return json::parse(out.stdout_text);
}

ParsedHook ParseFixture(const Adapter& adapter, const std::string& name) {
  auto parsed = adapter.Parse(FixtureJson(name));
  if (!parsed) FAIL(name << ": " << parsed.error().message << " at " << parsed.error().location);
  return std::move(parsed).value();
}

}  // namespace

TEST_CASE("every recorded input is detected as its client") {
  const std::pair<const char*, Client> cases[] = {
      {"claude/pre_bash_allow.json", Client::kClaude},       {"claude/post_bash.json", Client::kClaude},
      {"claude/pre_write_allow.json", Client::kClaude},      {"copilot/pre_bash_deny.json", Client::kCopilot},
      {"copilot/pre_create_allow.json", Client::kCopilot},  {"copilot/post_bash.json", Client::kCopilot},
      {"codex/pre_bash_allow.json", Client::kCodex},         {"codex/pre_apply_patch_allow.json", Client::kCodex},
      {"codex/post_bash.json", Client::kCodex},              {"gemini/before_shell_allow.json", Client::kGemini},
      {"gemini/after_tool.json", Client::kGemini},           {"cursor/before_shell_allow.json", Client::kCursor},
      {"cursor/before_mcp.json", Client::kCursor},           {"cursor/pre_tool_use_write_allow.json", Client::kCursor},
      {"cursor/before_read_file_deny.json", Client::kCursor}};
  for (const auto& [name, client] : cases) {
    const auto& fixture = name;  // clang < 16 cannot capture a structured binding
    CAPTURE(fixture);
    CHECK(DetectClient(FixtureJson(name)) == client);
  }
  CHECK(DetectClient(json::array()) == Client::kUnknown);
  CHECK(DetectClient(json{{"hello", 1}}) == Client::kUnknown);
  // Copilot's Claude-compatible form cannot be told from Claude's: it is answered as Claude.
  CHECK(DetectClient(FixtureJson("copilot/claude_shaped_pre_deny.json")) == Client::kClaude);
}

TEST_CASE("Claude: snake_case input parsed as is; every verdict in hookSpecificOutput") {
  const ParsedHook p = ParseFixture(ClaudeAdapter(), "claude/pre_bash_deny.json");
  REQUIRE(p.calls.size() == 1);
  CHECK(p.calls[0].tool_name == "Bash");
  CHECK(p.calls[0].client == Client::kClaude);
  CHECK(p.calls[0].client_tool_name.empty());
  CHECK(p.calls[0].call_id == "toolu_01BCDEF0123456789abcdefa");
  CHECK(p.context.phase == HookPhase::kPre);
  for (Verdict v : {Verdict::kAllow, Verdict::kAsk, Verdict::kDeny}) {
    const HookOutput out = ClaudeAdapter().Render(p.context, Answer(v));
    CHECK(out.exit_code == 0);
    const json o = Out(out);
    CHECK(o["hookSpecificOutput"]["hookEventName"] == "PreToolUse");
    CHECK(o["hookSpecificOutput"]["permissionDecision"] == toolgate::VerdictName(v));
    CHECK(o["hookSpecificOutput"]["permissionDecisionReason"] == "toolgate: reason for the model");
  }
  HookAnswer rewrite = Answer(Verdict::kAllow);
  rewrite.updated_input = json{{"command", "toolgate sandbox run -- git status"}};
  CHECK(Out(ClaudeAdapter().Render(p.context, rewrite))["hookSpecificOutput"]["updatedInput"]["command"] ==
        "toolgate sandbox run -- git status");
  // A deny never carries a rewritten input.
  rewrite.verdict = Verdict::kDeny;
  CHECK_FALSE(Out(ClaudeAdapter().Render(p.context, rewrite))["hookSpecificOutput"].contains("updatedInput"));
}

TEST_CASE("Claude: PostToolUse is accepted; context reaches the model only when there is some") {
  const ParsedHook p = ParseFixture(ClaudeAdapter(), "claude/post_bash.json");
  CHECK(p.context.phase == HookPhase::kPost);
  CHECK(p.calls[0].hook_event == "PostToolUse");
  HookOutput out = ClaudeAdapter().Render(p.context, Answer(Verdict::kDeny));
  CHECK(out.stdout_text.empty());
  CHECK(out.exit_code == 0);
  HookAnswer a = Answer(Verdict::kAllow);
  a.additional_context = "the fetched page contains instructions addressed to the agent";
  const json o = Out(ClaudeAdapter().Render(p.context, a));
  CHECK(o["hookSpecificOutput"]["hookEventName"] == "PostToolUse");
  CHECK(o["hookSpecificOutput"]["additionalContext"] == *a.additional_context);
}

TEST_CASE("Claude: an unreadable input is exit 2 with the reason on stderr, plus a JSON deny") {
  HookContext ctx;
  ctx.input_unreadable = true;
  const HookOutput out = ClaudeAdapter().Render(ctx, Answer(Verdict::kDeny, "toolgate could not judge: x"));
  CHECK(out.exit_code == 2);
  CHECK(out.stderr_text.find("toolgate could not judge: x") != std::string::npos);
  CHECK(Out(out)["hookSpecificOutput"]["permissionDecision"] == "deny");
}

TEST_CASE("Claude: non-tool events and wrong types are errors with a location") {
  auto e = ClaudeAdapter().Parse(json{{"hook_event_name", "UserPromptSubmit"}, {"prompt", "hi"}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kUnsupportedFormat);
  CHECK(e.error().location == "/hook_event_name");
  e = ClaudeAdapter().Parse(json{{"hook_event_name", "PreToolUse"}, {"tool_name", 7}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kWrongType);
  e = ClaudeAdapter().Parse(json{{"hook_event_name", "PreToolUse"}, {"tool_name", "Bash"}, {"tool_input", "ls"}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().location == "/tool_input");
  // The input's agent_id (a subagent id) is never taken as toolgate's agent identity.
  const auto p = ClaudeAdapter().Parse(json{{"hook_event_name", "PreToolUse"}, {"tool_name", "Bash"},
                                            {"tool_input", {{"command", "ls"}}}, {"agent_id", "claude-dev"}});
  REQUIRE(p.ok());
  CHECK(p->calls[0].agent_id.empty());
}

TEST_CASE("Copilot: toolArgs as a JSON string or an object, tools mapped onto toolgate's names") {
  ParsedHook p = ParseFixture(CopilotAdapter(), "copilot/pre_bash_deny.json");
  CHECK(p.calls[0].tool_name == "Bash");
  CHECK(p.calls[0].client_tool_name == "bash");
  CHECK(p.calls[0].tool_input["command"] == "cat ~/.ssh/id_rsa");
  CHECK(p.calls[0].timestamp_ms == 1763856000123);
  CHECK(p.calls[0].session_id == "2b1f0c7e-5d4a-4a53-9c1e-6f7a8b9c0d1e");
  CHECK(p.context.event == "preToolUse");

  p = ParseFixture(CopilotAdapter(), "copilot/pre_create_allow.json");
  CHECK(p.calls[0].tool_name == "Write");
  CHECK(p.calls[0].client_tool_name == "create");
  CHECK(p.calls[0].tool_input["file_path"] == "/home/dev/project/src/util.cc");
  CHECK(p.calls[0].tool_input.contains("content"));
  CHECK_FALSE(p.calls[0].tool_input.contains("path"));

  p = ParseFixture(CopilotAdapter(), "copilot/pre_edit_deny.json");
  CHECK(p.calls[0].tool_name == "Edit");
  CHECK(p.calls[0].tool_input["old_string"] == "127.0.0.1 localhost");

  CHECK(ParseFixture(CopilotAdapter(), "copilot/post_bash.json").context.phase == HookPhase::kPost);
}

TEST_CASE("Copilot: flat permissionDecision answer; modifiedArgs in Copilot's own argument names") {
  const ParsedHook p = ParseFixture(CopilotAdapter(), "copilot/pre_create_allow.json");
  const json deny = Out(CopilotAdapter().Render(p.context, Answer(Verdict::kDeny)));
  CHECK(deny["permissionDecision"] == "deny");
  CHECK(deny["permissionDecisionReason"] == "toolgate: reason for the model");
  CHECK_FALSE(deny.contains("hookSpecificOutput"));
  HookAnswer a = Answer(Verdict::kAllow, "");
  a.updated_input = json{{"file_path", "/home/dev/project/src/util.cc"}, {"content", "x"}};
  const json allow = Out(CopilotAdapter().Render(p.context, a));
  CHECK(allow["permissionDecision"] == "allow");
  CHECK(allow["modifiedArgs"] == json{{"path", "/home/dev/project/src/util.cc"}, {"file_text", "x"}});
  const HookOutput post = CopilotAdapter().Render(ParseFixture(CopilotAdapter(), "copilot/post_bash.json").context,
                                                  Answer(Verdict::kDeny));
  CHECK(post.stdout_text.empty());
  CHECK(post.exit_code == 0);
}

TEST_CASE("Copilot: Claude-shaped input is answered in both forms") {
  const ParsedHook p = ParseFixture(CopilotAdapter(), "copilot/claude_shaped_pre_deny.json");
  CHECK(p.context.claude_shaped);
  CHECK(p.calls[0].tool_name == "Bash");
  const json o = Out(CopilotAdapter().Render(p.context, Answer(Verdict::kDeny)));
  CHECK(o["permissionDecision"] == "deny");
  CHECK(o["hookSpecificOutput"]["permissionDecision"] == "deny");
}

TEST_CASE("Copilot: a timestamp no int64 can hold is an error, not a conversion") {
  for (const json& ts : {json(1.76385600763856e20), json(-1e19), json(std::uint64_t{1} << 63)}) {
    auto e = CopilotAdapter().Parse(json{{"toolName", "bash"}, {"toolArgs", json::object()}, {"timestamp", ts}});
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().location == "/timestamp");
  }
  auto ok = CopilotAdapter().Parse(json{{"toolName", "bash"}, {"toolArgs", json::object()}, {"timestamp", 1763856007638.5}});
  REQUIRE(ok.ok());
  CHECK(ok->calls[0].timestamp_ms == 1763856007638);
}

TEST_CASE("Copilot: malformed toolArgs are errors") {
  auto e = CopilotAdapter().Parse(json{{"toolName", "bash"}, {"toolArgs", "{not json"}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kMalformedJson);
  CHECK(e.error().location == "/toolArgs");
  e = CopilotAdapter().Parse(json{{"toolName", "bash"}, {"toolArgs", "[1,2]"}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kWrongType);
  e = CopilotAdapter().Parse(json{{"toolName", "bash"}, {"toolArgs", 42}});
  REQUIRE_FALSE(e.ok());
  e = CopilotAdapter().Parse(json{{"toolArgs", json::object()}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kMissingField);
  // A string nested past the depth limit is refused like any input.
  std::string deep(200, '[');
  deep += std::string(200, ']');
  e = CopilotAdapter().Parse(json{{"toolName", "bash"}, {"toolArgs", deep}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kNestingTooDeep);
}

TEST_CASE("Codex: never a bare allow, never ask, always a non-empty deny reason") {
  const ParsedHook p = ParseFixture(CodexAdapter(), "codex/pre_bash_allow.json");
  CHECK(p.calls[0].client == Client::kCodex);
  CHECK(p.calls[0].tool_name == "Bash");
  const HookOutput allow = CodexAdapter().Render(p.context, Answer(Verdict::kAllow));
  CHECK(allow.stdout_text.empty());
  CHECK(allow.exit_code == 0);
  const json ask = Out(CodexAdapter().Render(p.context, Answer(Verdict::kAsk)));
  CHECK(ask["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(ask["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find("human") != std::string::npos);
  const json deny = Out(CodexAdapter().Render(p.context, Answer(Verdict::kDeny, "")));
  CHECK(deny["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK_FALSE(deny["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().empty());
  for (Verdict v : {Verdict::kAllow, Verdict::kAsk, Verdict::kDeny}) {
    for (bool post : {false, true}) {
      HookContext ctx = p.context;
      ctx.phase = post ? HookPhase::kPost : HookPhase::kPre;
      const HookOutput out = CodexAdapter().Render(ctx, Answer(v));
      CHECK(out.stdout_text.find("\"allow\"") == std::string::npos);
      CHECK(out.stdout_text.find("\"ask\"") == std::string::npos);
    }
  }
  // allow is written only together with a rewritten input, which Codex accepts.
  HookAnswer a = Answer(Verdict::kAllow);
  a.updated_input = json{{"command", "toolgate sandbox run -- git status"}};
  const json rewritten = Out(CodexAdapter().Render(p.context, a));
  CHECK(rewritten["hookSpecificOutput"]["permissionDecision"] == "allow");
  CHECK(rewritten["hookSpecificOutput"]["updatedInput"]["command"] == "toolgate sandbox run -- git status");
}

TEST_CASE("Codex: apply_patch becomes one file call per file it touches") {
  const ParsedHook p = ParseFixture(CodexAdapter(), "codex/pre_apply_patch_allow.json");
  REQUIRE(p.calls.size() == 2);
  CHECK(p.calls[0].tool_name == "Write");
  CHECK(p.calls[0].client_tool_name == "apply_patch");
  CHECK(p.calls[0].tool_input["file_path"] == "src/hello.cc");
  CHECK(p.calls[0].tool_input["content"].get<std::string>().find("puts") != std::string::npos);
  CHECK(p.calls[1].tool_name == "Edit");
  CHECK(p.calls[1].tool_input["file_path"] == "src/main.cc");
  CHECK(p.calls[1].tool_input["old_string"] == "  return 1;\n}\n");
  CHECK(p.calls[1].tool_input["new_string"] == "  return 0;\n}\n");
  CHECK(p.calls[1].cwd == "/home/dev/project");
  // Such a call cannot be rewritten: a rewrite becomes a deny.
  HookAnswer a = Answer(Verdict::kAllow);
  a.updated_input = json{{"command", "x"}};
  CHECK(Out(CodexAdapter().Render(p.context, a))["hookSpecificOutput"]["permissionDecision"] == "deny");
}

TEST_CASE("apply_patch parser: add, update, move, delete; malformed patches are errors") {
  auto ops = ParseApplyPatch(
      "*** Begin Patch\n*** Add File: a.txt\n+one\n+two\n*** Update File: b.txt\n*** Move to: c.txt\n@@\n-x\n+y\n"
      " keep\n*** Delete File: d.txt\r\n*** End Patch\n");
  REQUIRE(ops.ok());
  REQUIRE(ops->size() == 3);
  CHECK((*ops)[0].kind == PatchFileOp::Kind::kAdd);
  CHECK((*ops)[0].new_text == "one\ntwo\n");
  CHECK((*ops)[1].move_to == "c.txt");
  CHECK((*ops)[1].old_text == "x\nkeep\n");
  CHECK((*ops)[1].new_text == "y\nkeep\n");
  CHECK((*ops)[2].kind == PatchFileOp::Kind::kDelete);
  CHECK((*ops)[2].path == "d.txt");
  CHECK_FALSE(ParseApplyPatch("*** Begin Patch\n*** End Patch\n").ok());
  CHECK_FALSE(ParseApplyPatch("*** Begin Patch\n*** Add File:   \n+x\n").ok());
  CHECK_FALSE(ParseApplyPatch("*** Move to: x\n").ok());
  std::string many = "*** Begin Patch\n";
  for (std::size_t i = 0; i <= kMaxPatchFiles; ++i) many += "*** Delete File: f" + std::to_string(i) + "\n";
  auto too_many = ParseApplyPatch(many);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().code == ErrorCode::kInputTooLarge);
  // A patch in a Codex move names both files.
  auto move = CodexAdapter().Parse(json{{"hook_event_name", "PreToolUse"}, {"tool_name", "apply_patch"},
                                        {"cwd", "/p"}, {"tool_input", {{"command", "*** Update File: a\n*** Move to: b\n@@\n-x\n+y\n"}}}});
  REQUIRE(move.ok());
  REQUIRE(move->calls.size() == 2);
  CHECK(move->calls[1].tool_input["file_path"] == "b");
  auto bad = CodexAdapter().Parse(json{{"hook_event_name", "PreToolUse"}, {"tool_name", "apply_patch"},
                                       {"tool_input", {{"command", 5}}}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kWrongType);
}

TEST_CASE("Gemini: tools mapped, decision/reason answers, never ask") {
  ParsedHook p = ParseFixture(GeminiAdapter(), "gemini/before_shell_deny.json");
  CHECK(p.calls[0].tool_name == "Bash");
  CHECK(p.calls[0].client_tool_name == "run_shell_command");
  CHECK(p.calls[0].hook_event == "BeforeTool");
  p = ParseFixture(GeminiAdapter(), "gemini/before_read_file_deny.json");
  CHECK(p.calls[0].tool_name == "Read");
  CHECK(p.calls[0].tool_input["file_path"] == "/home/dev/project/.env");
  for (Verdict v : {Verdict::kAllow, Verdict::kAsk, Verdict::kDeny}) {
    for (bool post : {false, true}) {
      HookContext ctx = p.context;
      ctx.phase = post ? HookPhase::kPost : HookPhase::kPre;
      const json o = Out(GeminiAdapter().Render(ctx, Answer(v)));
      CHECK(o.value("decision", std::string()) != "ask");
      CHECK(o.dump().find("\"ask\"") == std::string::npos);
    }
  }
  const json ask = Out(GeminiAdapter().Render(p.context, Answer(Verdict::kAsk)));
  CHECK(ask["decision"] == "deny");
  CHECK(ask["reason"].get<std::string>().find("human") != std::string::npos);
  CHECK(Out(GeminiAdapter().Render(p.context, Answer(Verdict::kDeny)))["reason"] == "toolgate: reason for the model");
  HookAnswer a = Answer(Verdict::kAllow);
  a.updated_input = json{{"file_path", "/home/dev/project/README.md"}};
  const json allow = Out(GeminiAdapter().Render(p.context, a));
  CHECK(allow["decision"] == "allow");
  // read_file's absolute_path was renamed on the way in and is renamed back.
  CHECK(allow["hookSpecificOutput"]["tool_input"]["absolute_path"] == "/home/dev/project/README.md");
  const ParsedHook after = ParseFixture(GeminiAdapter(), "gemini/after_tool.json");
  CHECK(after.context.phase == HookPhase::kPost);
  CHECK(Out(GeminiAdapter().Render(after.context, Answer(Verdict::kDeny))) == json::object());
}

TEST_CASE("Cursor: every before* event and preToolUse parsed; permission answers") {
  ParsedHook p = ParseFixture(CursorAdapter(), "cursor/before_shell_deny.json");
  CHECK(p.calls[0].tool_name == "Bash");
  CHECK(p.calls[0].session_id == "668320d2-2fd8-4888-b33c-2a466fec86e7");
  CHECK(p.calls[0].cwd == "/home/dev/project");
  const json deny = Out(CursorAdapter().Render(p.context, Answer(Verdict::kDeny)));
  CHECK(deny["permission"] == "deny");
  CHECK(deny["agent_message"] == "toolgate: reason for the model");
  CHECK(deny["user_message"] == "reason for the human");
  CHECK(Out(CursorAdapter().Render(p.context, Answer(Verdict::kAsk)))["permission"] == "ask");
  CHECK(Out(CursorAdapter().Render(p.context, Answer(Verdict::kAllow))) == json{{"permission", "allow"}});

  p = ParseFixture(CursorAdapter(), "cursor/before_read_file_deny.json");
  CHECK(p.calls[0].tool_name == "Read");
  CHECK_FALSE(p.calls[0].tool_input.contains("content"));  // the file's bytes are not logged
  CHECK(Out(CursorAdapter().Render(p.context, Answer(Verdict::kAsk)))["permission"] == "deny");

  p = ParseFixture(CursorAdapter(), "cursor/before_mcp.json");
  CHECK(p.calls[0].tool_name == "mcp__cursor__create_issue");
  CHECK(p.calls[0].tool_input["title"] == "Bug");

  p = ParseFixture(CursorAdapter(), "cursor/pre_tool_use_write_allow.json");
  CHECK(p.calls[0].tool_name == "Write");
  CHECK(p.calls[0].tool_input["file_path"] == "/home/dev/project/src/util.cc");
  CHECK(p.calls[0].tool_input.contains("content"));
  HookAnswer a = Answer(Verdict::kAllow);
  a.updated_input = json{{"file_path", "/home/dev/project/src/util.cc"}, {"content", "y"}};
  CHECK(Out(CursorAdapter().Render(p.context, a))["updated_input"] ==
        json{{"path", "/home/dev/project/src/util.cc"}, {"contents", "y"}});

  p = ParseFixture(CursorAdapter(), "cursor/after_shell.json");
  CHECK(p.context.phase == HookPhase::kPost);
  CHECK(Out(CursorAdapter().Render(p.context, Answer(Verdict::kDeny))) == json::object());

  auto e = CursorAdapter().Parse(json{{"hook_event_name", "beforeShellExecution"}, {"conversation_id", "c"}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().location == "/command");
  e = CursorAdapter().Parse(json{{"hook_event_name", "stop"}, {"conversation_id", "c"}});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kUnsupportedFormat);
}

TEST_CASE("clients that cannot ask a human are marked headless, so ask_fallback applies") {
  CHECK(ParseFixture(ClaudeAdapter(), "claude/pre_bash_ask.json").context.can_ask);
  CHECK_FALSE(ParseFixture(CodexAdapter(), "codex/pre_bash_ask.json").context.can_ask);
  CHECK_FALSE(ParseFixture(CodexAdapter(), "codex/pre_apply_patch_allow.json").context.can_ask);
  CHECK_FALSE(ParseFixture(GeminiAdapter(), "gemini/before_shell_ask.json").context.can_ask);
  CHECK_FALSE(ParseFixture(CursorAdapter(), "cursor/before_read_file_deny.json").context.can_ask);
  CHECK(ParseFixture(CursorAdapter(), "cursor/before_shell_ask.json").context.can_ask);
}

namespace toolgate::hooks {
namespace {

TEST_CASE("post events carry the tool's result; pre events never do") {
  ParsedHook p = ParseFixture(ClaudeAdapter(), "claude/post_bash.json");
  REQUIRE(p.calls[0].tool_response.has_value());
  CHECK((*p.calls[0].tool_response)["stdout"] == "On branch main\nnothing to commit, working tree clean\n");
  CHECK(IsPostEvent(p.calls[0]));
  p = ParseFixture(CodexAdapter(), "codex/post_bash.json");
  REQUIRE(p.calls[0].tool_response.has_value());
  CHECK(p.calls[0].tool_response->is_string());
  p = ParseFixture(GeminiAdapter(), "gemini/after_tool.json");
  REQUIRE(p.calls[0].tool_response.has_value());
  CHECK((*p.calls[0].tool_response)["llmContent"] == "On branch main");
  p = ParseFixture(CopilotAdapter(), "copilot/post_bash.json");
  REQUIRE(p.calls[0].tool_response.has_value());
  CHECK((*p.calls[0].tool_response)["resultType"] == "success");
  CHECK((*p.calls[0].tool_response)["textResultForLlm"] == "On branch main\nnothing to commit, working tree clean\n");
  // A pre event that names a result is judged as the pre event it says it is.
  nlohmann::json pre = nlohmann::json::parse(R"({"hook_event_name":"PreToolUse","tool_name":"Bash",
      "tool_input":{"command":"ls"},"tool_response":{"stdout":"x"}})");
  Result<ParsedHook> parsed = ClaudeAdapter().Parse(pre);
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed->calls[0].tool_response.has_value());
  CHECK_FALSE(IsPostEvent(parsed->calls[0]));
  // The canonical form the daemon is sent keeps the result.
  p = ParseFixture(ClaudeAdapter(), "claude/post_bash.json");
  const nlohmann::json canonical = ToJson(p.calls[0]);
  CHECK(canonical["tool_response"] == *p.calls[0].tool_response);
  Result<ToolCall> back = ParseToolCall(canonical.dump());
  REQUIRE(back.ok());
  CHECK(back->tool_response == p.calls[0].tool_response);
}

}  // namespace
}  // namespace toolgate::hooks
