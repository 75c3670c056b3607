// A rule pack as the engine knows it once its file has been read and run:
// its id, parameters (with defaults), capabilities it needs, and its rules
// with the prefilter each declares. Produced by CompilePack in a scratch
// state at policy load; every worker state later replays the same source.
//
// Pack file shape (README.md, section Lua rule packs has the full guide):
//   pack { id = "dev-guard", description = "...", params = { mode = "dangerous" },
//          capabilities = { "http" } }
//   rule { id = "force-push", description = "...", tools = { "Bash" },
//          effects = { "exec" }, programs = { "git" }, contains = { "push" },
//          min_text_bytes = 0, events = { "post" },
//          check = function(call, params) ... return tg.deny("why") end }
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lua/sandbox.h"
#include "toolgate/decision.h"

namespace toolgate::lua {

// Effect kinds a rule may declare in `effects` (it runs when the call has any).
inline constexpr const char* kEffectKinds[] = {"exec", "read", "write", "network", "url", "email", "content",
                                               "unknown"};

struct RuleDefinition {
  std::string local_id;  // "force-push"
  RuleInfo info;         // id "dev-guard.force-push", pack, file, line, description
  std::vector<std::string> tools;     // globs over the tool name, case-insensitive; empty = every tool
  std::vector<std::string> effects;   // kEffectKinds; empty = no effect required
  std::vector<std::string> programs;  // globs over exec program basenames; empty = any
  std::vector<std::string> contains;  // the call's text (every string in tool_input) must contain one; empty = any
  std::size_t min_text_bytes = 0;     // the call's text must be at least this long
  // "pre" / "post": the rule runs only for calls of that kind (a post call is
  // one whose tool already ran: PostToolUse, AfterTool, ...); empty = both.
  std::vector<std::string> events;
};

struct PackDefinition {
  std::string id;
  std::string description;
  std::string file;       // as resolved from the policy
  std::string chunk_name; // "@dev-guard.lua": what Lua messages start with
  std::string source;
  std::string sha256;
  nlohmann::json params = nlohmann::json::object();  // defaults
  std::vector<std::string> capabilities;              // "http"
  std::vector<RuleDefinition> rules;
};

struct PackError {
  std::string file;
  int line = 0;          // 0 when not about one line
  std::string rule;      // rule id when known
  std::string message;
};

// What pack{} and rule{} calls leave behind while a chunk runs.
struct PackCollector {
  PackDefinition* def = nullptr;
  bool have_pack = false;
  std::vector<int> check_refs;  // registry refs of each rule's check function
  std::string last_rule_id;     // the rule{} call seen last, for locating its errors
  int last_rule_line = 0;
};

// Registers pack and rule in the base table at `base` (NewSandboxState's extend).
void AddRegistrationFunctions(lua_State* L, int base);

// Runs a pack's source in L (a state made by NewSandboxState with the
// registration functions) under the load budget, filling collector->def.
// expected_id: the name the policy uses for the pack (the pack's id must match).
bool RunPackChunk(lua_State* L, const std::string& expected_id, PackCollector* collector, PackError* error);

// Reads, runs and validates one pack in a scratch state.
bool CompilePack(const std::string& expected_id, const std::string& file, std::string source, PackDefinition* out,
                 PackError* error);

// Budget for running a pack's top level (loading, not judging).
RuleBudget LoadBudget();

// Short file name used as chunk name: "@<basename>".
std::string ChunkNameFor(const std::string& file);

// "dev-guard.lua:12: message" -> 12 (0 when the prefix is not there).
int LineFromLuaMessage(std::string_view message, std::string_view chunk_name);

}  // namespace toolgate::lua
