#include "audit/log_stats.h"

#include <algorithm>
#include <cmath>

#include "audit/log_reader.h"
#include "audit/record.h"

namespace toolgate::audit {
namespace {

using nlohmann::json;

void Count(VerdictCounts* c, const std::string& verdict) {
  if (verdict == "allow") {
    ++c->allow;
  } else if (verdict == "ask") {
    ++c->ask;
  } else {
    ++c->deny;  // anything unexpected counts against, never for
  }
}

json CountsJson(const VerdictCounts& c) {
  return json{{"allow", c.allow}, {"ask", c.ask}, {"deny", c.deny}, {"total", c.total()},
              {"deny_rate", std::round(c.deny_rate() * 10000.0) / 10000.0}};
}

}  // namespace

std::string ReasonKey(const json& reason) {
  const std::string subject = Str(reason, "subject");
  if (auto r = reason.find("rule"); r != reason.end() && r->is_object()) return "rule " + Str(*r, "id");
  if (subject == "unknown") {
    // "dynamic program name: $X" -> the kind of unknown, not its text.
    const std::string target = Str(reason, "target");
    return "cannot be checked: " + target.substr(0, target.find(':'));
  }
  if (auto g = reason.find("grant"); g != reason.end() && g->is_object()) {
    return subject + " " + Str(*g, "pattern");
  }
  if (subject == "call") {
    const std::string note = Str(reason, "note");
    return note.empty() ? "call refused" : note;
  }
  return subject + ": no grant allows it";
}

void LogStats::Add(const json& rec) {
  const std::string verdict = Str(rec, "verdict");
  const std::string agent = Str(rec, "agent", "id");
  const std::string tool = rec.contains("call") && rec["call"].is_object() ? Str(rec["call"], "tool_name") : "";
  const std::string time = Str(rec, "time");
  ++total;
  Count(&verdicts, verdict);
  Count(&by_agent[agent.empty() ? "(none)" : agent], verdict);
  Count(&by_tool[tool.empty() ? "(unparsed)" : tool], verdict);
  if (first_time.empty() || time < first_time) first_time = time;
  if (time > last_time) last_time = time;
  if (rec.contains("call") && rec["call"].is_null()) ++unparsed_inputs;
  if (rec.contains("redactions")) ++redacted;
  if (rec.contains("error")) ++errors;
  if (Str(rec, "mode") == "learn") {
    ++learn;
    if (verdict != "allow" && Str(rec, "enforced") == "allow") ++learn_allowed_anyway;
  }

  std::int64_t latency = 0;
  if (auto it = rec.find("latency_ns"); it != rec.end() && it->is_number_integer()) {
    latency = it->get<std::int64_t>();
    latency_ns.push_back(latency);
  }
  std::string rule_list;
  if (auto it = rec.find("rules"); it != rec.end() && it->is_array()) {
    for (const json& r : *it) {
      if (!r.is_string()) continue;
      const std::string id = r.get<std::string>();
      Count(&by_rule[id], verdict);
      rule_latency_ns[id].push_back(latency);
      if (!rule_list.empty()) rule_list += ", ";
      rule_list += id;
    }
  }
  std::uint8_t v = verdict == "allow" ? 0 : verdict == "ask" ? 1 : 2;
  if (auto t = ParseTime(time)) timeline.emplace_back(*t, v);

  if (v == 2) {
    std::string reasons;
    if (auto it = rec.find("reasons"); it != rec.end() && it->is_array()) {
      for (const json& r : *it) {
        const std::string key = ReasonKey(r);
        ++deny_reasons[key];
        if (!reasons.empty()) reasons += "; ";
        reasons += Str(r, "subject") + " " + Str(r, "target");
        if (!Str(r, "note").empty()) reasons += " (" + Str(r, "note") + ")";
      }
      if (it->empty()) ++deny_reasons["(no reason recorded)"];
    }
    if (reasons.empty()) reasons = Str(rec, "message");
    if (rec.contains("error")) reasons += " [error " + Str(rec, "error", "code") + "]";
    DenialSummary d;
    if (auto it = rec.find("seq"); it != rec.end() && it->is_number_unsigned()) d.seq = it->get<std::uint64_t>();
    d.time = time;
    d.agent = agent;
    d.tool = tool;
    d.call = CallSummary(rec, 160);
    d.reasons = reasons.size() > 300 ? reasons.substr(0, 300) + "…" : reasons;
    d.rules = rule_list;
    latest_denials.push_back(std::move(d));
    if (latest_denials.size() > max_denials) latest_denials.pop_front();
  }
}

std::int64_t LogStats::Percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank.
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

json LogStats::ToJson(std::size_t top) {
  json out;
  out["records"] = total;
  out["first_time"] = first_time;
  out["last_time"] = last_time;
  out["verdicts"] = CountsJson(verdicts);
  out["deny_rate"] = CountsJson(verdicts)["deny_rate"];
  out["learn_mode"] = json{{"records", learn}, {"allowed_anyway", learn_allowed_anyway}};
  out["latency_us"] = json{{"p50", static_cast<double>(Percentile(latency_ns, 50)) / 1000.0},
                           {"p90", static_cast<double>(Percentile(latency_ns, 90)) / 1000.0},
                           {"p99", static_cast<double>(Percentile(latency_ns, 99)) / 1000.0},
                           {"max", latency_ns.empty() ? 0.0 : static_cast<double>(latency_ns.back()) / 1000.0}};
  const auto table = [&](const std::map<std::string, VerdictCounts>& m) {
    json a = json::array();
    for (auto it : TopEntries(m, top, [](const VerdictCounts& c) { return c.total(); })) {
      json row = CountsJson(it->second);
      row["name"] = it->first;
      a.push_back(std::move(row));
    }
    return a;
  };
  out["by_agent"] = table(by_agent);
  out["by_tool"] = table(by_tool);
  out["by_rule"] = table(by_rule);
  json reasons = json::array();
  for (auto it : TopEntries(deny_reasons, top, [](std::uint64_t c) { return c; })) {
    reasons.push_back(json{{"reason", it->first}, {"count", it->second}});
  }
  out["top_deny_reasons"] = std::move(reasons);
  out["unparsed_inputs"] = unparsed_inputs;
  out["redacted_records"] = redacted;
  out["error_decisions"] = errors;
  return out;
}

}  // namespace toolgate::audit
