#include "lua/rule_pack.h"

#include <set>

#include "lua/tg_api.h"
#include "util/sha256.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxRulesPerPack = 256;
constexpr std::size_t kMaxListItems = 256;

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

int CallerLine(lua_State* L) {
  lua_Debug ar;
  if (lua_getstack(L, 1, &ar) != 0 && lua_getinfo(L, "l", &ar) != 0) return ar.currentline;
  return 0;
}

PackCollector& Collector(lua_State* L, const char* fn) {
  PackCollector* c = ContextOf(L)->collector;
  if (c == nullptr) throw HostError(std::string(fn) + ": only allowed at the top level of a pack file");
  return *c;
}

void CheckKeys(lua_State* L, int table, const char* fn, std::initializer_list<const char*> allowed) {
  lua_pushnil(L);
  while (lua_next(L, table) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      throw HostError(std::string(fn) + ": keys must be names");
    }
    const std::string key = lua_tostring(L, -1);
    bool known = false;
    for (const char* k : allowed) known = known || key == k;
    if (!known) {
      lua_pop(L, 1);
      std::string list;
      for (const char* k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      throw HostError(std::string(fn) + ": unknown field '" + key + "'; expected one of: " + list);
    }
  }
}

std::vector<std::string> StringList(lua_State* L, int table, const char* key, const char* fn) {
  std::vector<std::string> out;
  lua_pushstring(L, key);
  lua_rawget(L, table);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return out;
  }
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 1);
    throw HostError(std::string(fn) + ": '" + key + "' must be a list of strings");
  }
  const lua_Unsigned n = lua_rawlen(L, -1);
  if (n > kMaxListItems) {
    lua_pop(L, 1);
    throw HostError(std::string(fn) + ": '" + key + "' has more than 256 items");
  }
  for (lua_Unsigned i = 1; i <= n; ++i) {
    lua_rawgeti(L, -1, static_cast<lua_Integer>(i));
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 2);
      throw HostError(std::string(fn) + ": '" + key + "' must be a list of strings");
    }
    out.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return out;
}

int PackFn(lua_State* L) {
  const char* fn = "pack";
  PackCollector& c = Collector(L, fn);
  ArgTable(L, 1, fn, "definition");
  if (c.have_pack) throw HostError("pack: called twice");
  CheckKeys(L, 1, fn, {"id", "description", "params", "capabilities"});
  PackDefinition& def = *c.def;
  const std::string id(RawFieldString(L, 1, "id"));
  if (id != def.id) {
    throw HostError("pack: id '" + id + "' does not match the name the policy uses ('" + def.id + "')");
  }
  def.description = std::string(RawFieldString(L, 1, "description"));
  lua_pushliteral(L, "params");
  lua_rawget(L, 1);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TTABLE) throw HostError("pack: 'params' must be a table of defaults");
    nlohmann::json params = ToJson(L, -1, "pack: params");
    if (params.is_array() && params.empty()) params = nlohmann::json::object();
    if (!params.is_object()) throw HostError("pack: 'params' must map names to default values");
    def.params = std::move(params);
  }
  lua_pop(L, 1);
  def.capabilities = StringList(L, 1, "capabilities", fn);
  for (const std::string& cap : def.capabilities) {
    if (cap != "http") throw HostError("pack: unknown capability '" + cap + "' (known: http)");
  }
  c.have_pack = true;
  return 0;
}

int RuleFn(lua_State* L) {
  const char* fn = "rule";
  PackCollector& c = Collector(L, fn);
  ArgTable(L, 1, fn, "definition");
  if (!c.have_pack) throw HostError("rule: declare the pack with pack{ id = ... } first");
  PackDefinition& def = *c.def;
  if (def.rules.size() >= kMaxRulesPerPack) throw HostError("rule: more than 256 rules in one pack");
  RuleDefinition r;
  r.local_id = std::string(RawFieldString(L, 1, "id"));
  if (!IsIdentifier(r.local_id)) throw HostError("rule: 'id' must be 1-64 characters of a-z 0-9 - _");
  r.info.id = def.id + "." + r.local_id;
  c.last_rule_id = r.info.id;
  c.last_rule_line = CallerLine(L);
  for (const RuleDefinition& other : def.rules) {
    if (other.local_id == r.local_id) throw HostError("rule: duplicate id '" + r.info.id + "'");
  }
  CheckKeys(L, 1, fn, {"id", "description", "tools", "effects", "programs", "contains", "min_text_bytes", "events",
                     "check"});
  r.info.pack = def.id;
  r.info.file = def.file;
  r.info.line = CallerLine(L);
  r.info.description = std::string(RawFieldString(L, 1, "description"));
  r.tools = StringList(L, 1, "tools", fn);
  r.effects = StringList(L, 1, "effects", fn);
  r.programs = StringList(L, 1, "programs", fn);
  r.contains = StringList(L, 1, "contains", fn);
  for (const std::string& c : r.contains) {
    if (c.empty()) throw HostError("rule " + r.info.id + ": 'contains' entries must not be empty");
  }
  if (const auto min = RawFieldInteger(L, 1, "min_text_bytes")) {
    if (*min < 0) throw HostError("rule " + r.info.id + ": 'min_text_bytes' must be >= 0");
    r.min_text_bytes = static_cast<std::size_t>(*min);
  }
  r.events = StringList(L, 1, "events", fn);
  for (const std::string& e : r.events) {
    if (e != "pre" && e != "post") throw HostError("rule " + r.info.id + ": unknown event '" + e + "' (known: pre, post)");
  }
  for (const std::string& e : r.effects) {
    bool known = false;
    for (const char* k : kEffectKinds) known = known || e == k;
    if (!known) {
      throw HostError("rule " + r.info.id + ": unknown effect '" + e +
                      "' (known: exec, read, write, network, url, email, content, unknown)");
    }
  }
  lua_pushliteral(L, "check");
  lua_rawget(L, 1);
  if (lua_type(L, -1) != LUA_TFUNCTION) throw HostError("rule " + r.info.id + ": 'check' must be a function");
  c.check_refs.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
  def.rules.push_back(std::move(r));
  return 0;
}

}  // namespace

RuleBudget LoadBudget() {
  RuleBudget b;
  b.instructions = 10'000'000;
  b.memory_bytes = std::size_t{32} << 20;
  b.wall_time = std::chrono::milliseconds(2000);
  return b;
}

std::string ChunkNameFor(const std::string& file) {
  const std::size_t slash = file.rfind('/');
  std::string base = slash == std::string::npos ? file : file.substr(slash + 1);
  if (base.size() > 50) base = base.substr(base.size() - 50);
  return "@" + base;
}

int LineFromLuaMessage(std::string_view message, std::string_view chunk_name) {
  std::string_view name = chunk_name;
  if (!name.empty() && (name[0] == '@' || name[0] == '=')) name.remove_prefix(1);
  const std::size_t at = message.find(name);
  if (at == std::string_view::npos) return 0;
  std::size_t i = at + name.size();
  if (i >= message.size() || message[i] != ':') return 0;
  int line = 0;
  for (++i; i < message.size() && message[i] >= '0' && message[i] <= '9' && line < 10000000; ++i) {
    line = line * 10 + (message[i] - '0');
  }
  return line;
}

void AddRegistrationFunctions(lua_State* L, int base) {
  lua_pushcfunction(L, HostFunction<PackFn>);
  lua_setfield(L, base, "pack");
  lua_pushcfunction(L, HostFunction<RuleFn>);
  lua_setfield(L, base, "rule");
  OpenTg(L);
  lua_setfield(L, base, "tg");
}

bool RunPackChunk(lua_State* L, const std::string& expected_id, PackCollector* collector, PackError* error) {
  PackDefinition& def = *collector->def;
  def.id = expected_id;
  def.rules.clear();
  VmContext* ctx = ContextOf(L);
  const int top = lua_gettop(L);
  const auto fail = [&](std::string message, int line = 0) {
    error->file = def.file;
    error->line = line > 0 ? line : LineFromLuaMessage(message, def.chunk_name);
    error->message = std::move(message);
    if (error->line > 0 && error->line == collector->last_rule_line) {
      error->rule = collector->last_rule_id;
    } else if (!def.rules.empty() && error->line > 0 && error->line >= def.rules.back().info.line) {
      error->rule = def.rules.back().info.id;
    }
    lua_settop(L, top);
    ctx->collector = nullptr;
    DisarmBudget(L);
    return false;
  };
  PushPackEnvironment(L);
  const int env = lua_gettop(L);
  if (!LoadTextChunk(L, def.source, def.chunk_name, env)) return fail(ErrorObjectText(L, -1));
  ctx->collector = collector;
  ArmBudget(L, LoadBudget());
  const int status = lua_pcall(L, 0, 0, 0);
  const BudgetTrip trip = ctx->tripped;
  const int trip_line = ctx->trip_line;
  DisarmBudget(L);
  ctx->collector = nullptr;
  if (status != LUA_OK) {
    std::string message = ErrorObjectText(L, -1);
    if (trip != BudgetTrip::kNone) {
      return fail(std::string("loading the pack exceeded its ") + BudgetTripName(trip) + " budget: " + message,
                  trip_line);
    }
    return fail(std::move(message));
  }
  if (!collector->have_pack) return fail("the file never calls pack{ id = \"" + expected_id + "\", ... }");
  if (def.rules.empty()) return fail("the pack declares no rules");
  lua_settop(L, top);
  return true;
}

bool CompilePack(const std::string& expected_id, const std::string& file, std::string source, PackDefinition* out,
                 PackError* error) {
  if (!source.empty() && source[0] == LUA_SIGNATURE[0]) {
    error->file = file;
    error->message = "binary chunks are not accepted; rule packs are Lua source text";
    return false;
  }
  out->file = file;
  out->chunk_name = ChunkNameFor(file);
  out->sha256 = Sha256Hex(source);
  out->source = std::move(source);
  VmContext ctx;
  lua_State* L = NewSandboxState(&ctx, AddRegistrationFunctions);
  if (L == nullptr) {
    error->file = file;
    error->message = "cannot create a Lua state";
    return false;
  }
  PackCollector collector;
  collector.def = out;
  const bool ok = RunPackChunk(L, expected_id, &collector, error);
  lua_close(L);
  return ok;
}

}  // namespace toolgate::lua
