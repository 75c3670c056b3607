// Fuzz target: the tg host API (and the library functions the sandbox
// replaces or budgets: string.rep, table.move/sort, utf8.len, ...) as rule
// code can call them. The input is a
// little program: each step picks a tg function (any of them: found by
// walking tg) and up to four arguments built from the input: nil, booleans,
// integers at the edges (0, -1, min, max, huge day counts), floats (NaN, inf,
// fractions), short and long strings, strings of megabytes, invalid UTF-8,
// arrays, maps, deep and self-referencing tables, tg.json.null, functions.
// Each call runs under a rule's budget, in a state made as a rule pack's.
// Invariants: no crash, leak or undefined behaviour; an error is a Lua error
// (a deny for a rule), never an escaping exception.
#include <cmath>
#include <limits>
#include <string>

#include "fuzz_support.h"
#include "lua/lua_binding.h"
#include "lua_harness.h"

namespace {

using namespace toolgate;

constexpr int kMaxSteps = 16;
constexpr int kMaxTableItems = 8;
constexpr int kMaxTableDepth = 3;

void PushValue(lua_State* L, fuzz::ByteReader& in, int depth);

void PushTable(lua_State* L, fuzz::ByteReader& in, int depth, bool map) {
  const int items = in.U8() % (kMaxTableItems + 1);
  lua_createtable(L, map ? 0 : items, map ? items : 0);
  for (int i = 1; i <= items; ++i) {
    if (map) {
      const std::string_view key = in.Bytes(24);
      lua_pushlstring(L, key.data(), key.size());
    } else {
      lua_pushinteger(L, i);
    }
    PushValue(L, in, depth + 1);
    lua_rawset(L, -3);
  }
}

void PushValue(lua_State* L, fuzz::ByteReader& in, int depth) {
  const std::uint8_t kind = in.U8();
  switch (depth >= kMaxTableDepth ? kind % 8 : kind % 14) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, kind & 0x80); break;
    case 2: lua_pushinteger(L, static_cast<lua_Integer>(in.U64())); break;
    case 3: {
      static constexpr lua_Integer kEdges[] = {0, 1, -1, 2, 7, 12, 31, 59, 60, 1440, 10000, 100000, -100000,
                                               std::numeric_limits<lua_Integer>::max(),
                                               std::numeric_limits<lua_Integer>::min(),
                                               std::numeric_limits<int>::max(), std::numeric_limits<int>::min(),
                                               lua_Integer{1} << 40, -(lua_Integer{1} << 40)};
      lua_pushinteger(L, kEdges[in.U8() % (sizeof kEdges / sizeof kEdges[0])]);
      break;
    }
    case 4: {
      static constexpr double kFloats[] = {0.5, -0.5, 1e308, -1e308, 1e19, -1e19, 9.2233720368547758e18,
                                           std::numeric_limits<double>::quiet_NaN(),
                                           std::numeric_limits<double>::infinity(),
                                           -std::numeric_limits<double>::infinity(), 2.0, 3.0};
      lua_pushnumber(L, kFloats[in.U8() % (sizeof kFloats / sizeof kFloats[0])]);
      break;
    }
    case 5: {
      const std::string_view s = in.Bytes(64);
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case 6: {
      const std::string_view s = in.Bytes(4096);
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case 7: {  // invalid UTF-8: lone continuation bytes, overlong forms, surrogates, truncation
      static constexpr std::string_view kBad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                                                  "a\xffz", "\xef\xbf\xbd", "\xe2\x80\xae"};
      std::string s(in.Bytes(32));
      s.insert(s.size() / 2, kBad[in.U8() % (sizeof kBad / sizeof kBad[0])]);
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case 8: {  // megabytes of a repeated piece
      std::string_view piece = in.Bytes(16);
      if (piece.empty()) piece = "a";
      const std::size_t bytes = (std::size_t{1} << 20) * (1 + in.U8() % 6);
      std::string s;
      s.reserve(bytes);
      while (s.size() < bytes) s.append(piece);
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case 9: PushTable(L, in, depth, false); break;
    case 10: PushTable(L, in, depth, true); break;
    case 11: {  // deep nesting, past ToJson's limit of 64 for some inputs
      const int levels = in.U8() % 100;
      lua_newtable(L);
      for (int i = 0; i < levels; ++i) {
        lua_newtable(L);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
      }
      break;
    }
    case 12: {  // t[1] = t, t.self = t
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_rawseti(L, -2, 1);
      lua_pushvalue(L, -1);
      lua_setfield(L, -2, "self");
      break;
    }
    default:
      if (kind & 0x80) {
        lua_pushlightuserdata(L, lua::JsonNullSentinel());
      } else {
        lua_pushcfunction(L, [](lua_State*) { return 0; });
      }
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::QuietLogs();
  static fuzz::LuaHarness harness;
  fuzz::ByteReader in(data, size);
  for (int step = 0; step < kMaxSteps && !in.empty(); ++step) {
    const std::size_t fn = in.U8() % harness.names().size();
    const int nargs = in.U8() % 5;
    harness.Call(fn, [&](lua_State* L) {
      for (int i = 0; i < nargs; ++i) PushValue(L, in, 0);
      return nargs;
    });
  }
  return 0;
}
