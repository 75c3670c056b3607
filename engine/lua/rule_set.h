// RuleSet: the compiled rules stage of one Policy. Immutable after Build and
// safe to use from many threads: every evaluation leases a Lua state of its
// own from a pool (one state per concurrently judging thread; states are
// created on demand with every pack loaded and every profile's parameters
// frozen into read-only tables), and what states share (the HTTP cache) is
// locked internally. tg.state's store is not the rule set's: the engine's
// owner keeps it (include/toolgate/state_store.h) and passes it to each
// evaluation, so a policy reload keeps every counter.
//
// Cost model: a call first goes through a C++ prefilter (tool-name globs as
// one RE2 set per profile, effect kinds as a bit mask, program basenames), so
// rules that cannot apply cost nothing and a call no rule applies to never
// touches Lua. A rule that errors or trips its budget is a deny naming the
// rule; its state is discarded (the next call gets a fresh one).
//
// Tearing a state down is not on the decision path: closing a state a rule
// filled up to its memory budget takes milliseconds, so a discarded state (and
// one that kept too much memory, to be collected and reused) goes to the rule
// set's reaper thread, started on first use. A few states at most wait there;
// past that the caller closes its own, so a stream of failing rules cannot
// pile up memory.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lua/http_probe.h"
#include "lua/rule_pack.h"
#include "toolgate/decision.h"
#include "toolgate/effects.h"
#include "toolgate/tool_call.h"

namespace toolgate {
class StateStore;  // include/toolgate/state_store.h
}

namespace toolgate::lua {

// One pack enabled in one profile.
struct EnabledPack {
  std::size_t pack = 0;                  // index into RuleSetSpec::packs
  nlohmann::json params = nlohmann::json::object();  // defaults merged with the policy's values
  std::optional<HttpGrant> http;         // the "http" capability, when granted
  RuleBudget budget;
  std::string json_path;                 // "/profiles/dev/rules/dev-guard"
};

struct RuleSetSpec {
  std::vector<PackDefinition> packs;
  std::map<std::string, std::vector<EnabledPack>> profiles;  // profile name -> packs in order
  std::string home;                                          // the policy's home, for tg.path
  // Declared profile name -> its phases (for tg.phase.set). Phase views
  // ("dev@writing") have their own entries in `profiles`.
  std::map<std::string, std::vector<std::string>, std::less<>> phases;
};

class RuleVm;  // engine/lua/rule_set.cc

class RuleSet {
 public:
  // Builds the plan and one worker state (which checks that every pack loads
  // the same way again and every parameter table converts). Returns nullptr
  // with *error filled when it cannot.
  static std::unique_ptr<RuleSet> Build(RuleSetSpec spec, PackError* error);
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Runs the profile's applicable rules against the call; appends one
  // Finding per ask/deny (and per failure) and raises d->verdict. Stops at
  // the first deny. state backs tg.state (nullptr: a rule that uses it
  // fails). Never throws.
  void Evaluate(const ToolCall& call, const Effects& effects, std::string_view profile, StateStore* state,
                Decision* d) const;

  bool HasRules(std::string_view profile) const;
  const std::vector<PackDefinition>& packs() const { return spec_.packs; }
  const RuleSetSpec& spec() const { return spec_; }

  // For tests and operators.
  std::size_t idle_states() const;
  std::size_t states_created() const;
  HttpProbe& http_probe() const { return http_; }

  struct RulePlan;
  struct ProfilePlan;

 private:
  RuleSet();
  std::unique_ptr<RuleVm> Acquire() const;
  std::unique_ptr<RuleVm> CreateVm() const;  // loads every pack into a new state; nullptr on failure
  void Release(std::unique_ptr<RuleVm> vm) const;
  // Hands a state to the reaper: closed, or (recycle) collected and pooled
  // again when that brings it under the retained-memory limit.
  void Retire(std::unique_ptr<RuleVm> vm, bool recycle) const;
  void ReapLoop() const;

  RuleSetSpec spec_;
  std::vector<std::unique_ptr<ProfilePlan>> plans_;
  std::map<std::string, std::size_t, std::less<>> plan_index_;

  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<RuleVm>> idle_;
  mutable std::size_t created_ = 0;
  mutable HttpProbe http_;

  mutable std::mutex reap_mu_;
  mutable std::condition_variable reap_cv_;
  mutable std::vector<std::pair<std::unique_ptr<RuleVm>, bool>> doomed_;  // (state, recycle)
  mutable bool reap_busy_ = false;  // the reaper holds a state it took from doomed_
  mutable bool stopping_ = false;
  mutable std::thread reaper_;      // joined by ~RuleSet
};

// Glob ('*' any run, '?' one byte; everything else literal) as an anchored
// RE2 expression, case-insensitive.
std::string GlobToRegex(std::string_view glob);

}  // namespace toolgate::lua
