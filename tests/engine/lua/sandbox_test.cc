// Escape attempts against the rule sandbox (engine/lua/sandbox.h). Each test
// states what a hostile or buggy pack tries and asserts that it fails in a
// bounded way, and that the state still works afterwards.
#include <doctest/doctest.h>

#include <chrono>

#include "lua/rule_pack.h"
#include "lua_test_util.h"

namespace toolgate::lua {
namespace {

using testing::Sandbox;
using Clock = std::chrono::steady_clock;

RuleBudget SmallBudget() {
  RuleBudget b;
  b.instructions = 200'000;
  b.memory_bytes = std::size_t{2} << 20;
  b.wall_time = std::chrono::milliseconds(2000);
  return b;
}

// The state must keep working after whatever the previous chunk did.
void CheckStillHealthy(Sandbox& sb) {
  const auto r = sb.Run("return 1 + 1");
  CHECK(r.ok);
  CHECK(r.value == "2");
}

TEST_CASE("dangerous globals are absent") {
  Sandbox sb;
  for (const char* name : {"io", "os", "package", "require", "debug", "load", "loadstring", "dofile", "loadfile",
                           "collectgarbage", "print", "coroutine", "warn"}) {
    CAPTURE(name);
    const auto r = sb.Run(std::string("return ") + name + " == nil");
    CHECK(r.ok);
    CHECK(r.value == "true");
  }
  CHECK(sb.Run("return string.dump == nil").value == "true");
  CHECK(sb.Run("return math.randomseed == nil").value == "true");
}

TEST_CASE("bytecode is refused at load and cannot be produced") {
  Sandbox sb;
  // A binary chunk header: the loader runs in text-only mode.
  const auto r = sb.Run(std::string("\x1bLua\x54\x00", 6));
  CHECK_FALSE(r.ok);
  PackDefinition def;
  PackError error;
  CHECK_FALSE(CompilePack("x", "x.lua", std::string("\x1bLua\x54\x00\x19\x93", 8), &def, &error));
  CHECK_FALSE(error.message.empty());
  // No way to get at a function's bytes.
  CHECK_FALSE(sb.Run("return string.dump(function() end)").ok);
  CHECK_FALSE(sb.Run("return ('').dump(function() end)").ok);
}

TEST_CASE("built-ins are read-only") {
  Sandbox sb;
  CHECK_FALSE(sb.Run("string.upper = function() return 'pwned' end").ok);
  CHECK_FALSE(sb.Run("tg.re = nil").ok);
  CHECK_FALSE(sb.Run("tg.re.test = function() return true end").ok);
  CHECK_FALSE(sb.Run("rawset(string, 'upper', print)").ok);
  CHECK_FALSE(sb.Run("table.insert(math, 1)").ok);
  CHECK_FALSE(sb.Run("setmetatable(string, nil)").ok);
  CHECK(sb.Run("return getmetatable(string)").value == "read-only");
  // Replacing a built-in global in the pack's own environment is refused too.
  CHECK_FALSE(sb.Run("string = {}").ok);
  CHECK_FALSE(sb.Run("tg = nil").ok);
  CHECK_FALSE(sb.Run("_ENV.pcall = function() end").ok);
  // New globals are fine and private to the environment.
  CHECK(sb.Run("helper = 1; return helper").value == "1");
  CHECK(sb.Run("return ('abc'):upper()").value == "ABC");
  CheckStillHealthy(sb);
}

TEST_CASE("metatable tampering: _G, _ENV and the string metatable") {
  Sandbox sb;
  CHECK_FALSE(sb.Run("setmetatable(_G, nil)").ok);
  CHECK_FALSE(sb.Run("setmetatable(_ENV, {})").ok);
  CHECK_FALSE(sb.Run("rawset(_G, 'string', {})").ok);
  CHECK(sb.Run("return getmetatable(_G)").value == "read-only");
  // The shared string metatable is locked: one pack cannot change string methods for another.
  CHECK(sb.Run("return getmetatable('')").value == "read-only");
  CHECK_FALSE(sb.Run("getmetatable('').__index.upper = nil").ok);
  // Rebinding _ENV only changes the chunk's own view.
  CHECK(sb.Run("local _ENV = {x = 1}; return x").value == "1");
  CHECK(sb.Run("return type(string.upper)").value == "function");
  // __gc finalizers would run outside any budget.
  CHECK_FALSE(sb.Run("setmetatable({}, {__gc = function() while true do end end})").ok);
  CheckStillHealthy(sb);
}

TEST_CASE("Lua patterns are disabled; plain find works") {
  Sandbox sb;
  CHECK_FALSE(sb.Run("return string.match('aaa', 'a*')").ok);
  CHECK_FALSE(sb.Run("return ('aaa'):gmatch('a')").ok);
  CHECK_FALSE(sb.Run("return ('aaa'):gsub('a', 'b')").ok);
  CHECK_FALSE(sb.Run("return ('aaa'):find('a+')").ok);
  CHECK(sb.Run("return ('a.b'):find('.', 1, true)").value == "2");
}

TEST_CASE("pattern backtracking cannot stall a worker") {
  // The classic catastrophic case for backtracking matchers. Lua's own
  // matcher is gone; RE2 is linear, so the same shape finishes at once.
  Sandbox sb;
  const auto start = Clock::now();
  const auto lua = sb.Run("return string.find(string.rep('a', 5000), string.rep('a?', 5000) .. string.rep('a', 5000))");
  CHECK_FALSE(lua.ok);
  const auto re2 = sb.Run(
      "local s = string.rep('a', 30) return tg.re.test(s, '^(a|aa)*$') and tg.re.test(s .. 'b', '(a*)*c') == false");
  CHECK(re2.ok);
  CHECK(re2.value == "true");
  const auto big = sb.Run("return tg.re.test(string.rep('a', 100000) .. 'b', '(a+)+$')");
  CHECK(big.ok);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() < 2000);
}

TEST_CASE("infinite loops stop at the instruction budget, even inside pcall") {
  Sandbox sb;
  auto r = sb.Run("while true do end", SmallBudget());
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kInstructions);
  // pcall cannot swallow the trip, however it is nested.
  r = sb.Run("while true do pcall(function() while true do end end) end", SmallBudget());
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kInstructions);
  r = sb.Run("local ok = pcall(function() while true do end end) return 'escaped'", SmallBudget());
  CHECK_FALSE(r.ok);
  r = sb.Run("for i = 1, 10 do xpcall(function() while true do end end, function() while true do end end) end "
             "return 'escaped'",
             SmallBudget());
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kInstructions);
  // A __close handler gets no second budget.
  r = sb.Run("local x <close> = setmetatable({}, {__close = function() while true do end end}) while true do end",
             SmallBudget());
  CHECK_FALSE(r.ok);
  CheckStillHealthy(sb);
}

TEST_CASE("wall-time budget stops a slow rule") {
  Sandbox sb;
  RuleBudget b = SmallBudget();
  b.instructions = 1'000'000'000'000ull;
  b.wall_time = std::chrono::milliseconds(30);
  const auto start = Clock::now();
  const auto r = sb.Run("local x = 0 while true do x = x + 1 end", b);
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kTime);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() < 2000);
}

TEST_CASE("string.rep and table memory bombs hit the memory cap") {
  Sandbox sb;
  auto r = sb.Run("return #string.rep('x', 1 << 30)", SmallBudget());
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kMemory);
  r = sb.Run("local ok = pcall(string.rep, 'x', 1 << 30) return 'escaped'", SmallBudget());
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kMemory);
  r = sb.Run("local s = 'x' while true do s = s .. s end", SmallBudget());
  CHECK_FALSE(r.ok);
  r = sb.Run("local t = {} for i = 1, 1e9 do t[i] = {} end", SmallBudget());
  CHECK_FALSE(r.ok);
  CHECK(r.trip != BudgetTrip::kNone);
  // Memory bombs through host functions are capped as well.
  r = sb.Run("return tg.re.replace(string.rep('a', 100000), '', string.rep('b', 100))", SmallBudget());
  CHECK_FALSE(r.ok);
  CheckStillHealthy(sb);
}

TEST_CASE("deep recursion is an error, not a crash") {
  Sandbox sb;
  auto r = sb.Run("local function f(n) return f(n + 1) + 1 end return f(1)", SmallBudget());
  CHECK_FALSE(r.ok);
  r = sb.Run("local function f() return pcall(f) end return f()", SmallBudget());
  // Either the C stack limit or the budget stops it; the state survives.
  CHECK(r.value != "");
  r = sb.Run("local t = {} t.__index = t setmetatable(t, t) return t.missing", SmallBudget());
  CHECK_FALSE(r.ok);
  CheckStillHealthy(sb);
}

// Library functions written in C run no VM instruction, so the count hook
// never sees them: each must check the clock itself.
TEST_CASE("library functions that loop in C stop at the wall-time budget") {
  Sandbox sb;
  RuleBudget b;
  b.instructions = 1'000'000'000'000ull;
  b.memory_bytes = std::size_t{64} << 20;
  b.wall_time = std::chrono::milliseconds(5);
  // A range of nils: Lua's table.move loops over it in C, allocating nothing, for ever.
  auto r = sb.Run("table.move({}, 1, math.maxinteger - 1, 1, {}) return 'moved'", b);
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kTime);
  r = sb.Run("table.move({}, 1, math.maxinteger - 1, 1) return 'moved'", b);
  CHECK(r.trip == BudgetTrip::kTime);
  // One sort of 900,000 values (built in a single VM instruction, a few ms):
  // Lua's sort compares in C (about 200 ms here), so before the clock checks
  // it ran to the end and returned 'sorted' within 50 ms of budget.
  RuleBudget sort_budget = b;
  sort_budget.wall_time = std::chrono::milliseconds(50);
  r = sb.Run("local t = { string.byte(string.rep('x', 900000), 1, -1) } table.sort(t) return 'sorted'", sort_budget);
  CHECK_FALSE(r.ok);
  CHECK(r.trip == BudgetTrip::kTime);
  // utf8.len walks the whole string in one call.
  r = sb.Run("local s = string.rep('\\u{e4}', 3000000) while true do local _ = utf8.len(s) end", b);
  CHECK(r.trip == BudgetTrip::kTime);
  // The pre- and post-call checks catch a loop of calls that each stay short.
  r = sb.Run("local t = {} for i = 1, 20000 do t[i] = i end while true do table.insert(t, 1, 0) table.remove(t, 1) end", b);
  CHECK(r.trip == BudgetTrip::kTime);
  CheckStillHealthy(sb);
}

TEST_CASE("budgeted library functions keep Lua's results") {
  Sandbox sb;
  const auto run = [&](const std::string& code) { return sb.Run(code, SmallBudget()).value; };
  CHECK(run("return string.rep('ab', 3, ',')") == "ab,ab,ab");
  CHECK(run("return string.rep('', 5, 'x')") == "xxxx");
  CHECK(run("return string.rep('abc', 1, 'SEP')") == "abc");
  CHECK(run("return string.rep('x', 0) .. '|' .. string.rep('x', -3) .. '|'") == "||");
  CHECK(run("return ('xy'):rep(4)") == "xyxyxyxy");
  CHECK(run("local s = string.rep('ab', 100000, '-') return #s .. s:sub(1, 7) .. s:sub(-5)") == "299999ab-ab-aab-ab");
  CHECK(run("return select(2, pcall(string.rep, 'x', math.maxinteger, 'y'))").find("too large") != std::string::npos);
  // utf8.len: counts, lax and strict, positions, and the first bad byte.
  CHECK(run("return utf8.len('h\\u{e4}ll\\u{10FFFF}!')") == "6");
  CHECK(run("local n, p = utf8.len('ab\\xffcd') return tostring(n) .. ' ' .. p") == "nil 3");
  CHECK(run("local n, p = utf8.len('a\\xed\\xa0\\x80') return tostring(n) .. ' ' .. p") == "nil 2");  // U+D800
  CHECK(run("return utf8.len('a\\xed\\xa0\\x80', 1, -1, true)") == "2");
  CHECK(run("local n, p = utf8.len('\\xc0\\x80') return tostring(n) .. ' ' .. p") == "nil 1");  // overlong
  CHECK(run("local n, p = utf8.len('\\xf4\\x90\\x80\\x80') return tostring(n) .. ' ' .. p") == "nil 1");
  CHECK(run("return utf8.len('\\xf4\\x90\\x80\\x80', 1, -1, true)") == "1");  // past U+10FFFF: lax only
  CHECK(run("local n, p = utf8.len('a\\xe4') return tostring(n) .. ' ' .. p") == "nil 2");  // cut short
  CHECK(run("local n, p = utf8.len('\\u{e4}bc', 2) return tostring(n) .. ' ' .. p") == "nil 2");
  CHECK(run("return utf8.len('abcd', -2)") == "2");
  CHECK(run("return select(2, pcall(utf8.len, 'abcd', math.mininteger))").find("out of bounds") != std::string::npos);
  CHECK(run("return select(2, pcall(utf8.len, 'abcd', 1, math.maxinteger))").find("out of bounds") != std::string::npos);
  CHECK(run("return utf8.len('abc', 4)") == "0");
  CHECK(run("return utf8.len('abc', 2, 1)") == "0");
  CHECK(run("return select(2, pcall(utf8.len, 'abc', 5))").find("out of bounds") != std::string::npos);
  CHECK(run("return select(2, pcall(utf8.len, 'abc', 1, 4))").find("out of bounds") != std::string::npos);
  // table.move and table.sort.
  CHECK(run("return table.concat(table.move({1, 2, 3, 4, 5}, 2, 4, 1), ',')") == "2,3,4,4,5");
  CHECK(run("return table.concat(table.move({1, 2, 3, 4, 5}, 1, 3, 3), ',')") == "1,2,1,2,3");
  CHECK(run("return table.concat(table.move({1, 2, 3}, 1, 3, 2, {9}), ',')") == "9,1,2,3");
  CHECK(run("return select(2, pcall(table.move, {}, -1, math.maxinteger, 1))").find("too many") != std::string::npos);
  CHECK(run("local t = {5, 3, 9, 1} table.sort(t) return table.concat(t, ',')") == "1,3,5,9");
  CHECK(run("local t = {'b', 'c', 'a'} table.sort(t, function(x, y) return x > y end) return table.concat(t, ',')") ==
        "c,b,a");
  CHECK(run("return select(2, pcall(table.sort, {1, 'a', 2}))").find("compare") != std::string::npos);
  CheckStillHealthy(sb);
}

// The same program in stock Lua and in the sandbox: random short byte
// strings (valid and invalid UTF-8 around every boundary), positions past
// either end, lax and strict; string.rep, table.move, table.insert and
// table.remove with edge arguments.
// Errors compare as "err" (the sandbox has no package.loaded to name them).
TEST_CASE("budgeted library functions agree with stock Lua on random input") {
  static const char* kProgram = R"lua(
local seed = 20261123
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n end
local bytes = {0x41, 0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xf8, 0xfc, 0xfe, 0xff, 0xa0, 0x90, 0x8f}
local function show(ok, ...)
  if not ok then return "err" end
  local t = table.pack(...)
  for k = 1, t.n do t[k] = tostring(t[k]) end
  return table.concat(t, ",", 1, t.n)
end
local out = {}
for k = 1, 4000 do
  local t = {}
  for i = 1, rnd(14) do t[i] = string.char(bytes[rnd(#bytes) + 1]) end
  local s = table.concat(t)
  out[#out + 1] = show(pcall(utf8.len, s, rnd(#s + 4) - 2, rnd(#s + 4) - 3, rnd(2) == 1))
  out[#out + 1] = show(pcall(utf8.len, s))
  out[#out + 1] = show(pcall(string.rep, s:sub(1, rnd(4)), rnd(6) - 2, rnd(2) == 1 and s:sub(2, 1 + rnd(3)) or nil))
  local src = {1, 2, 3, 4, 5, 6, 7}
  local dst = rnd(2) == 1 and {"a", "b", "c"} or nil
  local ok, moved = pcall(table.move, src, rnd(10) - 2, rnd(10) - 2, rnd(10) - 2, dst)
  local r = {}
  if ok then for i = -1, 12 do r[#r + 1] = tostring(moved[i]) end end
  out[#out + 1] = tostring(ok) .. table.concat(r, ",")
  -- table.insert and table.remove: positions in and out of bounds, both
  -- forms of each, an empty table.
  local tt = rnd(5) == 0 and {} or {1, 2, 3, 4, 5}
  local mode, ok2, v2 = rnd(5), nil, nil
  if mode == 0 then ok2 = pcall(table.insert, tt, rnd(10) - 2, "x")
  elseif mode == 1 then ok2 = pcall(table.insert, tt, "y")
  elseif mode == 2 then ok2, v2 = pcall(table.remove, tt, rnd(10) - 2)
  elseif mode == 3 then ok2, v2 = pcall(table.remove, tt)
  else ok2 = pcall(table.insert, tt, 1, 2, 3) end
  local r2 = {}
  for i = -1, 9 do r2[#r2 + 1] = tostring(tt[i]) end
  if not ok2 then v2 = "err" end
  out[#out + 1] = tostring(ok2) .. tostring(v2) .. table.concat(r2, ",")
end
local all = table.concat(out, "|")
local h = 0
for i = 1, #all do h = (h * 31 + all:byte(i)) % 2147483647 end
return #all .. " bytes, hash " .. h .. ": " .. all:sub(1, 600)
)lua";
  lua_State* stock = luaL_newstate();
  REQUIRE(stock != nullptr);
  luaL_openlibs(stock);
  REQUIRE(luaL_dostring(stock, kProgram) == LUA_OK);
  std::size_t expected_size = 0;
  const char* expected_text = lua_tolstring(stock, -1, &expected_size);
  const std::string expected(expected_text, expected_size);  // it may hold NUL bytes
  lua_close(stock);
  Sandbox sb;
  RuleBudget b;
  b.instructions = 1'000'000'000ull;
  b.memory_bytes = std::size_t{64} << 20;
  b.wall_time = std::chrono::milliseconds(20000);
  const auto r = sb.Run(kProgram, b);
  REQUIRE(r.ok);
  CHECK(r.value == expected.substr(0, r.value.size()));
  CHECK(r.value.size() > 600);
}

TEST_CASE("math.random is deterministic per invocation") {
  Sandbox sb;
  const auto a = sb.Run("return math.random(1, 1000000) .. ',' .. math.random(1, 1000000)");
  const auto b = sb.Run("return math.random(1, 1000000) .. ',' .. math.random(1, 1000000)");
  CHECK(a.ok);
  CHECK(a.value == b.value);
}

TEST_CASE("tg functions that need a call refuse to run while a pack loads") {
  PackDefinition def;
  PackError error;
  const std::string source = "pack { id = 'x' }\nlocal n = tg.state.incr('k')\nrule { id = 'r', check = function() end }";
  CHECK_FALSE(CompilePack("x", "x.lua", source, &def, &error));
  CHECK(error.line == 2);
}

}  // namespace
}  // namespace toolgate::lua
