// The tg table itself and the verdict helpers (tg.deny / tg.ask / tg.allow).
#include "lua/sandbox.h"
#include "lua/tg_api.h"
#include "toolgate/decision.h"
#include "util/utf8.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxReasonBytes = 2000;

// tg.deny(reason) / tg.ask(reason) / tg.allow([reason]): a plain table the
// engine reads back with raw access; `line` is where the rule produced it.
int MakeVerdict(lua_State* L, const char* verdict, const char* fn, bool reason_required) {
  std::string_view reason;
  if (reason_required || !lua_isnoneornil(L, 1)) reason = ArgString(L, 1, fn, "reason");
  if (reason.size() > kMaxReasonBytes) reason = reason.substr(0, kMaxReasonBytes);
  lua_Debug ar;
  int line = 0;
  if (lua_getstack(L, 1, &ar) != 0 && lua_getinfo(L, "l", &ar) != 0) line = ar.currentline;
  lua_createtable(L, 0, 4);
  SetField(L, "verdict", verdict);
  SetField(L, "reason", reason);
  SetField(L, "line", static_cast<lua_Integer>(line));
  SetFieldBool(L, kVerdictMarker, true);
  return 1;
}

// tg.context(text): adds a line of text for the model to the decision (hook
// answers carry it as additional context). It never changes the verdict.
// The text is cut to kMaxContextBytes (at a character boundary), invalid
// UTF-8 is replaced and control characters other than newline and tab become
// spaces; past kMaxContextLines lines per decision, more are dropped. Returns
// true when the line was kept.
int Context(lua_State* L) {
  EvalScope& scope = ScopeFor(L, "tg.context");
  std::string_view text = ArgString(L, 1, "tg.context", "text");
  if (scope.decision == nullptr) throw HostError("tg.context: no decision to carry the text");
  std::vector<ContextLine>& lines = scope.decision->context;
  if (lines.size() >= kMaxContextLines) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (text.size() > kMaxContextBytes) {
    std::size_t cut = kMaxContextBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    text = text.substr(0, cut);
  }
  std::string clean = SanitizeUtf8(text);
  for (char& c : clean) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) c = ' ';
  }
  lines.push_back(ContextLine{std::string(scope.rule_id), std::move(clean)});
  lua_pushboolean(L, 1);
  return 1;
}

int Deny(lua_State* L) { return MakeVerdict(L, "deny", "tg.deny", true); }
int Ask(lua_State* L) { return MakeVerdict(L, "ask", "tg.ask", true); }
int Allow(lua_State* L) { return MakeVerdict(L, "allow", "tg.allow", false); }

}  // namespace

EvalScope& ScopeFor(lua_State* L, const char* fn) {
  EvalScope* scope = ContextOf(L)->scope;
  if (scope == nullptr) throw HostError(std::string(fn) + ": only available while a rule checks a call");
  return *scope;
}

void SetFunction(lua_State* L, const char* name, lua_CFunction fn) {
  lua_pushcfunction(L, fn);
  lua_setfield(L, -2, name);
}

void OpenTg(lua_State* L) {
  lua_createtable(L, 0, 16);
  OpenTgRe(L);
  lua_setfield(L, -2, "re");
  OpenTgUrl(L);
  lua_setfield(L, -2, "url");
  OpenTgDate(L);
  lua_setfield(L, -2, "date");
  OpenTgJson(L);
  lua_setfield(L, -2, "json");
  OpenTgPath(L);
  lua_setfield(L, -2, "path");
  OpenTgShell(L);
  lua_setfield(L, -2, "shell");
  OpenTgState(L);
  lua_setfield(L, -2, "state");
  OpenTgHttp(L);
  lua_setfield(L, -2, "http");
  OpenTgLog(L);
  lua_setfield(L, -2, "log");
  OpenTgText(L);
  lua_setfield(L, -2, "text");
  OpenTgPhase(L);
  lua_setfield(L, -2, "phase");
  SetFunction(L, "deny", HostFunction<Deny>);
  SetFunction(L, "ask", HostFunction<Ask>);
  SetFunction(L, "allow", HostFunction<Allow>);
  SetFunction(L, "context", HostFunction<Context>);
}

}  // namespace toolgate::lua
