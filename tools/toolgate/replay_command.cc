// toolgate replay --policy NEW [LOGS]: re-judges every logged call under a new
// policy and lists what would change, grouped by the grant or rule that makes
// the difference — before the policy is rolled out.
#include <iostream>
#include <map>

#include "cli_io.h"
#include "commands.h"
#include "log_cli.h"
#include "sandbox/egress_policy.h"
#include "toolgate/engine.h"

namespace toolgate::cli {
namespace {

using nlohmann::json;

constexpr const char* kReplayUsage =
    "usage: toolgate replay --policy NEW [FILTERS] [--examples N] [--json] LOG...\n"
    "  re-evaluates every logged decision under NEW and lists the calls whose verdict would change,\n"
    "  grouped by transition and by the grant that decides (new) or used to decide (old).\n"
    "  exit: 0 nothing would change, 1 something would change, 64 usage, 66 unreadable log, 78 policy failed\n";

struct Example {
  std::uint64_t seq = 0;
  std::string agent;
  std::string tool;
  std::string call;
};

struct Group {
  std::uint64_t count = 0;
  std::vector<Example> examples;
};

std::string RulesOf(const Decision& d) {
  std::string out;
  for (const Finding* f : d.Reasons()) {
    std::string label = f->grant != nullptr  ? f->grant->id
                        : f->rule != nullptr ? f->rule->id + " (" + f->rule->file + ":" +
                                                   std::to_string(f->line > 0 ? f->line : f->rule->line) + ")"
                                             : std::string("profile default (") + SubjectName(f->subject) +
                                                   (f->note.empty() ? "" : ": " + f->note) + ")";
    if (out.find(label) != std::string::npos) continue;
    if (!out.empty()) out += ", ";
    out += label;
  }
  return out.empty() ? "profile default" : out;
}

std::string LoggedRules(const json& rec) {
  std::string out;
  if (rec.contains("rules") && rec["rules"].is_array()) {
    for (const json& r : rec["rules"]) {
      if (!r.is_string()) continue;
      if (!out.empty()) out += ", ";
      out += r.get<std::string>();
    }
  }
  return out.empty() ? "profile default" : out;
}

}  // namespace

int RunReplay(const std::vector<std::string>& argv) {
  std::vector<std::string> flags = FilterFlags();
  flags.push_back("--policy");
  flags.push_back("--examples");
  Args args(argv, flags, {"--json"});
  if (!args.ok()) {
    std::cerr << "toolgate replay: " << args.error() << "\n" << kReplayUsage;
    return kExitUsage;
  }
  const auto policy_path = args.value("--policy");
  if (!policy_path || args.positional().empty()) {
    std::cerr << "toolgate replay: needs --policy NEW and at least one log\n" << kReplayUsage;
    return kExitUsage;
  }
  std::string err;
  auto filter = FilterFromArgs(args, &err);
  if (!filter) {
    std::cerr << "toolgate replay: " << err << "\n" << kReplayUsage;
    return kExitUsage;
  }
  std::size_t max_examples = 3;
  if (auto e = args.value("--examples")) max_examples = std::strtoull(e->c_str(), nullptr, 10);
  auto policy = LoadPolicyOrDefault(*policy_path);
  if (!policy) return kExitPolicy;
  const Engine engine(policy);
  auto reader = audit::LogReader::Open(args.positional());
  if (!reader) {
    std::cerr << "toolgate replay: " << reader.error().message << "\n";
    return kExitLogNoInput;
  }

  std::uint64_t total = 0, unchanged = 0, changed = 0, unreplayable = 0, redacted = 0;
  std::map<std::string, std::uint64_t> logged_under;
  // (from, to) -> rule label -> group
  std::map<std::pair<std::string, std::string>, std::map<std::string, Group>> groups;
  reader->ForEach(
      [&](const json& rec, std::string_view, const audit::RecordLocation&) {
        if (!filter->Matches(rec)) return true;
        ++total;
        ++logged_under[audit::Str(rec, "policy_digest")];
        if (!rec.contains("call") || !rec["call"].is_object()) {
          ++unreplayable;  // input that never parsed: denied under any policy
          return true;
        }
        Result<ToolCall> call = ToolCallFromCanonical(rec["call"]);
        if (!call) {
          ++unreplayable;
          return true;
        }
        if (rec.contains("redactions")) ++redacted;
        // The egress proxy's connection records are judged as the proxy would judge them.
        const bool egress = call->tool_name == sandbox::kEgressToolName &&
                            audit::Str(rec, "agent", "via").rfind(sandbox::kEgressViaPrefix, 0) == 0;
        const Decision d = egress ? sandbox::ReplayEgressCall(*policy, *call) : engine.Decide(*call);
        const std::string from = audit::Str(rec, "verdict");
        const std::string to = VerdictName(d.verdict);
        if (from == to) {
          ++unchanged;
          return true;
        }
        ++changed;
        const auto old_v = VerdictFromName(from).value_or(Verdict::kDeny);
        // Stricter now: the new deciding grant explains it. Looser: the old one no longer decides.
        const std::string label = d.verdict > old_v ? RulesOf(d) : "was " + LoggedRules(rec);
        Group& g = groups[{from, to}][label];
        ++g.count;
        if (g.examples.size() < max_examples) {
          Example ex;
          if (rec.contains("seq") && rec["seq"].is_number_unsigned()) ex.seq = rec["seq"].get<std::uint64_t>();
          ex.agent = audit::Str(rec, "agent", "id");
          ex.tool = call->tool_name;
          ex.call = audit::CallSummary(rec, 120);
          g.examples.push_back(std::move(ex));
        }
        return true;
      },
      [&](std::string_view raw) { return filter->MatchesRaw(raw); });
  for (const std::string& w : reader->warnings()) std::cerr << "toolgate replay: warning: " << TerminalSafe(w) << "\n";

  if (args.has("--json")) {
    json out{{"policy", policy->source()},
             {"policy_digest", policy->digest()},
             {"total", total},
             {"unchanged", unchanged},
             {"changed", changed},
             {"unreplayable", unreplayable},
             {"redacted_inputs", redacted},
             {"logged_under", logged_under}};
    json gs = json::array();
    for (const auto& [fromto, by_rule] : groups) {
      for (const auto& [rule, g] : by_rule) {
        json ex = json::array();
        for (const Example& e : g.examples) {
          ex.push_back(json{{"seq", e.seq}, {"agent", e.agent}, {"tool", e.tool}, {"call", e.call}});
        }
        gs.push_back(json{{"from", fromto.first}, {"to", fromto.second}, {"rule", rule}, {"count", g.count},
                          {"examples", std::move(ex)}});
      }
    }
    out["changes"] = std::move(gs);
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return changed > 0 ? 1 : 0;
  }

  std::cout << "replayed " << total << " logged decision(s) under " << TerminalSafe(policy->source()) << " ("
            << policy->digest().substr(0, 23) << "…)\n";
  std::cout << "  logged under:";
  for (const auto& [digest, n] : logged_under) std::cout << " " << TerminalSafe(digest.substr(0, 23)) << "… (" << n << ")";
  std::cout << "\n  unchanged " << unchanged << ", changed " << changed << ", not replayable " << unreplayable
            << " (input never parsed)";
  if (redacted > 0) std::cout << ", " << redacted << " replayed with redacted input";
  std::cout << "\n";
  for (const auto& [fromto, by_rule] : groups) {
    std::uint64_t n = 0;
    for (const auto& [rule, g] : by_rule) n += g.count;
    std::cout << "\n" << fromto.first << " -> " << fromto.second << ": " << n << " call(s)\n";
    std::vector<std::pair<std::string, const Group*>> sorted;
    for (const auto& [rule, g] : by_rule) sorted.emplace_back(rule, &g);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second->count > b.second->count; });
    for (const auto& [rule, g] : sorted) {
      std::cout << "  " << g->count << "\t" << TerminalSafe(rule, 100) << "\n";
      for (const Example& e : g->examples) {
        std::cout << "      seq " << e.seq << "  " << TerminalSafe(e.agent, 24) << "  " << TerminalSafe(e.tool, 24)
                  << ": " << TerminalSafe(e.call, 100) << "\n";
      }
    }
  }
  if (changed == 0) std::cout << "\nno verdict would change\n";
  return changed > 0 ? 1 : 0;
}

}  // namespace toolgate::cli
