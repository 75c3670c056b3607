#include "toolgate/tool_call.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
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

// ParseToolCall reads the call in one pass without a DOM of the envelope. It
// must agree with the DOM path (ParseUntrustedJson, then the form's reader)
// on every input: the same fields, the same tool_input down to its number
// types, and the same error code.
namespace {

toolgate::Result<toolgate::ToolCall> ParseThroughDom(std::string_view text) {
  auto doc = toolgate::ParseUntrustedJson(text);
  if (!doc) return doc.error();
  if (!doc->is_object()) return toolgate::Error{ErrorCode::kWrongType, "not an object", "/"};
  if (doc->contains("hook_event_name") || doc->contains("tool_use_id")) return toolgate::ToolCallFromClaudeHook(*doc);
  if (doc->contains("tool_name")) return toolgate::ToolCallFromCanonical(*doc);
  return toolgate::Error{ErrorCode::kUnsupportedFormat, "no tool_name", "/"};
}

void CheckSamePaths(const std::string& text) {
  INFO("input: " << text);
  const auto fast = ParseToolCall(text);
  const auto dom = ParseThroughDom(text);
  REQUIRE(fast.ok() == dom.ok());
  if (!fast.ok()) {
    CHECK(fast.error().code == dom.error().code);
    CHECK_FALSE(fast.error().location.empty());
    return;
  }
  nlohmann::json a = toolgate::ToJson(*fast);
  nlohmann::json b = toolgate::ToJson(*dom);
  // The time a call without one is stamped with differs between the two reads.
  if (a["timestamp_ms"] != b["timestamp_ms"]) {
    CHECK(std::abs(a["timestamp_ms"].get<std::int64_t>() - b["timestamp_ms"].get<std::int64_t>()) < 60000);
    a.erase("timestamp_ms");
    b.erase("timestamp_ms");
  }
  CHECK(a.dump() == b.dump());  // dump tells 1 from 1.0, where == does not
}

}  // namespace

TEST_CASE("the one-pass reader agrees with the DOM path") {
  const char* const cases[] = {
      R"({"tool_name": "Bash", "tool_input": {"command": "ls"}})",
      R"({"tool_name": "Bash", "tool_response": {"stdout": "x", "n": [1, 1.0]}})",
      R"({"tool_name": "Bash", "tool_response": "plain \u00e9"})",
      R"({"tool_name": "Bash", "tool_response": null})",
      R"({"tool_name": "Bash", "tool_response": [1, "a", {"b": null}]})",
      R"({"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_response": {"stdout": "x"}})",
      R"({"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_response": 5, "tool_response": "last"})",
      R"({"tool_name": "Bash", "tool_response": {"a": tru}})",
      "\xEF\xBB\xBF{\"tool_name\": \"Bash\"}",
      " \t\r\n{ \"tool_name\" : \"Bash\" , \"tool_input\" : { } } \n",
      R"({"tool_name": "Bash", "tool_name": "Read"})",
      R"({"tool_name": "Bash", "tool_name": 5})",
      R"({"tool_name": 5, "tool_name": "Bash"})",
      R"({"tool\u005fname": "Bash", "c\u0077d": "/tmp"})",
      R"({"tool_name": "B\u00e9\ud83d\ude00\u0000\"\\\/\b\f\n\r\t"})",
      R"({"tool_name": "\ud83d"})",
      R"({"tool_name": "\ude00"})",
      R"({"tool_name": "\ud83d\u0041"})",
      R"({"tool_name": "\u12G4"})",
      R"({"tool_name": "\x"})",
      "{\"tool_name\": \"a\tb\"}",
      R"({"tool_name": "Bash", "tool_input": {"a": [0, -0, 1, -1, 1.0, 1e3, 1E+3, 1e-3, -1.5e-7, 0.1]}})",
      R"({"tool_name": "Bash", "tool_input": {"a": [18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809]}})",
      R"({"tool_name": "Bash", "tool_input": {"a": 1e-400, "b": 123456789012345678901234567890}})",
      R"({"tool_name": "Bash", "tool_input": {"a": 1e400}})",
      R"({"tool_name": "Bash", "tool_input": {"a": 01}})",
      R"({"tool_name": "Bash", "tool_input": {"a": 1.}})",
      R"({"tool_name": "Bash", "tool_input": {"a": .5}})",
      R"({"tool_name": "Bash", "tool_input": {"a": -}})",
      R"({"tool_name": "Bash", "tool_input": {"a": 1e}})",
      R"({"tool_name": "Bash", "tool_input": {"a": +1}})",
      R"({"tool_name": "Bash", "tool_input": {"a": [true, false, null, {}, [], [[]], {"b": {"c": []}}]}})",
      R"({"tool_name": "Bash", "tool_input": {"a": tru}})",
      R"({"tool_name": "Bash", "tool_input": {"a": nulll}})",
      R"({"tool_name": "Bash", "tool_input": {"a": 1, "a": 2}})",
      R"({"tool_name": "Bash", "tool_input": {"a": 1,}})",
      R"({"tool_name": "Bash", "tool_input": [1,]})",
      R"({"tool_name": "Bash",})",
      R"({,"tool_name": "Bash"})",
      R"({"tool_name" "Bash"})",
      R"({"tool_name": "Bash"}})",
      R"({"tool_name": "Bash"} {})",
      R"({"tool_name": "Bash", "tool_input": null})",
      R"({"tool_name": "Bash", "tool_input": []})",
      R"({"tool_name": "Bash", "tool_input": "x"})",
      R"({"tool_name": null})",
      R"({"tool_name": ""})",
      R"({"session_id": "s"})",
      R"({"tool_use_id": null})",
      R"({"hook_event_name": null, "tool_name": "Read", "cwd": null, "phase": 3, "client": 4})",
      R"({"tool_name": "Read", "timestamp_ms": 1700000000000})",
      R"({"tool_name": "Read", "timestamp_ms": -5})",
      R"({"tool_name": "Read", "timestamp_ms": 1.5})",
      R"({"tool_name": "Read", "timestamp_ms": null})",
      R"({"tool_name": "Read", "timestamp_ms": 18446744073709551615})",
      R"({"tool_name": "Read", "client": "codex", "client_tool_name": "shell", "phase": "plan"})",
      R"({"tool_name": "Read", "client": ""})",
      R"({"tool_name": "Read", "client": "nonesuch"})",
      R"({"tool_name": "Read", "unknown": {"deep": [1, {"x": "\ud83d"}]}})",
      R"({"tool_name": "Read", "unknown": "\q"})",
      R"({"tool_name": "Read", "unknown": 1e999})",
      R"({"tool_name": "Read", "unknown": [)" "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" "1]]]}",
      R"({"tool_name": "Read", "tool_input": {"a": 1e999, "b": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]}})",
      "[1, 2]", "\"s\"", "7", "null", "", " ", "{", "}", "{\"", "{\"tool_name\"", "{\"tool_name\":",
      "\xEF\xBB", "\xEF\xBB\xBF", "{}", "[]",
  };
  for (const char* text : cases) CheckSamePaths(text);
  // json::parse stops at a NUL byte after the document; so does the reader.
  CheckSamePaths(std::string("{\"tool_name\": \"Bash\"}\0junk", 26));
  CheckSamePaths(std::string("{\"tool_name\": \"Bash\"\0}", 22));
  CheckSamePaths(std::string("{\"tool_name\": \"Ba\0sh\"}", 22));

  // Every corpus call, whole and cut short at every 7th byte, and with one
  // byte replaced by each of a few JSON-significant characters.
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  std::ifstream corpus(std::string(root) + "/tests/corpus/corpus.jsonl");
  REQUIRE(corpus.good());
  std::string line;
  int lines = 0;
  while (std::getline(corpus, line) && lines < 1000) {
    if (line.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(line);
    if (!record.contains("call")) continue;
    const std::string text = record["call"].dump();
    CheckSamePaths(text);
    if (lines++ % 8 != 0) continue;  // the cut and mutated forms for one call in eight
    for (std::size_t cut = 0; cut < text.size(); cut += 7) CheckSamePaths(text.substr(0, cut));
    for (std::size_t at = 0; at < text.size(); at += 5) {
      for (char c : {'"', '\\', '{', '}', '[', ',', ':', '1', ' '}) {
        std::string mutated = text;
        mutated[at] = c;
        CheckSamePaths(mutated);
      }
    }
  }
  CHECK(lines > 150);
}

TEST_CASE("a post event's tool_response is kept, round-trips and is omitted when absent") {
  auto call = ParseToolCall(R"({"hook_event_name": "PostToolUse", "tool_name": "Read", "tool_response": {"content": "x"}})");
  REQUIRE(call.ok());
  REQUIRE(call->tool_response.has_value());
  CHECK((*call->tool_response)["content"] == "x");
  CHECK(toolgate::IsPostEvent(*call));
  CHECK(toolgate::ToJson(*call)["tool_response"] == *call->tool_response);
  call = ParseToolCall(R"({"tool_name": "Read", "tool_response": null})");
  REQUIRE(call.ok());
  CHECK_FALSE(call->tool_response.has_value());
  CHECK_FALSE(toolgate::IsPostEvent(*call));
  CHECK_FALSE(toolgate::ToJson(*call).contains("tool_response"));
  call = ParseToolCall(R"({"tool_name": "Read", "hook_event": "AfterTool"})");
  REQUIRE(call.ok());
  CHECK(toolgate::IsPostEvent(*call));  // a post event whose result the client did not send
}
