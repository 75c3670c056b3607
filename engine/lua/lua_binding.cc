#include "lua/lua_binding.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "lua/sandbox.h"

namespace toolgate::lua {
namespace {

const char kProtectedKey = 'p';  // address is the registry key
char json_null_sentinel = 0;

const char* TypeName(lua_State* L, int arg) { return lua_typename(L, lua_type(L, arg)); }

}  // namespace

VmContext* ContextOf(lua_State* L) { return *static_cast<VmContext**>(lua_getextraspace(L)); }

bool MemoryOverCap(lua_State* L) {
  const VmContext* ctx = ContextOf(L);
  return ctx->used > ctx->cap;
}

void TripMemoryBudget(lua_State* L) {
  VmContext* ctx = ContextOf(L);
  if (ctx->tripped == BudgetTrip::kNone) ctx->tripped = BudgetTrip::kMemory;
}

bool TimeBudgetSpent(lua_State* L) { return TripIfPastDeadline(L); }

void Push(lua_State* L, std::string_view s) {
  const VmContext* ctx = ContextOf(L);
  if (ctx->host_depth > 0) {
    // Room for the string object's header too, and for what Lua allocates
    // beside it (a string table slot, a GC step's bookkeeping).
    constexpr std::size_t kOverhead = 4096;
    const std::size_t limit = ctx->cap + kHostSlack;
    if (ctx->used > limit || s.size() > limit - ctx->used || limit - ctx->used - s.size() < kOverhead) {
      throw std::bad_alloc();
    }
  }
  lua_pushlstring(L, s.data(), s.size());
}

void EnterHost(lua_State* L) { ++ContextOf(L)->host_depth; }
void LeaveHost(lua_State* L) { --ContextOf(L)->host_depth; }

void ThrowArg(lua_State* L, const char* fn, int arg, const char* name, const char* expected) {
  throw HostError(std::string(fn) + ": argument " + std::to_string(arg) + " (" + name + ") must be " + expected +
                  ", got " + TypeName(L, arg));
}

std::string_view ArgString(lua_State* L, int arg, const char* fn, const char* name) {
  if (lua_type(L, arg) != LUA_TSTRING) ThrowArg(L, fn, arg, name, "a string");
  std::size_t n = 0;
  const char* s = lua_tolstring(L, arg, &n);
  return {s, n};
}

std::string_view OptString(lua_State* L, int arg, const char* fn, const char* name, std::string_view fallback) {
  if (lua_isnoneornil(L, arg)) return fallback;
  return ArgString(L, arg, fn, name);
}

lua_Integer ArgInteger(lua_State* L, int arg, const char* fn, const char* name) {
  int ok = 0;
  const lua_Integer v = lua_type(L, arg) == LUA_TNUMBER ? lua_tointegerx(L, arg, &ok) : 0;
  if (!ok) ThrowArg(L, fn, arg, name, "an integer");
  return v;
}

lua_Integer OptInteger(lua_State* L, int arg, const char* fn, const char* name, lua_Integer fallback) {
  if (lua_isnoneornil(L, arg)) return fallback;
  return ArgInteger(L, arg, fn, name);
}

double ArgNumber(lua_State* L, int arg, const char* fn, const char* name) {
  if (lua_type(L, arg) != LUA_TNUMBER) ThrowArg(L, fn, arg, name, "a number");
  return lua_tonumber(L, arg);
}

bool OptBoolean(lua_State* L, int arg, const char* fn, const char* name, bool fallback) {
  if (lua_isnoneornil(L, arg)) return fallback;
  if (lua_type(L, arg) != LUA_TBOOLEAN) ThrowArg(L, fn, arg, name, "a boolean");
  return lua_toboolean(L, arg) != 0;
}

void ArgTable(lua_State* L, int arg, const char* fn, const char* name) {
  if (lua_type(L, arg) != LUA_TTABLE) ThrowArg(L, fn, arg, name, "a table");
}

void ArgAny(lua_State* L, int arg, const char* fn, const char* name) {
  if (lua_type(L, arg) == LUA_TNONE) ThrowArg(L, fn, arg, name, "a value");
}

bool IsTableArg(lua_State* L, int arg) { return lua_type(L, arg) == LUA_TTABLE; }

std::string_view RawFieldString(lua_State* L, int table, const char* key, std::string_view fallback) {
  table = lua_absindex(L, table);
  lua_pushstring(L, key);
  lua_rawget(L, table);
  std::string_view out = fallback;
  if (lua_type(L, -1) == LUA_TSTRING) {
    std::size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    out = {s, n};  // stays valid: the table still references the string
  }
  lua_pop(L, 1);
  return out;
}

std::optional<lua_Integer> RawFieldInteger(lua_State* L, int table, const char* key) {
  table = lua_absindex(L, table);
  lua_pushstring(L, key);
  lua_rawget(L, table);
  int ok = 0;
  const lua_Integer v = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &ok) : 0;
  lua_pop(L, 1);
  if (!ok) return std::nullopt;
  return v;
}

bool RawFieldBoolean(lua_State* L, int table, const char* key, bool fallback) {
  table = lua_absindex(L, table);
  lua_pushstring(L, key);
  lua_rawget(L, table);
  bool out = fallback;
  if (lua_type(L, -1) == LUA_TBOOLEAN) out = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  return out;
}

void* JsonNullSentinel() { return &json_null_sentinel; }

void PushJson(lua_State* L, const nlohmann::json& value) {
  using T = nlohmann::json::value_t;
  switch (value.type()) {
    case T::null:
    case T::discarded: lua_pushlightuserdata(L, JsonNullSentinel()); return;
    case T::boolean: lua_pushboolean(L, value.get<bool>() ? 1 : 0); return;
    case T::number_integer: lua_pushinteger(L, static_cast<lua_Integer>(value.get<std::int64_t>())); return;
    case T::number_unsigned: {
      const auto u = value.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<lua_Integer>::max())) {
        lua_pushinteger(L, static_cast<lua_Integer>(u));
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(u));
      }
      return;
    }
    case T::number_float: lua_pushnumber(L, value.get<double>()); return;
    case T::string: {
      Push(L, value.get_ref<const std::string&>());
      return;
    }
    case T::binary: lua_pushnil(L); return;
    case T::array: {
      lua_createtable(L, static_cast<int>(std::min<std::size_t>(value.size(), 1u << 20)), 0);
      lua_Integer i = 1;
      for (const auto& item : value) {
        PushJson(L, item);
        lua_rawseti(L, -2, i++);
      }
      return;
    }
    case T::object: {
      lua_createtable(L, 0, static_cast<int>(std::min<std::size_t>(value.size(), 1u << 20)));
      for (const auto& [k, v] : value.items()) {
        Push(L, k);
        PushJson(L, v);
        lua_rawset(L, -3);
      }
      return;
    }
  }
  lua_pushnil(L);
}

namespace {

struct ToJsonWalker {
  lua_State* L;
  const char* fn;
  ToJsonLimits limits;
  std::size_t items = 0;

  nlohmann::json Value(int index, int depth) {
    index = lua_absindex(L, index);
    if (++items > limits.max_items) throw HostError(std::string(fn) + ": value has too many items");
    switch (lua_type(L, index)) {
      case LUA_TNIL: return nullptr;
      case LUA_TBOOLEAN: return lua_toboolean(L, index) != 0;
      case LUA_TNUMBER: {
        if (lua_isinteger(L, index)) return static_cast<std::int64_t>(lua_tointeger(L, index));
        const double d = lua_tonumber(L, index);
        if (!std::isfinite(d)) throw HostError(std::string(fn) + ": cannot encode NaN or infinity");
        return d;
      }
      case LUA_TSTRING: {
        std::size_t n = 0;
        const char* s = lua_tolstring(L, index, &n);
        return std::string(s, n);
      }
      case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, index) == JsonNullSentinel()) return nullptr;
        break;
      case LUA_TTABLE: return Table(index, depth);
      default: break;
    }
    throw HostError(std::string(fn) + ": cannot encode a " + lua_typename(L, lua_type(L, index)) + " value");
  }

  nlohmann::json Table(int index, int depth) {
    if (depth >= limits.max_depth) throw HostError(std::string(fn) + ": value nested too deeply (or a cycle)");
    if (!lua_checkstack(L, 4)) throw HostError(std::string(fn) + ": Lua stack exhausted");
    // An array when the keys are exactly 1..n.
    const lua_Unsigned n = lua_rawlen(L, index);
    std::size_t count = 0;
    bool only_sequence = n > 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
      ++count;
      if (only_sequence) {
        int isint = 0;
        const lua_Integer k = lua_type(L, -2) == LUA_TNUMBER ? lua_tointegerx(L, -2, &isint) : 0;
        if (!isint || k < 1 || static_cast<lua_Unsigned>(k) > n) only_sequence = false;
      }
      lua_pop(L, 1);
    }
    if (only_sequence && count == n) {
      nlohmann::json out = nlohmann::json::array();
      for (lua_Unsigned i = 1; i <= n; ++i) {
        lua_rawgeti(L, index, static_cast<lua_Integer>(i));
        out.push_back(Value(-1, depth + 1));
        lua_pop(L, 1);
      }
      return out;
    }
    nlohmann::json out = nlohmann::json::object();
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
      std::string key;
      if (lua_type(L, -2) == LUA_TSTRING) {
        std::size_t len = 0;
        const char* s = lua_tolstring(L, -2, &len);
        key.assign(s, len);
      } else if (lua_type(L, -2) == LUA_TNUMBER && lua_isinteger(L, -2)) {
        key = std::to_string(lua_tointeger(L, -2));  // never lua_tolstring on a next() key
      } else {
        lua_pop(L, 2);
        throw HostError(std::string(fn) + ": object keys must be strings");
      }
      out[key] = Value(-1, depth + 1);
      lua_pop(L, 1);
    }
    return out;
  }
};

// __index of a read-only proxy is the backing table; __newindex refuses.
int ReadOnlyNewIndex(lua_State* L) {
  lua_pushstring(L, "attempt to modify a read-only table");
  return lua_error(L);
}

int ReadOnlyLen(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, lua_upvalueindex(1))));
  return 1;
}

// next() over the hidden backing table.
int ReadOnlyNext(lua_State* L) {
  lua_settop(L, 2);
  if (lua_type(L, 2) != LUA_TNIL) {
    // Only keys the backing table holds can continue an iteration.
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    const bool present = lua_type(L, -1) != LUA_TNIL;
    lua_pop(L, 1);
    if (!present) {
      lua_pushstring(L, "invalid key to 'next'");
      return lua_error(L);
    }
  }
  if (lua_next(L, lua_upvalueindex(1)) != 0) return 2;
  lua_pushnil(L);
  return 1;
}

int ReadOnlyPairs(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));  // the ReadOnlyNext closure
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

}  // namespace

nlohmann::json ToJson(lua_State* L, int index, const char* fn, const ToJsonLimits& limits) {
  ToJsonWalker w{L, fn, limits};
  return w.Value(index, 0);
}

void InitProtectedSet(lua_State* L) {
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushstring(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kProtectedKey);
}

void MarkProtected(lua_State* L, int index) {
  index = lua_absindex(L, index);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kProtectedKey);
  lua_pushvalue(L, index);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

bool IsProtected(lua_State* L, int index) {
  index = lua_absindex(L, index);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kProtectedKey);
  lua_pushvalue(L, index);
  lua_rawget(L, -2);
  const bool out = lua_toboolean(L, -1) != 0;
  lua_pop(L, 2);
  return out;
}

void MakeReadOnly(lua_State* L) {
  const int real = lua_gettop(L);
  luaL_checkstack(L, 8, "read-only view");
  // Proxy nested tables first (eagerly: these are small, load-time tables).
  lua_pushnil(L);
  while (lua_next(L, real) != 0) {
    if (lua_type(L, -1) == LUA_TTABLE && !IsProtected(L, -1)) {
      MakeReadOnly(L);            // replaces the value with its proxy
      lua_pushvalue(L, -2);       // key
      lua_insert(L, -2);          // key, key, proxy
      lua_rawset(L, real);        // real[key] = proxy (an existing key: safe during next)
    } else {
      lua_pop(L, 1);
    }
  }
  lua_newtable(L);                // proxy
  lua_createtable(L, 0, 6);       // metatable
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReadOnlyNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, ReadOnlyLen, 1);
  lua_setfield(L, -2, "__len");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, ReadOnlyNext, 1);
  lua_pushcclosure(L, ReadOnlyPairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushstring(L, "read-only");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  MarkProtected(L, -1);
  lua_replace(L, real);  // the proxy takes the real table's slot
}

std::string ErrorObjectText(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, index, &n);
      return std::string(s, std::min<std::size_t>(n, 1000));
    }
    case LUA_TNUMBER: return lua_isinteger(L, index) ? std::to_string(lua_tointeger(L, index))
                                                     : std::to_string(lua_tonumber(L, index));
    default: return std::string("(error object is a ") + lua_typename(L, lua_type(L, index)) + " value)";
  }
}

}  // namespace toolgate::lua
