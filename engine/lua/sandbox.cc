#include "lua/sandbox.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace toolgate::lua {
namespace {

const char kBaseKey = 'b';  // registry: the frozen base table

// ---- allocator ------------------------------------------------------------

void* CappedAlloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* ctx = static_cast<VmContext*>(ud);
  const std::size_t old_size = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    ctx->used -= old_size;
    return nullptr;
  }
  if (nsize > old_size) {
    // Host functions get a slack so a failure rarely lands inside C++ code;
    // HostFunction enforces the real cap as soon as they return.
    const std::size_t cap = ctx->host_depth > 0 ? ctx->cap + kHostSlack : ctx->cap;
    const std::size_t growth = nsize - old_size;
    if (ctx->used + growth > cap || ctx->used + growth < ctx->used) {
      if (ctx->armed && ctx->tripped == BudgetTrip::kNone) ctx->tripped = BudgetTrip::kMemory;
      return nullptr;  // Lua raises LUA_ERRMEM
    }
    // A large allocation is where one VM instruction (a table's new array,
    // a grown stack, a long string) can run far from the next count hook, so
    // it checks the clock. Past the deadline it marks the trip and still
    // succeeds: a failed allocation would make Lua run an emergency full
    // collection over the whole heap before raising (milliseconds for a
    // heap of small tables), so the trip is raised instead by the count hook
    // within kHookInterval instructions, or by the budgeted library
    // function the allocation happens in, when it returns.
    if (growth >= kTimeCheckAllocBytes && ctx->armed && ctx->tripped == BudgetTrip::kNone &&
        std::chrono::steady_clock::now() > ctx->deadline) {
      ctx->tripped = BudgetTrip::kTime;
    }
  }
  void* out = std::realloc(ptr, nsize);
  if (out == nullptr) return nullptr;  // shrinking never fails in glibc; growth may
  ctx->used = ctx->used - old_size + nsize;
  return out;
}

// ---- budget hook ------------------------------------------------------------

void BudgetHook(lua_State* L, lua_Debug* ar) {
  VmContext* ctx = ContextOf(L);
  if (!ctx->armed) return;
  ctx->executed += kHookInterval;
  if (ctx->tripped == BudgetTrip::kNone) {
    if (ctx->executed > ctx->max_instructions) {
      ctx->tripped = BudgetTrip::kInstructions;
    } else if (std::chrono::steady_clock::now() > ctx->deadline) {
      ctx->tripped = BudgetTrip::kTime;
    } else {
      return;
    }
  }
  if (lua_getinfo(L, "l", ar) != 0 && ctx->trip_line == 0) ctx->trip_line = ar->currentline;
  // Once tripped, stop at every instruction: nothing the script runs next
  // (a handler, a __close) gets far.
  lua_sethook(L, BudgetHook, LUA_MASKCOUNT, 1);
  luaL_error(L, "%s budget exceeded", BudgetTripName(ctx->tripped));
}

// ---- base functions that replace the stock ones ------------------------------

bool BudgetTripped(lua_State* L) { return ContextOf(L)->tripped != BudgetTrip::kNone; }

// pcall(f, ...): as Lua's, but a budget trip (or memory error) propagates.
int SafePcall(lua_State* L) {
  luaL_checkany(L, 1);
  const int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  if (status != LUA_OK) {
    if (status == LUA_ERRMEM || BudgetTripped(L)) {
      if (status == LUA_ERRMEM) TripMemoryBudget(L);
      return lua_error(L);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// The message handler xpcall installs. When the error comes from the budget
// hook, Lua calls the handler while hooks are still disabled, so a user
// handler would run unbudgeted: after a trip the user handler is skipped.
int GuardedHandler(lua_State* L) {
  if (BudgetTripped(L)) return 1;  // the error object, unchanged
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// xpcall(f, handler, ...)
int SafeXpcall(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, GuardedHandler, 1);
  lua_replace(L, 2);    // slot 2: the guarded handler
  lua_pushvalue(L, 1);  // f
  lua_copy(L, 2, 1);    // handler to slot 1
  lua_replace(L, 2);    // f to slot 2
  const int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
  if (status != LUA_OK) {
    if (status == LUA_ERRMEM || BudgetTripped(L)) {
      if (status == LUA_ERRMEM) TripMemoryBudget(L);
      return lua_error(L);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_replace(L, 1);  // replaces the handler
  return lua_gettop(L);
}

int SafeRawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (IsProtected(L, 1)) return luaL_error(L, "rawset: the table is read-only");
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

int SafeSetmetatable(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const int t = lua_type(L, 2);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (IsProtected(L, 1)) return luaL_error(L, "setmetatable: cannot change a protected metatable");
  if (t == LUA_TTABLE) {
    lua_pushstring(L, "__gc");
    lua_rawget(L, 2);
    const bool has_gc = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (has_gc) return luaL_error(L, "setmetatable: __gc finalizers are not allowed in rules");
  }
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) {
    return luaL_error(L, "cannot change a protected metatable");
  }
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

// Library functions written in C run without the count hook, and one call can
// take milliseconds (a plain find over megabytes, a long concat or sort): a
// loop of them would only be stopped at the next hook, hundreds of calls
// later. The costly ones check the wall clock before every call.
int TimeOut(lua_State* L) {
  lua_sethook(L, BudgetHook, LUA_MASKCOUNT, 1);  // as after any trip
  return luaL_error(L, "time budget exceeded");
}

// The stock C function in upvalue 1, called after a deadline check. Called
// from C it cannot see its own name, so its argument errors name it from
// upvalue 2 ("bad argument #1 to 'rep'", not "to '?'").
int TimedCall(lua_State* L) {
  if (TripIfPastDeadline(L)) return TimeOut(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK) {
    if (BudgetTripped(L)) return lua_error(L);
    if (lua_type(L, -1) == LUA_TSTRING) {  // no C++ object may be alive here: errors longjmp
      const char* message = lua_tostring(L, -1);
      const char* named = lua_pushfstring(L, "to '%s'", lua_tostring(L, lua_upvalueindex(2)));
      luaL_gsub(L, message, "to '?'", named);
    }
    return lua_error(L);
  }
  if (TripIfPastDeadline(L)) return TimeOut(L);  // the call itself ran past the deadline
  return lua_gettop(L);
}

// Counts one step of C work inside a library function and checks the clock
// every 1,024 steps: for loops that run no VM instruction.
bool StepPastDeadline(lua_State* L) {
  VmContext* ctx = ContextOf(L);
  return (++ctx->c_steps & 1023u) == 0 && TripIfPastDeadline(L);
}

// toolgate's own versions of library functions whose one call could run long
// in C. Each is registered through TimedCall (the clock checked before and
// after the call); the loops below also check it as they go.

// table.move(a1, f, e, t [,a2]) as Lua's, for tables only, with a clock
// check every 1,024 elements: Lua's own loops over the whole range in C, and
// a range of nils (1 to maxinteger) never ends and allocates nothing.
int BudgetedMove(lua_State* L) {
  const lua_Integer f = luaL_checkinteger(L, 2);
  const lua_Integer e = luaL_checkinteger(L, 3);
  const lua_Integer t = luaL_checkinteger(L, 4);
  const int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, tt, LUA_TTABLE);
  if (e >= f) {
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    const lua_Integer n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    const bool forward = t > e || t <= f || (tt != 1 && !lua_rawequal(L, 1, tt));
    for (lua_Integer k = 0; k < n; ++k) {
      const lua_Integer i = forward ? k : n - 1 - k;
      if (StepPastDeadline(L)) return TimeOut(L);
      lua_geti(L, 1, f + i);
      lua_seti(L, tt, t + i);
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

// table.insert(t, pos, v) and table.remove(t [,pos]) as Lua 5.4's, for
// tables, with a clock check every 1,024 elements moved: at the front of a
// long table each call shifts every element in C (about 0.5 ms for 100,000),
// so a loop of them overran the deadline by a whole call. Any other use
// (two-argument insert, a non-table, a wrong argument count) goes to the
// stock function (upvalue 1) with its own checks and messages.
int CallStock(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

int BudgetedInsert(lua_State* L) {
  if (lua_type(L, 1) != LUA_TTABLE || lua_gettop(L) != 3) return CallStock(L);
  const lua_Integer e = luaL_intop(+, luaL_len(L, 1), 1);  // first empty element
  const lua_Integer pos = luaL_checkinteger(L, 2);
  luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u < static_cast<lua_Unsigned>(e), 2, "position out of bounds");
  for (lua_Integer i = e; i > pos; --i) {
    if (StepPastDeadline(L)) return TimeOut(L);
    lua_geti(L, 1, i - 1);
    lua_seti(L, 1, i);  // t[i] = t[i - 1]
  }
  lua_seti(L, 1, pos);  // t[pos] = v
  return 0;
}

int BudgetedRemove(lua_State* L) {
  if (lua_type(L, 1) != LUA_TTABLE || lua_gettop(L) > 2) return CallStock(L);
  const lua_Integer size = luaL_len(L, 1);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size) {
    luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u <= static_cast<lua_Unsigned>(size), 2,
                  "position out of bounds");
  }
  lua_geti(L, 1, pos);  // the result, t[pos]
  for (; pos < size; ++pos) {
    if (StepPastDeadline(L)) return TimeOut(L);
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);  // t[pos] = t[pos + 1]
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);  // t[pos] = nil
  return 1;
}

// The comparator table.sort is given: the rule's own (upvalue 1) or `<`,
// with a clock check every 1,024 comparisons. Lua's sort compares in C, so
// sorting a large table of numbers or strings runs no VM instruction.
int SortCompare(lua_State* L) {
  if (StepPastDeadline(L)) return TimeOut(L);
  if (lua_isnil(L, lua_upvalueindex(1))) {
    lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
    return 1;
  }
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

// table.sort(t [,comp]): the stock sort (upvalue 1) with SortCompare.
int BudgetedSort(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_pushcclosure(L, SortCompare, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 0);
  return 0;
}

// The length in bytes of the UTF-8 sequence at s[0..n), 0 when it is not
// one, as Lua 5.4's decoder judges it: up to six bytes (31-bit values) with
// no overlong forms; strict also refuses values past U+10FFFF and surrogates.
std::size_t Utf8SequenceLength(const unsigned char* s, std::size_t n, bool strict) {
  const unsigned int c = s[0];
  if (c < 0x80) return 1;
  std::size_t count = 0;
  std::uint32_t value = 0;
  for (unsigned int lead = c; (lead & 0x40u) != 0; lead <<= 1) {
    if (++count >= n || count > 5) return 0;
    const unsigned int cc = s[count];
    if ((cc & 0xC0u) != 0x80u) return 0;
    value = (value << 6) | (cc & 0x3Fu);
  }
  if (count == 0) return 0;  // a continuation byte where a character starts
  value |= static_cast<std::uint32_t>(c & 0x7Fu & (0x7Fu >> count)) << (count * 6);
  static constexpr std::uint32_t kLowest[] = {0, 0x80, 0x800, 0x10000u, 0x200000u, 0x4000000u};
  if (value > 0x7FFFFFFFu || value < kLowest[count]) return 0;
  if (strict && (value > 0x10FFFFu || (value >= 0xD800u && value <= 0xDFFFu))) return 0;
  return count + 1;
}

// utf8.len(s [,i [,j [,lax]]]) as Lua's, with a clock check every 64 KiB:
// Lua's walks the whole string in one C call (about 10 ms for 7 MiB).
int BudgetedUtf8Len(lua_State* L) {
  std::size_t len = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(luaL_checklstring(L, 1, &len));
  const auto relative = [len](lua_Integer pos) -> lua_Integer {
    if (pos >= 0) return pos;
    if (0u - static_cast<std::size_t>(pos) > len) return 0;  // unsigned: -pos overflows at the minimum
    return static_cast<lua_Integer>(len) + pos + 1;
  };
  lua_Integer posi = relative(luaL_optinteger(L, 2, 1));
  lua_Integer posj = relative(luaL_optinteger(L, 3, -1));
  const bool strict = lua_toboolean(L, 4) == 0;
  luaL_argcheck(L, 1 <= posi && --posi <= static_cast<lua_Integer>(len), 2, "initial position out of bounds");
  luaL_argcheck(L, --posj < static_cast<lua_Integer>(len), 3, "final position out of bounds");
  lua_Integer count = 0;
  lua_Integer next_check = posi + (1 << 16);
  while (posi <= posj) {
    if (posi >= next_check) {
      if (TripIfPastDeadline(L)) return TimeOut(L);
      next_check = posi + (1 << 16);
    }
    const std::size_t at = static_cast<std::size_t>(posi);
    const std::size_t step = Utf8SequenceLength(s + at, len - at, strict);
    if (step == 0) {
      lua_pushnil(L);
      lua_pushinteger(L, posi + 1);
      return 2;
    }
    posi += static_cast<lua_Integer>(step);
    ++count;
  }
  lua_pushinteger(L, count);
  return 1;
}

// string.rep(s, n [,sep]) as Lua's, but the result is filled by doubling
// copies: Lua's copies s once per repetition, so string.rep("x", 1 << 20)
// made a million one-byte copies (about 2 ms in one call).
int FastRep(lua_State* L) {
  std::size_t l = 0;
  std::size_t lsep = 0;
  const char* s = luaL_checklstring(L, 1, &l);
  const lua_Integer n = luaL_checkinteger(L, 2);
  const char* sep = luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  constexpr std::size_t kMaxSize = sizeof(std::size_t) < sizeof(lua_Integer)
                                       ? ~std::size_t{0}
                                       : static_cast<std::size_t>(LUA_MAXINTEGER);
  const auto count = static_cast<std::size_t>(n);
  if (l + lsep < l || l + lsep > kMaxSize / count) return luaL_error(L, "resulting string too large");
  const std::size_t total = count * l + (count - 1) * lsep;
  luaL_Buffer b;
  char* p = luaL_buffinitsize(L, &b, total);
  // One period (s, then sep), then the filled prefix copied after itself:
  // every copy starts at a multiple of the period.
  std::size_t filled = std::min(total, l);
  std::memcpy(p, s, filled);
  const std::size_t k = std::min(total - filled, lsep);
  std::memcpy(p + filled, sep, k);
  filled += k;
  while (filled < total) {
    const std::size_t chunk = std::min(filled, total - filled);
    std::memcpy(p + filled, p, chunk);
    filled += chunk;
  }
  luaL_pushresultsize(&b, total);
  return 1;
}

// Replaces the function on top of the stack by TimedCall around it.
void WrapTimed(lua_State* L, const char* name) {
  lua_pushstring(L, name);
  lua_pushcclosure(L, TimedCall, 2);
}

void PushTimed(lua_State* L, int library, const char* name) {
  lua_getfield(L, library, name);
  WrapTimed(L, name);
}

// string.find(s, text, init, plain): only plain searches. Pattern matching
// runs in C without budget checks and can backtrack exponentially.
int PlainFind(lua_State* L) {
  if (lua_toboolean(L, 4) == 0) {
    return luaL_error(L, "string.find: Lua patterns are disabled in rules; pass plain=true or use tg.re.find");
  }
  if (TripIfPastDeadline(L)) return TimeOut(L);
  lua_pushvalue(L, lua_upvalueindex(1));  // the stock string.find
  lua_insert(L, 1);
  lua_settop(L, 5);
  lua_call(L, 4, LUA_MULTRET);
  return lua_gettop(L);
}

int DisabledPattern(lua_State* L) {
  return luaL_error(L, "%s: Lua patterns are disabled in rules (they can backtrack without limit); use tg.re",
                    lua_tostring(L, lua_upvalueindex(1)));
}

// Deterministic math.random: xorshift64*, reseeded for every invocation.
std::uint64_t NextRandom(VmContext* ctx) {
  std::uint64_t x = ctx->random_state != 0 ? ctx->random_state : 0x9E3779B97F4A7C15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  ctx->random_state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

int DeterministicRandom(lua_State* L) {
  VmContext* ctx = ContextOf(L);
  const std::uint64_t r = NextRandom(ctx);
  lua_Integer low = 1, up = 0;
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, static_cast<lua_Number>(r >> 11) * (1.0 / 9007199254740992.0));
      return 1;
    case 1:
      up = luaL_checkinteger(L, 1);
      break;
    case 2:
      low = luaL_checkinteger(L, 1);
      up = luaL_checkinteger(L, 2);
      break;
    default: return luaL_error(L, "math.random: wrong number of arguments");
  }
  luaL_argcheck(L, low <= up, lua_gettop(L), "interval is empty");
  const lua_Unsigned span = static_cast<lua_Unsigned>(up) - static_cast<lua_Unsigned>(low);
  const lua_Unsigned value = span == ~lua_Unsigned{0} ? r : r % (span + 1);
  lua_pushinteger(L, static_cast<lua_Integer>(static_cast<lua_Unsigned>(low) + value));
  return 1;
}

// Pack environments: new names are fine, built-in names are not.
int EnvNewIndex(lua_State* L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kBaseKey);
  lua_pushvalue(L, 2);
  lua_gettable(L, -2);  // base is a read-only proxy: __index reaches the real table
  const bool builtin = !lua_isnil(L, -1);
  lua_pop(L, 2);
  if (builtin && lua_type(L, 2) == LUA_TSTRING) {
    return luaL_error(L, "the built-in global '%s' is read-only", lua_tostring(L, 2));
  }
  lua_rawset(L, 1);
  return 0;
}

// Copies name from the stock library table at `from` into the table at `to`.
void CopyField(lua_State* L, int from, int to, const char* name) {
  lua_getfield(L, from, name);
  lua_setfield(L, to, name);
}

struct SetupArgs {
  const std::function<void(lua_State*, int)>* extend;
};

int Setup(lua_State* L) {
  auto* args = static_cast<SetupArgs*>(lua_touserdata(L, 1));
  InitProtectedSet(L);
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  const int g = lua_gettop(L);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
  const int stock_string = lua_gettop(L);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
  const int stock_table = lua_gettop(L);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
  const int stock_math = lua_gettop(L);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
  const int stock_utf8 = lua_gettop(L);

  lua_newtable(L);
  const int base = lua_gettop(L);
  for (const char* name : {"assert", "error", "getmetatable", "ipairs", "next", "pairs", "rawequal", "rawget",
                           "rawlen", "select", "tonumber", "tostring", "type", "_VERSION"}) {
    CopyField(L, g, base, name);
  }
  lua_pushcfunction(L, SafePcall);
  lua_setfield(L, base, "pcall");
  lua_pushcfunction(L, SafeXpcall);
  lua_setfield(L, base, "xpcall");
  lua_pushcfunction(L, SafeRawset);
  lua_setfield(L, base, "rawset");
  lua_pushcfunction(L, SafeSetmetatable);
  lua_setfield(L, base, "setmetatable");

  // string: stock functions minus dump and the pattern matchers.
  lua_newtable(L);
  const int str = lua_gettop(L);
  for (const char* name : {"char", "len", "pack", "packsize", "unpack"}) {
    CopyField(L, stock_string, str, name);
  }
  for (const char* name : {"byte", "format", "lower", "upper", "reverse", "sub"}) {
    PushTimed(L, stock_string, name);
    lua_setfield(L, str, name);
  }
  lua_pushcfunction(L, FastRep);
  WrapTimed(L, "rep");
  lua_setfield(L, str, "rep");
  lua_getfield(L, stock_string, "find");
  lua_pushcclosure(L, PlainFind, 1);
  lua_setfield(L, str, "find");
  for (const char* name : {"match", "gmatch", "gsub"}) {
    lua_pushfstring(L, "string.%s", name);
    lua_pushcclosure(L, DisabledPattern, 1);
    lua_setfield(L, str, name);
  }
  lua_pushvalue(L, str);
  lua_setfield(L, base, "string");

  lua_newtable(L);
  const int tab = lua_gettop(L);
  CopyField(L, stock_table, tab, "pack");
  for (const char* name : {"concat", "unpack"}) {
    PushTimed(L, stock_table, name);
    lua_setfield(L, tab, name);
  }
  // insert and remove at the front shift every element in C.
  const std::pair<const char*, lua_CFunction> shifting[] = {{"insert", BudgetedInsert}, {"remove", BudgetedRemove}};
  for (const auto& [name, budgeted] : shifting) {
    lua_getfield(L, stock_table, name);
    lua_pushcclosure(L, budgeted, 1);
    WrapTimed(L, name);
    lua_setfield(L, tab, name);
  }
  lua_pushcfunction(L, BudgetedMove);
  WrapTimed(L, "move");
  lua_setfield(L, tab, "move");
  lua_getfield(L, stock_table, "sort");
  lua_pushcclosure(L, BudgetedSort, 1);
  WrapTimed(L, "sort");
  lua_setfield(L, tab, "sort");
  lua_setfield(L, base, "table");

  lua_newtable(L);
  const int math = lua_gettop(L);
  for (const char* name : {"abs", "ceil", "floor", "fmod", "huge", "max", "maxinteger", "min", "mininteger", "modf",
                           "pi", "sqrt", "tointeger", "type", "ult", "exp", "log", "sin", "cos", "tan", "asin",
                           "acos", "atan"}) {
    CopyField(L, stock_math, math, name);
  }
  lua_pushcfunction(L, DeterministicRandom);
  lua_setfield(L, math, "random");
  lua_setfield(L, base, "math");

  lua_newtable(L);
  const int utf8 = lua_gettop(L);
  for (const char* name : {"charpattern", "codes"}) {  // codes: each step decodes one character
    CopyField(L, stock_utf8, utf8, name);
  }
  lua_pushcfunction(L, BudgetedUtf8Len);
  WrapTimed(L, "len");
  lua_setfield(L, utf8, "len");
  for (const char* name : {"char", "codepoint", "offset"}) {  // each may walk a long string in C
    PushTimed(L, stock_utf8, name);
    lua_setfield(L, utf8, name);
  }
  lua_setfield(L, base, "utf8");

  (*args->extend)(L, base);

  // Freeze: base (and every library table in it) becomes a read-only proxy.
  lua_pushvalue(L, base);
  MakeReadOnly(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kBaseKey);

  // The string metatable is shared by every string in the state: lock it and
  // point it at the sanitized (now read-only) string table.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kBaseKey);
  lua_getfield(L, -1, "string");
  lua_setfield(L, -3, "__index");
  lua_pop(L, 1);
  lua_pushliteral(L, "read-only");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  // The real globals table is never given to a pack; empty it anyway so
  // nothing dangerous is reachable even by mistake.
  lua_pushglobaltable(L);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, -4);
  }
  lua_pop(L, 1);
  // Unload the stock modules so they are not reachable through package.loaded.
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  return 0;
}

}  // namespace

const char* BudgetTripName(BudgetTrip trip) {
  switch (trip) {
    case BudgetTrip::kNone: return "none";
    case BudgetTrip::kInstructions: return "instruction";
    case BudgetTrip::kMemory: return "memory";
    case BudgetTrip::kTime: return "time";
  }
  return "none";
}

lua_State* NewSandboxState(VmContext* ctx, const std::function<void(lua_State*, int)>& extend) {
  lua_State* L = lua_newstate(CappedAlloc, ctx);
  if (L == nullptr) return nullptr;
  *static_cast<VmContext**>(lua_getextraspace(L)) = ctx;
  lua_setwarnf(L, nullptr, nullptr);  // finalizer errors and warn() go nowhere
  SetupArgs args{&extend};
  lua_pushcfunction(L, Setup);
  lua_pushlightuserdata(L, &args);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_close(L);
    return nullptr;
  }
  lua_sethook(L, BudgetHook, LUA_MASKCOUNT, kHookInterval);
  return L;
}

void PushPackEnvironment(lua_State* L) {
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
  lua_createtable(L, 0, 3);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kBaseKey);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, EnvNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "read-only");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  MarkProtected(L, -1);
}

bool LoadTextChunk(lua_State* L, std::string_view source, const std::string& chunk_name, int env_index) {
  env_index = lua_absindex(L, env_index);
  if (luaL_loadbufferx(L, source.data(), source.size(), chunk_name.c_str(), "t") != LUA_OK) return false;
  lua_pushvalue(L, env_index);
  if (lua_setupvalue(L, -2, 1) == nullptr) lua_pop(L, 1);  // a chunk always has _ENV; be safe anyway
  return true;
}

std::chrono::nanoseconds RunTime(std::chrono::milliseconds wall_time) {
  const std::chrono::nanoseconds reserve = std::min<std::chrono::nanoseconds>(wall_time / 10, kMaxStopReserve);
  return wall_time - reserve;
}

void ArmBudget(lua_State* L, const RuleBudget& budget) {
  VmContext* ctx = ContextOf(L);
  lua_sethook(L, BudgetHook, LUA_MASKCOUNT, kHookInterval);
  ctx->executed = 0;
  ctx->max_instructions = budget.instructions;
  ctx->tripped = BudgetTrip::kNone;
  ctx->trip_line = 0;
  ctx->cap = ctx->used + budget.memory_bytes;
  ctx->deadline = std::chrono::steady_clock::now() + RunTime(budget.wall_time);
  ctx->random_state = 0x746f6f6c67617465ull;  // "toolgate": the same sequence every invocation
  ctx->armed = true;
}

bool TripIfPastDeadline(lua_State* L) {
  VmContext* ctx = ContextOf(L);
  if (!ctx->armed) return false;
  if (ctx->tripped == BudgetTrip::kNone) {
    if (std::chrono::steady_clock::now() <= ctx->deadline) return false;
    ctx->tripped = BudgetTrip::kTime;
  }
  return true;
}

void DisarmBudget(lua_State* L) {
  VmContext* ctx = ContextOf(L);
  ctx->armed = false;
  ctx->cap = std::max(ctx->used, kLoadMemoryCap);
}

}  // namespace toolgate::lua
