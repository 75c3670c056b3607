// Engine: ToolCall in, Decision out. Holds a policy and the state store its
// rules count in (tg.state); Decide may be called from many threads at once.
#pragma once

#include <memory>
#include <string_view>

#include "toolgate/decision.h"
#include "toolgate/effects.h"
#include "toolgate/policy.h"
#include "toolgate/session.h"
#include "toolgate/tool_call.h"

namespace toolgate {

class StateStore;  // include/toolgate/state_store.h

class Engine {
 public:
  // state backs tg.state. Whoever reloads policies passes the same store to
  // each new Engine, so counters outlive a reload. nullptr: an in-memory
  // store of this engine's own, gone with it.
  explicit Engine(std::shared_ptr<const Policy> policy, std::shared_ptr<StateStore> state = nullptr);

  // Judges a parsed call. Never throws: an internal error becomes a deny with
  // Decision::error set.
  Decision Decide(const ToolCall& call) const;

  // The same, with a session's temporary grants (SessionRegistry::Snapshot):
  // a check that no policy grant decided (the profile default) and that one
  // of them allows becomes an allow whose finding names the temporary grant.
  // Explicit policy denies and asks, unknown effects and rules are never
  // widened. The Decision points into `grants`: keep the snapshot alive while
  // the Decision is used. grants may be null.
  Decision Decide(const ToolCall& call, const TemporaryGrants* grants) const;

  // Parses untrusted text (ParseToolCall, with the policy's input limits) and
  // judges it. A parse error is a deny whose error names the code and location.
  Decision DecideText(std::string_view text) const;

  const Policy& policy() const { return *policy_; }
  std::shared_ptr<const Policy> shared_policy() const { return policy_; }
  const std::shared_ptr<StateStore>& state() const { return state_; }

 private:
  std::shared_ptr<const Policy> policy_;
  std::shared_ptr<StateStore> state_;  // never null
  EffectsContext effects_context_;  // derived once from the policy's settings
  InputLimits input_limits_;
};

}  // namespace toolgate
