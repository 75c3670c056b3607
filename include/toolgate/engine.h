// Engine: ToolCall in, Decision out. Stateless apart from the policy it holds;
// Decide may be called from many threads at once.
#pragma once

#include <memory>
#include <string_view>

#include "toolgate/decision.h"
#include "toolgate/effects.h"
#include "toolgate/policy.h"
#include "toolgate/tool_call.h"

namespace toolgate {

class Engine {
 public:
  explicit Engine(std::shared_ptr<const Policy> policy);

  // Judges a parsed call. Never throws: an internal error becomes a deny with
  // Decision::error set.
  Decision Decide(const ToolCall& call) const;

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
