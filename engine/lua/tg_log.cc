// tg.log: operational log lines from rules, through spdlog, prefixed with the
// pack and rule so an operator can tell who said it. Lines are shortened and
// sanitized; a rule cannot forge the prefix or inject newlines.
//
//   tg.log.debug(msg)  tg.log.info(msg)  tg.log.warn(msg)  tg.log.error(msg)
#include <spdlog/spdlog.h>

#include "lua/sandbox.h"
#include "lua/tg_api.h"
#include "util/utf8.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxLogBytes = 500;

int Log(lua_State* L, spdlog::level::level_enum level, const char* fn) {
  std::string_view msg = ArgString(L, 1, fn, "message");
  if (msg.size() > kMaxLogBytes) msg = msg.substr(0, kMaxLogBytes);
  std::string clean = SanitizeUtf8(msg);
  for (char& c : clean) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  const EvalScope* scope = ContextOf(L)->scope;
  const std::string_view pack = scope != nullptr ? scope->pack_id : std::string_view("(loading)");
  const std::string_view rule = scope != nullptr ? scope->rule_id : std::string_view("-");
  spdlog::log(level, "[lua {} {}] {}", pack, rule, clean);
  return 0;
}

int Debug(lua_State* L) { return Log(L, spdlog::level::debug, "tg.log.debug"); }
int Info(lua_State* L) { return Log(L, spdlog::level::info, "tg.log.info"); }
int Warn(lua_State* L) { return Log(L, spdlog::level::warn, "tg.log.warn"); }
int Error(lua_State* L) { return Log(L, spdlog::level::err, "tg.log.error"); }

}  // namespace

void OpenTgLog(lua_State* L) {
  lua_createtable(L, 0, 4);
  SetFunction(L, "debug", HostFunction<Debug>);
  SetFunction(L, "info", HostFunction<Info>);
  SetFunction(L, "warn", HostFunction<Warn>);
  SetFunction(L, "error", HostFunction<Error>);
}

}  // namespace toolgate::lua
