#include "lua_harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "lua/rule_pack.h"

namespace toolgate::fuzz {
namespace {

// Collects every function of tg and of its module tables as {name, fn} pairs.
constexpr const char* kWalkTg = R"lua(
local out = {}
for mname, m in pairs(tg) do
  if type(m) == "function" then
    out[#out + 1] = {mname, m}
  elseif type(m) == "table" then
    for fname, f in pairs(m) do
      if type(f) == "function" then out[#out + 1] = {mname .. "." .. fname, f} end
    end
  end
end
return out
)lua";

// The library functions toolgate replaces or wraps with clock checks (see
// engine/lua/sandbox.cc), called the same way: appended after tg's, so the
// seeds' function numbers keep meaning the same tg functions.
constexpr const char* kWalkLibraries = R"lua(
local out = {}
for _, name in ipairs({"string.rep", "string.lower", "string.byte", "string.format", "string.find",
                       "table.move", "table.sort", "table.insert", "table.remove", "table.concat",
                       "table.unpack", "utf8.len", "utf8.codepoint", "utf8.offset", "utf8.char"}) do
  local lib, fname = name:sub(1, name:find(".", 1, true) - 1), name:sub(name:find(".", 1, true) + 1)
  out[#out + 1] = {name, _ENV[lib][fname]}
end
return out
)lua";

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "fuzz: lua harness: %s\n", what);
  std::abort();
}

}  // namespace

LuaHarness::LuaHarness() {
  call_.session_id = "fuzz-session";
  call_.agent_id = "fuzz-agent";
  call_.tool_name = "Bash";
  call_.tool_input = {{"command", "true"}};
  scope_.call = &call_;
  scope_.pack_id = "fuzz";
  scope_.rule_id = "fuzz.rule";
  scope_.state = store_.get();
  scope_.http_probe = &probe_;
  scope_.http = nullptr;  // no "http" capability: tg.http.status refuses before any I/O
  scope_.home = "/home/dev";
  Open();
}

LuaHarness::~LuaHarness() { Close(); }

void LuaHarness::Open() {
  ctx_ = lua::VmContext{};
  L_ = lua::NewSandboxState(&ctx_, lua::AddRegistrationFunctions);
  if (L_ == nullptr) Fail("cannot create a sandboxed state");
  lua_settop(L_, 0);
  lua::PushPackEnvironment(L_);
  const auto walk = [this](const char* chunk) {
    std::vector<std::pair<std::string, int>> out;
    lua_settop(L_, 1);
    if (!lua::LoadTextChunk(L_, chunk, "=fuzz-walk", 1)) Fail("cannot load a walk");
    if (lua_pcall(L_, 0, 1, 0) != LUA_OK || lua_type(L_, -1) != LUA_TTABLE) Fail("a walk failed");
    const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L_, -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L_, -1, i);
      lua_rawgeti(L_, -1, 1);
      std::string name = lua_tostring(L_, -1);
      lua_pop(L_, 1);
      lua_rawgeti(L_, -1, 2);
      if (lua_type(L_, -1) != LUA_TFUNCTION) Fail(("not a function: " + name).c_str());
      const int ref = luaL_ref(L_, LUA_REGISTRYINDEX);
      lua_pop(L_, 1);
      out.emplace_back(std::move(name), ref);
    }
    return out;
  };
  std::vector<std::pair<std::string, int>> found = walk(kWalkTg);
  if (found.empty()) Fail("tg has no functions");
  std::sort(found.begin(), found.end());
  for (auto& library : walk(kWalkLibraries)) found.push_back(std::move(library));
  lua_settop(L_, 0);
  if (!names_.empty() && names_.size() != found.size()) Fail("tg changed between two states");
  names_.clear();
  refs_.clear();
  for (auto& [name, ref] : found) {
    names_.push_back(name);
    refs_.push_back(ref);
  }
}

void LuaHarness::Close() {
  if (L_ != nullptr) lua_close(L_);
  L_ = nullptr;
}

std::size_t LuaHarness::Index(const std::string& name) const {
  const auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) Fail(("tg has no function " + name).c_str());
  return static_cast<std::size_t>(it - names_.begin());
}

int LuaHarness::Call(std::size_t index, const std::function<int(lua_State*)>& push_args,
                     const lua::RuleBudget& budget) {
  lua_settop(L_, 0);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, refs_[index]);
  const int nargs = push_args(L_);
  ctx_.scope = &scope_;
  lua::ArmBudget(L_, budget);
  const int status = lua_pcall(L_, nargs, LUA_MULTRET, 0);
  const bool tripped = ctx_.tripped != lua::BudgetTrip::kNone;
  lua::DisarmBudget(L_);
  ctx_.scope = nullptr;
  lua_settop(L_, 0);
  if (tripped) {
    Close();
    Open();
  }
  return status;
}

}  // namespace toolgate::fuzz
