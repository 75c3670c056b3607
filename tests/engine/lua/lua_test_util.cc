#include "lua_test_util.h"

#include "lua/rule_pack.h"

namespace toolgate::lua::testing {

Sandbox::Sandbox() : store_(StateStore::InMemory()) {
  L_ = NewSandboxState(&ctx_, AddRegistrationFunctions);
  call_.session_id = "s1";
  call_.agent_id = "a1";
  call_.tool_name = "Bash";
  scope_.call = &call_;
  scope_.pack_id = "test";
  scope_.rule_id = "test.chunk";
  scope_.state = store_.get();
  scope_.http_probe = &probe_;
  scope_.home = "/home/dev";
}

Sandbox::~Sandbox() {
  if (L_ != nullptr) lua_close(L_);
}

ChunkResult Sandbox::Run(const std::string& code, const RuleBudget& budget) {
  ChunkResult r;
  lua_settop(L_, 0);
  PushPackEnvironment(L_);
  if (!LoadTextChunk(L_, code, "=chunk", 1)) {
    r.value = ErrorObjectText(L_, -1);
    lua_settop(L_, 0);
    return r;
  }
  ctx_.scope = &scope_;
  ArmBudget(L_, budget);
  const int status = lua_pcall(L_, 0, 1, 0);
  r.trip = ctx_.tripped;
  DisarmBudget(L_);
  ctx_.scope = nullptr;
  r.ok = status == LUA_OK;
  if (lua_type(L_, -1) == LUA_TBOOLEAN) r.value = lua_toboolean(L_, -1) ? "true" : "false";
  else if (lua_type(L_, -1) == LUA_TNIL) r.value = "nil";
  else r.value = ErrorObjectText(L_, -1);
  lua_settop(L_, 0);
  return r;
}

std::unique_ptr<RuleSet> BuildRuleSet(const std::vector<InlinePack>& packs, PackError* error) {
  RuleSetSpec spec;
  spec.home = "/home/dev";
  for (std::size_t i = 0; i < packs.size(); ++i) {
    PackDefinition def;
    if (!CompilePack(packs[i].id, packs[i].id + ".lua", packs[i].source, &def, error)) return nullptr;
    EnabledPack enabled;
    enabled.pack = i;
    enabled.params = def.params;
    for (const auto& [k, v] : packs[i].params.items()) enabled.params[k] = v;
    enabled.budget = packs[i].budget;
    enabled.http = packs[i].http;
    spec.packs.push_back(std::move(def));
    spec.profiles["p"].push_back(std::move(enabled));
  }
  return RuleSet::Build(std::move(spec), error);
}

Decision Judge(const RuleSet& rules, const ToolCall& call, StateStore* state) {
  // Without a store of its own, a test shares one per process, as an engine would.
  static const std::unique_ptr<StateStore> shared = StateStore::InMemory();
  EffectsContext context;
  context.home = "/home/dev";
  context.resolve_symlinks = false;
  Decision d;
  d.verdict = Verdict::kAllow;
  d.profile = "p";
  d.effects = ExtractEffects(call, context);
  rules.Evaluate(call, d.effects, "p", state != nullptr ? state : shared.get(), &d);
  return d;
}

ToolCall MakeCall(const std::string& tool, const nlohmann::json& input) {
  ToolCall c;
  c.agent_id = "a1";
  c.session_id = "s1";
  c.tool_name = tool;
  c.tool_input = input;
  c.cwd = "/home/dev/project";
  return c;
}

ToolCall BashCall(const std::string& command) { return MakeCall("Bash", nlohmann::json{{"command", command}}); }

}  // namespace toolgate::lua::testing
