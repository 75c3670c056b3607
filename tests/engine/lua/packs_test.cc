// Every rule pack's own test cases (rules/<pack>/tests.jsonl), through the
// same runner as `toolgate test`: the real engine, the real pack files, and
// the fixture HTTP server for the link checker.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "pack_test_runner.h"
#include "toolgate/policy.h"

namespace {

TEST_CASE("every shipped rule pack passes its own tests") {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  const toolgate::cli::PackTestReport report = toolgate::cli::RunPackTests(std::string(root) + "/rules", "");
  for (const std::string& e : report.errors) FAIL_CHECK(e);
  CHECK(report.packs == 8);
  CHECK(report.results.size() >= 100);
  for (const auto& r : report.results) {
    INFO(r.where << " " << r.name << ": " << r.detail);
    CHECK(r.passed);
  }
}

TEST_CASE("the example policy with every pack loads") {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  toolgate::PolicyLoadResult r = toolgate::LoadPolicyFile(std::string(root) + "/rules/examples/with-packs.json");
  for (const auto& d : r.diagnostics) INFO(toolgate::FormatDiagnostic(d));
  REQUIRE(r.ok());
  CHECK(r.policy->rules() != nullptr);
}

}  // namespace
