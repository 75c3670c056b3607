// All of the Lua C-API pain in one place.
//
// Lua (Debian's liblua5.4, compiled as C) reports errors with longjmp, which
// skips C++ destructors. Host functions therefore never let a Lua error cross
// a C++ frame that owns anything:
//   * host functions are written as `int Fn(lua_State*)` that THROW HostError
//     (through the Arg* checkers below) instead of calling luaL_error/luaL_check*;
//   * they are exported through HostFunction<Fn>, which runs Fn inside
//     try/catch and raises the Lua error only after every C++ object of Fn has
//     been destroyed;
//   * they read tables with raw access only (no metamethod can run script code
//     from inside a host function) and push with functions that can fail only
//     on memory exhaustion. The allocator gives host code a slack above the
//     evaluation cap (see VmContext) so that failure does not happen inside Fn;
//     the cap is enforced right after Fn returns.
// Every error names the function and argument: "tg.re.match: argument 2 (pattern) must be a string".
#pragma once

#include <lua.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace toolgate::lua {

// A host function's argument or runtime failure; becomes a Lua error.
class HostError : public std::exception {
 public:
  explicit HostError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

struct VmContext;                      // engine/lua/sandbox.h
VmContext* ContextOf(lua_State* L);    // stored in lua_getextraspace
// Raised (as a Lua error) after a host function returns when the evaluation
// went over its memory cap while the host function ran.
bool MemoryOverCap(lua_State* L);
// Marks the evaluation as tripped (so the wrapped pcall cannot swallow it).
void TripMemoryBudget(lua_State* L);
// True (and the budget marked tripped) when the invocation is past its deadline.
bool TimeBudgetSpent(lua_State* L);
void EnterHost(lua_State* L);
void LeaveHost(lua_State* L);

using RawHostFunction = int (*)(lua_State*);

// Exports Fn to Lua; see the file comment.
template <RawHostFunction Fn>
int HostFunction(lua_State* L) {
  // Fixed-size buffer: nothing with a destructor may be alive at lua_error.
  char message[400];
  message[0] = '\0';
  int results = 0;
  bool failed = false;
  EnterHost(L);
  try {
    results = Fn(L);
  } catch (const HostError& e) {
    failed = true;
    std::snprintf(message, sizeof message, "%s", e.what());
  } catch (const std::bad_alloc&) {
    failed = true;
    TripMemoryBudget(L);
    std::snprintf(message, sizeof message, "out of memory in a host function");
  } catch (const std::exception& e) {
    failed = true;
    std::snprintf(message, sizeof message, "host function failed: %s", e.what());
  }
  LeaveHost(L);
  if (!failed && MemoryOverCap(L)) {
    failed = true;
    TripMemoryBudget(L);
    std::snprintf(message, sizeof message, "memory budget exceeded");
  }
  // A host call (a regex over megabytes) may run long between count hooks.
  if (!failed && TimeBudgetSpent(L)) {
    failed = true;
    std::snprintf(message, sizeof message, "time budget exceeded");
  }
  if (failed) {
    luaL_where(L, 1);  // "pack.lua:12: " of the rule code that called
    lua_pushstring(L, message);
    lua_concat(L, 2);
    return lua_error(L);
  }
  return results;
}

// ---- argument checks (throw HostError) -------------------------------------

// "tg.re.match: argument 2 (pattern) must be a string, got nil"
[[noreturn]] void ThrowArg(lua_State* L, const char* fn, int arg, const char* name, const char* expected);

std::string_view ArgString(lua_State* L, int arg, const char* fn, const char* name);
std::string_view OptString(lua_State* L, int arg, const char* fn, const char* name, std::string_view fallback);
lua_Integer ArgInteger(lua_State* L, int arg, const char* fn, const char* name);
lua_Integer OptInteger(lua_State* L, int arg, const char* fn, const char* name, lua_Integer fallback);
double ArgNumber(lua_State* L, int arg, const char* fn, const char* name);
bool OptBoolean(lua_State* L, int arg, const char* fn, const char* name, bool fallback);
void ArgTable(lua_State* L, int arg, const char* fn, const char* name);
void ArgAny(lua_State* L, int arg, const char* fn, const char* name);  // present, may be nil
bool IsTableArg(lua_State* L, int arg);

// Raw field reads from the table at `table` (no metamethods).
std::string_view RawFieldString(lua_State* L, int table, const char* key, std::string_view fallback = {});
std::optional<lua_Integer> RawFieldInteger(lua_State* L, int table, const char* key);
bool RawFieldBoolean(lua_State* L, int table, const char* key, bool fallback);

// ---- pushing ---------------------------------------------------------------

// Pushes a string. Inside a host function, a string the memory left (cap
// and slack) cannot hold throws std::bad_alloc instead: Lua's own memory
// error is a longjmp that would skip the destructors of the host function's
// C++ objects (HostFunction turns the exception into the same memory trip).
void Push(lua_State* L, std::string_view s);
inline void SetField(lua_State* L, const char* key, std::string_view value) {
  Push(L, value);
  lua_setfield(L, -2, key);  // the target is a fresh plain table: no metamethods
}
inline void SetField(lua_State* L, const char* key, lua_Integer value) {
  lua_pushinteger(L, value);
  lua_setfield(L, -2, key);
}
inline void SetFieldBool(lua_State* L, const char* key, bool value) {
  lua_pushboolean(L, value ? 1 : 0);
  lua_setfield(L, -2, key);
}

// ---- JSON <-> Lua ------------------------------------------------------------

// The sentinel JSON null (a light userdata), exposed as tg.json.null.
void* JsonNullSentinel();

// Objects become tables, arrays 1-based sequences, null the sentinel.
void PushJson(lua_State* L, const nlohmann::json& value);

struct ToJsonLimits {
  int max_depth = 64;
  std::size_t max_items = 100000;
};
// Tables with only keys 1..n (n >= 1) become arrays; an empty table becomes
// an object (use tg.json.array() to force []). Throws HostError on cycles,
// functions, non-string keys or excessive size. Raw access only.
nlohmann::json ToJson(lua_State* L, int index, const char* fn, const ToJsonLimits& limits = {});

// ---- read-only views -----------------------------------------------------------

// Replaces the table at the top of the stack with a read-only proxy: reads go
// to the table (nested tables are proxied recursively, eagerly), writes raise
// "read-only", # and pairs/ipairs work, getmetatable returns a string, and the
// proxy is registered as protected so the sandbox's rawset refuses it.
void MakeReadOnly(lua_State* L);
// True for proxies made by MakeReadOnly and for pack environments.
bool IsProtected(lua_State* L, int index);
void MarkProtected(lua_State* L, int index);
// Creates the registry's weak "protected" set; call once per state.
void InitProtectedSet(lua_State* L);

// Short description of the error object at `index` without running any
// metamethod (a string, a number, or "a <type> value").
std::string ErrorObjectText(lua_State* L, int index);

}  // namespace toolgate::lua
