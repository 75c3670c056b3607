#include "grants/tool_pattern.h"

#include <doctest/doctest.h>

#include <algorithm>
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

TEST_CASE("name and prefix tables answer exactly as the patterns' regexes") {
  const std::vector<std::string> patterns = {"Bash", "Read", "mcp__github__*", "mcp__github__delete_*", "*",
                                             "mcp__*__delete_*", "{Read,Write}", "Web?etch", "x\\*", "y\\\\*",
                                             "Bash", "", "mcp__github__merge_pull_request"};
  const std::vector<std::string> names = {"Bash", "bash", "Read", "Write", "mcp__github__get_file",
                                          "mcp__github__delete_repo", "mcp__github__", "mcp__github_",
                                          "mcp__slack__delete_msg", "WebFetch", "x*", "x", "xy", "y\\",
                                          "y\\z", "y", "", "mcp__github__merge_pull_request", "B\xffsh"};
  ToolPatternSet set;
  RegexSet reference;
  std::vector<int> slots_of;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    Result<ToolPattern> p = ParseToolPattern(patterns[i]);
    if (!p.ok()) continue;  // "" is not a pattern
    set.Add(*p, static_cast<int>(i));
    std::string error;
    REQUIRE(reference.Add(p->regex, &error) >= 0);
    slots_of.push_back(static_cast<int>(i));
  }
  std::string error;
  REQUIRE(set.Compile(&error));
  REQUIRE(reference.Compile());
  for (const std::string& name : names) {
    INFO("name: ", name);
    std::vector<int> got, hits, want;
    REQUIRE(set.Match(name, &got) != SetOutcome::kError);
    REQUIRE(reference.Match(name, &hits) != SetOutcome::kError);
    for (const int h : hits) want.push_back(slots_of[static_cast<std::size_t>(h)]);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
  }
}
