// tg.json: JSON for rules, bounded like every other untrusted input.
//
//   tg.json.decode(text) -> value | nil, why   (null decodes to tg.json.null)
//   tg.json.encode(value) -> text               (tables with keys 1..n are arrays)
//   tg.json.null                                 the JSON null sentinel
//   tg.json.strings(value [, max]) -> { every string leaf in value }, for scanning
#include <unordered_set>

#include "lua/sandbox.h"
#include "lua/tg_api.h"
#include "toolgate/tool_call.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxJsonBytes = std::size_t{1} << 20;

int Decode(lua_State* L) {
  const std::string_view text = ArgString(L, 1, "tg.json.decode", "text");
  Result<nlohmann::json> parsed = ParseUntrustedJson(text, InputLimits{kMaxJsonBytes, 64});
  if (!parsed) {
    lua_pushnil(L);
    Push(L, std::string(ErrorCodeName(parsed.error().code)) + ": " + parsed.error().message);
    return 2;
  }
  PushJson(L, *parsed);
  return 1;
}

int Encode(lua_State* L) {
  ArgAny(L, 1, "tg.json.encode", "value");
  const nlohmann::json value = ToJson(L, 1, "tg.json.encode");
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxJsonBytes) throw HostError("tg.json.encode: result larger than 1 MiB");
  Push(L, text);
  return 1;
}

// Each table is walked once (`seen`): a table that holds itself, or one
// shared many times, would otherwise be walked exponentially often inside this
// host function, where no budget hook runs.
void CollectStrings(lua_State* L, int index, int out, int depth, lua_Integer max, lua_Integer* count,
                    std::unordered_set<const void*>* seen) {
  index = lua_absindex(L, index);
  if (*count >= max || depth > 64) return;
  if (lua_type(L, index) == LUA_TSTRING) {
    lua_pushvalue(L, index);
    lua_rawseti(L, out, ++*count);
    return;
  }
  if (lua_type(L, index) != LUA_TTABLE) return;
  if (!seen->insert(lua_topointer(L, index)).second) return;
  if (!lua_checkstack(L, 4)) throw HostError("tg.json.strings: Lua stack exhausted");
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    CollectStrings(L, -1, out, depth + 1, max, count, seen);
    lua_pop(L, 1);
  }
}

int Strings(lua_State* L) {
  ArgAny(L, 1, "tg.json.strings", "value");
  const lua_Integer max = OptInteger(L, 2, "tg.json.strings", "max", 10000);
  lua_settop(L, 1);
  lua_newtable(L);
  lua_Integer count = 0;
  std::unordered_set<const void*> seen;
  CollectStrings(L, 1, 2, 0, max, &count, &seen);
  return 1;
}

}  // namespace

void OpenTgJson(lua_State* L) {
  lua_createtable(L, 0, 4);
  SetFunction(L, "decode", HostFunction<Decode>);
  SetFunction(L, "encode", HostFunction<Encode>);
  SetFunction(L, "strings", HostFunction<Strings>);
  lua_pushlightuserdata(L, JsonNullSentinel());
  lua_setfield(L, -2, "null");
}

}  // namespace toolgate::lua
