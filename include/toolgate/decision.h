// The Decision value: what the engine answers for one ToolCall. Shims turn
// it into a client's wire format; the audit log records it; --explain prints it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/effects.h"
#include "toolgate/result.h"

namespace toolgate {

// Ordered by severity: combining verdicts takes the maximum.
enum class Verdict { kAllow = 0, kAsk = 1, kDeny = 2 };

const char* VerdictName(Verdict verdict);  // "allow" / "ask" / "deny"
std::optional<Verdict> VerdictFromName(std::string_view name);
inline Verdict MostSevere(Verdict a, Verdict b) { return a > b ? a : b; }

// Where a grant came from, so every decision can be traced to a policy line.
struct GrantInfo {
  std::string id;         // "developer.fs.write[0]"
  std::string profile;    // profile that declared it
  std::string file;       // policy file path
  std::string json_path;  // JSON pointer inside it: "/profiles/developer/fs/write/0"
  std::string pattern;    // the pattern text as written
  Verdict verdict = Verdict::kDeny;  // what a match means
};

// Where a Lua rule came from (engine/lua/): the pack file and the line of
// its rule{ ... } declaration. Owned by the Policy, like GrantInfo.
struct RuleInfo {
  std::string id;           // "dev-guard.force-push" (pack id + "." + rule id)
  std::string pack;         // "dev-guard"
  std::string file;         // pack file path as the policy resolved it
  int line = 0;             // line of the rule{ ... } declaration
  std::string description;
};

// What kind of thing a finding is about.
enum class Subject { kCall, kTool, kExec, kPathRead, kPathWrite, kHost, kUnknown, kRule };
const char* SubjectName(Subject subject);  // "call", "tool", "exec", "read", "write", "host", "unknown", "rule"

// One check the engine made: a subject, the verdict for it, and the grant that
// decided (nullptr when the profile's default decided). Findings with the final
// verdict are the decision's reasons.
struct Finding {
  Verdict verdict = Verdict::kDeny;
  Subject subject = Subject::kCall;
  std::string target;              // the tool name, program, path, host:port, or unknown's text
  const GrantInfo* grant = nullptr;  // owned by the Policy the decision was made under
  std::string note;                // extra context ("profile default", "unknown agent", an error);
                                   // for a rule: its reason, which is shown to the model
  const RuleInfo* rule = nullptr;  // set for Subject::kRule; owned by the Policy
  int line = 0;                    // for a rule: the pack line that produced the verdict (tg.deny's
                                   // caller, or where an error or budget trip happened); 0 = unknown
};

// Text a rule added for the model (tg.context): the rule's id and the line.
// It never changes the verdict; hook answers carry it as additional context.
struct ContextLine {
  std::string rule;  // "prompt-injection-guard.injection-markers"
  std::string text;  // valid UTF-8, bounded (kMaxContextBytes)
};
inline constexpr std::size_t kMaxContextBytes = 1000;  // one line's text
inline constexpr std::size_t kMaxContextLines = 8;     // per decision; more are dropped

// The context lines as one text for the model, one per line; "" when none.
std::string ContextText(const std::vector<ContextLine>& lines);

struct Decision {
  Verdict verdict = Verdict::kDeny;
  std::string agent_id;
  std::string profile;                   // "" when none could be chosen
  std::vector<Finding> findings;         // every check, in evaluation order
  std::optional<Error> error;            // set when the call could not be judged normally
  std::string policy_digest;             // "sha256:<hex>" of the policy bytes
  std::chrono::nanoseconds latency{0};
  Effects effects;
  // The task phase the call was judged in ("" = the profile itself); the
  // call's phase, which the session's owner fills from its registry.
  std::string phase;
  // A rule asked (tg.phase.set) for the session to move to this phase from
  // its next call on; the session's owner applies it. nullopt = no request.
  std::optional<std::string> requested_phase;
  // Keeps alive what findings point to beyond the policy: the session's
  // temporary grants, which a revoke may drop while the decision is in use.
  std::shared_ptr<const void> keepalive;
  // Learning mode (`--mode learn`, see ApplyLearnMode): what the policy
  // decided, set on every decision made in that mode; `verdict` is then what
  // the caller is answered. Empty under enforcement.
  std::optional<Verdict> policy_verdict;
  // Text rules added for the model (tg.context), in the order they added it.
  // Written as "context" (only when non-empty) by ToJson, the daemon's reply
  // and the decision log.
  std::vector<ContextLine> context;

  // The policy's verdict, whether or not it was enforced: what the reasons,
  // the messages and the decision log's "verdict" are about.
  Verdict PolicyVerdict() const { return policy_verdict.value_or(verdict); }

  // Findings whose verdict equals the decision's verdict.
  std::vector<const Finding*> Reasons() const;
  // Short text for the model: what was refused and why, without policy internals.
  std::string MessageForModel() const;
  // Longer text for a human: each deciding finding with its grant id, file and JSON path.
  std::string MessageForHuman() const;
};

nlohmann::json ToJson(const Decision& decision, bool include_all_findings);

// Learning mode: the engine decided as usual; the caller is allowed anyway,
// and the decision says so (policy_verdict keeps the policy's verdict, the
// decision log records "mode":"learn" and "enforced"). A call that could not
// be judged at all (Decision::error: unreadable input, an internal failure)
// stays denied: there is nothing in it to learn a grant from. Idempotent.
void ApplyLearnMode(Decision* decision);

// Undoes learning mode for a decision that must be denied after all (its
// record could not be written): the answer is the plain deny that follows.
inline void LeaveLearnMode(Decision* decision) { decision->policy_verdict.reset(); }

}  // namespace toolgate
