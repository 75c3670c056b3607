// Shared helpers for the audit tests: a temporary directory, sample calls and
// decisions that need no policy, and line-level file surgery for tamper tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "toolgate/audit.h"
#include "tests/temp_dir.h"

namespace toolgate::audit::testing {

class TempDir : public toolgate::testing::TempDir {
 public:
  TempDir() : toolgate::testing::TempDir("tg-audit") {}
};

inline const GrantInfo& SampleGrant() {
  static const GrantInfo g{"base.fs.deny[0]", "base", "policy.json", "/profiles/base/fs/deny/0", "~/.ssh/**",
                           Verdict::kDeny};
  return g;
}

inline ToolCall SampleCall(const std::string& command, const std::string& agent = "agent-a") {
  ToolCall c;
  c.agent_id = agent;
  c.session_id = "s1";
  c.client = Client::kCanonical;
  c.tool_name = "Bash";
  c.tool_input = nlohmann::json{{"command", command}};
  c.cwd = "/home/dev";
  return c;
}

inline Decision SampleDecision(Verdict v, const std::string& target = "cat ~/.ssh/id_rsa") {
  Decision d;
  d.verdict = v;
  d.agent_id = "agent-a";
  d.profile = "base";
  d.policy_digest = "sha256:abc";
  d.latency = std::chrono::microseconds(42);
  Finding f;
  f.verdict = v;
  f.subject = Subject::kExec;
  f.target = target;
  f.grant = v == Verdict::kAllow ? nullptr : &SampleGrant();
  d.findings.push_back(f);
  return d;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

inline void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  WriteFile(path, out);
}

inline VerifyReport Verify(const std::vector<std::string>& paths, const std::string& pub = "",
                           bool allow_unsigned_tail = false) {
  VerifyOptions o;
  o.paths = paths;
  o.public_key_path = pub;
  o.allow_unsigned_tail = allow_unsigned_tail;
  return VerifyLog(o);
}

}  // namespace toolgate::audit::testing
