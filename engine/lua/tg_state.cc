// tg.state: counters and small values that outlive one call, for rate limits
// and "already warned" flags. Keys are private to the pack; the scope picks
// whose value it is.
//
//   tg.state.incr(key [, ttl_seconds [, scope]]) -> new count   (a window: the
//        ttl starts when the counter is created; expired counters restart at 1)
//   tg.state.get(key [, scope]) -> value | nil
//   tg.state.set(key, value [, ttl_seconds [, scope]])   value: number, string, boolean
//   scope: "session" (default: the call's session_id) or "agent" (the agent id)
//
// The store may be persistent (include/toolgate/state_store.h): an update
// returns once it is durable, and one that cannot be made durable raises, so
// the rule fails and its call is denied: a limit is never silently forgotten.
#include <chrono>

#include "lua/sandbox.h"
#include "lua/tg_api.h"
#include "toolgate/state_store.h"
#include "toolgate/tool_call.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxKeyBytes = 256;
constexpr lua_Integer kMaxTtlSeconds = 30LL * 24 * 3600;

std::string StoreKey(lua_State* L, int key_arg, int scope_arg, const char* fn, StateStore** store) {
  EvalScope& scope = ScopeFor(L, fn);
  if (scope.state == nullptr) throw HostError(std::string(fn) + ": no state store");
  *store = scope.state;
  const std::string_view key = ArgString(L, key_arg, fn, "key");
  if (key.size() > kMaxKeyBytes) throw HostError(std::string(fn) + ": key longer than 256 bytes");
  const std::string_view which = OptString(L, scope_arg, fn, "scope", "session");
  std::string_view owner;
  if (which == "session") owner = scope.call->session_id;
  else if (which == "agent") owner = scope.call->agent_id;
  else throw HostError(std::string(fn) + ": scope must be \"session\" or \"agent\"");
  std::string out;
  out.reserve(scope.pack_id.size() + owner.size() + key.size() + 12);
  out.append(scope.pack_id).push_back('\0');
  out.append(which).push_back('\0');
  out.append(owner).push_back('\0');
  out.append(key);
  return out;
}

std::string Describe(const Error& e) {
  return e.location.empty() ? e.message : e.message + " (" + e.location + ")";
}

// A durable update returns after the journal's fdatasync (and, now and then, a
// snapshot written in its place). That wait is the disk's, not the rule's work,
// so it is taken off the rule's time budget: on a busy disk a rate limit must
// not turn into a "time budget exceeded" deny. The instruction and memory
// budgets are untouched, and the caller's own timeout (the hook's, the daemon
// client's) still bounds the whole decision.
template <class F>
auto OffTimeBudget(lua_State* L, F&& update) {
  const auto start = std::chrono::steady_clock::now();
  auto result = update();
  ContextOf(L)->deadline += std::chrono::steady_clock::now() - start;
  return result;
}

std::chrono::seconds Ttl(lua_State* L, int arg, const char* fn) {
  const lua_Integer ttl = OptInteger(L, arg, fn, "ttl_seconds", 0);
  if (ttl < 0 || ttl > kMaxTtlSeconds) throw HostError(std::string(fn) + ": ttl_seconds must be 0..2592000");
  return std::chrono::seconds(ttl);
}

int Incr(lua_State* L) {
  StateStore* store = nullptr;
  const std::string key = StoreKey(L, 1, 3, "tg.state.incr", &store);
  const auto ttl = Ttl(L, 2, "tg.state.incr");
  const Result<double> v =
      OffTimeBudget(L, [&] { return store->Increment(key, 1.0, ttl, StateStore::Clock::now()); });
  if (!v) throw HostError("tg.state.incr: " + Describe(v.error()));
  lua_pushinteger(L, static_cast<lua_Integer>(*v));
  return 1;
}

int Get(lua_State* L) {
  StateStore* store = nullptr;
  const std::string key = StoreKey(L, 1, 2, "tg.state.get", &store);
  const auto v = store->Get(key, StateStore::Clock::now());
  if (!v) {
    lua_pushnil(L);
  } else if (const double* d = std::get_if<double>(&*v)) {
    if (*d == static_cast<double>(static_cast<lua_Integer>(*d))) lua_pushinteger(L, static_cast<lua_Integer>(*d));
    else lua_pushnumber(L, *d);
  } else if (const std::string* s = std::get_if<std::string>(&*v)) {
    Push(L, *s);
  } else {
    lua_pushboolean(L, std::get<bool>(*v) ? 1 : 0);
  }
  return 1;
}

int Set(lua_State* L) {
  StateStore* store = nullptr;
  const std::string key = StoreKey(L, 1, 4, "tg.state.set", &store);
  const auto ttl = Ttl(L, 3, "tg.state.set");
  StateStore::Value value;
  switch (lua_type(L, 2)) {
    case LUA_TNUMBER: value = static_cast<double>(lua_tonumber(L, 2)); break;
    case LUA_TBOOLEAN: value = lua_toboolean(L, 2) != 0; break;
    case LUA_TSTRING: {
      const std::string_view s = ArgString(L, 2, "tg.state.set", "value");
      if (s.size() > StateStore::kMaxValueBytes) throw HostError("tg.state.set: value longer than 4096 bytes");
      value = std::string(s);
      break;
    }
    default: ThrowArg(L, "tg.state.set", 2, "value", "a number, string or boolean");
  }
  if (auto e = OffTimeBudget(L, [&] { return store->Set(key, std::move(value), ttl, StateStore::Clock::now()); })) {
    throw HostError("tg.state.set: " + Describe(*e));
  }
  return 0;
}

}  // namespace

void OpenTgState(lua_State* L) {
  lua_createtable(L, 0, 3);
  SetFunction(L, "incr", HostFunction<Incr>);
  SetFunction(L, "get", HostFunction<Get>);
  SetFunction(L, "set", HostFunction<Set>);
}

}  // namespace toolgate::lua
