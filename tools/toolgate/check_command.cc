// toolgate check: one call on stdin, its decision on stdout.
#include <iostream>

#include "cli_io.h"
#include "commands.h"
#include "log_cli.h"
#include "toolgate/ask_fallback.h"
#include "toolgate/engine.h"
#include "toolgate/state_store.h"
#include "util/utf8.h"

namespace toolgate::cli {
namespace {

void PrintExplanation(const Decision& d, std::ostream& out) {
  out << "verdict: " << VerdictName(d.verdict) << "\n";
  if (d.policy_verdict) out << "mode:    learn (the policy says " << VerdictName(*d.policy_verdict) << ")\n";
  out << "agent:   " << (d.agent_id.empty() ? "-" : SanitizeUtf8(d.agent_id)) << "  profile: "
      << (d.profile.empty() ? "-" : d.profile) << "\n";
  out << "policy:  " << d.policy_digest << "\n";
  out << "message: " << d.MessageForModel() << "\n";
  if (d.error) {
    out << "error:   " << ErrorCodeName(d.error->code) << ": " << SanitizeUtf8(d.error->message);
    if (!d.error->location.empty()) out << " at " << SanitizeUtf8(d.error->location);
    out << "\n";
  }
  out << "checks:\n";
  for (const Finding& f : d.findings) {
    out << "  " << VerdictName(f.verdict) << "\t" << SubjectName(f.subject) << "\t" << SanitizeUtf8(f.target);
    if (f.grant != nullptr) {
      out << "\n\t\t<- " << f.grant->id << " \"" << SanitizeUtf8(f.grant->pattern) << "\" (" << f.grant->file
          << ":" << f.grant->json_path << ")";
    } else if (f.rule != nullptr) {
      // The deciding rule with its pack file and line (the line that produced
      // the verdict when known, else the rule's declaration).
      out << "\n\t\t<- rule " << f.rule->id << " (" << f.rule->file << ":"
          << (f.line > 0 ? f.line : f.rule->line) << ")";
      if (f.line > 0 && f.line != f.rule->line) out << " declared at line " << f.rule->line;
    } else if (f.subject != Subject::kCall) {
      out << "\n\t\t<- profile default";
    }
    if (!f.note.empty()) out << "  [" << SanitizeUtf8(f.note) << "]";
    out << "\n";
  }
  out << "latency: " << static_cast<double>(d.latency.count()) / 1000.0 << " us\n";
}

}  // namespace

int RunCheck(const std::vector<std::string>& argv) {
  Args args(argv, {"--policy", "--agent", "--log", "--log-key", "--mode", "--state"}, {"--explain", "--json", "--headless"});
  const auto mode = args.value("--mode");
  if (!args.ok() || !args.positional().empty() || (mode && *mode != "learn" && *mode != "enforce")) {
    std::cerr << "toolgate check: " << (!args.ok() ? args.error() : args.positional().empty() ? "--mode takes enforce or learn" : "unexpected argument") << "\n"
              << "usage: toolgate check [--policy FILE] [--agent ID] [--log FILE [--log-key KEY]] [--state DIR]\n"
              << "                      [--headless] [--explain] [--json] [--mode enforce|learn] < call.json\n";
    return kExitUsage;
  }
  auto policy = LoadPolicyOrDefault(args.value("--policy").value_or(""));
  if (!policy) return kExitPolicy;
  // --state DIR: tg.state persists there (locked for this run, so concurrent
  // runs take turns); without it, counters live for this one call.
  std::shared_ptr<StateStore> state;
  if (const auto dir = args.value("--state")) {
    StateStoreOptions so;
    so.dir = *dir;
    Result<std::unique_ptr<StateStore>> opened = StateStore::Open(so);
    if (!opened) {
      std::cerr << "toolgate check: state: " << opened.error().location << ": " << opened.error().message << "\n";
      return kExitFailure;
    }
    for (const std::string& note : (*opened)->open_notes()) std::cerr << "toolgate check: state: " << note << "\n";
    state = std::move(*opened);
  }
  const Engine engine(policy, state);
  const std::string input = ReadStdinBounded(policy->settings().max_input_bytes);

  Decision d;
  if (const auto agent = args.value("--agent")) {
    // The caller vouches for the agent identity; it overrides whatever the input claims.
    Result<ToolCall> call = ParseToolCall(input, {policy->settings().max_input_bytes, policy->settings().max_json_depth});
    if (call) {
      call->agent_id = *agent;
      d = engine.Decide(*call);
    } else {
      d = engine.DecideText(input);  // re-parses only to produce the same located deny
      d.agent_id = *agent;
    }
  } else {
    d = engine.DecideText(input);
  }

  // --headless: no human can be asked, so an ask follows the policy's ask_fallback.
  if (args.has("--headless")) ApplyAskFallback(*policy, &d);
  const bool learn = mode && *mode == "learn";
  if (learn) {
    std::cerr << "toolgate check: LEARNING MODE: a call the policy would deny or ask is allowed\n";
    ApplyLearnMode(&d);
  }

  // The record is written before the answer; a decision that cannot be logged is a deny.
  if (const auto log = args.value("--log")) {
    RecordDecisionOrDeny(*log, args.value("--log-key").value_or(""), input, args.value("--agent"), *policy, &d);
  }

  if (args.has("--json")) {
    std::cout << ToJson(d, args.has("--explain")).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else if (args.has("--explain")) {
    PrintExplanation(d, std::cout);
  } else {
    std::cout << VerdictName(d.verdict) << ": " << d.MessageForModel() << "\n";
  }
  return ExitCodeFor(d.verdict);
}

}  // namespace toolgate::cli
