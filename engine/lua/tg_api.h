// The `tg` host API: the only things a rule can ask the engine for.
//
//   tg.re     RE2 regexes (linear time, compiled once per state and cached)
//   tg.url    URL extraction from text and parsing
//   tg.date   ISO-8601 and written dates, weekdays, day arithmetic, UTC offsets
//   tg.json   decode / encode
//   tg.path   normalize, within, basename, dirname
//   tg.shell  word splitting and simple-command listing (toolgate's own parser)
//   tg.state  per-session / per-agent counters with expiry (shared by every worker)
//   tg.http   status probes via libcurl, only for packs granted "http"
//   tg.log    operational log lines through spdlog
//   tg.text   lookalike/width/accent folding for phrase matching, entropy
//   tg.phase  the call's task phase; a request to move the session to another
//   tg.deny / tg.ask / tg.allow   verdict values a rule's check returns
//
// One file per module (tg_re.cc, ...). Each Open* pushes that module's table.
// Reference documentation for rule authors: README.md, section Lua rule packs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lua/lua_binding.h"

namespace toolgate {
struct ToolCall;
struct Decision;
class StateStore;  // include/toolgate/state_store.h
}

namespace toolgate::lua {

class HttpProbe;     // engine/lua/http_probe.h
struct HttpGrant;    // engine/lua/http_probe.h

// What a running rule is judging and may use; set by RuleVm around each
// invocation, read by host functions through ContextOf(L)->scope.
struct EvalScope {
  const ToolCall* call = nullptr;
  std::string_view pack_id;
  std::string_view rule_id;
  const HttpGrant* http = nullptr;  // nullptr: the pack was not granted "http"
  StateStore* state = nullptr;      // the engine owner's store; nullptr: tg.state raises
  HttpProbe* http_probe = nullptr;
  std::string_view home;            // the policy's home, for ~ in tg.path
  Decision* decision = nullptr;     // the decision being made (tg.phase.set records its request here)
  const std::vector<std::string>* phases = nullptr;  // the profile's phases (tg.phase.set checks names)
};

// The scope of the running rule; throws HostError naming fn when none is set
// (a tg function that needs a call was used while the pack loaded).
EvalScope& ScopeFor(lua_State* L, const char* fn);

void OpenTgRe(lua_State* L);
void OpenTgUrl(lua_State* L);
void OpenTgDate(lua_State* L);
void OpenTgJson(lua_State* L);
void OpenTgPath(lua_State* L);
void OpenTgShell(lua_State* L);
void OpenTgState(lua_State* L);
void OpenTgHttp(lua_State* L);
void OpenTgLog(lua_State* L);
void OpenTgText(lua_State* L);
void OpenTgPhase(lua_State* L);

// Pushes the whole tg table (modules plus verdict helpers).
void OpenTg(lua_State* L);

// Verdict values: tg.deny(reason) -> {verdict="deny", reason=..., line=<caller's line>}.
inline constexpr const char* kVerdictMarker = "__tg_verdict";

// Helper for module files: registers fn under name in the table on top.
void SetFunction(lua_State* L, const char* name, lua_CFunction fn);

}  // namespace toolgate::lua
