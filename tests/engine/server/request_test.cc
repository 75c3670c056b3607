#include "server/request.h"

#include <cstdlib>
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
