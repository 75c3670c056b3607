#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "policy/grant_suggestion.h"
#include "toolgate/engine.h"

using namespace toolgate;

namespace {

MissingGrant Need(Subject s, const std::string& target, std::uint64_t call, const std::string& profile = "dev") {
  return MissingGrant{profile, s, target, call};
}

const SuggestedGrant* Find(const std::vector<SuggestedGrant>& gs, const std::string& list, const std::string& pattern) {
  for (const SuggestedGrant& g : gs) {
    if (g.category + "." + g.list == list && g.pattern == pattern) return &g;
  }
  return nullptr;
}

SuggestOptions Home(const std::string& home) {
  SuggestOptions o;
  o.home = home;
  return o;
}

constexpr const char* kPolicy = R"({
  "toolgate_policy": 1,
  "settings": {"home": "/home/dev"},
  "agents": {"bot": {"profile": "dev"}},
  "profiles": {
    "dev": {
      "tools": {"allow": ["Bash"]},
      "exec": {"deny": ["sudo"]},
      "fs": {"deny": ["~/.ssh/**"]}
    }
  }
})";

ToolCall Bash(const std::string& command) {
  ToolCall c;
  c.agent_id = "bot";
  c.tool_name = "Bash";
  c.cwd = "/srv/app";
  c.tool_input = nlohmann::json{{"command", command}};
  return c;
}

}  // namespace

TEST_CASE("suggest: several files in one directory become one glob that lists them") {
  const auto gs = SuggestGrants({Need(Subject::kPathRead, "/srv/data/a.csv", 0),
                                 Need(Subject::kPathRead, "/srv/data/b.csv", 1),
                                 Need(Subject::kPathRead, "/srv/data/b.csv", 2)},
                                Home("/home/dev"));
  REQUIRE(gs.size() == 1);
  CHECK(gs[0].pattern == "/srv/data/*");
  CHECK(gs[0].list == "read");
  CHECK(gs[0].generalised);
  CHECK(gs[0].covers == std::vector<std::string>{"/srv/data/a.csv", "/srv/data/b.csv"});
  CHECK(gs[0].calls == 3);
}

TEST_CASE("suggest: files at different depths under a directory get dir/**") {
  const auto gs = SuggestGrants({Need(Subject::kPathWrite, "/srv/app/src/a.c", 0),
                                 Need(Subject::kPathWrite, "/srv/app/src/lib/b.c", 1)},
                                Home("/home/dev"));
  REQUIRE(gs.size() == 1);
  CHECK(gs[0].pattern == "/srv/app/src/**");
  CHECK(gs[0].list == "write");
}

TEST_CASE("suggest: a single file stays exact") {
  const auto gs = SuggestGrants({Need(Subject::kPathRead, "/srv/data/a.csv", 0)}, Home("/home/dev"));
  REQUIRE(gs.size() == 1);
  CHECK(gs[0].pattern == "/srv/data/a.csv");
  CHECK_FALSE(gs[0].generalised);
}

TEST_CASE("suggest: never a glob for /, a top-level directory, home or above home") {
  const auto gs = SuggestGrants({Need(Subject::kPathRead, "/etc/hosts", 0), Need(Subject::kPathRead, "/etc/passwd", 1),
                                 Need(Subject::kPathRead, "/home/dev/.bashrc", 2),
                                 Need(Subject::kPathRead, "/home/dev/.profile", 3),
                                 Need(Subject::kPathRead, "/home/other", 4), Need(Subject::kPathRead, "/vmlinuz", 5)},
                                Home("/home/dev"));
  CHECK(gs.size() == 6);
  for (const SuggestedGrant& g : gs) {
    CHECK_FALSE(g.generalised);
    CHECK(g.pattern.find('*') == std::string::npos);
  }
}

TEST_CASE("suggest: files under home's subdirectories may still be grouped there") {
  const auto gs = SuggestGrants({Need(Subject::kPathRead, "/home/dev/notes/a.md", 0),
                                 Need(Subject::kPathRead, "/home/dev/notes/b.md", 1)},
                                Home("/home/dev"));
  REQUIRE(gs.size() == 1);
  CHECK(gs[0].pattern == "/home/dev/notes/*");
}

TEST_CASE("suggest: grouping climbs at most max_levels_up") {
  SuggestOptions o = Home("/home/dev");
  o.max_levels_up = 1;
  const auto gs = SuggestGrants({Need(Subject::kPathRead, "/srv/a/x/1", 0), Need(Subject::kPathRead, "/srv/a/y/2", 1)}, o);
  CHECK(gs.size() == 2);  // /srv/a is two levels above each file
}

TEST_CASE("suggest: --exact keeps every path as it was seen") {
  SuggestOptions o = Home("/home/dev");
  o.generalise = false;
  const auto gs = SuggestGrants({Need(Subject::kPathRead, "/srv/data/a.csv", 0),
                                 Need(Subject::kPathRead, "/srv/data/b.csv", 1)},
                                o);
  CHECK(gs.size() == 2);
}

TEST_CASE("suggest: a read that a write suggestion covers needs nothing more") {
  const auto gs = SuggestGrants({Need(Subject::kPathWrite, "/srv/out/r.txt", 0), Need(Subject::kPathRead, "/srv/out/r.txt", 0),
                                 Need(Subject::kPathRead, "/srv/in/q.txt", 1)},
                                Home("/home/dev"));
  REQUIRE(gs.size() == 2);
  CHECK(Find(gs, "fs.write", "/srv/out/r.txt") != nullptr);
  CHECK(Find(gs, "fs.read", "/srv/in/q.txt") != nullptr);
}

TEST_CASE("suggest: tools, programs and hosts stay exact, per profile, counted per call") {
  const auto gs = SuggestGrants({Need(Subject::kTool, "WebFetch", 0), Need(Subject::kTool, "WebFetch", 1),
                                 Need(Subject::kExec, "jq", 1), Need(Subject::kHost, "api.example.com:443", 2),
                                 Need(Subject::kHost, "cdn.example.com:443", 2), Need(Subject::kExec, "jq", 3, "ci")},
                                Home("/home/dev"));
  CHECK(gs.size() == 5);
  const SuggestedGrant* fetch = Find(gs, "tools.allow", "WebFetch");
  REQUIRE(fetch != nullptr);
  CHECK(fetch->calls == 2);
  CHECK(Find(gs, "network.allow", "api.example.com:443") != nullptr);
  CHECK(Find(gs, "network.allow", "*.example.com:443") == nullptr);
  int jq = 0;
  for (const SuggestedGrant& g : gs) jq += g.pattern == "jq";
  CHECK(jq == 2);  // once for dev, once for ci
  const nlohmann::json f = SuggestionFragment(gs);
  CHECK(f["profiles"]["dev"]["tools"]["allow"] == nlohmann::json::array({"WebFetch"}));
  CHECK(f["profiles"]["ci"]["exec"]["allow"] == nlohmann::json::array({"jq"}));
}

TEST_CASE("suggest: from a real decision, explicit denies are reported and the rest is suggested and checked") {
  PolicyLoadResult r = LoadPolicyText(kPolicy, "p.json");
  REQUIRE(r.ok());
  const Engine engine(r.policy);
  const Decision d = engine.Decide(Bash("cat ~/.ssh/id_rsa /srv/data/a.csv /srv/data/b.csv x.json | /usr/bin/jq ."));
  REQUIRE(d.verdict == Verdict::kDeny);
  std::vector<MissingGrant> missing;
  std::vector<NotSuggestible> refused;
  CollectMissingGrants(d, 0, r.policy->settings(), &missing, &refused);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].what == "deny read /home/dev/.ssh/id_rsa");
  CHECK(refused[0].why.find("dev.fs.deny[0]") != std::string::npos);

  const auto gs = SuggestGrants(missing, Home("/home/dev"));
  CHECK(Find(gs, "exec.allow", "cat") != nullptr);
  CHECK(Find(gs, "exec.allow", "jq") != nullptr);  // /usr/bin is a trusted bin dir: the bare name
  CHECK(Find(gs, "fs.read", "/srv/data/*") != nullptr);
  CHECK(Find(gs, "fs.read", "/srv/app/x.json") != nullptr);

  Result<std::string> merged = MergeSuggestion(kPolicy, SuggestionFragment(gs));
  REQUIRE(merged);
  PolicyLoadResult after = LoadPolicyText(*merged, "p.json");
  REQUIRE(after.ok());
  const Engine with(after.policy);
  CHECK(with.Decide(Bash("cat /srv/data/a.csv /srv/data/b.csv x.json | /usr/bin/jq .")).verdict == Verdict::kAllow);
  CHECK(with.Decide(Bash("cat ~/.ssh/id_rsa")).verdict == Verdict::kDeny);  // the deny still stands
  CHECK(with.Decide(Bash("cat /srv/other")).verdict == Verdict::kDeny);     // nothing broader than seen
}

TEST_CASE("suggest: a rule's verdict and an unknown effect are not suggestible") {
  PolicyLoadResult r = LoadPolicyText(kPolicy, "p.json");
  REQUIRE(r.ok());
  const Engine engine(r.policy);
  const Decision d = engine.Decide(Bash("$CMD"));
  std::vector<MissingGrant> missing;
  std::vector<NotSuggestible> refused;
  CollectMissingGrants(d, 0, r.policy->settings(), &missing, &refused);
  CHECK(missing.empty());
  REQUIRE_FALSE(refused.empty());
  CHECK(refused[0].why.find("cannot be determined") != std::string::npos);
}

TEST_CASE("suggest: merging into a profile the policy lacks is an error, repeats are not added") {
  CHECK_FALSE(MergeSuggestion(kPolicy, nlohmann::json::parse(R"({"profiles":{"nope":{"tools":{"allow":["X"]}}}})")));
  CHECK_FALSE(MergeSuggestion("[1]", nlohmann::json::object()));
  Result<std::string> m =
      MergeSuggestion(kPolicy, nlohmann::json::parse(R"({"profiles":{"dev":{"tools":{"allow":["Bash","Read"]}}}})"));
  REQUIRE(m);
  const auto j = nlohmann::json::parse(*m);
  CHECK(j["profiles"]["dev"]["tools"]["allow"] == nlohmann::json::array({"Bash", "Read"}));
}
