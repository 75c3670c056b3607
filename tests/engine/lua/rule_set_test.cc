// The rules stage: prefilter, verdicts, failures (fail closed, located,
// healthy afterwards), isolation between packs, threads, policy integration
// and located load errors.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "lua_test_util.h"
#include "toolgate/engine.h"
#include "toolgate/policy.h"

namespace toolgate::lua {
namespace {

namespace fs = std::filesystem;
using testing::BashCall;
using testing::BuildRuleSet;
using testing::InlinePack;
using testing::Judge;
using testing::MakeCall;

const Finding* RuleFinding(const Decision& d) {
  for (const Finding& f : d.findings) {
    if (f.subject == Subject::kRule) return &f;
  }
  return nullptr;
}

std::unique_ptr<RuleSet> Build(const std::vector<InlinePack>& packs) {
  PackError error;
  auto set = BuildRuleSet(packs, &error);
  INFO(error.message);
  REQUIRE(set != nullptr);
  return set;
}

TEST_CASE("prefilter: tools, effects and programs decide which rules run") {
  auto set = Build({{"p", R"(pack { id = "p" }
rule { id = "writes", tools = { "Write", "mcp__*__create_*" }, check = function() return tg.deny("w") end }
rule { id = "net", effects = { "network" }, check = function() return tg.deny("n") end }
rule { id = "git", programs = { "git" }, check = function() return tg.ask("g") end }
)"}});
  CHECK(Judge(*set, BashCall("ls -la")).verdict == Verdict::kAllow);
  CHECK(set->states_created() == 1);  // nothing applied: Lua was never entered... 
  CHECK(set->idle_states() == 1);
  Decision d = Judge(*set, MakeCall("Write", {{"file_path", "/home/dev/project/a"}, {"content", "x"}}));
  CHECK(d.verdict == Verdict::kDeny);
  REQUIRE(RuleFinding(d) != nullptr);
  CHECK(RuleFinding(d)->rule->id == "p.writes");
  CHECK(Judge(*set, MakeCall("mcp__jira__create_ticket", {{"x", 1}})).verdict == Verdict::kDeny);
  CHECK(Judge(*set, MakeCall("MCP__JIRA__CREATE_TICKET", {{"x", 1}})).verdict == Verdict::kDeny);  // case-insensitive
  CHECK(Judge(*set, BashCall("curl https://example.com")).verdict == Verdict::kDeny);
  d = Judge(*set, BashCall("git status"));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(RuleFinding(d)->note == "g");
}

TEST_CASE("a rule's verdict carries its id, file and the line that produced it") {
  auto set = Build({{"p", "pack { id = 'p' }\nrule {\n  id = 'r',\n  check = function(call)\n    return tg.deny('because')\n  end,\n}\n"}});
  const Decision d = Judge(*set, BashCall("true"));
  const Finding* f = RuleFinding(d);
  REQUIRE(f != nullptr);
  CHECK(f->rule->file == "p.lua");
  CHECK(f->rule->line == 2);
  CHECK(f->line == 5);
  CHECK(f->note == "because");
  CHECK(ToJson(d, false)["reasons"][0]["rule"]["verdict_line"] == 5);
}

TEST_CASE("string verdicts and nil are accepted; anything else fails closed") {
  auto set = Build({{"p", R"(pack { id = 'p' }
rule { id = 's', tools = { 'A' }, check = function() return 'ask', 'why' end }
rule { id = 'n', tools = { 'B' }, check = function() return nil end }
rule { id = 'bad', tools = { 'C' }, check = function() return 42 end }
rule { id = 'bogus', tools = { 'D' }, check = function() return 'maybe' end }
)"}});
  CHECK(Judge(*set, MakeCall("A", {})).verdict == Verdict::kAsk);
  CHECK(Judge(*set, MakeCall("B", {})).verdict == Verdict::kAllow);
  for (const char* tool : {"C", "D"}) {
    const Decision d = Judge(*set, MakeCall(tool, {}));
    CHECK(d.verdict == Verdict::kDeny);
    REQUIRE(d.error.has_value());
    CHECK(d.error->code == ErrorCode::kRuleError);
  }
}

TEST_CASE("budget trips and errors deny naming the rule; the next call works") {
  InlinePack pack{"p", R"(pack { id = 'p' }
rule { id = 'loop', tools = { 'Loop' }, check = function() while true do pcall(function() while true do end end) end end }
rule { id = 'mem', tools = { 'Mem' }, check = function() local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end end }
rule { id = 'boom', tools = { 'Boom' }, check = function(call)
  local x = nil
  return x.field
end }
rule { id = 'ok', tools = { 'Ok' }, check = function() return tg.ask('fine') end }
)"};
  pack.budget.instructions = 100000;
  pack.budget.memory_bytes = std::size_t{1} << 20;
  auto set = Build({pack});
  Decision d = Judge(*set, MakeCall("Loop", {}));
  CHECK(d.verdict == Verdict::kDeny);
  REQUIRE(d.error.has_value());
  CHECK(d.error->code == ErrorCode::kRuleBudget);
  CHECK(RuleFinding(d)->rule->id == "p.loop");
  CHECK(RuleFinding(d)->line == 2);

  d = Judge(*set, MakeCall("Mem", {}));
  CHECK(d.verdict == Verdict::kDeny);
  REQUIRE(d.error.has_value());
  CHECK(d.error->code == ErrorCode::kRuleBudget);

  d = Judge(*set, MakeCall("Boom", {}));
  CHECK(d.verdict == Verdict::kDeny);
  REQUIRE(d.error.has_value());
  CHECK(d.error->code == ErrorCode::kRuleError);
  CHECK(RuleFinding(d)->line == 6);
  CHECK(d.error->location == "p.lua:6");

  // Failed states are discarded; the next evaluation gets a healthy one.
  for (int i = 0; i < 3; ++i) {
    d = Judge(*set, MakeCall("Ok", {}));
    CHECK(d.verdict == Verdict::kAsk);
    CHECK_FALSE(d.error.has_value());
  }
  CHECK(set->states_created() >= 2);
}

TEST_CASE("a stream of failing rules from many threads: every one denied, discarded states closed off the path") {
  // Each failure hands its state to the reaper thread; more than it holds at
  // once are closed by the caller. Destroying the set closes what is left
  // (the sanitizer build checks that nothing leaks or races).
  InlinePack pack{"p", R"(pack { id = 'p' }
rule { id = 'mem', tools = { 'Mem' }, check = function() local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end end }
rule { id = 'ok', tools = { 'Ok' }, check = function() return tg.ask('fine') end }
)"};
  pack.budget.memory_bytes = std::size_t{1} << 20;
  auto set = Build({pack});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool fail = (i + t) % 2 == 0;
        const Decision d = Judge(*set, MakeCall(fail ? "Mem" : "Ok", {}));
        const bool right = fail ? d.verdict == Verdict::kDeny && d.error && d.error->code == ErrorCode::kRuleBudget
                                : d.verdict == Verdict::kAsk && !d.error;
        if (!right) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  CHECK(set->states_created() >= 2);
  set.reset();
}

TEST_CASE("packs cannot change what other packs see, nor their parameters") {
  auto set = Build({{"a", R"(pack { id = 'a', params = { list = { 'x' } } }
rule { id = 'tamper', check = function(call, params)
  call.input.command = 'innocent'
  call.effects.execs = {}
  local ok = pcall(function() params.list[1] = 'changed' end)
  if ok then return tg.deny('params were writable') end
  shared = 'a'
end })"},
                    {"b", R"(pack { id = 'b' }
rule { id = 'sees', check = function(call)
  if shared ~= nil then return tg.deny('saw pack a globals') end
  if call.input.command ~= 'rm -rf /' or #call.effects.execs == 0 then return tg.deny('saw tampered call') end
  return tg.ask('saw the real call')
end })"}});
  const Decision d = Judge(*set, BashCall("rm -rf /"));
  CHECK(d.verdict == Verdict::kAsk);
  REQUIRE(RuleFinding(d) != nullptr);
  CHECK(RuleFinding(d)->note == "saw the real call");
}

TEST_CASE("many threads judge at once; each gets its own state") {
  auto set = Build({{"p", R"(pack { id = 'p' }
rule { id = 'count', tools = { 'Bash' }, check = function(call)
  local n = tg.state.incr('calls')
  if call.input.command == 'deny me' then return tg.deny('no') end
  return nil
end })"}});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  const std::unique_ptr<StateStore> store = StateStore::InMemory();
  constexpr int kThreads = 8, kCalls = 200;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const bool deny = (i + t) % 3 == 0;
        const Decision d = Judge(*set, BashCall(deny ? "deny me" : "echo ok"), store.get());
        if (d.verdict != (deny ? Verdict::kDeny : Verdict::kAllow)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  CHECK(set->states_created() <= kThreads + 1);
  // The counter is shared by every state (one session "s1").
  const auto v = store->Get(std::string("p") + '\0' + "session" + '\0' + "s1" + '\0' + "calls", StateStore::Clock::now());
  REQUIRE(v.has_value());
  CHECK(std::get<double>(*v) == kThreads * kCalls);
}

TEST_CASE("100 rules that do not apply cost no Lua at all") {
  std::string source = "pack { id = 'p' }\n";
  for (int i = 0; i < 100; ++i) {
    source += "rule { id = 'r" + std::to_string(i) + "', tools = { 'mcp__svc" + std::to_string(i) +
              "__*' }, check = function() return tg.deny('x') end }\n";
  }
  auto set = Build({{"p", source}});
  for (int i = 0; i < 50; ++i) CHECK(Judge(*set, BashCall("ls")).verdict == Verdict::kAllow);
  CHECK(Judge(*set, MakeCall("mcp__svc42__do", {})).verdict == Verdict::kDeny);
}

TEST_CASE("pack load errors are located: file, line, rule") {
  struct Bad {
    const char* source;
    int line;
    const char* rule;
  };
  const Bad cases[] = {
      {"pack { id = 'p' }\nrule { id = 'r', check = function() return end\n", 3, ""},       // syntax: unclosed
      {"pack { id = 'p' }\n\nrule { id = 'r' }\n", 3, ""},                                  // no check
      {"pack { id = 'other' }\n", 1, ""},                                                  // id mismatch
      {"pack { id = 'p', colour = 1 }\n", 1, ""},                                          // unknown field
      {"pack { id = 'p' }\nrule { id = 'r', check = print }\n", 2, "p.r"},                 // print is absent
      {"pack { id = 'p' }\nrule { id = 'r', check = function() end }\nrule { id = 'r', check = function() end }\n", 3, "p.r"},
      {"pack { id = 'p' }\nrule { id = 'r', effects = { 'telepathy' }, check = function() end }\n", 2, ""},
      {"pack { id = 'p' }\nwhile true do end\n", 2, ""},                                   // load budget
      {"pack { id = 'p' }\n", 0, ""},                                                      // no rules
      {"rule { id = 'r', check = function() end }\n", 1, ""},                              // rule before pack
  };
  for (const Bad& bad : cases) {
    CAPTURE(bad.source);
    PackDefinition def;
    PackError error;
    CHECK_FALSE(CompilePack("p", "rules/p/p.lua", bad.source, &def, &error));
    CHECK(error.file == "rules/p/p.lua");
    CHECK(error.line == bad.line);
    if (*bad.rule != '\0') CHECK(error.rule == bad.rule);
    CHECK_FALSE(error.message.empty());
  }
}

// ---- policy integration -------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/toolgate-lua-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const char* kGuard = R"(pack { id = "guard", params = { word = "forbidden", limit = 3, list = {} } }
rule { id = "word", tools = { "Bash" }, check = function(call, params)
  if tg.re.test(call.input.command or "", tg.re.escape(params.word)) then return tg.deny("no " .. params.word) end
end }
)";

std::string PolicyText(const std::string& rules_json, const std::string& packs_json = R"({"guard": {"path": "guard.lua"}})") {
  return R"({"toolgate_policy": 1, "default_profile": "dev", "rule_packs": )" + packs_json + R"(,
  "profiles": {
    "base": {"default": "allow", "unknown_effects": "allow", "exec": {"deny": ["shutdown"]}},
    "dev": {"extends": "base", "rules": )" + rules_json + R"(}}})";
}

bool HasCode(const PolicyLoadResult& r, ErrorCode code, const std::string& json_path = "") {
  for (const PolicyDiagnostic& d : r.diagnostics) {
    if (d.code == code && (json_path.empty() || d.json_path == json_path)) return true;
  }
  return false;
}

TEST_CASE("a policy enables packs per profile with parameters") {
  TempDir dir;
  dir.Write("guard.lua", kGuard);
  const std::string path = dir.Write("p.json", PolicyText(R"({"guard": {"params": {"word": "rm"}}})"));
  PolicyLoadResult r = LoadPolicyFile(path);
  for (const auto& d : r.diagnostics) INFO(FormatDiagnostic(d));
  REQUIRE(r.ok());
  REQUIRE(r.policy->rules() != nullptr);
  const Engine engine(r.policy);
  ToolCall call = BashCall("rm x");
  Decision d = engine.Decide(call);
  CHECK(d.verdict == Verdict::kDeny);
  REQUIRE(RuleFinding(d) != nullptr);
  CHECK(RuleFinding(d)->rule->file == dir.path() + "/guard.lua");
  CHECK(RuleFinding(d)->rule->id == "guard.word");
  CHECK(d.MessageForHuman().find("guard.lua:") != std::string::npos);
  CHECK(engine.Decide(BashCall("ls")).verdict == Verdict::kAllow);
  // A call the grants already deny is decided without the rules.
  d = engine.Decide(BashCall("shutdown now rm"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(RuleFinding(d) == nullptr);
  // The digest covers the pack's code.
  dir.Write("guard.lua", std::string(kGuard) + "-- changed\n");
  PolicyLoadResult r2 = LoadPolicyFile(path);
  REQUIRE(r2.ok());
  CHECK(r2.policy->digest() != r.policy->digest());
}

TEST_CASE("a child profile can disable an inherited pack") {
  TempDir dir;
  dir.Write("guard.lua", kGuard);
  const std::string text = R"({"toolgate_policy": 1, "default_profile": "child", "rule_packs": {"guard": {"path": "guard.lua"}},
    "profiles": {"parent": {"default": "allow", "unknown_effects": "allow", "rules": {"guard": true}},
                 "child": {"extends": "parent", "rules": {"guard": false}}}})";
  PolicyLoadResult r = LoadPolicyFile(dir.Write("p.json", text));
  REQUIRE(r.ok());
  CHECK(Engine(r.policy).Decide(BashCall("forbidden")).verdict == Verdict::kAllow);
}

TEST_CASE("rule configuration errors fail the load, located") {
  TempDir dir;
  dir.Write("guard.lua", kGuard);
  dir.Write("broken.lua", "pack { id = 'broken' }\nrule { id = 'r', check = function() return x( end }\n");
  dir.Write("net.lua", "pack { id = 'net', capabilities = { 'http' } }\nrule { id = 'r', check = function() end }\n");
  const auto load = [&](const std::string& rules, const std::string& packs = R"({"guard": {"path": "guard.lua"}})") {
    return LoadPolicyFile(dir.Write("p.json", PolicyText(rules, packs)));
  };
  CHECK(HasCode(load(R"({"guard": {"params": {"colour": 1}}})"), ErrorCode::kPolicyRule,
                "/profiles/dev/rules/guard/params/colour"));
  CHECK(HasCode(load(R"({"guard": {"params": {"limit": "three"}}})"), ErrorCode::kPolicyRule,
                "/profiles/dev/rules/guard/params/limit"));
  CHECK(load(R"({"guard": {"params": {"list": ["a", "b"]}}})").ok());
  CHECK(HasCode(load(R"({"nope": true})"), ErrorCode::kPolicyReference, "/profiles/dev/rules/nope"));
  CHECK(HasCode(load(R"({"guard": {"parameters": {}}})"), ErrorCode::kPolicySchema,
                "/profiles/dev/rules/guard/parameters"));
  CHECK(HasCode(load(R"({"guard": true})", R"({"guard": {"path": "missing.lua"}})"), ErrorCode::kPolicyRule,
                "/rule_packs/guard/path"));
  CHECK(HasCode(load(R"({"guard": true})", R"({"guard": {"path": "guard.lua", "budget": {"time_ms": 0}}})"),
                ErrorCode::kPolicySchema, "/rule_packs/guard/budget/time_ms"));
  // Capabilities: needed but not granted; granted but not needed.
  CHECK(HasCode(load(R"({"net": true})", R"({"net": {"path": "net.lua"}})"), ErrorCode::kPolicyRule,
                "/profiles/dev/rules/net"));
  CHECK(HasCode(load(R"({"guard": {"capabilities": {"http": true}}})"), ErrorCode::kPolicyRule,
                "/profiles/dev/rules/guard/capabilities/http"));
  CHECK(load(R"({"net": {"capabilities": {"http": {"timeout_ms": 500}}}})", R"({"net": {"path": "net.lua"}})").ok());
  // A broken pack fails the load with its file and line, even when no profile enables it.
  const PolicyLoadResult broken = load(R"({})", R"({"guard": {"path": "guard.lua"}, "broken": {"path": "broken.lua"}})");
  CHECK_FALSE(broken.ok());
  bool located = false;
  for (const PolicyDiagnostic& d : broken.diagnostics) {
    located = located || (d.code == ErrorCode::kPolicyRule && d.file == dir.path() + "/broken.lua" && d.line == 2);
    if (d.code == ErrorCode::kPolicyRule) CHECK(FormatDiagnostic(d).find("broken.lua:2") != std::string::npos);
  }
  CHECK(located);
}

}  // namespace
}  // namespace toolgate::lua

namespace toolgate::lua {
namespace {

ToolCall PostCall(const std::string& tool, const nlohmann::json& input, const nlohmann::json& response) {
  ToolCall c = testing::MakeCall(tool, input);
  c.hook_event = "PostToolUse";
  c.tool_response = response;
  return c;
}

TEST_CASE("tg.context adds lines for the model; call.response carries a post event's result") {
  auto set = Build({{"p", R"(pack { id = 'p' }
rule { id = 'post', events = { 'post' }, check = function(call)
  tg.context('result says: ' .. call.response_text .. ' / ' .. tostring(call.response.stdout))
end }
rule { id = 'pre', events = { 'pre' }, tools = { 'Bash' }, check = function(call)
  if call.response ~= nil then error('a pre call has no response') end
  tg.context('pre ' .. call.tool)
end }
rule { id = 'many', tools = { 'Many' }, check = function()
  local kept = 0
  for i = 1, 20 do if tg.context(string.rep('x', 5000) .. '\1') then kept = kept + 1 end end
  return tg.deny('kept ' .. kept)
end }
)"}});
  Decision d = Judge(*set, PostCall("Bash", {{"command", "ls"}}, {{"stdout", "a\nb"}, {"stderr", "e"}}));
  CHECK(d.verdict == Verdict::kAllow);
  REQUIRE(d.context.size() == 1);
  CHECK(d.context[0].rule == "p.post");
  CHECK(d.context[0].text == "result says: e\na\nb / a\nb");  // object members in key order
  CHECK(ToJson(d, false)["context"][0]["rule"] == "p.post");

  d = Judge(*set, testing::BashCall("ls"));
  REQUIRE(d.context.size() == 1);
  CHECK(d.context[0].text == "pre Bash");

  // Bounded: at most kMaxContextLines lines, each cut to kMaxContextBytes;
  // the deny still decides.
  d = Judge(*set, testing::MakeCall("Many", nlohmann::json::object()));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.context.size() == kMaxContextLines);
  CHECK(d.context[0].text.size() == kMaxContextBytes);
  CHECK(RuleFinding(d)->note == "kept " + std::to_string(kMaxContextLines));
  // A decision without context has no "context" member.
  CHECK_FALSE(ToJson(Decision{}, false).contains("context"));
}

TEST_CASE("the prefilter's text checks see a post event's result") {
  auto set = Build({{"p", R"(pack { id = 'p' }
rule { id = 'r', contains = { 'MARKER' }, check = function() tg.context('seen') end }
)"}});
  CHECK(Judge(*set, PostCall("Read", {{"file_path", "/a"}}, "no")).context.empty());
  CHECK(Judge(*set, PostCall("Read", {{"file_path", "/a"}}, {{"content", "x MARKER y"}})).context.size() == 1);
  CHECK(Judge(*set, testing::MakeCall("Read", {{"file_path", "/MARKER"}})).context.size() == 1);
}

TEST_CASE("a rule's events must be pre or post") {
  PackError error;
  auto set = testing::BuildRuleSet({{"p", "pack { id = 'p' }\nrule { id = 'r', events = { 'later' }, check = function() end }\n"}}, &error);
  CHECK(set == nullptr);
  CHECK(error.message.find("unknown event 'later'") != std::string::npos);
}

}  // namespace
}  // namespace toolgate::lua
