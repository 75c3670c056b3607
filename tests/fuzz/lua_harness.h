// A rule's view of the tg API for the fuzz targets: a sandboxed Lua state made
// exactly as a rule pack's (NewSandboxState with pack/rule registration, the
// frozen tg table), a scope with a call, a session store and an HTTP probe but
// no "http" grant (tg.http.status must refuse, so no fuzz input can reach the
// network), and every tg function found by walking tg itself, so a function
// added later is fuzzed without a change here.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "lua/http_probe.h"
#include "lua/sandbox.h"
#include "toolgate/state_store.h"
#include "lua/tg_api.h"
#include "toolgate/tool_call.h"

namespace toolgate::fuzz {

class LuaHarness {
 public:
  LuaHarness();
  ~LuaHarness();
  LuaHarness(const LuaHarness&) = delete;
  LuaHarness& operator=(const LuaHarness&) = delete;

  lua_State* L() const { return L_; }
  // "date.parse", "re.match", "deny", ... in name order.
  const std::vector<std::string>& names() const { return names_; }
  // The index of a function by name; aborts when tg has no such function.
  std::size_t Index(const std::string& name) const;

  // Calls function `index` under a rule's budget with the arguments
  // push_args leaves on the stack (it returns how many). Returns the status of
  // lua_pcall; a budget trip or an error leaves the state as the engine would
  // (a trip: the state is replaced, like RuleSet discarding it).
  int Call(std::size_t index, const std::function<int(lua_State*)>& push_args, const lua::RuleBudget& budget = {});

 private:
  void Open();
  void Close();

  lua::VmContext ctx_;
  lua_State* L_ = nullptr;
  std::vector<std::string> names_;
  std::vector<int> refs_;  // registry references, parallel to names_
  std::unique_ptr<StateStore> store_ = StateStore::InMemory();
  lua::HttpProbe probe_;
  ToolCall call_;
  lua::EvalScope scope_;
};

}  // namespace toolgate::fuzz
