// toolgate demo: the embedded default policy judging the sample tool calls.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_io.h"
#include "commands.h"
#include "toolgate/engine.h"
#include "util/utf8.h"

namespace toolgate::cli {
namespace {

// One line saying what the call asks for, for people reading the demo.
std::string Summary(const ToolCall& call) {
  const nlohmann::json& in = call.tool_input;
  for (const char* key : {"command", "file_path", "url", "path", "query"}) {
    if (const auto it = in.find(key); it != in.end() && it->is_string()) return it->get<std::string>();
  }
  return in.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Clip(std::string s, std::size_t n) {
  s = SanitizeUtf8(s);
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

}  // namespace

int RunDemo(const std::vector<std::string>& argv) {
  Args args(argv, {"--policy", "--calls"}, {"--explain"});
  if (!args.ok() || !args.positional().empty()) {
    std::cerr << "usage: toolgate demo [--policy FILE] [--calls FILE.jsonl] [--explain]\n";
    return kExitUsage;
  }
  auto policy = LoadPolicyOrDefault(args.value("--policy").value_or(""));
  if (!policy) return kExitPolicy;
  std::string calls(embedded::kSampleCalls);
  if (const auto path = args.value("--calls")) {
    std::ostringstream buf;
    std::ifstream in(*path, std::ios::binary);
    if (!in) {
      std::cerr << "toolgate demo: cannot read " << *path << "\n";
      return kExitUsage;
    }
    buf << in.rdbuf();
    calls = buf.str();
  }
  const Engine engine(policy);
  std::cout << "toolgate demo: policy " << (args.value("--policy") ? policy->source() : "rules/examples/default.json (embedded)")
            << " " << policy->digest() << "\n\n";
  int counts[3] = {0, 0, 0};
  std::istringstream lines(calls);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++n;
    const Decision d = engine.DecideText(line);
    ++counts[static_cast<int>(d.verdict)];
    Result<ToolCall> call = ParseToolCall(line);
    std::string what = call ? (call->agent_id.empty() ? "(no agent)" : call->agent_id) + "  " + call->tool_name +
                                  "  " + Clip(Summary(*call), 90)
                            : std::string("(unparseable input)");
    std::string verdict = VerdictName(d.verdict);
    for (auto& c : verdict) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::cout << n << ". [" << verdict << "] " << what << "\n";
    std::cout << "   " << d.MessageForModel() << "\n";
    if (args.has("--explain")) {
      std::string human = d.MessageForHuman();
      std::cout << "   " << human << "\n";
    }
  }
  std::cout << "\n" << n << " calls: " << counts[0] << " allowed, " << counts[1] << " ask, " << counts[2]
            << " denied\n";
  return 0;
}

}  // namespace toolgate::cli
