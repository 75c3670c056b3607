// Engine: ToolCall in, Decision out. Stateless apart from the policy it holds;
// Decide may be called from many threads at once.
#pragma once

#include <memory>
#include <string_view>

#include "toolgate/decision.h"
#include "toolgate/effects.h"
#include "toolgate/policy.h"
#include "toolgate/session.h"
#include "toolgate/tool_call.h"

namespace toolgate {

class Engine {
 public:
  explicit Engine(std::shared_ptr<const Policy> policy);

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

 private:
  std::shared_ptr<const Policy> policy_;
  EffectsContext effects_context_;  // derived once from the policy's settings
  InputLimits input_limits_;
};

}  // namespace toolgate
