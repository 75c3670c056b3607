#include "toolgate/engine.h"

#include <cstdio>

#include "toolgate/ask_fallback.h"
#include "toolgate/state_store.h"

#include <doctest/doctest.h>

#include <string>

using toolgate::Decision;
using toolgate::Engine;
using toolgate::ErrorCode;
using toolgate::Subject;
using toolgate::Verdict;

namespace {

constexpr const char* kPolicy = R"({
  "toolgate_policy": 1,
  "settings": {"home": "/home/dev", "resolve_symlinks": false},
  "agents": {"dev": {"profile": "developer"}, "ro": {"profile": "readonly"}},
  "profiles": {
    "readonly": {
      "default": "deny",
      "tools": {"allow": ["Read", "Grep"]},
      "fs": {"read": ["${cwd}/**", "/usr/**"], "deny": ["**/.env"]}
    },
    "developer": {
      "extends": "readonly",
      "tools": {"allow": ["Bash", "Write"], "ask": ["WebFetch"]},
      "fs": {"write": ["${cwd}/**"]},
      "exec": {"allow": ["git", "ls", "cat", "echo"], "ask": ["git push"], "deny": ["git push ** --force"]},
      "network": {"allow": ["github.com"]}
    }
  }
})";

std::shared_ptr<const toolgate::Policy> LoadTestPolicy() {
  auto r = toolgate::LoadPolicyText(kPolicy, "engine_test.json");
  for (const auto& d : r.diagnostics) INFO(toolgate::FormatDiagnostic(d));
  REQUIRE(r.ok());
  return r.policy;
}

Decision Judge(const Engine& engine, const std::string& agent, const std::string& tool, const std::string& input) {
  const std::string text = R"({"agent_id": ")" + agent + R"(", "tool_name": ")" + tool +
                           R"(", "cwd": "/home/dev/project", "tool_input": )" + input + "}";
  return engine.DecideText(text);
}

bool HasReason(const Decision& d, Subject subject, const std::string& target) {
  for (const auto* f : d.Reasons()) {
    if (f->subject == subject && f->target == target) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a call is allowed only when the tool and every effect are granted") {
  const Engine engine(LoadTestPolicy());
  const Decision ok = Judge(engine, "dev", "Bash", R"({"command": "git status && ls src"})");
  CHECK(ok.verdict == Verdict::kAllow);
  CHECK(ok.profile == "developer");
  CHECK_FALSE(ok.error.has_value());
  CHECK(ok.policy_digest.rfind("sha256:", 0) == 0);

  const Decision bad_exec = Judge(engine, "dev", "Bash", R"({"command": "git status && rm -rf src"})");
  CHECK(bad_exec.verdict == Verdict::kDeny);
  CHECK(HasReason(bad_exec, Subject::kExec, "rm -rf src"));

  const Decision bad_tool = Judge(engine, "ro", "Bash", R"({"command": "ls"})");
  CHECK(bad_tool.verdict == Verdict::kDeny);
  CHECK(HasReason(bad_tool, Subject::kTool, "Bash"));
}

TEST_CASE("deny beats ask beats allow") {
  const Engine engine(LoadTestPolicy());
  const Decision ask = Judge(engine, "dev", "Bash", R"({"command": "git push origin main"})");
  CHECK(ask.verdict == Verdict::kAsk);
  const Decision deny = Judge(engine, "dev", "Bash", R"({"command": "git push origin main --force"})");
  CHECK(deny.verdict == Verdict::kDeny);
  const auto reasons = deny.Reasons();
  REQUIRE_FALSE(reasons.empty());
  REQUIRE(reasons[0]->grant != nullptr);
  CHECK(reasons[0]->grant->id == "developer.exec.deny[0]");
  CHECK(reasons[0]->grant->json_path == "/profiles/developer/exec/deny/0");
  CHECK(reasons[0]->grant->file == "engine_test.json");
  const Decision ask_and_deny = Judge(engine, "dev", "Bash", R"({"command": "git push; cat .env"})");
  CHECK(ask_and_deny.verdict == Verdict::kDeny);
}

TEST_CASE("paths are judged after normalization") {
  const Engine engine(LoadTestPolicy());
  CHECK(Judge(engine, "dev", "Write", R"({"file_path": "/home/dev/project/src/a.cc", "content": "x"})").verdict ==
        Verdict::kAllow);
  const Decision escape = Judge(engine, "dev", "Write", R"({"file_path": "src/../../.bashrc", "content": "x"})");
  CHECK(escape.verdict == Verdict::kDeny);
  CHECK(HasReason(escape, Subject::kPathWrite, "/home/dev/.bashrc"));
  CHECK(Judge(engine, "dev", "Read", R"({"file_path": "/home/dev/project/.env"})").verdict == Verdict::kDeny);
}

TEST_CASE("unknown agents without a default profile are denied") {
  const Engine engine(LoadTestPolicy());
  const Decision d = Judge(engine, "stranger", "Read", R"({"file_path": "/usr/share/doc"})");
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.profile.empty());
  REQUIRE(d.Reasons().size() == 1);
  CHECK(d.Reasons()[0]->subject == Subject::kCall);
}

TEST_CASE("unparseable input is a deny that names the error") {
  const Engine engine(LoadTestPolicy());
  for (const char* text : {"", "{", "[]", R"({"tool_name": 1})", "{\"tool_name\": \"\xff\"}"}) {
    const Decision d = engine.DecideText(text);
    CHECK(d.verdict == Verdict::kDeny);
    REQUIRE(d.error.has_value());
    CHECK(d.error->code != ErrorCode::kOk);
    CHECK(d.MessageForModel().find("blocked") != std::string::npos);
  }
}

TEST_CASE("unknown effects are denied by default") {
  const Engine engine(LoadTestPolicy());
  const Decision d = Judge(engine, "dev", "Bash", R"({"command": "$CMD -rf /"})");
  CHECK(d.verdict == Verdict::kDeny);
  bool unknown = false;
  for (const auto* f : d.Reasons()) unknown = unknown || f->subject == Subject::kUnknown;
  CHECK(unknown);
}

TEST_CASE("decision JSON carries verdict, reasons with grant locations, digest and effects") {
  const Engine engine(LoadTestPolicy());
  const Decision d = Judge(engine, "dev", "Bash", R"({"command": "git push --force"})");
  const auto j = toolgate::ToJson(d, true);
  CHECK(j.at("verdict").get<std::string>() == "deny");
  CHECK(j.at("reasons").at(0).at("grant").at("id").get<std::string>() == "developer.exec.deny[0]");
  CHECK(j.at("policy_digest").get<std::string>() == d.policy_digest);
  CHECK(j.at("effects").at("execs").size() == 1);
  CHECK(j.at("findings").size() == d.findings.size());
  CHECK(d.MessageForHuman().find("developer.exec.deny[0]") != std::string::npos);
}

TEST_CASE("ask_fallback: an ask becomes the policy's fallback where nobody can be asked") {
  const char* kPolicy = R"({"toolgate_policy": 1, "default_profile": "p", %s
    "profiles": {"p": {"default": "deny", "tools": {"ask": ["mcp__deploy__*"], "allow": ["Read"]}},
                 "q": {"extends": "p", "ask_fallback": "allow"}},
    "agents": {"qa": {"profile": "q"}}})";
  auto load = [&](const std::string& top) {
    char text[1024];
    std::snprintf(text, sizeof text, kPolicy, top.c_str());
    toolgate::PolicyLoadResult r = toolgate::LoadPolicyText(text, "fallback.json");
    REQUIRE(r.ok());
    return r.policy;
  };
  toolgate::ToolCall call;
  call.agent_id = "a";
  call.tool_name = "mcp__deploy__run";
  call.tool_input = nlohmann::json::object();

  const auto deny_policy = load("");
  toolgate::Decision d = toolgate::Engine(deny_policy).Decide(call);
  REQUIRE(d.verdict == toolgate::Verdict::kAsk);
  CHECK(toolgate::ApplyAskFallback(*deny_policy, &d));
  CHECK(d.verdict == toolgate::Verdict::kDeny);
  CHECK(d.MessageForModel().find("the ask fell back to deny") != std::string::npos);
  CHECK_FALSE(toolgate::ApplyAskFallback(*deny_policy, &d));  // only an ask changes
  CHECK(toolgate::ApplyAskFallback(*deny_policy, "p", toolgate::Verdict::kAsk) == toolgate::Verdict::kDeny);
  CHECK(toolgate::ApplyAskFallback(*deny_policy, "p", toolgate::Verdict::kAllow) == toolgate::Verdict::kAllow);

  // A profile's own setting, and a top-level one.
  CHECK(toolgate::ApplyAskFallback(*deny_policy, "q", toolgate::Verdict::kAsk) == toolgate::Verdict::kAllow);
  call.agent_id = "qa";
  d = toolgate::Engine(deny_policy).Decide(call);
  CHECK(toolgate::ApplyAskFallback(*deny_policy, &d));
  CHECK(d.verdict == toolgate::Verdict::kAllow);
  CHECK(d.MessageForModel().find("toolgate: allowed: ") == 0);
  const auto allow_policy = load(R"("ask_fallback": "allow",)");
  CHECK(allow_policy->AskFallbackFor("p") == toolgate::Verdict::kAllow);

  char text[1024];
  std::snprintf(text, sizeof text, kPolicy, R"("ask_fallback": "ask",)");
  const toolgate::PolicyLoadResult bad = toolgate::LoadPolicyText(text, "fallback.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.diagnostics[0].json_path == "/ask_fallback");
}

TEST_CASE("a state store given to the engine outlives it: counters survive a reload") {
  const char* kPolicy = R"({"toolgate_policy": 1, "default_profile": "p",
    "profiles": {"p": {"default": "allow"}}})";
  toolgate::PolicyLoadResult r = toolgate::LoadPolicyText(kPolicy, "state.json");
  REQUIRE(r.ok());
  std::shared_ptr<toolgate::StateStore> store = toolgate::StateStore::InMemory();
  {
    const toolgate::Engine first(r.policy, store);
    CHECK(first.state() == store);
    REQUIRE(store->Increment("k", 1, std::chrono::seconds(0), toolgate::StateStore::Clock::now()).ok());
  }
  const toolgate::Engine second(r.policy, store);
  CHECK(std::get<double>(*second.state()->Get("k", toolgate::StateStore::Clock::now())) == 1);
  CHECK(toolgate::Engine(r.policy).state() != nullptr);  // an engine of its own gets its own store
}

TEST_CASE("an exec's target is its argv joined by spaces once the text is not empty") {
  // Empty arguments inside keep their spaces; leading ones add none.
  const Engine engine(LoadTestPolicy());
  const Decision inner = Judge(engine, "dev", "Bash", R"({"command": "rm '' a '' b"})");
  CHECK(HasReason(inner, Subject::kExec, "rm  a  b"));
  const Decision leading = Judge(engine, "dev", "Bash", R"({"command": "'' '' rm x"})");
  CHECK(HasReason(leading, Subject::kExec, "rm x"));
  // eval joins its arguments with one space each, empty ones included.
  const Decision eval = Judge(engine, "dev", "Bash", R"({"command": "eval '' rm '' y"})");
  CHECK(HasReason(eval, Subject::kExec, "rm y"));
}
