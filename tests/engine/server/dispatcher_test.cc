#include "server/dispatcher.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "server_test_util.h"
#include "sandbox/forward.h"
#include "toolgate/engine.h"
#include "toolgate/session.h"

using nlohmann::json;
using namespace toolgate;
using namespace toolgate::server;
using namespace toolgate::server::testing;

namespace {

std::vector<json> Lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

std::vector<json> ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

PeerInfo SomePeer() {
  PeerInfo p;
  p.uid = 4242;
  p.gid = 4343;
  p.pid = 777;
  p.transport = "unix-socket";
  return p;
}

const char* kDenied =
    R"({"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"cat ~/.ssh/id_rsa"}})";
const char* kAllowed =
    R"({"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"git status"}})";

std::shared_ptr<const Policy> RequiredExamplePolicy() {
  auto policy = ExamplePolicy();
  REQUIRE(policy);
  return policy;
}

// The example policy's engines and a decision log open in a fresh
// directory: what a Dispatcher that logs needs.
struct LoggedEngines {
  LoggedEngines() {
    options.path = dir / "decisions.jsonl";
    auto opened = AuditLog::Open(options);
    REQUIRE(opened);
    log = std::move(*opened);
  }
  std::shared_ptr<const Policy> policy = RequiredExamplePolicy();
  EngineHolder engines{policy};
  TempDir dir;
  AuditLogOptions options;
  std::unique_ptr<AuditLog> log;
};

json Comparable(json decision) {
  decision.erase("latency_ns");
  return decision;
}

}  // namespace

TEST_CASE("decisions from the daemon equal the in-process engine's, in request order, each logged with its peer") {
  LoggedEngines f;
  Dispatcher dispatcher(&f.engines, f.log.get(), 1u << 20);

  const std::vector<std::string> lines = {
      std::string(R"({"v":1,"id":1,"op":"decide","call":)") + kDenied + "}",
      "garbage",
      R"({"v":1,"id":"p","op":"ping"})",
      std::string(R"({"v":1,"id":2,"op":"decide","call":)") + kAllowed + "}",
      R"({"v":1,"id":3,"op":"decide","call":{"tool_name":"Bash","tool_input":"ls"}})",
  };
  std::vector<std::string_view> views(lines.begin(), lines.end());
  std::string out;
  dispatcher.HandleLines(views, SomePeer(), &out);
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 5);

  const Engine engine(f.policy);
  CHECK(replies[0]["id"] == 1);
  CHECK(Comparable(replies[0]["decision"]) == Comparable(ToJson(engine.DecideText(kDenied), false)));
  CHECK(replies[0]["decision"]["verdict"] == "deny");
  CHECK(replies[1]["ok"] == false);
  CHECK(replies[1]["error"]["code"] == "malformed_json");
  CHECK(replies[2]["pong"] == true);
  CHECK(replies[2]["policy_digest"] == f.policy->digest());
  CHECK(replies[3]["decision"]["verdict"] == "allow");
  CHECK(Comparable(replies[3]["decision"]) == Comparable(ToJson(engine.DecideText(kAllowed), false)));
  // A call the engine cannot read is a located deny, as for `toolgate check`.
  CHECK(replies[4]["decision"]["verdict"] == "deny");
  CHECK(replies[4]["decision"]["error"]["code"] == "wrong_type");
  CHECK(Comparable(replies[4]["decision"]) ==
        Comparable(ToJson(engine.DecideText(R"({"tool_input":"ls","tool_name":"Bash"})"), false)));

  const std::uint64_t seq = f.log->last_seq();
  CHECK(seq == 3);  // three decisions; errors and pings are not decisions
  REQUIRE(!f.log->Close());
  const std::vector<json> records = ReadLog(f.options.path);
  REQUIRE(records.size() == 3);
  CHECK(records[0]["verdict"] == "deny");
  CHECK(records[0]["agent"]["uid"] == 4242);
  CHECK(records[0]["agent"]["gid"] == 4343);
  CHECK(records[0]["agent"]["pid"] == 777);
  CHECK(records[0]["agent"]["via"] == "unix-socket");
  CHECK(records[1]["verdict"] == "allow");
  CHECK(records[2]["call"].is_null());  // never parsed: the raw input is kept instead
  CHECK(records[2]["raw_input"]["prefix"] == R"({"tool_input":"ls","tool_name":"Bash"})");

  VerifyOptions vo;
  vo.paths = {f.options.path};
  CHECK(VerifyLog(vo).ok());
}

TEST_CASE("when the log refuses the batch, every decision in it is a deny naming the audit log") {
  LoggedEngines f;
  REQUIRE(!f.log->Close());  // a closed log refuses every append
  Dispatcher dispatcher(&f.engines, f.log.get(), 1u << 20);
  const std::string line = std::string(R"({"v":1,"id":1,"op":"decide","call":)") + kAllowed + "}";
  const std::string_view views[] = {line, R"({"v":1,"id":2,"op":"ping"})"};
  std::string out;
  dispatcher.HandleLines(views, SomePeer(), &out);
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0]["decision"]["verdict"] == "deny");
  CHECK(replies[0]["decision"]["error"]["code"] == "internal");
  CHECK(replies[0]["decision"]["error"]["message"].get<std::string>().find("audit log") != std::string::npos);
  // The message for the model is the deny's, not the one made before the log refused.
  CHECK(replies[0]["decision"]["message"].get<std::string>().find("audit log") != std::string::npos);
  CHECK(replies[1]["pong"] == true);
}

TEST_CASE("judged in order, finished later: each batch's records follow the earlier batches', session events included") {
  // The server's log stage judges a connection's next batch while the one
  // before is still being logged: a session event made in between is logged
  // with the later batch, after the earlier batch's decisions.
  LoggedEngines f;
  SessionRegistry sessions;
  Dispatcher dispatcher(&f.engines, f.log.get(), 1u << 20);
  dispatcher.set_sessions(&sessions);
  const std::string denied = std::string(R"({"v":1,"id":1,"op":"decide","call":)") + kDenied + "}";
  const std::string allowed = std::string(R"({"v":1,"id":2,"op":"decide","call":)") + kAllowed + "}";
  const std::string_view first[] = {denied};
  const std::string_view second[] = {allowed, R"({"v":1,"id":3,"op":"ping"})"};
  const PeerInfo peer = SomePeer();
  JudgedBatch a;
  JudgedBatch b;
  dispatcher.Judge(first, peer, &a);
  REQUIRE_FALSE(sessions.SetPhase("s-1", "review", "operator"));
  dispatcher.Judge(second, peer, &b);
  CHECK(f.log->last_seq() == 0);  // judging logs nothing
  std::string out;
  CHECK(dispatcher.Finish(&a, &out) == 0);
  CHECK(f.log->last_seq() == 1);
  dispatcher.Finish(&b, &out);
  std::string again;
  CHECK(dispatcher.Finish(&b, &again) == 0);  // a batch is finished once
  CHECK(again.empty());
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 3);
  CHECK(replies[0]["id"] == 1);
  CHECK(replies[0]["decision"]["verdict"] == "deny");
  CHECK(replies[1]["id"] == 2);
  CHECK(replies[1]["decision"]["verdict"] == "allow");
  CHECK(replies[2]["pong"] == true);
  REQUIRE(!f.log->Close());
  const std::vector<json> records = ReadLog(f.options.path);
  REQUIRE(records.size() == 3);
  CHECK(records[0]["type"] == "decision");
  CHECK(records[0]["verdict"] == "deny");
  CHECK(records[1]["type"] == "session");
  CHECK(records[1]["phase"] == "review");
  CHECK(records[2]["type"] == "decision");
  CHECK(records[2]["verdict"] == "allow");
  VerifyOptions vo;
  vo.paths = {f.options.path};
  CHECK(VerifyLog(vo).ok());
}

TEST_CASE("a reload changes the policy of later batches, and ping shows its digest") {
  auto first = ExamplePolicy("default.json");
  auto second = ExamplePolicy("strict.json");
  REQUIRE(first);
  REQUIRE(second);
  EngineHolder engines(first);
  Dispatcher dispatcher(&engines, nullptr, 1u << 20);
  const std::string_view ping[] = {R"({"v":1,"id":1,"op":"ping"})"};
  std::string out;
  dispatcher.HandleLines(ping, SomePeer(), &out);
  CHECK(Lines(out)[0]["policy_digest"] == first->digest());
  engines.Replace(second);
  out.clear();
  dispatcher.HandleLines(ping, SomePeer(), &out);
  CHECK(Lines(out)[0]["policy_digest"] == second->digest());
}

TEST_CASE("the envelope may nest one level deeper than the call; the call gets the policy's own depth limit") {
  auto policy = ExamplePolicy();
  REQUIRE(policy);
  EngineHolder engines(policy);
  Dispatcher dispatcher(&engines, nullptr, 1u << 20);
  const int depth = policy->settings().max_json_depth;
  auto call_with_depth = [](int levels) {  // the call object itself is level 1
    std::string inner = "1";
    for (int i = 0; i < levels - 2; ++i) inner = "[" + inner + "]";
    return R"({"tool_name":"X","tool_input":{"a":)" + inner + "}}";
  };
  const std::string ok = R"({"v":1,"id":1,"op":"decide","call":)" + call_with_depth(depth) + "}";
  const std::string deep = R"({"v":1,"id":2,"op":"decide","call":)" + call_with_depth(depth + 1) + "}";
  const std::string_view views[] = {ok, deep};
  std::string out;
  dispatcher.HandleLines(views, SomePeer(), &out);
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0]["ok"] == true);
  CHECK(replies[1]["ok"] == false);
  CHECK(replies[1]["error"]["code"] == "nesting_too_deep");
}

TEST_CASE("a call over the policy's max_input_bytes is the same input_too_large deny as in process") {
  auto r = LoadPolicyText(
      R"({"toolgate_policy":1,"settings":{"max_input_bytes":1024},"default_profile":"p",
          "profiles":{"p":{"tools":{"allow":["*"]},"fs":{"read":["/**"]}}}})",
      "small.json");
  REQUIRE(r.ok());
  EngineHolder engines(r.policy);
  Dispatcher dispatcher(&engines, nullptr, 1u << 20);
  const std::string call = R"({"tool_name":"Read","tool_input":{"file_path":"/x","pad":")" + std::string(2000, 'a') + "\"}}";
  const std::string small = R"({"tool_name":"Read","tool_input":{"file_path":"/x"}})";
  const std::string big_line = R"({"v":1,"id":1,"op":"decide","call":)" + call + "}";
  const std::string small_line = R"({"v":1,"id":2,"op":"decide","call":)" + small + "}";
  const std::string_view views[] = {big_line, small_line};
  std::string out;
  dispatcher.HandleLines(views, SomePeer(), &out);
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 2);
  const Engine engine(r.policy);
  CHECK(replies[0]["decision"]["error"]["code"] == "input_too_large");
  CHECK(Comparable(replies[0]["decision"]) == Comparable(ToJson(engine.DecideText(call), false)));
  CHECK(replies[1]["decision"]["verdict"] == "allow");
}

TEST_CASE("an allowed shell call says shell_sandboxed when the agent's profile runs shell commands sandboxed") {
  auto policy = ExamplePolicy();
  REQUIRE(policy);
  EngineHolder engines(policy);
  Dispatcher dispatcher(&engines, nullptr, 1u << 20);
  const std::string read =
      R"({"agent_id":"claude-dev","tool_name":"Read","cwd":"/home/dev/project","tool_input":{"file_path":"/home/dev/project/README.md"}})";
  const std::vector<std::string> lines = {
      std::string(R"({"v":1,"id":1,"op":"decide","call":)") + kAllowed + "}",
      std::string(R"({"v":1,"id":2,"op":"decide","call":)") + kDenied + "}",
      std::string(R"({"v":1,"id":3,"op":"decide","call":)") + read + "}",
  };
  std::vector<std::string_view> views(lines.begin(), lines.end());
  std::string out;
  dispatcher.HandleLines(views, SomePeer(), &out);
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 3);
  REQUIRE(replies[0]["decision"]["verdict"] == "allow");
  const bool sandboxed = sandbox::ProfileRunsShellSandboxed(*policy, "claude-dev");
  CHECK(sandboxed);  // the example's developer profile forwards shell commands
  CHECK(replies[0].value("shell_sandboxed", false) == sandboxed);
  // Only an allowed shell call carries it: a deny is never forwarded, and other tools do not run a shell.
  CHECK_FALSE(replies[1].contains("shell_sandboxed"));
  CHECK_FALSE(replies[2].contains("shell_sandboxed"));
  // The decision object itself is unchanged: still equal to the in-process one.
  const Engine engine(policy);
  CHECK(Comparable(replies[0]["decision"]) == Comparable(ToJson(engine.DecideText(kAllowed), false)));
}

namespace {

// A hook request line for the client's raw input text.
std::string HookLine(int id, const std::string& input, const std::string& extra = "") {
  return R"({"v":1,"id":)" + std::to_string(id) + R"(,"op":"hook","agent":"claude-dev")" + extra +
         R"(,"input":)" + json(input).dump() + "}";
}

}  // namespace

TEST_CASE("a hook request is answered in the client's dialect, its members in a fixed order, each call logged") {
  LoggedEngines f;
  Dispatcher dispatcher(&f.engines, f.log.get(), 1u << 20);

  const std::string claude_deny =
      R"({"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"cat ~/.ssh/id_rsa"}})";
  const std::string gemini_deny =
      R"({"session_id":"s1","hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":"cat ~/.ssh/id_rsa"}})";
  const std::string patch =
      R"({"session_id":"s1","turn_id":"t","hook_event_name":"PreToolUse","tool_name":"apply_patch","tool_input":{"command":)"
      R"("*** Begin Patch\n*** Add File: a.txt\n+a\n*** Add File: b.txt\n+b\n*** End Patch\n"}})";
  const std::vector<std::string> lines = {
      HookLine(1, claude_deny),
      HookLine(2, gemini_deny, R"(,"client":"gemini")"),
      HookLine(3, "not json"),
      HookLine(4, patch),
      R"({"v":1,"id":5,"op":"hook","input":7})",
  };
  std::vector<std::string_view> views(lines.begin(), lines.end());
  std::string out;
  dispatcher.HandleLines(views, SomePeer(), &out);
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 5);

  // The fixed member order a minimal reader relies on.
  CHECK(out.rfind(R"({"v":1,"id":1,"ok":true,"exit":0,"stdout":")", 0) == 0);
  for (int i = 0; i < 4; ++i) {
    CHECK(replies[i]["ok"] == true);
    CHECK(replies[i].size() == 6);  // v, id, ok, exit, stdout, stderr
  }
  CHECK(out.find(R"(,"ok":true,"exit":2,"stdout":")") != std::string::npos);

  const json claude = json::parse(replies[0]["stdout"].get<std::string>());
  CHECK(claude["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(claude["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find("id_rsa") != std::string::npos);
  CHECK(replies[0]["stderr"] == "");

  const json gemini = json::parse(replies[1]["stdout"].get<std::string>());
  CHECK(gemini["decision"] == "deny");

  CHECK(replies[2]["exit"] == 2);  // unreadable input: Claude's robust deny, exit 2
  CHECK(replies[2]["stderr"].get<std::string>().find("malformed") != std::string::npos);

  CHECK(replies[3]["exit"] == 0);  // a Codex patch: one call per file, the verdict the most severe
  CHECK(replies[4]["ok"] == false);
  CHECK(replies[4]["error"]["code"] == "bad_request");

  // Logged: claude, gemini, and the patch's two files; nothing for the unreadable input.
  REQUIRE(!f.log->Close());
  const std::vector<json> records = ReadLog(f.options.path);
  REQUIRE(records.size() == 4);
  CHECK(records[0]["verdict"] == "deny");
  CHECK(records[0]["agent"]["uid"] == 4242);
  CHECK(records[1]["call"]["client"] == "gemini");
  CHECK(records[2]["call"]["client"] == "codex");
  CHECK(records[3]["call"]["client"] == "codex");
}

TEST_CASE("a hook input whose decide requests would be refused is refused alike, for toolgate hook to ask itself") {
  auto policy = ExamplePolicy();
  REQUIRE(policy);
  EngineHolder engines(policy);
  Dispatcher dispatcher(&engines, nullptr, 4096);
  const std::string big = R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":")" +
                          std::string(5000, 'x') + R"("}})";
  // Copilot's toolArgs as a JSON string is parsed on its own (depth 64 at
  // most), so the call holding it is one level deeper than the policy allows.
  std::string nested = "1";
  for (int i = 0; i < 63; ++i) nested = "[" + nested + "]";
  const std::string deep =
      R"({"sessionId":"s","toolName":"bash","toolArgs":)" + json(R"({"command":"ls","d":)" + nested + "}").dump() + "}";
  const std::vector<std::string> lines = {HookLine(1, big), HookLine(2, deep)};
  std::vector<std::string_view> views(lines.begin(), lines.end());
  std::string out;
  dispatcher.HandleLines(views, SomePeer(), &out);
  const std::vector<json> replies = Lines(out);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0]["error"]["code"] == "input_too_large");
  CHECK(replies[1].contains("error"));
  CHECK(replies[1].value("error", json::object()).value("code", "") == "nesting_too_deep");
}
