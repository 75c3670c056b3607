// RunHook end to end with the example policy in-process: each client's recorded
// input gets the expected verdict in its own form, and every failure is a deny.
#include <doctest/doctest.h>

#include <string>

#include "fixture.h"
#include "hooks/hook_runner.h"

using nlohmann::json;
using toolgate::Client;
using toolgate::Verdict;
using namespace toolgate::hooks;
using hooks_test::ReadFixture;

namespace {

HookOptions InProcess(Client client = Client::kUnknown) {
  HookOptions o;
  o.client = client;
  o.agent = "claude-dev";
  o.use_daemon = false;
  o.load_policy = [](std::string*) { return hooks_test::DefaultPolicy(); };
  o.toolgate_path = "/usr/local/bin/toolgate";  // the default's developer profile forwards shell calls
  return o;
}

HookRun RunFixture(const std::string& name, Client client = Client::kUnknown) {
  return RunHook(ReadFixture(name), InProcess(client));
}

}  // namespace

TEST_CASE("each client's recorded input gets the policy's verdict") {
  const std::pair<const char*, Verdict> cases[] = {
      {"claude/pre_bash_allow.json", Verdict::kAllow},      {"claude/pre_bash_deny.json", Verdict::kDeny},
      {"claude/pre_bash_ask.json", Verdict::kAsk},          {"claude/pre_write_allow.json", Verdict::kAllow},
      {"copilot/pre_bash_allow.json", Verdict::kAllow},     {"copilot/pre_bash_deny.json", Verdict::kDeny},
      {"copilot/pre_create_allow.json", Verdict::kAllow},   {"copilot/pre_edit_deny.json", Verdict::kDeny},
      {"codex/pre_bash_allow.json", Verdict::kAllow},       {"codex/pre_bash_deny.json", Verdict::kDeny},
      {"codex/pre_bash_ask.json", Verdict::kDeny},  // headless: ask_fallback           {"codex/pre_apply_patch_allow.json", Verdict::kAllow},
      {"codex/pre_apply_patch_deny.json", Verdict::kDeny},  {"gemini/before_shell_allow.json", Verdict::kAllow},
      {"gemini/before_shell_deny.json", Verdict::kDeny},    {"gemini/before_shell_ask.json", Verdict::kDeny},  // headless
      {"gemini/before_write_file_allow.json", Verdict::kAllow}, {"gemini/before_read_file_deny.json", Verdict::kDeny},
      {"cursor/before_shell_allow.json", Verdict::kAllow},  {"cursor/before_shell_deny.json", Verdict::kDeny},
      {"cursor/before_shell_ask.json", Verdict::kAsk},      {"cursor/before_read_file_deny.json", Verdict::kDeny},
      {"cursor/pre_tool_use_write_allow.json", Verdict::kAllow}};
  for (const auto& [name, verdict] : cases) {
    const auto& fixture = name;  // clang < 16 cannot capture a structured binding
    CAPTURE(fixture);
    const HookRun run = RunFixture(name);
    CHECK(run.source == DecisionSource::kInProcess);
    CHECK(run.answer.verdict == verdict);
    if (verdict != Verdict::kAllow) CHECK(run.answer.reason_for_model.find("toolgate") != std::string::npos);
    if (std::string(name).ends_with("_ask.json") && verdict == Verdict::kDeny) {
      CHECK(run.answer.reason_for_model.find("the ask fell back to deny") != std::string::npos);
    }
  }
}

TEST_CASE("the same call judged the same whatever the client") {
  // cat ~/.ssh/id_rsa through five dialects: the same deny, naming the same path.
  for (const char* name : {"claude/pre_bash_deny.json", "copilot/pre_bash_deny.json", "codex/pre_bash_deny.json",
                           "gemini/before_shell_deny.json", "cursor/before_shell_deny.json"}) {
    const auto& fixture = name;  // clang < 16 cannot capture a structured binding
    CAPTURE(fixture);
    const HookRun run = RunFixture(name);
    CHECK(run.answer.verdict == Verdict::kDeny);
    CHECK(run.answer.reason_for_model.find("/home/dev/.ssh/id_rsa") != std::string::npos);
  }
}

TEST_CASE("a patch that touches one forbidden file is denied, naming that file") {
  const HookRun run = RunFixture("codex/pre_apply_patch_deny.json");
  CHECK(run.answer.verdict == Verdict::kDeny);
  CHECK(run.answer.reason_for_model.find("authorized_keys") != std::string::npos);
  const json o = json::parse(run.output.stdout_text);
  CHECK(o["hookSpecificOutput"]["permissionDecision"] == "deny");
}

TEST_CASE("unreadable inputs are denies in the client's dialect") {
  // Not JSON: Claude (and an unknown client) get exit 2 + stderr.
  HookRun run = RunHook("{not json", InProcess());
  CHECK(run.output.exit_code == 2);
  CHECK(run.output.stderr_text.find("malformed_json") != std::string::npos);
  CHECK(json::parse(run.output.stdout_text)["hookSpecificOutput"]["permissionDecision"] == "deny");

  const std::string invalid_utf8 = std::string(R"({"toolName":"bash","toolArgs":{"command":"ls )") + "\xC3\x28" + R"("}})";
  run = RunHook(invalid_utf8, InProcess(Client::kCopilot));
  CHECK(run.answer.verdict == Verdict::kDeny);
  CHECK(json::parse(run.output.stdout_text)["permissionDecision"] == "deny");
  CHECK(run.answer.reason_for_model.find("invalid_utf8") != std::string::npos);

  std::string huge = R"({"hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":")";
  huge += std::string(kMaxHookInputBytes + 10, 'a');
  huge += "\"}}";
  run = RunHook(huge, InProcess(Client::kGemini));
  CHECK(json::parse(run.output.stdout_text)["decision"] == "deny");
  CHECK(run.output.exit_code == 2);
  CHECK(run.answer.reason_for_model.find("input_too_large") != std::string::npos);

  run = RunHook(std::string(100000, '['), InProcess(Client::kCursor));
  CHECK(json::parse(run.output.stdout_text)["permission"] == "deny");
  CHECK(run.answer.reason_for_model.find("nesting_too_deep") != std::string::npos);

  run = RunHook("", InProcess(Client::kCodex));
  CHECK(json::parse(run.output.stdout_text)["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(run.output.exit_code == 2);

  // Valid JSON in no hook format.
  run = RunHook(R"({"hello":"world"})", InProcess());
  CHECK(run.answer.verdict == Verdict::kDeny);
  CHECK(run.output.exit_code == 2);
}

TEST_CASE("a policy that fails to load is a deny saying so") {
  HookOptions o = InProcess(Client::kGemini);
  o.load_policy = [](std::string* why) {
    *why = "/nowhere/policy.json";
    return std::shared_ptr<const toolgate::Policy>();
  };
  const HookRun run = RunHook(ReadFixture("gemini/before_shell_allow.json"), o);
  CHECK(run.answer.verdict == Verdict::kDeny);
  const json out = json::parse(run.output.stdout_text);
  CHECK(out["decision"] == "deny");
  CHECK(out["reason"].get<std::string>().find("policy failed to load") != std::string::npos);
}

TEST_CASE("an allowed shell call of a sandboxed profile is forwarded into toolgate run") {
  // The default policy's developer profile (agent claude-dev) says shell
  // commands run sandboxed: the answer rewrites the command.
  const HookRun run = RunFixture("claude/pre_bash_allow.json");
  REQUIRE(run.answer.verdict == Verdict::kAllow);
  REQUIRE(run.answer.updated_input.has_value());
  const std::string cmd = run.answer.updated_input->at("command").get<std::string>();
  CHECK(cmd.rfind("'/usr/local/bin/toolgate' run --session '", 0) == 0);
  CHECK(cmd.find(" --agent 'claude-dev' -- '/bin/bash' -c '") != std::string::npos);
  const json out = json::parse(run.output.stdout_text);
  CHECK(out["hookSpecificOutput"]["updatedInput"]["command"] == cmd);

  // Without an absolute toolgate path the command cannot be wrapped: denied, not run unwrapped.
  HookOptions o = InProcess(Client::kClaude);
  o.toolgate_path.clear();
  const HookRun unwrapped = RunHook(ReadFixture("claude/pre_bash_allow.json"), o);
  CHECK(unwrapped.answer.verdict == Verdict::kDeny);
  CHECK(unwrapped.answer.reason_for_model.find("forwarded into it safely") != std::string::npos);

  // A denied call is never rewritten.
  const HookRun denied = RunFixture("claude/pre_bash_deny.json");
  CHECK(denied.answer.verdict == Verdict::kDeny);
  CHECK_FALSE(denied.answer.updated_input.has_value());
}

TEST_CASE("a daemon socket path with nothing there means judging in-process") {
  HookOptions o = InProcess(Client::kClaude);
  o.use_daemon = true;
  o.socket_path = "/nonexistent-dir-for-toolgate-tests/toolgate.sock";
  const HookRun run = RunHook(ReadFixture("claude/pre_bash_allow.json"), o);
  CHECK(run.source == DecisionSource::kInProcess);
  CHECK(run.answer.verdict == Verdict::kAllow);
}

TEST_CASE("an unwritable audit log turns an allow into a deny") {
  HookOptions o = InProcess(Client::kClaude);
  o.log_path = "/nonexistent-dir-for-toolgate-tests/decisions.jsonl";
  const HookRun run = RunHook(ReadFixture("claude/pre_bash_allow.json"), o);
  CHECK(run.answer.verdict == Verdict::kDeny);
  CHECK(run.answer.reason_for_model.find("audit log") != std::string::npos);
}

TEST_CASE("without --agent the policy's default profile judges") {
  HookOptions o = InProcess(Client::kClaude);
  o.agent.reset();
  // The default profile is read-only: a write in the project is not allowed.
  const HookRun run = RunHook(ReadFixture("claude/pre_write_allow.json"), o);
  CHECK(run.answer.verdict != Verdict::kAllow);
}

TEST_CASE("mutated inputs never crash and never answer anything but well-formed output") {
  // Byte flips, truncations and type swaps of every pre-tool fixture, judged with the client forced:
  // the exit code is 0 or 2, stdout is empty or one JSON object, and a refusal is never silent.
  const std::pair<const char*, Client> fixtures[] = {
      {"claude/pre_bash_deny.json", Client::kClaude},     {"copilot/pre_bash_deny.json", Client::kCopilot},
      {"codex/pre_apply_patch_deny.json", Client::kCodex}, {"gemini/before_shell_deny.json", Client::kGemini},
      {"cursor/before_mcp.json", Client::kCursor}};
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int runs = 0;
  for (const auto& [name, client] : fixtures) {
    const std::string original = ReadFixture(name);
    for (int i = 0; i < 150; ++i) {
      std::string input = original;
      switch (next() % 4) {
        case 0: input[next() % input.size()] = static_cast<char>(next() % 256); break;
        case 1: input.resize(next() % input.size()); break;
        case 2: {
          const std::size_t at = input.find(':', next() % input.size());
          if (at != std::string::npos) input.insert(at + 1, next() % 2 ? "[" : "{\"x\":1,");
          break;
        }
        default: {
          const std::size_t at = input.find('"', next() % input.size());
          if (at != std::string::npos) input.replace(at, 1, next() % 2 ? "1" : "null");
          break;
        }
      }
      const HookRun run = RunHook(input, InProcess(client));
      ++runs;
      const auto& fixture = name;  // clang < 16 cannot capture a structured binding
      CAPTURE(fixture);
      CAPTURE(input);
      CHECK((run.output.exit_code == 0 || run.output.exit_code == 2));
      if (!run.output.stdout_text.empty()) {
        json o;
        CHECK_NOTHROW(o = json::parse(run.output.stdout_text));
        CHECK(o.is_object());
      }
      if (run.answer.verdict != Verdict::kAllow) CHECK_FALSE(run.output.stdout_text.empty());
    }
  }
  CHECK(runs == 750);
}
