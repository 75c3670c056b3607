#include "grants/tool_pattern.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace toolgate;

namespace {

bool Matches(std::string_view pattern, std::string_view tool) {
  Result<ToolPattern> p = ParseToolPattern(pattern);
  REQUIRE_MESSAGE(p.ok(), std::string(pattern));
  ToolPatternSet set;
  set.Add(*p, 1);
  std::string error;
  REQUIRE(set.Compile(&error));
  std::vector<int> slots;
  const SetOutcome outcome = set.Match(tool, &slots);
  REQUIRE(outcome != SetOutcome::kError);
  return outcome == SetOutcome::kMatch;
}

}  // namespace

TEST_CASE("tool globs cover the whole name, case-sensitively") {
  CHECK(Matches("Read", "Read"));
  CHECK_FALSE(Matches("Read", "read"));
  CHECK_FALSE(Matches("Read", "ReadFile"));
  CHECK_FALSE(Matches("Read", "XRead"));
  CHECK(Matches("mcp__github__*", "mcp__github__create_issue"));
  CHECK_FALSE(Matches("mcp__github__*", "mcp__gitlab__x"));
  CHECK(Matches("*", "anything/with/slashes"));
  CHECK(Matches("*", ""));
  CHECK(Matches("a/*", "a/b/c"));  // '/' is not special
  CHECK(Matches("Web???ch", "WebFetch"));
  CHECK(Matches("[RW]*", "Write"));
  CHECK_FALSE(Matches("[RW]*", "Edit"));
  CHECK(Matches("[!R]ead", "Lead"));
  CHECK(Matches("{Read,Write}", "Write"));
  CHECK(Matches("a.b", "a.b"));
  CHECK_FALSE(Matches("a.b", "axb"));
  CHECK(Matches("*", "line\nbreak"));
}

TEST_CASE("invalid tool patterns") {
  CHECK(ParseToolPattern("").error().code == ErrorCode::kPolicyPattern);
  CHECK(ParseToolPattern("[ab").error().code == ErrorCode::kPolicyPattern);
  CHECK(ParseToolPattern("{a").error().code == ErrorCode::kPolicyPattern);
  CHECK(ParseToolPattern("a}").error().code == ErrorCode::kPolicyPattern);
  CHECK(ParseToolPattern("a\tb").error().code == ErrorCode::kPolicyPattern);
}

TEST_CASE("tool pattern facts") {
  CHECK(ParseToolPattern("*")->matches_everything);
  CHECK(ParseToolPattern("**")->matches_everything);
  CHECK_FALSE(ParseToolPattern("mcp*")->matches_everything);
  CHECK(ParseToolPattern("Read")->literal);
  CHECK_FALSE(ParseToolPattern("Re?d")->literal);
}
