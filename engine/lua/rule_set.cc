#include "lua/rule_set.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <system_error>

#include <re2/re2.h>
#include <re2/set.h>

#include "lua/tg_api.h"
#include "util/utf8.h"

namespace toolgate::lua {

namespace {

constexpr std::size_t kMaxIdleStates = 64;
constexpr std::size_t kMaxCallTextBytes = std::size_t{1} << 20;
// A state that keeps more than this after an evaluation (pack globals that
// grow call after call) is collected, and discarded if it stays that large.
constexpr std::size_t kMaxRetainedBytes = std::size_t{32} << 20;
// States waiting for the reaper; past this a caller closes its own.
constexpr std::size_t kMaxDoomedStates = 4;

enum EffectBit : unsigned {
  kBitExec = 1u << 0,
  kBitRead = 1u << 1,
  kBitWrite = 1u << 2,
  kBitNetwork = 1u << 3,
  kBitUrl = 1u << 4,
  kBitEmail = 1u << 5,
  kBitContent = 1u << 6,
  kBitUnknown = 1u << 7,
};

unsigned EffectBitFor(std::string_view kind) {
  static constexpr std::pair<std::string_view, unsigned> kBits[] = {
      {"exec", kBitExec}, {"read", kBitRead},   {"write", kBitWrite},     {"network", kBitNetwork},
      {"url", kBitUrl},   {"email", kBitEmail}, {"content", kBitContent}, {"unknown", kBitUnknown}};
  for (const auto& [name, bit] : kBits) {
    if (name == kind) return bit;
  }
  return 0;
}

unsigned EffectMask(const Effects& e) {
  unsigned m = 0;
  if (!e.execs.empty()) m |= kBitExec;
  for (const PathEffect& p : e.paths) m |= p.access == PathAccess::kWrite ? kBitWrite : kBitRead;
  if (!e.hosts.empty()) m |= kBitNetwork;
  if (!e.urls.empty()) m |= kBitUrl;
  if (!e.emails.empty()) m |= kBitEmail;
  if (e.bytes_written > 0) m |= kBitContent;
  if (!e.unknowns.empty()) m |= kBitUnknown;
  return m;
}

bool GlobMatch(std::string_view glob, std::string_view text) {
  // Iterative '*' matcher with one backtrack point: linear for these short inputs.
  std::size_t g = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
      ++g, ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

std::string_view ProgramBase(const ExecEffect& x) {
  std::string_view p = x.program;
  const std::size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

void AppendStrings(const nlohmann::json& v, std::string* out, int depth) {
  if (out->size() >= kMaxCallTextBytes || depth > 64) return;
  if (v.is_string()) {
    if (!out->empty()) out->push_back('\n');
    const auto& s = v.get_ref<const std::string&>();
    out->append(s, 0, std::min(s.size(), kMaxCallTextBytes - std::min(out->size(), kMaxCallTextBytes)));
  } else if (v.is_structured()) {
    for (const auto& item : v) AppendStrings(item, out, depth + 1);
  }
}

}  // namespace

std::string GlobToRegex(std::string_view glob) {
  std::string out = "(?i)";
  for (const char c : glob) {
    if (c == '*') out += ".*";
    else if (c == '?') out += ".";
    else out += RE2::QuoteMeta(std::string_view(&c, 1));
  }
  return out;
}

// ---- plans -------------------------------------------------------------------

struct RuleSet::RulePlan {
  std::size_t enabled = 0;  // index into ProfilePlan::packs
  std::size_t rule = 0;     // index into the pack's rules
  bool any_tool = true;     // no tool globs
  unsigned effects = 0;     // 0 = none required
  const std::vector<std::string>* programs = nullptr;
  const std::vector<std::string>* contains = nullptr;
  std::size_t min_text_bytes = 0;
  bool pre = true;   // runs for calls whose tool has not run yet
  bool post = true;  // runs for post events (the tool ran; call.response)
};

struct RuleSet::ProfilePlan {
  std::vector<const EnabledPack*> packs;
  std::vector<RulePlan> rules;  // pack order, then declaration order
  std::unique_ptr<RE2::Set> tools;
  std::vector<std::size_t> slot_rule;  // RE2::Set slot -> rule index
};

// ---- one worker's state --------------------------------------------------------

class RuleVm {
 public:
  ~RuleVm() {
    if (L_ != nullptr) lua_close(L_);
  }

  static std::unique_ptr<RuleVm> Create(const RuleSetSpec& spec, const std::vector<std::string>& profile_order,
                                        PackError* error) {
    std::unique_ptr<RuleVm> vm(new RuleVm());
    vm->L_ = NewSandboxState(&vm->ctx_, AddRegistrationFunctions);
    if (vm->L_ == nullptr) {
      error->message = "cannot create a Lua state";
      return nullptr;
    }
    lua_State* L = vm->L_;
    for (const PackDefinition& pack : spec.packs) {
      PackDefinition replay;
      replay.file = pack.file;
      replay.chunk_name = pack.chunk_name;
      replay.source = pack.source;
      PackCollector collector;
      collector.def = &replay;
      if (!RunPackChunk(L, pack.id, &collector, error)) return nullptr;
      bool same = replay.rules.size() == pack.rules.size();
      for (std::size_t i = 0; same && i < replay.rules.size(); ++i) same = replay.rules[i].info.id == pack.rules[i].info.id;
      if (!same) {
        error->file = pack.file;
        error->message = "the pack registered different rules on a second load; rule registration must not depend on state";
        return nullptr;
      }
      vm->checks_.push_back(std::move(collector.check_refs));
    }
    // Parameters: one frozen table per (profile, enabled pack).
    for (const std::string& profile : profile_order) {
      std::vector<int> refs;
      for (const EnabledPack& enabled : spec.profiles.at(profile)) {
        PushJson(L, enabled.params);
        MakeReadOnly(L);
        refs.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
      }
      vm->params_.push_back(std::move(refs));
    }
    lua_gc(L, LUA_GCCOLLECT);
    // Generational mode: an evaluation's call tables and rule temporaries die
    // young, and the packs, parameters and built-ins never do; incremental
    // mode would keep re-marking the old objects while collecting the young.
    lua_gc(L, LUA_GCGEN, 0, 0);
    return vm;
  }

  lua_State* L() const { return L_; }
  VmContext& ctx() { return ctx_; }
  int check_ref(std::size_t pack, std::size_t rule) const { return checks_[pack][rule]; }
  int params_ref(std::size_t profile, std::size_t enabled) const { return params_[profile][enabled]; }
  bool poisoned = false;

 private:
  RuleVm() = default;
  VmContext ctx_;
  lua_State* L_ = nullptr;
  std::vector<std::vector<int>> checks_;
  std::vector<std::vector<int>> params_;
};

// ---- building the call table -------------------------------------------------------

namespace {

// Runs inside lua_pcall so that a memory error while building cannot escape.
struct CallTableArgs {
  const ToolCall* call;
  const Effects* effects;
  const std::string* text;
  const std::string* response_text;  // "" unless the call carries a tool response
};

// Pushes a Lua array with one element per item; push_item pushes one element.
template <typename T, typename PushItem>
void PushArray(lua_State* L, const std::vector<T>& items, PushItem push_item) {
  lua_createtable(L, static_cast<int>(items.size()), 0);
  lua_Integer i = 0;
  for (const T& item : items) {
    push_item(item);
    lua_rawseti(L, -2, ++i);
  }
}

void PushStringList(lua_State* L, const std::vector<std::string>& items) {
  PushArray(L, items, [L](const std::string& s) { Push(L, s); });
}

// The call table's field names, interned once per state in a registry table
// (index = Key): setting a field is then an array read and a raw set, where
// lua_setfield would look the C string up in Lua's string table every time.
enum Key : int {
  kKeyTool = 1, kKeyInput, kKeyAgent, kKeySession, kKeyCwd, kKeyPhase, kKeyClient, kKeyHookEvent, kKeyText,
  kKeyEffects, kKeyExecs, kKeyProgram, kKeyResolved, kKeySource, kKeyArgv, kKeyPaths, kKeyPath, kKeyRaw,
  kKeyAccess, kKeyHosts, kKeyHost, kKeyPort, kKeyScheme, kKeyUrl, kKeyUrls, kKeyEmails, kKeyBytesWritten,
  kKeyUnknowns, kKeyWhat, kKeyDetail, kKeyResponse, kKeyResponseText, kKeyCount_,
};
constexpr const char* kKeyNames[kKeyCount_] = {
    "",     "tool",   "input",    "agent",  "session", "cwd",  "phase",  "client", "hook_event", "text",
    "effects", "execs", "program", "resolved", "source", "argv", "paths", "path", "raw", "access",
    "hosts", "host", "port", "scheme", "url", "urls", "emails", "bytes_written", "unknowns", "what", "detail",
    "response", "response_text",
};
const char kCallKeysTag = 0;

// Pushes the key table, creating it on the state's first call table.
void PushCallKeys(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kCallKeysTag) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, kKeyCount_ - 1, 0);
  for (int k = 1; k < kKeyCount_; ++k) {
    lua_pushstring(L, kKeyNames[k]);
    lua_rawseti(L, -2, k);
  }
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kCallKeysTag);
}

// Sets field `key` of the table on top of the stack to the value pushed by `push`.
template <class PushValue>
void Set(lua_State* L, int keys, Key key, PushValue push) {
  lua_rawgeti(L, keys, key);
  push();
  lua_rawset(L, -3);
}
void SetString(lua_State* L, int keys, Key key, std::string_view value) {
  Set(L, keys, key, [&] { Push(L, value); });
}
void SetInteger(lua_State* L, int keys, Key key, lua_Integer value) {
  Set(L, keys, key, [&] { lua_pushinteger(L, value); });
}

int BuildCallTable(lua_State* L) {
  const auto* a = static_cast<const CallTableArgs*>(lua_touserdata(L, 1));
  const ToolCall& c = *a->call;
  const Effects& e = *a->effects;
  PushCallKeys(L);
  const int keys = lua_gettop(L);
  lua_createtable(L, 0, 12);
  SetString(L, keys, kKeyTool, c.tool_name);
  Set(L, keys, kKeyInput, [&] { PushJson(L, c.tool_input); });
  SetString(L, keys, kKeyAgent, c.agent_id);
  SetString(L, keys, kKeySession, c.session_id);
  SetString(L, keys, kKeyCwd, c.cwd);
  SetString(L, keys, kKeyPhase, c.phase);
  SetString(L, keys, kKeyClient, ClientName(c.client));
  SetString(L, keys, kKeyHookEvent, c.hook_event);
  SetString(L, keys, kKeyText, *a->text);
  if (c.tool_response) {
    // Post events: what the tool returned, and all its strings newline-joined.
    Set(L, keys, kKeyResponse, [&] { PushJson(L, *c.tool_response); });
    SetString(L, keys, kKeyResponseText, *a->response_text);
  }

  lua_rawgeti(L, keys, kKeyEffects);
  lua_createtable(L, 0, 7);
  Set(L, keys, kKeyExecs, [&] {
    PushArray(L, e.execs, [&](const ExecEffect& x) {
      lua_createtable(L, 0, 4);
      SetString(L, keys, kKeyProgram, x.program);
      SetString(L, keys, kKeyResolved, x.resolved);
      SetString(L, keys, kKeySource, x.source);
      Set(L, keys, kKeyArgv, [&] { PushStringList(L, x.argv); });
    });
  });
  Set(L, keys, kKeyPaths, [&] {
    PushArray(L, e.paths, [&](const PathEffect& p) {
      lua_createtable(L, 0, 4);
      SetString(L, keys, kKeyPath, p.path);
      SetString(L, keys, kKeyRaw, p.raw);
      SetString(L, keys, kKeyAccess, PathAccessName(p.access));
      SetString(L, keys, kKeySource, p.source);
    });
  });
  Set(L, keys, kKeyHosts, [&] {
    PushArray(L, e.hosts, [&](const HostEffect& h) {
      lua_createtable(L, 0, 5);
      SetString(L, keys, kKeyHost, h.host);
      SetInteger(L, keys, kKeyPort, h.port);
      SetString(L, keys, kKeyScheme, h.scheme);
      SetString(L, keys, kKeyUrl, h.url);
      SetString(L, keys, kKeySource, h.source);
    });
  });
  Set(L, keys, kKeyUrls, [&] { PushStringList(L, e.urls); });
  Set(L, keys, kKeyEmails, [&] { PushStringList(L, e.emails); });
  SetInteger(L, keys, kKeyBytesWritten, static_cast<lua_Integer>(e.bytes_written));
  Set(L, keys, kKeyUnknowns, [&] {
    PushArray(L, e.unknowns, [&](const UnknownEffect& u) {
      lua_createtable(L, 0, 2);
      SetString(L, keys, kKeyWhat, u.what);
      SetString(L, keys, kKeyDetail, u.detail);
    });
  });
  lua_rawset(L, -3);  // call.effects
  return 1;
}

std::string Location(const RuleInfo& info, int line) {
  return info.file + ":" + std::to_string(line > 0 ? line : info.line);
}

void AddRuleFailure(Decision* d, const RuleInfo& info, ErrorCode code, const std::string& message, int line) {
  d->verdict = Verdict::kDeny;
  Finding f;
  f.verdict = Verdict::kDeny;
  f.subject = Subject::kRule;
  f.target = info.id;
  f.note = code == ErrorCode::kRuleBudget ? "rule " + info.id + " exceeded its budget; the call is refused"
                                          : "rule " + info.id + " failed; the call is refused";
  f.rule = &info;
  f.line = line;
  d->findings.push_back(std::move(f));
  if (!d->error) d->error = Error{code, "rule " + info.id + ": " + message, Location(info, line)};
  spdlog::warn("toolgate rules: {} at {}: {} (denied)", info.id, Location(info, line), SanitizeUtf8(message));
}

}  // namespace

// ---- RuleSet -----------------------------------------------------------------------

RuleSet::RuleSet() = default;

RuleSet::~RuleSet() {
  {
    std::lock_guard lock(reap_mu_);
    stopping_ = true;
  }
  reap_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  // doomed_ and idle_ close what is left as members.
}

std::unique_ptr<RuleSet> RuleSet::Build(RuleSetSpec spec, PackError* error) {
  std::unique_ptr<RuleSet> set(new RuleSet());
  set->spec_ = std::move(spec);
  std::vector<std::string> order;
  for (const auto& [name, packs] : set->spec_.profiles) {
    auto plan = std::make_unique<ProfilePlan>();
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);
    plan->tools = std::make_unique<RE2::Set>(options, RE2::ANCHOR_BOTH);
    for (std::size_t e = 0; e < packs.size(); ++e) {
      const EnabledPack& enabled = packs[e];
      plan->packs.push_back(&enabled);
      const PackDefinition& pack = set->spec_.packs[enabled.pack];
      for (std::size_t r = 0; r < pack.rules.size(); ++r) {
        const RuleDefinition& def = pack.rules[r];
        RulePlan rp;
        rp.enabled = e;
        rp.rule = r;
        rp.any_tool = def.tools.empty();
        for (const std::string& kind : def.effects) rp.effects |= EffectBitFor(kind);
        rp.programs = &def.programs;
        rp.contains = &def.contains;
        rp.min_text_bytes = def.min_text_bytes;
        if (!def.events.empty()) {
          rp.pre = rp.post = false;
          for (const std::string& ev : def.events) (ev == "post" ? rp.post : rp.pre) = true;
        }
        const std::size_t index = plan->rules.size();
        for (const std::string& glob : def.tools) {
          std::string why;
          const int slot = plan->tools->Add(GlobToRegex(glob), &why);
          if (slot < 0) {
            error->file = pack.file;
            error->line = def.info.line;
            error->rule = def.info.id;
            error->message = "tool glob '" + glob + "' does not compile: " + why;
            return nullptr;
          }
          plan->slot_rule.push_back(index);
        }
        plan->rules.push_back(rp);
      }
    }
    if (!plan->slot_rule.empty() && !plan->tools->Compile()) {
      error->message = "the tool globs of profile '" + name + "' do not fit in one RE2 set";
      return nullptr;
    }
    set->plan_index_.emplace(name, set->plans_.size());
    set->plans_.push_back(std::move(plan));
    order.push_back(name);
  }
  // One state now: proves every pack replays and every parameter converts.
  std::unique_ptr<RuleVm> vm = RuleVm::Create(set->spec_, order, error);
  if (!vm) return nullptr;
  set->created_ = 1;
  set->idle_.push_back(std::move(vm));
  return set;
}

bool RuleSet::HasRules(std::string_view profile) const {
  const auto it = plan_index_.find(profile);
  return it != plan_index_.end() && !plans_[it->second]->rules.empty();
}

std::size_t RuleSet::idle_states() const {
  std::lock_guard lock(pool_mu_);
  return idle_.size();
}

std::size_t RuleSet::states_created() const {
  std::lock_guard lock(pool_mu_);
  return created_;
}

std::unique_ptr<RuleVm> RuleSet::Acquire() const {
  {
    std::lock_guard lock(pool_mu_);
    if (!idle_.empty()) {
      std::unique_ptr<RuleVm> vm = std::move(idle_.back());
      idle_.pop_back();
      return vm;
    }
    ++created_;
  }
  return CreateVm();
}

std::unique_ptr<RuleVm> RuleSet::CreateVm() const {
  std::vector<std::string> order(plan_index_.size());
  for (const auto& [name, index] : plan_index_) order[index] = name;
  PackError error;
  std::unique_ptr<RuleVm> vm = RuleVm::Create(spec_, order, &error);
  if (!vm) spdlog::error("toolgate rules: cannot create a worker state: {} {}", error.file, error.message);
  return vm;
}

void RuleSet::Release(std::unique_ptr<RuleVm> vm) const {
  if (!vm) return;
  if (vm->poisoned) {  // a state that failed is never reused
    Retire(std::move(vm), /*recycle=*/false);
    return;
  }
  lua_settop(vm->L(), 0);
  if (vm->ctx().used > kMaxRetainedBytes) {
    Retire(std::move(vm), /*recycle=*/true);
    return;
  }
  std::lock_guard lock(pool_mu_);
  if (idle_.size() < kMaxIdleStates) idle_.push_back(std::move(vm));
}

void RuleSet::Retire(std::unique_ptr<RuleVm> vm, bool recycle) const {
  {
    std::lock_guard lock(reap_mu_);
    if (!stopping_ && doomed_.size() + (reap_busy_ ? 1 : 0) < kMaxDoomedStates) {
      if (!reaper_.joinable()) {
        try {
          reaper_ = std::thread([this] { ReapLoop(); });
        } catch (const std::system_error&) {
          // No thread to be had: the state is closed here, below.
        }
      }
      if (reaper_.joinable()) {
        doomed_.emplace_back(std::move(vm), recycle);
        reap_cv_.notify_one();
        return;
      }
    }
  }
  vm.reset();  // the reaper is full (or gone): close it on this thread
}

void RuleSet::ReapLoop() const {
  std::unique_lock lock(reap_mu_);
  for (;;) {
    reap_cv_.wait(lock, [this] { return stopping_ || !doomed_.empty(); });
    if (doomed_.empty()) return;  // stopping, nothing left
    auto [vm, recycle] = std::move(doomed_.back());
    doomed_.pop_back();
    reap_busy_ = true;
    lock.unlock();
    if (recycle) {
      lua_gc(vm->L(), LUA_GCCOLLECT);
      if (vm->ctx().used <= kMaxRetainedBytes) {
        std::lock_guard pool_lock(pool_mu_);
        if (idle_.size() < kMaxIdleStates) idle_.push_back(std::move(vm));
      }
    }
    vm.reset();  // lua_close, off the decision path
    // A state that failed leaves the pool one short: the next call would
    // pay for loading every pack again (about 0.25 ms) inside its decision.
    // Make the replacement here, off the decision path too.
    if (!recycle) {
      bool refill = false;
      {
        std::lock_guard pool_lock(pool_mu_);
        refill = idle_.empty();
        if (refill) ++created_;
      }
      if (refill) {
        std::unique_ptr<RuleVm> fresh = CreateVm();
        std::lock_guard pool_lock(pool_mu_);
        if (fresh && idle_.size() < kMaxIdleStates) idle_.push_back(std::move(fresh));
      }
    }
    lock.lock();
    reap_busy_ = false;
  }
}

void RuleSet::Evaluate(const ToolCall& call, const Effects& effects, std::string_view profile, StateStore* state,
                       Decision* d) const {
  const auto it = plan_index_.find(profile);
  if (it == plan_index_.end()) return;
  const std::size_t profile_index = it->second;
  const ProfilePlan& plan = *plans_[profile_index];
  if (plan.rules.empty()) return;
  const std::vector<std::string>* phases = nullptr;
  if (const auto p = spec_.phases.find(profile.substr(0, profile.find('@'))); p != spec_.phases.end()) {
    phases = &p->second;
  }

  // Prefilter in C++.
  const unsigned mask = EffectMask(effects);
  std::vector<int> tool_hits;
  if (!plan.slot_rule.empty()) plan.tools->Match(call.tool_name, &tool_hits);
  std::vector<char> tool_ok(plan.rules.size(), 0);
  for (const int slot : tool_hits) tool_ok[plan.slot_rule[static_cast<std::size_t>(slot)]] = 1;
  std::vector<std::size_t> candidates;
  std::string text;  // every string of tool_input, newline-joined: built once, when first needed
  bool have_text = false;
  const auto call_text = [&]() -> const std::string& {
    if (!have_text) AppendStrings(call.tool_input, &text, 0);
    have_text = true;
    return text;
  };
  // A post event's result text: the prefilter's text checks pass when the
  // input's text or this one passes them.
  std::string response_text;  // built once, when first needed, like the input's
  bool have_response_text = false;
  const auto result_text = [&]() -> const std::string& {
    if (!have_response_text && call.tool_response) AppendStrings(*call.tool_response, &response_text, 0);
    have_response_text = true;
    return response_text;
  };
  const bool post = IsPostEvent(call);
  for (std::size_t i = 0; i < plan.rules.size(); ++i) {
    const RulePlan& r = plan.rules[i];
    if (!r.any_tool && !tool_ok[i]) continue;
    if (!(post ? r.post : r.pre)) continue;
    if (r.effects != 0 && (r.effects & mask) == 0) continue;
    if (!r.programs->empty()) {
      bool hit = false;
      for (const ExecEffect& x : effects.execs) {
        const std::string_view base = ProgramBase(x);
        for (const std::string& g : *r.programs) hit = hit || GlobMatch(g, base);
        if (hit) break;
      }
      if (!hit) continue;
    }
    if (r.min_text_bytes > 0 && call_text().size() < r.min_text_bytes && result_text().size() < r.min_text_bytes) {
      continue;
    }
    if (!r.contains->empty()) {
      bool hit = false;
      for (const std::string& needle : *r.contains) {
        hit = hit || call_text().find(needle) != std::string::npos ||
              result_text().find(needle) != std::string::npos;
      }
      if (!hit) continue;
    }
    candidates.push_back(i);
  }
  if (candidates.empty()) return;

  std::unique_ptr<RuleVm> vm = Acquire();
  if (!vm) {
    const RuleDefinition& first = spec_.packs[plan.packs[plan.rules[candidates[0]].enabled]->pack].rules[0];
    AddRuleFailure(d, first.info, ErrorCode::kInternal, "no Lua state available", 0);
    return;
  }
  lua_State* L = vm->L();
  VmContext& ctx = vm->ctx();
  lua_settop(L, 0);
  if (!lua_checkstack(L, 8)) {
    vm->poisoned = true;
    return;
  }

  const CallTableArgs args{&call, &effects, &call_text(), &result_text()};

  std::size_t current_enabled = static_cast<std::size_t>(-1);
  for (const std::size_t index : candidates) {
    const RulePlan& r = plan.rules[index];
    const EnabledPack& enabled = *plan.packs[r.enabled];
    const PackDefinition& pack = spec_.packs[enabled.pack];
    const RuleInfo& info = pack.rules[r.rule].info;
    if (r.enabled != current_enabled) {
      // Each pack gets its own copy of the call: one pack cannot edit what the next one sees.
      lua_settop(L, 0);
      lua_pushcfunction(L, BuildCallTable);
      lua_pushlightuserdata(L, const_cast<CallTableArgs*>(&args));
      ctx.cap = ctx.used + enabled.budget.memory_bytes;
      if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        DisarmBudget(L);
        vm->poisoned = true;
        AddRuleFailure(d, info, ErrorCode::kRuleBudget, "the call is too large for the rule's memory budget", 0);
        break;
      }
      DisarmBudget(L);
      current_enabled = r.enabled;
    }
    // Stack: [1] call table.
    EvalScope scope;
    scope.call = &call;
    scope.pack_id = pack.id;
    scope.rule_id = info.id;
    scope.http = enabled.http ? &*enabled.http : nullptr;
    scope.state = state;
    scope.http_probe = &http_;
    scope.home = spec_.home;
    scope.decision = d;
    scope.phases = phases;
    ctx.scope = &scope;
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->check_ref(enabled.pack, r.rule));
    lua_pushvalue(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->params_ref(profile_index, r.enabled));
    ArmBudget(L, enabled.budget);
    const int status = lua_pcall(L, 2, 2, 0);
    const BudgetTrip trip = ctx.tripped;
    const int trip_line = ctx.trip_line;
    DisarmBudget(L);
    ctx.scope = nullptr;

    if (status != LUA_OK || trip != BudgetTrip::kNone) {
      vm->poisoned = true;
      const std::string message = ErrorObjectText(L, -1);
      if (trip != BudgetTrip::kNone) {
        AddRuleFailure(d, info, ErrorCode::kRuleBudget, std::string(BudgetTripName(trip)) + " budget exceeded",
                       trip_line);
      } else {
        AddRuleFailure(d, info, ErrorCode::kRuleError, message, LineFromLuaMessage(message, pack.chunk_name));
      }
      break;
    }
    // Results at -2 (verdict) and -1 (reason when the verdict is a string).
    std::optional<Verdict> verdict;
    std::string reason;
    int line = 0;
    bool bad = false;
    const int type = lua_type(L, -2);
    if (type == LUA_TNIL || (type == LUA_TBOOLEAN && lua_toboolean(L, -2) == 0)) {
      // no objection
    } else if (type == LUA_TTABLE && RawFieldBoolean(L, -2, kVerdictMarker, false)) {
      verdict = VerdictFromName(RawFieldString(L, -2, "verdict"));
      reason = std::string(RawFieldString(L, -2, "reason"));
      line = static_cast<int>(RawFieldInteger(L, -2, "line").value_or(0));
      bad = !verdict.has_value();
    } else if (type == LUA_TSTRING) {
      verdict = VerdictFromName(lua_tostring(L, -2));
      if (lua_type(L, -1) == LUA_TSTRING) reason = lua_tostring(L, -1);
      bad = !verdict.has_value();
    } else {
      bad = true;
    }
    lua_settop(L, 1);
    if (bad) {
      vm->poisoned = true;
      AddRuleFailure(d, info, ErrorCode::kRuleError,
                     "check returned something that is not a verdict (use tg.deny, tg.ask, tg.allow or nil)", 0);
      break;
    }
    if (!verdict || *verdict == Verdict::kAllow) continue;
    Finding f;
    f.verdict = *verdict;
    f.subject = Subject::kRule;
    f.target = info.id;
    f.note = SanitizeUtf8(reason);
    f.rule = &info;
    f.line = line;
    d->verdict = MostSevere(d->verdict, *verdict);
    d->findings.push_back(std::move(f));
    if (*verdict == Verdict::kDeny) break;
  }
  lua_settop(L, 0);
  Release(std::move(vm));
}

}  // namespace toolgate::lua
