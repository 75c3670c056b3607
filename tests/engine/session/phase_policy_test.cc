// Task phases in the policy: schema, located errors, and which grants a call
// is judged with in each phase.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "toolgate/engine.h"
#include "toolgate/policy.h"

using namespace toolgate;

namespace {

constexpr const char* kPolicy = R"({
  "toolgate_policy": 1,
  "settings": {"home": "/home/w", "resolve_symlinks": false},
  "agents": {"writer": {"profile": "writer"}, "fin": {"profile": "finance"}, "sub": {"profile": "subwriter"}},
  "profiles": {
    "writer": {
      "default": "deny",
      "tools": {"allow": ["Read", "Write", "WebFetch"]},
      "fs": {"read": ["/srv/notes/**"], "deny": ["/srv/blog/private/**"]},
      "network": {"allow": ["en.wikipedia.org"]},
      "phases": {
        "research": {"network": {"allow": ["*.arxiv.org"]}},
        "writing": {"fs": {"write": ["/srv/blog/**"]}, "network": {"deny": ["en.wikipedia.org"]}}
      }
    },
    "subwriter": {"extends": "writer", "phases": {"writing": {"tools": {"allow": ["Edit"]}}}},
    "finance": {
      "default": "deny",
      "tools": {"allow": ["Read"]},
      "phases": {"bill-processing": {"tools": {"allow": ["mcp__bank__pay"]}, "default": "ask"}},
      "sandbox": {"credentials": {"BANK_TOKEN": {"from_env": "BANK_TOKEN", "phases": ["bill-processing"]},
                                  "PLAIN": {"from_env": "PLAIN"}}}
    }
  }
})";

std::shared_ptr<const Policy> Load() {
  auto r = LoadPolicyText(kPolicy, "phases.json");
  for (const auto& d : r.diagnostics) INFO(FormatDiagnostic(d));
  REQUIRE(r.ok());
  return r.policy;
}

ToolCall Call(std::string agent, std::string tool, nlohmann::json input, std::string phase = "") {
  ToolCall c;
  c.agent_id = std::move(agent);
  c.session_id = "s1";
  c.tool_name = std::move(tool);
  c.tool_input = std::move(input);
  c.cwd = "/srv";
  c.phase = std::move(phase);
  return c;
}

std::vector<PolicyDiagnostic> Errors(const std::string& text) {
  std::vector<PolicyDiagnostic> out;
  for (auto& d : LoadPolicyText(text, "bad.json").diagnostics) {
    if (d.severity == PolicyDiagnostic::Severity::kError) out.push_back(d);
  }
  return out;
}

}  // namespace

TEST_CASE("phases: a profile lists its own and inherited phases; views are not profile names") {
  auto p = Load();
  CHECK(p->PhasesOf("writer") == std::vector<std::string>{"research", "writing"});
  CHECK(p->PhasesOf("subwriter") == std::vector<std::string>{"research", "writing"});
  CHECK(p->PhasesOf("finance") == std::vector<std::string>{"bill-processing"});
  CHECK(p->ProfileInPhase("writer", "writing") != nullptr);
  CHECK(p->ProfileInPhase("writer", "bill-processing") == nullptr);
  for (const auto& name : p->ProfileNames()) CHECK(name.find('@') == std::string::npos);
}

TEST_CASE("phases: the phase's grants apply only in that phase") {
  Engine e(Load());
  const nlohmann::json write = {{"file_path", "/srv/blog/post.md"}, {"content", "x"}};
  CHECK(e.Decide(Call("writer", "Write", write)).verdict == Verdict::kDeny);
  CHECK(e.Decide(Call("writer", "Write", write, "research")).verdict == Verdict::kDeny);
  const Decision w = e.Decide(Call("writer", "Write", write, "writing"));
  CHECK(w.verdict == Verdict::kAllow);
  CHECK(w.phase == "writing");
  CHECK(w.profile == "writer");
  // A phase's deny adds to the profile: wikipedia is off while writing.
  const nlohmann::json fetch = {{"url", "https://en.wikipedia.org/wiki/X"}};
  CHECK(e.Decide(Call("writer", "WebFetch", fetch)).verdict == Verdict::kAllow);
  CHECK(e.Decide(Call("writer", "WebFetch", fetch, "writing")).verdict == Verdict::kDeny);
  // Base denies still win over a phase allow.
  const nlohmann::json priv = {{"file_path", "/srv/blog/private/x.md"}, {"content", "x"}};
  CHECK(e.Decide(Call("writer", "Write", priv, "writing")).verdict == Verdict::kDeny);
  // Research adds a host.
  const nlohmann::json arxiv = {{"url", "https://export.arxiv.org/abs/1"}};
  CHECK(e.Decide(Call("writer", "WebFetch", arxiv)).verdict == Verdict::kDeny);
  CHECK(e.Decide(Call("writer", "WebFetch", arxiv, "research")).verdict == Verdict::kAllow);
}

TEST_CASE("phases: inherited phases layer the parent's phase grants and the child's own") {
  Engine e(Load());
  const nlohmann::json write = {{"file_path", "/srv/blog/post.md"}, {"content", "x"}};
  CHECK(e.Decide(Call("sub", "Write", write, "writing")).verdict == Verdict::kAllow);
  CHECK(e.Decide(Call("sub", "Edit", {{"file_path", "/srv/blog/a.md"}, {"old_string", "a"}, {"new_string", "b"}},
                      "writing")).verdict == Verdict::kAllow);
  CHECK(e.Decide(Call("writer", "Edit", {{"file_path", "/srv/blog/a.md"}, {"old_string", "a"}, {"new_string", "b"}},
                      "writing")).verdict == Verdict::kDeny);
}

TEST_CASE("phases: a phase's default replaces the profile's in that phase only") {
  Engine e(Load());
  CHECK(e.Decide(Call("fin", "mcp__bank__pay", {{"amount", 1}})).verdict == Verdict::kDeny);
  CHECK(e.Decide(Call("fin", "mcp__bank__pay", {{"amount", 1}}, "bill-processing")).verdict == Verdict::kAllow);
  CHECK(e.Decide(Call("fin", "mcp__other__x", nlohmann::json::object(), "bill-processing")).verdict == Verdict::kAsk);
  CHECK(e.Decide(Call("fin", "mcp__other__x", nlohmann::json::object())).verdict == Verdict::kDeny);
}

TEST_CASE("phases: an unknown phase is a deny naming the phases the profile declares") {
  Engine e(Load());
  const Decision d = e.Decide(Call("writer", "Read", {{"file_path", "/srv/notes/a"}}, "chat"));
  CHECK(d.verdict == Verdict::kDeny);
  REQUIRE(!d.findings.empty());
  CHECK(d.findings[0].note.find("no phase 'chat'") != std::string::npos);
  CHECK(d.findings[0].note.find("research, writing") != std::string::npos);
}

TEST_CASE("phases: credentials scoped to phases, and each phase's sandbox") {
  auto p = Load();
  const SandboxProfile* base = p->SandboxFor("finance");
  REQUIRE(base != nullptr);
  REQUIRE(base->credentials.count("BANK_TOKEN"));
  CHECK(!CredentialInPhase(base->credentials.at("BANK_TOKEN"), ""));
  CHECK(!CredentialInPhase(base->credentials.at("BANK_TOKEN"), "chat"));
  CHECK(CredentialInPhase(base->credentials.at("BANK_TOKEN"), "bill-processing"));
  CHECK(CredentialInPhase(base->credentials.at("PLAIN"), ""));
  const SandboxProfile* writing = p->SandboxFor("writer", "writing");
  REQUIRE(writing != nullptr);
  CHECK(std::find(writing->fs_write.begin(), writing->fs_write.end(), "/srv/blog/**") != writing->fs_write.end());
  CHECK(p->SandboxFor("writer")->fs_write.empty());
  CHECK(p->SandboxFor("writer", "nope") == nullptr);
}

TEST_CASE("phases: schema errors are located") {
  const std::string head = R"({"toolgate_policy": 1, "default_profile": "p", "profiles": {"p": )";
  auto e = Errors(head + R"({"phases": {"bad name": {}}}}})");
  REQUIRE(e.size() == 1);
  CHECK(e[0].json_path == "/profiles/p/phases/bad name");
  e = Errors(head + R"({"phases": {"w": {"extends": "q"}}}}})");
  REQUIRE(e.size() == 1);
  CHECK(e[0].json_path == "/profiles/p/phases/w/extends");
  e = Errors(head + R"({"phases": {"w": {"fs": {"write": ["["]}}}}}})");
  REQUIRE(!e.empty());
  CHECK(e[0].code == ErrorCode::kPolicyPattern);
  e = Errors(head + R"({"phases": {"w": {}}, "sandbox": {"credentials": {"T": {"from_env": "T", "phases": ["x"]}}}}}})");
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == ErrorCode::kPolicyReference);
  CHECK(e[0].json_path == "/profiles/p/sandbox/credentials/T/phases/0");
  // A phase view is not a name a policy may refer to.
  e = Errors(R"({"toolgate_policy": 1, "agents": {"a": {"profile": "p@w"}}, "profiles": {"p": {"phases": {"w": {}}}}})");
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == ErrorCode::kPolicyReference);
}

// tg.phase: a rule reads the call's phase and asks to move the session on;
// the request rides on the Decision, and an unknown name is a rule error.
TEST_CASE("phases: tg.phase.get and tg.phase.set in a rule") {
  char dir[] = "/tmp/toolgate-phase-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string pack = std::string(dir) + "/phaser.lua";
  {
    std::FILE* f = std::fopen(pack.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(R"(pack { id = "phaser", description = "moves sessions" }
rule {
  id = "move",
  description = "Submitting a draft ends the writing phase.",
  tools = { "Submit" },
  check = function(call, params)
    if tg.phase.get() == "writing" then tg.phase.set("review") end
    if call.input.bad then tg.phase.set("nope") end
    if call.phase ~= tg.phase.get() then return tg.deny("phase mismatch") end
    return nil
  end,
}
)", f);
    std::fclose(f);
  }
  const std::string policy = R"({"toolgate_policy": 1, "default_profile": "p",
    "rule_packs": {"phaser": {"path": ")" + pack + R"("}},
    "profiles": {"p": {"default": "allow", "rules": {"phaser": true},
                       "phases": {"writing": {}, "review": {}}}}})";
  auto r = LoadPolicyText(policy, std::string(dir) + "/p.json");
  for (const auto& d : r.diagnostics) INFO(FormatDiagnostic(d));
  REQUIRE(r.ok());
  Engine e(r.policy);
  ToolCall c = Call("a", "Submit", nlohmann::json::object(), "writing");
  Decision d = e.Decide(c);
  CHECK(d.verdict == Verdict::kAllow);
  REQUIRE(d.requested_phase.has_value());
  CHECK(*d.requested_phase == "review");
  c.phase = "review";
  CHECK(!e.Decide(c).requested_phase.has_value());
  c.tool_input = {{"bad", true}};
  d = e.Decide(c);
  CHECK(d.verdict == Verdict::kDeny);  // a rule error is a deny
  std::remove(pack.c_str());
  ::rmdir(dir);
}
