// Helpers for the Lua runtime tests: run a chunk in a real sandboxed state
// (the same setup rule packs get) with a budget, or build a RuleSet from
// inline pack sources.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lua/rule_set.h"
#include "lua/sandbox.h"
#include "lua/tg_api.h"
#include "toolgate/state_store.h"
#include "toolgate/tool_call.h"

namespace toolgate::lua::testing {

struct ChunkResult {
  bool ok = false;
  std::string value;  // tostring-like text of the first result, or the error message
  BudgetTrip trip = BudgetTrip::kNone;
};

// A sandboxed state with tg, pack and rule; one chunk at a time.
class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  // Runs `code` as a pack-environment chunk under `budget`. A scope with a
  // call (session "s1", agent "a1") is active, so tg.state works.
  ChunkResult Run(const std::string& code, const RuleBudget& budget = {});
  lua_State* L() const { return L_; }
  VmContext& ctx() { return ctx_; }
  StateStore& store() { return *store_; }

 private:
  VmContext ctx_;
  lua_State* L_ = nullptr;
  std::unique_ptr<StateStore> store_;
  HttpProbe probe_;
  ToolCall call_;
  EvalScope scope_;
};

// Builds a RuleSet with one profile "p" enabling the given packs (sources
// inline, files named "<id>.lua").
struct InlinePack {
  std::string id;
  std::string source;
  nlohmann::json params = nlohmann::json::object();
  RuleBudget budget = {};
  std::optional<HttpGrant> http;
};
std::unique_ptr<RuleSet> BuildRuleSet(const std::vector<InlinePack>& packs, PackError* error);

// Runs the rules of profile "p" over a call whose effects are extracted the
// way the engine does (home /home/dev).
Decision Judge(const RuleSet& rules, const ToolCall& call, StateStore* state = nullptr);
ToolCall BashCall(const std::string& command);
ToolCall MakeCall(const std::string& tool, const nlohmann::json& input);

}  // namespace toolgate::lua::testing
