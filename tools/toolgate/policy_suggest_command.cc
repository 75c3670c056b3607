// toolgate policy suggest: the grants that would have allowed the calls a
// decision log shows denied or asked about, as a reviewable policy fragment.
// It never edits the policy: --write-merged writes a separate file.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli_io.h"
#include "commands.h"
#include "log_cli.h"
#include "policy/grant_suggestion.h"
#include "policy/policy_file.h"
#include "sandbox/egress_policy.h"
#include "toolgate/engine.h"

namespace toolgate::cli {
namespace {

using nlohmann::json;

constexpr const char* kSuggestUsage =
    "usage: toolgate policy suggest [--policy FILE] [FILTERS] [--exact] [--json]\n"
    "                               [--fragment-out FILE] [--write-merged FILE] LOG...\n"
    "  re-judges every logged call the policy denied or asked about (learning-mode records included)\n"
    "  under FILE (default: the embedded policy) and proposes the grants that would allow them, per\n"
    "  profile, with what each covers; then checks them by judging the same calls again with the\n"
    "  grants added. --exact: no directory globs. The policy file is never changed.\n"
    "  FILTERS: --agent ID --session ID --tool NAME --rule ID --verdict ... --since T --until T --mode M\n"
    "  exit: 0 done, 64 usage, 66 unreadable log, 78 policy failed to load\n";

struct Observed {
  ToolCall call;
  bool egress = false;
  std::string summary;
};

Decision Judge(const Engine& engine, const Policy& policy, const Observed& o) {
  return o.egress ? sandbox::ReplayEgressCall(policy, o.call) : engine.Decide(o.call);
}

std::string JoinShort(const std::vector<std::string>& items, std::size_t max_items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max_items; ++i) out += (i > 0 ? ", " : "") + items[i];
  if (items.size() > max_items) out += ", … (" + std::to_string(items.size()) + " in all)";
  return out;
}

int Usage(const std::string& why) {
  std::cerr << "toolgate policy suggest: " << why << "\n" << kSuggestUsage;
  return kExitUsage;
}

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::cerr << "toolgate policy suggest: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

}  // namespace

int RunPolicySuggest(const std::vector<std::string>& argv) {
  std::vector<std::string> flags = FilterFlags();
  for (const char* f : {"--policy", "--fragment-out", "--write-merged"}) flags.push_back(f);
  Args args(argv, flags, {"--exact", "--json"});
  if (!args.ok()) return Usage(args.error());
  if (args.positional().empty()) return Usage("needs at least one log file or directory");
  std::string err;
  auto filter = FilterFromArgs(args, &err);
  if (!filter) return Usage(err);

  const std::string policy_path = args.value("--policy").value_or("");
  std::string text;
  if (policy_path.empty()) {
    text = std::string(embedded::kDefaultPolicy);
  } else {
    PolicyDiagnostic d;
    if (!ReadPolicyFile(policy_path, &text, &d)) {
      std::cerr << FormatDiagnostic(d) << "\n";
      return kExitPolicy;
    }
  }
  const std::string source = policy_path.empty() ? "rules/examples/default.json" : policy_path;
  PolicyLoadResult loaded = LoadPolicyText(text, source);
  for (const PolicyDiagnostic& d : loaded.diagnostics) std::cerr << FormatDiagnostic(d) << "\n";
  if (!loaded.ok()) return kExitPolicy;
  const std::shared_ptr<const Policy> policy = loaded.policy;
  const Engine engine(policy);

  auto reader = audit::LogReader::Open(args.positional());
  if (!reader) {
    std::cerr << "toolgate policy suggest: " << reader.error().message << "\n";
    return kExitLogNoInput;
  }

  // Calls the log shows denied or asked about that the policy still does not allow.
  std::vector<Observed> observed;
  std::vector<MissingGrant> missing;
  std::vector<NotSuggestible> refused;
  std::uint64_t records = 0, already_allowed = 0, unreplayable = 0, learn_records = 0;
  reader->ForEach(
      [&](const json& rec, std::string_view, const audit::RecordLocation&) {
        if (!filter->Matches(rec)) return true;
        ++records;
        if (audit::Str(rec, "verdict") == "allow") return true;
        if (audit::Str(rec, "mode") == "learn") ++learn_records;
        if (!rec.contains("call") || !rec["call"].is_object()) {
          ++unreplayable;
          return true;
        }
        Result<ToolCall> call = ToolCallFromCanonical(rec["call"]);
        if (!call) {
          ++unreplayable;
          return true;
        }
        Observed o;
        o.egress = call->tool_name == sandbox::kEgressToolName &&
                   audit::Str(rec, "agent", "via").rfind(sandbox::kEgressViaPrefix, 0) == 0;
        o.call = std::move(*call);
        o.summary = audit::CallSummary(rec, 100);
        const Decision d = Judge(engine, *policy, o);
        if (d.verdict == Verdict::kAllow) {
          ++already_allowed;
          return true;
        }
        CollectMissingGrants(d, observed.size(), policy->settings(), &missing, &refused);
        observed.push_back(std::move(o));
        return true;
      },
      [&](std::string_view raw) { return filter->MatchesRaw(raw); });
  for (const std::string& w : reader->warnings()) {
    std::cerr << "toolgate policy suggest: warning: " << TerminalSafe(w) << "\n";
  }

  SuggestOptions so;
  so.home = policy->settings().home;
  so.generalise = !args.has("--exact");
  const std::vector<SuggestedGrant> grants = SuggestGrants(missing, so);
  const json fragment = SuggestionFragment(grants);

  // The check: the same calls, judged with the grants added.
  std::uint64_t allowed_after = 0;
  std::map<std::string, std::uint64_t> still;  // why a call is still not allowed -> count
  std::string merged_text;
  if (!grants.empty()) {
    Result<std::string> merged = MergeSuggestion(text, fragment);
    if (!merged) {
      std::cerr << "toolgate policy suggest: cannot merge the suggestion: " << merged.error().message << " at "
                << merged.error().location << "\n";
      return kExitFailure;
    }
    merged_text = std::move(*merged);
    PolicyLoadResult after = LoadPolicyText(merged_text, source);
    if (!after.ok()) {
      for (const PolicyDiagnostic& d : after.diagnostics) std::cerr << FormatDiagnostic(d) << "\n";
      std::cerr << "toolgate policy suggest: the policy with the suggestion does not load; not suggesting it\n";
      return kExitFailure;
    }
    const Engine with(after.policy);
    for (const Observed& o : observed) {
      const Decision d = Judge(with, *after.policy, o);
      if (d.verdict == Verdict::kAllow) {
        ++allowed_after;
        continue;
      }
      const auto reasons = d.Reasons();
      ++still[reasons.empty() ? std::string(VerdictName(d.verdict))
                              : std::string(VerdictName(d.verdict)) + " " + SubjectName(reasons[0]->subject) + " " +
                                    reasons[0]->target];
    }
  } else {
    for (const Observed& o : observed) {
      const Decision d = Judge(engine, *policy, o);
      const auto reasons = d.Reasons();
      ++still[reasons.empty() ? std::string(VerdictName(d.verdict))
                              : std::string(VerdictName(d.verdict)) + " " + SubjectName(reasons[0]->subject) + " " +
                                    reasons[0]->target];
    }
  }

  if (const auto out = args.value("--fragment-out")) {
    if (!WriteText(*out, fragment.dump(2) + "\n")) return kExitFailure;
  }
  if (const auto out = args.value("--write-merged")) {
    std::error_code ec;
    if (!policy_path.empty() && std::filesystem::equivalent(*out, policy_path, ec)) {
      return Usage("--write-merged must name a new file, not the policy itself");
    }
    if (!WriteText(*out, merged_text.empty() ? text : merged_text)) return kExitFailure;
  }

  if (args.has("--json")) {
    json gs = json::array();
    for (const SuggestedGrant& g : grants) {
      gs.push_back(json{{"profile", g.profile},
                        {"category", g.category},
                        {"list", g.list},
                        {"pattern", g.pattern},
                        {"covers", g.covers},
                        {"calls", g.calls},
                        {"generalised", g.generalised}});
    }
    json ns = json::array();
    for (const NotSuggestible& n : refused) {
      ns.push_back(json{{"profile", n.profile}, {"what", n.what}, {"why", n.why}, {"call", observed[n.call].summary}});
    }
    json still_j = json::object();
    for (const auto& [why, n] : still) still_j[why] = n;
    json out{{"policy", source},
             {"policy_digest", policy->digest()},
             {"records", records},
             {"observed", observed.size()},
             {"learn_records", learn_records},
             {"already_allowed", already_allowed},
             {"unreplayable", unreplayable},
             {"suggestions", std::move(gs)},
             {"not_suggestible", std::move(ns)},
             {"fragment", fragment},
             {"check", json{{"calls", observed.size()},
                            {"allowed_with_suggestion", allowed_after},
                            {"still_not_allowed", std::move(still_j)}}}};
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }

  std::cout << "read " << records << " decision(s); " << observed.size()
            << " denied or asked about that " << TerminalSafe(source) << " still does not allow";
  if (already_allowed > 0) std::cout << " (" << already_allowed << " more it now allows)";
  if (unreplayable > 0) std::cout << "; " << unreplayable << " not replayable (input never parsed)";
  if (learn_records > 0) std::cout << "; " << learn_records << " from learning mode";
  std::cout << "\n";
  if (grants.empty()) {
    std::cout << "\nno grant to suggest\n";
  } else {
    std::cout << "\nsuggested grants (review each one; nothing was changed):\n";
    std::printf("%-14s %-14s %-40s %6s  %s\n", "PROFILE", "LIST", "PATTERN", "CALLS", "COVERS");
    for (const SuggestedGrant& g : grants) {
      const std::string list = g.category + "." + g.list;
      std::printf("%-14s %-14s %-40s %6llu  %s%s\n", TerminalSafe(g.profile, 14).c_str(), list.c_str(),
                  TerminalSafe(g.pattern, 40).c_str(), static_cast<unsigned long long>(g.calls),
                  g.generalised ? "GLOB over " : "", TerminalSafe(JoinShort(g.covers, 4), 200).c_str());
    }
  }
  if (!refused.empty()) {
    std::cout << "\nnot suggested (" << refused.size() << "): an allow grant cannot or should not change these\n";
    std::map<std::string, std::uint64_t> grouped;
    for (const NotSuggestible& n : refused) ++grouped[n.profile + ": " + n.what + " — " + n.why];
    for (const auto& [line, n] : grouped) std::cout << "  " << n << "x  " << TerminalSafe(line, 200) << "\n";
  }
  std::cout << "\ncheck: with these grants " << allowed_after << " of " << observed.size()
            << " call(s) would be allowed";
  if (!still.empty()) {
    std::uint64_t n = 0;
    for (const auto& [why, c] : still) n += c;
    std::cout << "; " << n << " still would not:";
    for (const auto& [why, c] : still) std::cout << "\n  " << c << "x  " << TerminalSafe(why, 160);
  }
  std::cout << "\n";
  if (!grants.empty()) {
    std::cout << "\nfragment (merge each profile's lists into the policy):\n" << fragment.dump(2) << "\n";
  }
  return 0;
}

}  // namespace toolgate::cli
