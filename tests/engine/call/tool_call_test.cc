#include "toolgate/tool_call.h"

#include <doctest/doctest.h>

#include <string>

using toolgate::Client;
using toolgate::ErrorCode;
using toolgate::ParseToolCall;

TEST_CASE("Claude PreToolUse stdin becomes a ToolCall, unknown keys ignored") {
  const auto call = ParseToolCall(R"({
    "session_id": "abc123", "transcript_path": "/tmp/t.jsonl", "cwd": "/home/dev/project",
    "hook_event_name": "PreToolUse", "tool_name": "Bash",
    "tool_input": {"command": "git status", "description": "status"},
    "permission_mode": "default", "tool_use_id": "toolu_01", "future_key": {"x": [1, 2]}})");
  REQUIRE(call.ok());
  CHECK(call->client == Client::kClaude);
  CHECK(call->session_id == "abc123");
  CHECK(call->cwd == "/home/dev/project");
  CHECK(call->hook_event == "PreToolUse");
  CHECK(call->tool_name == "Bash");
  CHECK(call->tool_input.at("command").get<std::string>() == "git status");
  CHECK(call->permission_mode == "default");
  CHECK(call->call_id == "toolu_01");
  CHECK(call->timestamp_ms > 0);
}

TEST_CASE("canonical form carries every ToolCall field") {
  const auto call = ParseToolCall(R"({"agent_id": "claude-dev", "session_id": "s", "client": "codex",
    "tool_name": "Write", "tool_input": {"file_path": "a.txt", "content": "x"}, "cwd": "/w",
    "phase": "writing", "timestamp_ms": 1700000000000, "call_id": "c1"})");
  REQUIRE(call.ok());
  CHECK(call->client == Client::kCodex);
  CHECK(call->agent_id == "claude-dev");
  CHECK(call->phase == "writing");
  CHECK(call->timestamp_ms == 1700000000000);
  CHECK(call->call_id == "c1");
  const auto round_trip = ParseToolCall(toolgate::ToJson(*call).dump());
  REQUIRE(round_trip.ok());
  CHECK(round_trip->tool_input == call->tool_input);
  CHECK(round_trip->client == Client::kCodex);
}

TEST_CASE("bad input is a located error with a code") {
  struct Case {
    std::string text;
    ErrorCode code;
  };
  const Case cases[] = {
      {"", ErrorCode::kMalformedJson},
      {"{", ErrorCode::kMalformedJson},
      {R"({"tool_name": "Bash"} trailing)", ErrorCode::kMalformedJson},
      {R"({"tool_name": "Bash", "tool_input": {"n": 1e999}})", ErrorCode::kMalformedJson},  // out of range
      {R"({"tool_name": "Bash", "timestamp_ms": -1e400})", ErrorCode::kMalformedJson},
      {"[1, 2]", ErrorCode::kWrongType},
      {R"("just a string")", ErrorCode::kWrongType},
      {R"({"session_id": "x"})", ErrorCode::kUnsupportedFormat},
      {R"({"hook_event_name": "PreToolUse"})", ErrorCode::kMissingField},
      {R"({"tool_name": ""})", ErrorCode::kMissingField},
      {R"({"tool_name": 7})", ErrorCode::kWrongType},
      {R"({"tool_name": "Bash", "tool_input": "rm -rf /"})", ErrorCode::kWrongType},
      {R"({"tool_name": "Bash", "cwd": ["/"]})", ErrorCode::kWrongType},
      {R"({"tool_name": "Bash", "client": "nonesuch"})", ErrorCode::kWrongType},
      {R"({"tool_name": "Bash", "timestamp_ms": "yesterday"})", ErrorCode::kWrongType},
      {R"({"hook_event_name": "PreToolUse", "tool_name": "Bash", "session_id": 5})", ErrorCode::kWrongType},
      {"{\"tool_name\": \"B\xff\"}", ErrorCode::kInvalidUtf8},
      {"{\"tool_name\": \"\xed\xa0\x80\"}", ErrorCode::kInvalidUtf8},   // UTF-16 surrogate
      {"{\"tool_name\": \"\xc0\xaf\"}", ErrorCode::kInvalidUtf8},       // overlong '/'
  };
  for (const Case& c : cases) {
    INFO("input: " << c.text);
    const auto call = ParseToolCall(c.text);
    REQUIRE_FALSE(call.ok());
    CHECK(call.error().code == c.code);
    CHECK_FALSE(call.error().location.empty());
  }
}

TEST_CASE("size and depth limits refuse hostile documents before parsing") {
  SUBCASE("10 MB input") {
    std::string big = R"({"tool_name": "Bash", "tool_input": {"command": ")" + std::string(10u << 20, 'a') + "\"}}";
    const auto call = ParseToolCall(big);
    REQUIRE_FALSE(call.ok());
    CHECK(call.error().code == ErrorCode::kInputTooLarge);
  }
  SUBCASE("a raised limit accepts the same input") {
    std::string big = R"({"tool_name": "Bash", "tool_input": {"command": ")" + std::string(2u << 20, 'a') + "\"}}";
    toolgate::InputLimits limits;
    limits.max_bytes = 4u << 20;
    CHECK(ParseToolCall(big, limits).ok());
  }
  SUBCASE("deep nesting") {
    std::string deep = R"({"tool_name": "Bash", "tool_input": {"x": )" + std::string(100000, '[') +
                       std::string(100000, ']') + "}}";
    const auto call = ParseToolCall(deep);
    REQUIRE_FALSE(call.ok());
    CHECK(call.error().code == ErrorCode::kNestingTooDeep);
  }
  SUBCASE("brackets inside strings do not count as nesting") {
    std::string text = R"({"tool_name": "Bash", "tool_input": {"command": ")" + std::string(1000, '[') + "\"}}";
    CHECK(ParseToolCall(text).ok());
  }
  SUBCASE("escaped quotes inside strings do not end them") {
    const auto call = ParseToolCall(R"({"tool_name": "Bash", "tool_input": {"command": "echo \"[[[[\" \\"}})");
    CHECK(call.ok());
  }
}

TEST_CASE("client names round-trip") {
  for (Client c : {Client::kCanonical, Client::kClaude, Client::kCopilot, Client::kCodex, Client::kGemini,
                   Client::kCursor, Client::kMcp}) {
    CHECK(toolgate::ClientFromName(toolgate::ClientName(c)) == c);
  }
  CHECK(toolgate::ClientFromName("CLAUDE") == Client::kUnknown);
}

TEST_CASE("client_tool_name survives the canonical round trip and is omitted when empty") {
  auto call = ParseToolCall(R"({"tool_name": "Bash", "client": "gemini", "client_tool_name": "run_shell_command",
                                "tool_input": {"command": "ls"}})");
  REQUIRE(call.ok());
  CHECK(call->client_tool_name == "run_shell_command");
  const auto again = ParseToolCall(toolgate::ToJson(*call).dump());
  REQUIRE(again.ok());
  CHECK(again->client_tool_name == "run_shell_command");
  call->client_tool_name.clear();
  CHECK_FALSE(toolgate::ToJson(*call).contains("client_tool_name"));
  const auto wrong = ParseToolCall(R"({"tool_name": "Bash", "client_tool_name": 3})");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::kWrongType);
}
