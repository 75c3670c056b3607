#include "toolgate/decision.h"

#include <string>

#include "util/utf8.h"

namespace toolgate {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxTargetInMessage = 160;

std::string Shorten(std::string_view text) {
  if (text.size() <= kMaxTargetInMessage) return SanitizeUtf8(text);
  return SanitizeUtf8(text.substr(0, kMaxTargetInMessage)) + "…";
}

// "reading /etc/shadow", "running `rm -rf /`", ...
std::string DescribeSubject(const Finding& f) {
  const std::string target = Shorten(f.target);
  switch (f.subject) {
    case Subject::kTool: return "the tool " + target;
    case Subject::kExec: return "running `" + target + "`";
    case Subject::kPathRead: return "reading " + target;
    case Subject::kPathWrite: return "writing " + target;
    case Subject::kHost: return "contacting " + target;
    case Subject::kUnknown: return "an effect that cannot be determined before it runs (" + target + ")";
    case Subject::kCall: return target.empty() ? std::string("this call") : target;
    case Subject::kRule: return "rule " + target;
  }
  return target;
}

// Why, phrased for the model: enough to correct course, no policy internals.
std::string WhyForModel(const Finding& f) {
  if (f.verdict == Verdict::kAllow) return "granted";
  if (f.subject == Subject::kCall) return f.note;
  if (f.subject == Subject::kRule) {
    // The rule's own reason is written for the model (what to do instead).
    if (!f.note.empty()) {
      std::string_view note = std::string_view(f.note).substr(0, 600);
      while (!note.empty() && (note.back() == '.' || note.back() == ' ')) note.remove_suffix(1);  // the message adds its own
      return SanitizeUtf8(note);
    }
    return f.verdict == Verdict::kDeny ? "the rule refuses it" : "the rule requires confirmation";
  }
  if (f.subject == Subject::kUnknown) {
    return f.verdict == Verdict::kDeny ? "the policy refuses what it cannot check; rewrite the command without it"
                                       : "needs confirmation because it cannot be checked";
  }
  if (f.grant == nullptr) {
    return f.verdict == Verdict::kDeny ? "no grant allows it" : "needs confirmation (profile default)";
  }
  return f.verdict == Verdict::kDeny ? "the policy forbids it" : "the policy requires confirmation";
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllow: return "allow";
    case Verdict::kAsk: return "ask";
    case Verdict::kDeny: return "deny";
  }
  return "deny";
}

std::optional<Verdict> VerdictFromName(std::string_view name) {
  if (name == "allow") return Verdict::kAllow;
  if (name == "ask") return Verdict::kAsk;
  if (name == "deny") return Verdict::kDeny;
  return std::nullopt;
}

const char* SubjectName(Subject subject) {
  switch (subject) {
    case Subject::kCall: return "call";
    case Subject::kTool: return "tool";
    case Subject::kExec: return "exec";
    case Subject::kPathRead: return "read";
    case Subject::kPathWrite: return "write";
    case Subject::kHost: return "host";
    case Subject::kUnknown: return "unknown";
    case Subject::kRule: return "rule";
  }
  return "call";
}

std::vector<const Finding*> Decision::Reasons() const {
  std::vector<const Finding*> out;
  const Verdict decided = PolicyVerdict();
  for (const Finding& f : findings) {
    if (f.verdict == decided) out.push_back(&f);
  }
  return out;
}

std::string Decision::MessageForModel() const {
  const auto reasons = Reasons();
  std::string out;
  const bool learning = policy_verdict.has_value() && verdict == Verdict::kAllow;
  switch (PolicyVerdict()) {
    case Verdict::kAllow:
      if (learning) return "toolgate (learning mode): allowed; every effect of this call is granted.";
      // An ask that fell back to allow says so (include/toolgate/ask_fallback.h).
      for (const Finding& f : findings) {
        if (f.verdict == Verdict::kAllow && f.subject == Subject::kCall && !f.note.empty()) {
          return "toolgate: allowed: " + f.note + ".";
        }
      }
      return "toolgate: allowed; every effect of this call is granted.";
    case Verdict::kAsk:
      out = learning ? "toolgate (learning mode): allowed, but under enforcement this call would need confirmation: "
                     : "toolgate: this call needs confirmation: ";
      break;
    case Verdict::kDeny:
      out = learning ? "toolgate (learning mode): allowed, but under enforcement this call would be blocked: "
                     : "toolgate: this call was blocked by policy: ";
      break;
  }
  if (reasons.empty()) {
    out += error ? std::string("the call could not be judged (") + ErrorCodeName(error->code) + ")"
                 : std::string("no reason recorded");
  }
  constexpr std::size_t kMaxReasons = 5;
  for (std::size_t i = 0; i < reasons.size() && i < kMaxReasons; ++i) {
    if (i > 0) out += "; ";
    out += DescribeSubject(*reasons[i]) + ": " + WhyForModel(*reasons[i]);
  }
  if (reasons.size() > kMaxReasons) out += "; and " + std::to_string(reasons.size() - kMaxReasons) + " more";
  out += ".";
  return out;
}

std::string Decision::MessageForHuman() const {
  std::string out = std::string(VerdictName(PolicyVerdict())) +
                    (policy_verdict ? std::string(" [learning mode: answered ") + VerdictName(verdict) + "]" : "") +
                    " (agent " + (agent_id.empty() ? "-" : agent_id) +
                    ", profile " + (profile.empty() ? "-" : profile) + ")";
  if (error) {
    out += "\n  error[" + std::string(ErrorCodeName(error->code)) + "] " + SanitizeUtf8(error->message);
    if (!error->location.empty()) out += " at " + SanitizeUtf8(error->location);
  }
  for (const Finding* f : Reasons()) {
    out += "\n  " + std::string(VerdictName(f->verdict)) + " " + SubjectName(f->subject) + " " + Shorten(f->target);
    if (f->grant != nullptr) {
      out += " <- " + f->grant->id + " \"" + SanitizeUtf8(f->grant->pattern) + "\" (" + f->grant->file + ":" +
             f->grant->json_path + ")";
    } else if (f->rule != nullptr) {
      out += " <- rule " + f->rule->id + " (" + f->rule->file + ":" +
             std::to_string(f->line > 0 ? f->line : f->rule->line) + ")";
    } else {
      out += " <- profile default";
    }
    if (!f->note.empty()) out += " [" + SanitizeUtf8(f->note) + "]";
  }
  return out;
}

json ToJson(const Decision& decision, bool include_all_findings) {
  const auto finding_json = [](const Finding& f) {
    json g = nullptr;
    if (f.grant != nullptr) {
      g = json{{"id", f.grant->id},
               {"profile", f.grant->profile},
               {"file", f.grant->file},
               {"json_path", f.grant->json_path},
               {"pattern", SanitizeUtf8(f.grant->pattern)}};
    }
    json out{{"verdict", VerdictName(f.verdict)},
             {"subject", SubjectName(f.subject)},
             {"target", SanitizeUtf8(f.target)},
             {"grant", std::move(g)}};
    if (!f.note.empty()) out["note"] = SanitizeUtf8(f.note);
    if (f.rule != nullptr) {
      out["rule"] = json{{"id", f.rule->id},
                         {"pack", f.rule->pack},
                         {"file", f.rule->file},
                         {"line", f.rule->line},
                         {"verdict_line", f.line > 0 ? f.line : f.rule->line}};
    }
    return out;
  };
  json reasons = json::array();
  for (const Finding* f : decision.Reasons()) reasons.push_back(finding_json(*f));
  json out{{"verdict", VerdictName(decision.verdict)},
           {"agent_id", SanitizeUtf8(decision.agent_id)},
           {"profile", decision.profile},
           {"message", decision.MessageForModel()},
           {"reasons", std::move(reasons)},
           {"policy_digest", decision.policy_digest},
           {"latency_ns", decision.latency.count()}};
  if (decision.policy_verdict) {
    out["mode"] = "learn";
    out["policy_verdict"] = VerdictName(*decision.policy_verdict);
  }
  if (decision.error) {
    out["error"] = json{{"code", ErrorCodeName(decision.error->code)},
                        {"message", SanitizeUtf8(decision.error->message)},
                        {"location", SanitizeUtf8(decision.error->location)}};
  }
  if (!decision.context.empty()) {
    json lines = json::array();
    for (const ContextLine& c : decision.context) {
      lines.push_back(json{{"rule", SanitizeUtf8(c.rule)}, {"text", SanitizeUtf8(c.text)}});
    }
    out["context"] = std::move(lines);
  }
  if (include_all_findings) {
    json all = json::array();
    for (const Finding& f : decision.findings) all.push_back(finding_json(f));
    out["findings"] = std::move(all);
    out["effects"] = ToJson(decision.effects);
  }
  return out;
}

std::string ContextText(const std::vector<ContextLine>& lines) {
  std::string out;
  for (const ContextLine& c : lines) {
    if (!out.empty()) out += '\n';
    out += SanitizeUtf8(c.text);
  }
  return out;
}

void ApplyLearnMode(Decision* decision) {
  if (decision->policy_verdict) return;
  decision->policy_verdict = decision->verdict;
  if (!decision->error) decision->verdict = Verdict::kAllow;
}

}  // namespace toolgate
