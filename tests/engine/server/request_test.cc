#include "server/request.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "toolgate/daemon_protocol.h"

using nlohmann::json;
using namespace toolgate;
using namespace toolgate::server;

namespace {

const InputLimits kLimits{1u << 20, 65};

RequestError ErrorOf(const std::string& line, const InputLimits& limits = kLimits) {
  auto r = ParseRequest(line, limits);
  REQUIRE(std::holds_alternative<RequestError>(r));
  return std::get<RequestError>(r);
}

Request RequestOf(const std::string& line) {
  auto r = ParseRequest(line, kLimits);
  REQUIRE(std::holds_alternative<Request>(r));
  return std::get<Request>(r);
}

}  // namespace

TEST_CASE("ping and decide requests parse; the id is echoed as written") {
  Request p = RequestOf(R"({"v":1,"id":7,"op":"ping"})");
  CHECK(p.op == Op::kPing);
  CHECK(p.id == "7");
  Request d = RequestOf(R"({"v":1,"id":"req-1","op":"decide","call":{"tool_name":"Bash","tool_input":{"command":"ls"}}})");
  CHECK(d.op == Op::kDecide);
  CHECK(d.id == "\"req-1\"");
  CHECK(d.call["tool_name"] == "Bash");
}

TEST_CASE("every protocol error has its code, and carries the id when it could be read") {
  CHECK(ErrorOf("not json").code == ProtocolError::kMalformedJson);
  CHECK(ErrorOf("not json").id == "null");
  CHECK(ErrorOf("{\"v\":1,\"id\":1,\"op\":\"ping\"} trailing").code == ProtocolError::kMalformedJson);
  CHECK(ErrorOf("{\"v\":1,\"id\":\"\xff\",\"op\":\"ping\"}").code == ProtocolError::kInvalidUtf8);
  CHECK(ErrorOf(std::string(100, '[') + std::string(100, ']')).code == ProtocolError::kNestingTooDeep);
  CHECK(ErrorOf(R"({"v":1,"id":1,"op":"ping"})", InputLimits{10, 65}).code == ProtocolError::kInputTooLarge);
  CHECK(ErrorOf("[1]").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"op":"ping"})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":{"x":1},"op":"ping"})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":null,"op":"ping"})").code == ProtocolError::kBadRequest);

  RequestError v = ErrorOf(R"({"id":3,"op":"ping"})");
  CHECK(v.code == ProtocolError::kUnsupportedVersion);
  CHECK(v.id == "3");
  CHECK(ErrorOf(R"({"v":2,"id":3,"op":"ping"})").code == ProtocolError::kUnsupportedVersion);
  CHECK(ErrorOf(R"({"v":"1","id":3,"op":"ping"})").code == ProtocolError::kUnsupportedVersion);
  CHECK(ErrorOf(R"({"v":1.5,"id":3,"op":"ping"})").code == ProtocolError::kUnsupportedVersion);

  RequestError op = ErrorOf(R"({"v":1,"id":"x","op":"shutdown"})");
  CHECK(op.code == ProtocolError::kUnknownOp);
  CHECK(op.id == "\"x\"");
  CHECK(ErrorOf(R"({"v":1,"id":1,"op":5})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":1,"op":"decide"})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":1,"op":"decide","call":"ls"})").code == ProtocolError::kBadRequest);
}

TEST_CASE("reply lines are one JSON object each, in the protocol's shape") {
  std::string out;
  AppendPongReply(&out, "1", "sha256:ab");
  AppendErrorReply(&out, "null", ProtocolError::kUnknownOp, "say \"what\"\n");
  Decision d;
  d.verdict = Verdict::kAllow;
  d.policy_digest = "sha256:ab";
  AppendDecisionReply(&out, "\"k\"", d);
  REQUIRE(std::count(out.begin(), out.end(), '\n') == 3);
  std::istringstream lines(out);
  std::string line;
  std::getline(lines, line);
  json pong = json::parse(line);
  CHECK(pong["v"] == 1);
  CHECK(pong["id"] == 1);
  CHECK(pong["ok"] == true);
  CHECK(pong["pong"] == true);
  CHECK(pong["policy_digest"] == "sha256:ab");
  CHECK(pong["version"] == "0.1.0");
  std::getline(lines, line);
  json err = json::parse(line);
  CHECK(err["id"].is_null());
  CHECK(err["ok"] == false);
  CHECK(err["error"]["code"] == "unknown_op");
  CHECK(err["error"]["message"] == "say \"what\"\n");
  std::getline(lines, line);
  json dec = json::parse(line);
  CHECK(dec["id"] == "k");
  CHECK(dec["decision"]["verdict"] == "allow");
}

TEST_CASE("the call's form is picked from its shape, as toolgate check does") {
  auto canonical = ToolCallFromRequest(json::parse(R"({"tool_name":"Bash","tool_input":{"command":"ls"},"client":"codex"})"));
  REQUIRE(canonical);
  CHECK(canonical->client == Client::kCodex);
  auto claude = ToolCallFromRequest(
      json::parse(R"({"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"x"},"tool_use_id":"t"})"));
  REQUIRE(claude);
  CHECK(claude->client == Client::kClaude);
  CHECK(claude->call_id == "t");
  auto none = ToolCallFromRequest(json::parse(R"({"x":1})"));
  REQUIRE_FALSE(none);
  CHECK(none.error().code == ErrorCode::kUnsupportedFormat);
}

TEST_CASE("DefaultSocketPath: TOOLGATE_SOCKET, then XDG_RUNTIME_DIR, then a per-uid default") {
  const char* saved_sock = std::getenv("TOOLGATE_SOCKET");
  const char* saved_xdg = std::getenv("XDG_RUNTIME_DIR");
  const std::string sock = saved_sock ? saved_sock : "";
  const std::string xdg = saved_xdg ? saved_xdg : "";
  ::setenv("TOOLGATE_SOCKET", "/x/y.sock", 1);
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  CHECK(DefaultSocketPath() == "/x/y.sock");
  ::setenv("TOOLGATE_SOCKET", "", 1);
  CHECK(DefaultSocketPath() == "/run/user/1000/toolgate.sock");
  ::unsetenv("TOOLGATE_SOCKET");
  ::unsetenv("XDG_RUNTIME_DIR");
  CHECK(DefaultSocketPath() == (::getuid() == 0 ? std::string("/run/toolgate/toolgate.sock")
                                                : "/tmp/toolgate-" + std::to_string(::getuid()) + "/toolgate.sock"));
  if (saved_sock) ::setenv("TOOLGATE_SOCKET", sock.c_str(), 1);
  if (saved_xdg) ::setenv("XDG_RUNTIME_DIR", xdg.c_str(), 1);
}

// The dispatcher reads a decide line in one pass (ReadDecideRequest) and
// takes ParseRequest only for what that declines. For every line it reads, it
// must give what ParseRequest and ToolCallFromRequest give: the same id, the
// same headless flag and the same call down to its number types.
namespace {

struct SameCounts {
  int fast = 0;
  int declined = 0;
};

void CheckSameRequest(const std::string& line, SameCounts* counts, const InputLimits& limits = kLimits) {
  INFO("line: " << line);
  const std::optional<DecideRequest> fast = ReadDecideRequest(line, limits);
  const auto ref = ParseRequest(line, limits);
  if (!fast) {
    ++counts->declined;
    return;
  }
  ++counts->fast;
  REQUIRE(std::holds_alternative<Request>(ref));
  const Request& r = std::get<Request>(ref);
  CHECK(r.op == Op::kDecide);
  CHECK(r.id == fast->id);
  CHECK(r.headless == fast->headless);
  const Result<ToolCall> call = ToolCallFromRequest(r.call);
  REQUIRE(call.ok());
  json a = ToJson(fast->call);
  json b = ToJson(*call);
  // A call without a time is stamped when it is read; the two reads differ.
  if (a["timestamp_ms"] != b["timestamp_ms"]) {
    CHECK(std::abs(a["timestamp_ms"].get<std::int64_t>() - b["timestamp_ms"].get<std::int64_t>()) < 60000);
    a.erase("timestamp_ms");
    b.erase("timestamp_ms");
  }
  CHECK(a.dump() == b.dump());  // dump tells 1 from 1.0, where == does not
}

}  // namespace

TEST_CASE("the one-pass decide reader agrees with ParseRequest on every line it reads, and declines the rest") {
  SameCounts counts;
  const std::string call = R"({"tool_name":"Bash","tool_input":{"command":"ls","n":[1,1.0,-1,1e3]},"cwd":"/tmp"})";
  const char* envelopes[] = {
      R"({"v":1,"id":1,"op":"decide","call":CALL})",
      R"({"call":CALL,"op":"decide","id":"x","v":1})",
      R"( {"v":1,"id":"\u0041\n\"","op":"decide","call":CALL,"headless":true} )",
      R"({"v":1,"id":1.0,"op":"decide","call":CALL,"headless":false})",
      R"({"v":1,"id":-7e2,"op":"decide","call":CALL,"extra":{"a":[1,{"b":null}]},"session":5})",
      R"({"v":1,"id":18446744073709551615,"op":"decide","call":CALL})",
      R"({"v":1,"id":1,"o\u0070":"decide","call":CALL})",
      "\xEF\xBB\xBF{\"v\":1,\"id\":1,\"op\":\"decide\",\"call\":CALL}",
      // Declined: protocol errors, other ops, repeated keys, calls that do not convert.
      R"({"v":1,"id":1,"op":"decide","call":CALL,"headless":1})",
      R"({"v":1,"id":1,"op":"decide","call":CALL,"v":1})",
      R"({"v":1,"id":1,"id":2,"op":"decide","call":CALL})",
      R"({"v":1,"id":1,"op":"decide","call":CALL,"call":CALL})",
      R"({"v":1,"id":1,"op":"decide","op":"decide","call":CALL})",
      R"({"v":1,"id":1,"op":"decide","call":CALL,"headless":true,"headless":true})",
      R"({"v":2,"id":1,"op":"decide","call":CALL})",
      R"({"v":1.0,"id":1,"op":"decide","call":CALL})",
      R"({"v":"1","id":1,"op":"decide","call":CALL})",
      R"({"id":1,"op":"decide","call":CALL})",
      R"({"v":1,"op":"decide","call":CALL})",
      R"({"v":1,"id":null,"op":"decide","call":CALL})",
      R"({"v":1,"id":[1],"op":"decide","call":CALL})",
      R"({"v":1,"id":1,"op":"ping","call":CALL})",
      R"({"v":1,"id":1,"op":"Decide","call":CALL})",
      R"({"v":1,"id":1,"call":CALL})",
      R"({"v":1,"id":1,"op":"decide","call":[CALL]})",
      R"({"v":1,"id":1,"op":"decide","call":{"tool_input":{}}})",
      R"({"v":1,"id":1,"op":"decide","call":{"tool_name":"Bash","tool_input":[]}})",
      R"({"v":1,"id":1,"op":"decide","call":{"tool_name":5}})",
      R"({"v":1,"id":1,"op":"decide","call":CALL} x)",
      R"({"v":1,"id":1,"op":"decide","call":CALL)",
      R"([{"v":1,"id":1,"op":"decide","call":CALL}])",
  };
  for (const char* envelope : envelopes) {
    std::string line = envelope;
    for (std::size_t at; (at = line.find("CALL")) != std::string::npos;) line.replace(at, 4, call);
    CheckSameRequest(line, &counts);
  }
  CHECK(counts.fast == 8);

  // Nesting at the limit and one past it, in the call and beside it.
  const InputLimits shallow{1u << 20, 6};
  for (int depth = 1; depth <= 6; ++depth) {
    const std::string deep = std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
    CheckSameRequest(R"({"v":1,"id":1,"op":"decide","call":{"tool_name":"R","tool_input":{"a":)" + deep + "}}}",
                     &counts, shallow);
    CheckSameRequest(R"({"v":1,"id":1,"op":"decide","x":)" + deep + R"(,"call":{"tool_name":"R"}})", &counts, shallow);
  }
  CheckSameRequest(R"({"v":1,"id":1,"op":"decide","call":{"tool_name":"R"}})", &counts, InputLimits{20, 65});
  CheckSameRequest("{\"v\":1,\"id\":\"\xff\",\"op\":\"decide\",\"call\":{\"tool_name\":\"R\"}}", &counts);

  // Every corpus call in an envelope, whole, cut short and with one byte replaced.
  std::ifstream corpus(std::string(std::getenv("TOOLGATE_SOURCE_ROOT") ? std::getenv("TOOLGATE_SOURCE_ROOT") : ".") +
                       "/tests/corpus/corpus.jsonl");
  REQUIRE(corpus.good());
  std::string text;
  int lines = 0;
  const int fast_before = counts.fast;
  while (std::getline(corpus, text) && lines < 1000) {
    if (text.empty()) continue;
    const json record = json::parse(text);
    if (!record.contains("call")) continue;
    const std::string line = R"({"v":1,"id":)" + std::to_string(lines) + R"(,"op":"decide","call":)" +
                             record["call"].dump() + "}";
    CheckSameRequest(line, &counts);
    if (lines++ % 16 != 0) continue;
    for (std::size_t cut = 0; cut < line.size(); cut += 11) CheckSameRequest(line.substr(0, cut), &counts);
    for (std::size_t at = 0; at < line.size(); at += 7) {
      for (char c : {'"', '\\', '{', '}', '[', ',', ':', '1'}) {
        std::string mutated = line;
        mutated[at] = c;
        CheckSameRequest(mutated, &counts);
      }
    }
  }
  CHECK(lines > 150);
  CHECK(counts.fast - fast_before > 300);
}

TEST_CASE("hook requests carry the raw input and the shim's options; bad members are bad requests") {
  Request h = RequestOf(
      R"({"v":1,"id":1,"op":"hook","input":"{\"tool_name\":\"Bash\"}\n","client":"gemini","agent":"a","session":"s",)"
      R"("toolgate":"/usr/bin/toolgate","policy":"/etc/p.json"})");
  CHECK(h.op == Op::kHook);
  CHECK(h.hook.input == "{\"tool_name\":\"Bash\"}\n");
  CHECK(h.hook.client == Client::kGemini);
  CHECK(h.hook.agent == std::optional<std::string>("a"));
  CHECK(h.hook.session == std::optional<std::string>("s"));
  CHECK(h.hook.toolgate_path == "/usr/bin/toolgate");
  CHECK(h.hook.policy_path == "/etc/p.json");
  Request detect = RequestOf(R"({"v":1,"id":2,"op":"hook","input":"","client":""})");
  CHECK(detect.hook.client == Client::kUnknown);
  CHECK(!detect.hook.agent);  // absent is not empty: the input's own identity stays
  CHECK(!detect.hook.session);
  CHECK(RequestOf(R"({"v":1,"id":2,"op":"hook","input":"","agent":""})").hook.agent == std::optional<std::string>(""));

  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hook"})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hook"})").id == "3");
  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hook","input":{}})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hook","input":"","session":1})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hook","input":"","client":"nosuch"})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hook","input":"","client":"mcp"})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hook","input":"","client":"canonical"})").code == ProtocolError::kBadRequest);
  CHECK(ErrorOf("{\"v\":1,\"id\":3,\"op\":\"hook\",\"input\":\"\xff\"}").code == ProtocolError::kInvalidUtf8);
  CHECK(ErrorOf(R"({"v":1,"id":3,"op":"hooks","input":""})").message.find("hook") != std::string::npos);
}
