// tg.phase: the task phase of the call being judged, and a way for a rule to
// move its session to another phase.
//
//   tg.phase.get() -> the call's phase ("" when none)
//   tg.phase.set(name) -> nothing; the session moves to `name` from its NEXT
//        call on (this call is judged in the phase it started in). name must
//        be a phase the call's profile declares, or "" for none. The request
//        rides on the Decision (requested_phase); the session's owner (the
//        daemon, a C API handle) applies it and logs it.
#include "lua/tg_api.h"
#include "toolgate/decision.h"
#include "toolgate/tool_call.h"

namespace toolgate::lua {
namespace {

int Get(lua_State* L) {
  EvalScope& scope = ScopeFor(L, "tg.phase.get");
  Push(L, scope.call->phase);
  return 1;
}

int Set(lua_State* L) {
  EvalScope& scope = ScopeFor(L, "tg.phase.set");
  const std::string_view name = ArgString(L, 1, "tg.phase.set", "name");
  if (!name.empty()) {
    bool known = false;
    if (scope.phases != nullptr) {
      for (const std::string& p : *scope.phases) known = known || p == name;
    }
    if (!known) throw HostError("tg.phase.set: the profile has no phase '" + std::string(name) + "'");
  }
  if (scope.decision == nullptr) throw HostError("tg.phase.set: no decision to carry the request");
  scope.decision->requested_phase = std::string(name);
  return 0;
}

}  // namespace

void OpenTgPhase(lua_State* L) {
  lua_createtable(L, 0, 2);
  SetFunction(L, "get", HostFunction<Get>);
  SetFunction(L, "set", HostFunction<Set>);
}

}  // namespace toolgate::lua
