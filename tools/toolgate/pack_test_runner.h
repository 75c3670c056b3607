// The pack test runner behind `toolgate test [DIR]`: every rules/<pack>/
// folder with <pack>.lua and tests.jsonl is loaded into a policy of its own
// (a profile that allows everything, so only the pack decides) and each case
// is judged by the real engine.
//
// tests.jsonl, one case per line:
//   {"name": "force push", "call": {"tool_name": "Bash", "tool_input": {...}},
//    "expect": "deny", "rule": "dev-guard.raw-git",            (optional: the deciding rule)
//    "params": {...}, "capabilities": {"http": {...}}}          (optional)
// "@HTTP@" anywhere in a line is replaced by the base URL of a fixture HTTP
// server on 127.0.0.1 (fixture_http_server.h), started only when needed.
// Calls default to agent "test", session "test-<line>", cwd /home/dev/project;
// the policy's home is /home/dev.
#pragma once

#include <string>
#include <vector>

namespace toolgate::cli {

struct PackTestResult {
  std::string pack;
  std::string where;      // "rules/dev-guard/tests.jsonl:12"
  std::string name;
  bool passed = false;
  std::string detail;     // why it failed (expected vs got, with the engine's explanation)
};

struct PackTestReport {
  std::vector<PackTestResult> results;
  std::vector<std::string> errors;  // packs that could not be tested at all (load errors ...)
  int packs = 0;
  int passed() const;
  int failed() const;
};

// only_pack: "" = every pack under dir.
PackTestReport RunPackTests(const std::string& dir, const std::string& only_pack);

}  // namespace toolgate::cli
