// Aggregates over decision records: what `toolgate log stats` prints and the
// HTML report draws.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace toolgate::audit {

struct VerdictCounts {
  std::uint64_t allow = 0;
  std::uint64_t ask = 0;
  std::uint64_t deny = 0;
  std::uint64_t total() const { return allow + ask + deny; }
  double deny_rate() const { return total() == 0 ? 0.0 : static_cast<double>(deny) / static_cast<double>(total()); }
};

struct DenialSummary {
  std::uint64_t seq = 0;
  std::string time;
  std::string agent;
  std::string tool;
  std::string call;     // CallSummary
  std::string reasons;  // the deny reasons, one line
  std::string rules;    // deciding rule ids, comma separated
};

class LogStats {
 public:
  void Add(const nlohmann::json& record);

  std::uint64_t total = 0;
  VerdictCounts verdicts;
  std::map<std::string, VerdictCounts> by_agent;
  std::map<std::string, VerdictCounts> by_tool;
  std::map<std::string, VerdictCounts> by_rule;       // deciding rule ids
  std::map<std::string, std::uint64_t> deny_reasons;  // "read ~/.ssh/**", "exec: no grant allows it"
  std::map<std::string, std::vector<std::int64_t>> rule_latency_ns;
  std::vector<std::int64_t> latency_ns;
  std::vector<std::pair<std::int64_t, std::uint8_t>> timeline;  // (time ns, verdict 0/1/2)
  std::deque<DenialSummary> latest_denials;                     // newest last
  std::uint64_t unparsed_inputs = 0;
  std::uint64_t redacted = 0;
  std::uint64_t errors = 0;  // decisions made because the call could not be judged normally
  // Learning mode ("mode":"learn"): its records, and those whose policy
  // verdict (deny or ask) was answered allow.
  std::uint64_t learn = 0;
  std::uint64_t learn_allowed_anyway = 0;
  std::string first_time;
  std::string last_time;
  std::size_t max_denials = 50;

  // p in [0, 100]; sorts v.
  static std::int64_t Percentile(std::vector<std::int64_t>& v, double p);
  nlohmann::json ToJson(std::size_t top = 20);
};

// The key a deny reason is counted under: the subject and the grant pattern, or the note.
std::string ReasonKey(const nlohmann::json& reason);

// Top n entries of a map by a count, descending, ties by name.
template <typename Map, typename Count>
std::vector<typename Map::const_iterator> TopEntries(const Map& m, std::size_t n, Count count) {
  std::vector<typename Map::const_iterator> out;
  for (auto it = m.begin(); it != m.end(); ++it) out.push_back(it);
  std::stable_sort(out.begin(), out.end(), [&](auto a, auto b) { return count(a->second) > count(b->second); });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace toolgate::audit
