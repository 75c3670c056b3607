// toolgate bench: in-process decision latency over a set of calls.
// Figures, not assertions: this machine is shared and noisy, so the README
// quotes results from this command instead of timing anything in tests.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "effects/link_cache.h"
#include "lua/rule_set.h"
#include "toolgate/engine.h"

namespace toolgate::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double p50_us, p90_us, p99_us, max_us, per_second;
};

Stats Summarize(std::vector<double> ns, double total_seconds) {
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double q) { return ns[static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1))] / 1000.0; };
  return Stats{at(0.50), at(0.90), at(0.99), ns.back() / 1000.0, static_cast<double>(ns.size()) / total_seconds};
}

void Print(const char* label, const Stats& s) {
  std::cout << std::left << std::setw(34) << label << std::right << std::fixed << std::setprecision(2)
            << std::setw(9) << s.p50_us << std::setw(9) << s.p90_us << std::setw(9) << s.p99_us << std::setw(10)
            << s.max_us << std::setw(13) << std::setprecision(0) << s.per_second << "\n";
}

// Lines are either tool calls or corpus cases ({"policy": ..., "call": {...}});
// corpus cases for other policies are skipped.
std::vector<std::string> LoadCalls(const std::string& text, const std::string& policy_name) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.contains("call")) {
      if (j.contains("policy") && j["policy"].is_string() && j["policy"].get<std::string>() != policy_name) continue;
      if (line.find("@TMP@") != std::string::npos) continue;
      out.push_back(j["call"].dump());
    } else {
      out.push_back(line);
    }
  }
  return out;
}

// The 1-minute load average, or "" where /proc is not there: wall-clock
// figures from a busy machine are not comparable with an idle one's.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  if (!(in >> one)) return "";
  return one;
}

// The calls with the highest median Engine::Decide time: the ones that set
// p99 when every call counts equally. "above p99" is the share of all samples
// slower than the overall p99 that the call accounts for.
void PrintSlowest(const std::vector<double>& ns, double p99_us, const std::vector<std::string_view>& texts,
                  std::size_t count) {
  const std::size_t n = texts.size();
  std::vector<std::vector<double>> per_call(n);
  std::size_t above_total = 0;
  std::vector<std::size_t> above(n, 0);
  for (std::size_t i = 0; i < ns.size(); ++i) {
    per_call[i % n].push_back(ns[i]);
    if (ns[i] / 1000.0 > p99_us) {
      ++above[i % n];
      ++above_total;
    }
  }
  std::vector<std::pair<double, std::size_t>> medians;
  for (std::size_t c = 0; c < n; ++c) {
    std::vector<double>& v = per_call[c];
    if (v.empty()) continue;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    medians.emplace_back(v[v.size() / 2] / 1000.0, c);
  }
  std::sort(medians.begin(), medians.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  count = std::min(count, medians.size());
  std::cout << "\nslowest " << count << " of " << n << " calls by median Engine::Decide time (samples per call: "
            << (ns.size() + n - 1) / n << ")\n";
  std::cout << std::right << std::setw(6) << "#" << std::setw(11) << "median us" << std::setw(11) << "above p99"
            << "  call\n";
  for (std::size_t k = 0; k < count; ++k) {
    const auto [median, c] = medians[k];
    const double share = above_total == 0 ? 0.0 : 100.0 * static_cast<double>(above[c]) / static_cast<double>(above_total);
    std::string shown(texts[c]);
    if (shown.size() > 140) shown = shown.substr(0, 140) + "...";
    std::cout << std::setw(6) << c << std::fixed << std::setprecision(2) << std::setw(11) << median
              << std::setprecision(1) << std::setw(10) << share << "%  " << shown << "\n";
  }
}

}  // namespace

int RunBench(const std::vector<std::string>& argv) {
  Args args(argv, {"--policy", "--calls", "--iterations", "--calls-policy", "--slowest"}, {"--no-link-cache"});
  if (!args.ok() || !args.positional().empty()) {
    std::cerr << "usage: toolgate bench [--policy FILE] [--calls FILE.jsonl] [--calls-policy NAME] [--iterations N]\n"
                 "                      [--slowest N] [--no-link-cache]\n"
                 "  --calls-policy NAME  take the corpus cases written for policy NAME (default: the --policy file's\n"
                 "                       name), e.g. judge default.json's corpus under with-packs.json\n"
                 "  --slowest N          also list the N calls whose median Engine::Decide time is highest, with\n"
                 "                       their share of all samples above the overall p99\n"
                 "  --no-link-cache      look every path component up with the kernel on every decision, as a\n"
                 "                       one-shot process does, instead of keeping lookups between decisions\n"
                 "                       until inotify reports a change (what the daemon does)\n";
    return kExitUsage;
  }
  const std::string policy_path = args.value("--policy").value_or("");
  auto policy = LoadPolicyOrDefault(policy_path);
  if (!policy) return kExitPolicy;
  const std::string policy_name = args.value("--calls-policy").value_or(
      policy_path.empty() ? "default.json" : policy_path.substr(policy_path.find_last_of('/') + 1));

  std::string text(embedded::kSampleCalls);
  if (const auto path = args.value("--calls")) {
    std::ifstream in(*path, std::ios::binary);
    if (!in) {
      std::cerr << "toolgate bench: cannot read " << *path << "\n";
      return kExitUsage;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  const std::vector<std::string> texts = LoadCalls(text, policy_name);
  std::vector<ToolCall> calls;
  std::vector<std::string_view> call_texts;  // calls[i]'s text, for --slowest
  for (const std::string& t : texts) {
    if (auto c = ParseToolCall(t)) {
      calls.push_back(std::move(*c));
      call_texts.push_back(t);
    }
  }
  if (calls.empty()) {
    std::cerr << "toolgate bench: no calls to measure\n";
    return kExitUsage;
  }
  long iterations = 200000;
  if (const auto n = args.value("--iterations")) iterations = std::max(1L, std::strtol(n->c_str(), nullptr, 10));
  long slowest = 0;
  if (const auto n = args.value("--slowest")) {
    char* end = nullptr;
    slowest = std::strtol(n->c_str(), &end, 10);
    if (n->empty() || *end != '\0' || slowest < 1 || slowest > 100000) {
      std::cerr << "toolgate bench: --slowest needs a number from 1 to 100000\n";
      return kExitUsage;
    }
  }

  const bool link_cache = !args.has("--no-link-cache");
  effects::SetLinkCacheEnabled(link_cache);
  const Engine engine(policy);
  const bool with_rules = policy->rules() != nullptr;
  int verdicts[3] = {0, 0, 0};
  for (const ToolCall& c : calls) ++verdicts[static_cast<int>(engine.Decide(c).verdict)];

  // Sample i is call i % calls.size(): `samples` (when given) keeps them in
  // that order for the per-call breakdown of --slowest.
  const auto run = [&](auto&& decide_one, std::vector<double>* samples = nullptr) {
    std::vector<double> ns;
    ns.reserve(static_cast<std::size_t>(iterations));
    const auto begin = Clock::now();
    for (long i = 0; i < iterations; ++i) {
      const auto t0 = Clock::now();
      decide_one(static_cast<std::size_t>(i) % calls.size());
      ns.push_back(static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    if (samples != nullptr) *samples = ns;
    return Summarize(std::move(ns), seconds);
  };
  const std::string load = LoadAverage();  // before this process adds to it
  volatile int sink = 0;
  // Warm caches and the allocator before measuring.
  for (std::size_t i = 0; i < calls.size() * 10; ++i) sink = sink + static_cast<int>(engine.Decide(calls[i % calls.size()]).verdict);

  std::vector<double> decide_samples;
  const Stats decide = run([&](std::size_t i) { sink = sink + static_cast<int>(engine.Decide(calls[i]).verdict); },
                           slowest > 0 ? &decide_samples : nullptr);
  const Stats text_decide =
      run([&](std::size_t i) { sink = sink + static_cast<int>(engine.DecideText(texts[i]).verdict); });
  // The machine's own noise, timed the same way: a fixed arithmetic loop
  // (no allocation, no system call) of about a decision's length. Whatever
  // share of its samples lands far above its median is what interrupts and
  // the hypervisor add to any sample, decisions included.
  std::vector<double> reference_samples;
  const Stats reference = run(
      [&](std::size_t) {
        volatile double x = 1.0;
        for (int k = 0; k < 700; ++k) x = x * 1.0000001 + 1e-9;
      },
      &reference_samples);
  const double hit = static_cast<double>(std::count_if(reference_samples.begin(), reference_samples.end(),
                                                       [&](double ns) { return ns > reference.p50_us * 1000.0 + 5000.0; })) /
                     static_cast<double>(reference_samples.size());

  std::cout << "toolgate bench: " << calls.size() << " distinct calls (" << verdicts[0] << " allow, " << verdicts[1]
            << " ask, " << verdicts[2] << " deny), " << iterations << " decisions per mode, policy "
            << (policy_path.empty() ? "embedded default.json" : policy_path) << ", "
            << (with_rules ? std::to_string(policy->rules()->packs().size()) + " Lua rule packs (HTTP probes cached by the warm-up)"
                           : std::string("grants only"))
            << "\n";
  const effects::LinkCacheStats links = effects::GetLinkCacheStats();
  if (link_cache && links.active) {
    std::cout << "path lookups kept between decisions (--no-link-cache to look each up): " << links.hits
              << " from memory, " << links.misses << " from the kernel, " << links.flushes << " flushes, "
              << links.watches << " directories watched\n";
  } else {
    std::cout << "path lookups: every component from the kernel on every decision"
              << (link_cache ? " (the link cache could not be set up)" : "") << "\n";
  }
  if (!load.empty()) {
    std::cout << "load average " << load << " before measuring (figures from a busy machine are not comparable)\n";
  }
  std::cout << "\n";
  std::cout << std::left << std::setw(34) << "mode" << std::right << std::setw(9) << "p50 us" << std::setw(9)
            << "p90 us" << std::setw(9) << "p99 us" << std::setw(10) << "max us" << std::setw(13) << "decisions/s"
            << "\n";
  Print("Engine::Decide (parsed ToolCall)", decide);
  Print("Engine::DecideText (JSON + decide)", text_decide);
  Print("reference: fixed arithmetic loop", reference);
  std::cout << "  (machine noise: " << std::setprecision(3) << 100.0 * hit
            << " % of the reference samples took over 5 us more than its median)\n";
  if (slowest > 0) PrintSlowest(decide_samples, decide.p99_us, call_texts, static_cast<std::size_t>(slowest));
  if (with_rules) {
    std::cout << "\ntargets (with rule packs): p50 <= 10 us, p99 <= 50 us -> "
              << (decide.p50_us <= 10.0 && decide.p99_us <= 50.0 ? "met" : "NOT met") << "\n";
  } else {
    std::cout << "\ntargets (grants only): p50 <= 3 us, p99 <= 15 us -> "
              << (decide.p50_us <= 3.0 && decide.p99_us <= 15.0 ? "met" : "NOT met") << "\n";
  }
  return 0;
}

}  // namespace toolgate::cli
