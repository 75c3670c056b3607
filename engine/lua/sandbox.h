// The Lua sandbox every rule pack runs in.
//
// What a pack can reach (its environment's read-only base, the only globals):
//   assert error getmetatable ipairs next pairs pcall rawequal rawget rawlen
//   rawset select setmetatable tonumber tostring type xpcall _VERSION _G
//   string (no dump; find only with plain=true; no match/gmatch/gsub: Lua
//          patterns backtrack inside C where no budget hook fires - use tg.re)
//   table  math (random is deterministic: reseeded for every rule invocation,
//          no randomseed)  utf8  tg  pack  rule
// What it cannot: io, os, package, require, debug, load, loadstring, dofile,
// loadfile, collectgarbage, print, coroutine, string.dump, bytecode (chunks
// are loaded with mode "t").
//
// Hardening beyond the allow-list:
//   * every library table is a read-only proxy; the shared string metatable is
//     locked and indexes the sanitized string table;
//   * rawset refuses protected tables (library proxies, pack environments);
//   * setmetatable refuses metatables with __gc (finalizers run outside any
//     budget, at times the engine does not choose);
//   * pcall/xpcall re-raise budget trips, so `while true do pcall(f) end`
//     cannot outlive its budget;
//   * a capped allocator, an instruction-count hook (which also checks wall
//     time) and a per-invocation arm/disarm: see RuleBudget.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <memory>

#include <re2/re2.h>

#include "lua/lua_binding.h"

namespace toolgate::lua {

// Limits for one rule invocation. A trip is a deny naming the rule.
struct RuleBudget {
  std::uint64_t instructions = 1'000'000;            // Lua VM instructions
  std::size_t memory_bytes = std::size_t{8} << 20;   // growth of the state during the invocation
  std::chrono::milliseconds wall_time{50};           // includes host calls (HTTP probes)
};

enum class BudgetTrip { kNone, kInstructions, kMemory, kTime };
const char* BudgetTripName(BudgetTrip trip);  // "instructions", "memory", "time"

// How often the hook runs (instructions). Small enough that a tight loop is
// stopped within microseconds of its budget, large enough to cost nothing.
inline constexpr int kHookInterval = 1000;
// Allocations at least this large (a big string, a table's new array, a grown
// stack) also check the wall clock: they are where one VM instruction can run
// for milliseconds, far from the next count hook.
inline constexpr std::size_t kTimeCheckAllocBytes = std::size_t{64} << 10;
// Memory a state may hold while packs load (all packs, their tables).
inline constexpr std::size_t kLoadMemoryCap = std::size_t{64} << 20;
// Extra room host functions get above the cap (see lua_binding.h).
inline constexpr std::size_t kHostSlack = std::size_t{4} << 20;

struct EvalScope;      // engine/lua/tg_api.h: the call and pack being judged
struct PackCollector;  // engine/lua/rule_pack.h: what pack{} / rule{} register

// Per-state bookkeeping, reachable from Lua callbacks through ContextOf(L).
struct VmContext {
  // Allocator.
  std::size_t used = 0;
  std::size_t cap = kLoadMemoryCap;
  int host_depth = 0;

  // The armed budget of the current invocation.
  bool armed = false;
  std::uint64_t executed = 0;
  std::uint64_t max_instructions = 0;
  std::chrono::steady_clock::time_point deadline{};
  BudgetTrip tripped = BudgetTrip::kNone;
  int trip_line = 0;  // line of the Lua code running when the budget tripped
  std::uint32_t c_steps = 0;  // steps of C work in budgeted library loops (table.move, sort)

  std::uint64_t random_state = 0;
  PackCollector* collector = nullptr;  // set while a pack's top level runs
  EvalScope* scope = nullptr;  // set while a rule runs

  // tg.re's compiled patterns (RE2 objects are immutable; bounded, cleared when full).
  std::unordered_map<std::string, std::unique_ptr<RE2>> regex_cache;
  void* owner = nullptr;       // the RuleVm
};

// Creates a sandboxed state whose allocator and hook report to ctx.
// `extend` may add more read-only globals to the base table (at stack index
// `base`) before it is frozen. Returns nullptr when the state cannot be made.
lua_State* NewSandboxState(VmContext* ctx, const std::function<void(lua_State*, int base)>& extend);

// Pushes a fresh environment for one pack: an empty table whose reads fall
// through to the frozen base, whose writes may create new names but never
// replace a built-in, and whose metatable is locked. _G is the environment.
void PushPackEnvironment(lua_State* L);

// Loads text (never bytecode) as a function whose _ENV is the table at
// env_index. On failure pushes the error message and returns false.
bool LoadTextChunk(lua_State* L, std::string_view source, const std::string& chunk_name, int env_index);

// How long a rule may run before its time budget trips: the wall-time budget
// less a reserve for stopping it (the trip lands at the next check, then the
// error unwinds), so that a runaway rule's whole invocation, stop included,
// fits in its budget. The reserve is a tenth of the budget, at most 5 ms.
inline constexpr std::chrono::milliseconds kMaxStopReserve{5};
std::chrono::nanoseconds RunTime(std::chrono::milliseconds wall_time);

// Budget control around one invocation.
// Arming also restores the hook interval (a trip switches it to every instruction).
void ArmBudget(lua_State* L, const RuleBudget& budget);
// True, and the budget marked tripped (time), when an armed invocation is
// past its deadline. For C code that may run long between count hooks.
bool TripIfPastDeadline(lua_State* L);
void DisarmBudget(lua_State* L);

}  // namespace toolgate::lua
