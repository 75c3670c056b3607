// SessionRegistry: phases, temporary grants (add, use, expiry with an
// injected clock, revoke, bounds), and phase switches racing with decisions.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "toolgate/engine.h"
#include "toolgate/policy.h"
#include "toolgate/session.h"

using namespace toolgate;

namespace {

constexpr const char* kPolicy = R"({
  "toolgate_policy": 1,
  "settings": {"home": "/home/w", "resolve_symlinks": false},
  "default_profile": "writer",
  "profiles": {
    "writer": {
      "default": "deny",
      "tools": {"allow": ["Read", "Write", "WebFetch", "Bash"]},
      "fs": {"read": ["/srv/**"], "deny": ["/srv/secret/**"]},
      "exec": {"allow": ["ls"]},
      "phases": {"writing": {"fs": {"write": ["/srv/blog/**"]}}, "research": {}}
    }
  }
})";

std::shared_ptr<const Policy> Load() {
  auto r = LoadPolicyText(kPolicy, "sessions.json");
  for (const auto& d : r.diagnostics) INFO(FormatDiagnostic(d));
  REQUIRE(r.ok());
  return r.policy;
}

struct FakeClock {
  WallClock::time_point now = WallClock::time_point(std::chrono::seconds(1'700'000'000));
  SessionRegistry::Clock fn() {
    return [this] { return now; };
  }
};

ToolCall Write(std::string path, std::string session = "s1") {
  ToolCall c;
  c.session_id = std::move(session);
  c.tool_name = "Write";
  c.tool_input = {{"file_path", std::move(path)}, {"content", "x"}};
  c.cwd = "/srv";
  return c;
}

Decision DecideIn(const Engine& e, SessionRegistry& r, ToolCall c) {
  SessionSnapshot s = r.Snapshot(c.session_id);
  c.phase = s.phase;
  return e.Decide(c, s.grants.get());
}

}  // namespace

TEST_CASE("registry: a phase set for a session applies to its next call, and only to it") {
  Engine e(Load());
  SessionRegistry r;
  CHECK(DecideIn(e, r, Write("/srv/blog/a.md")).verdict == Verdict::kDeny);
  CHECK(!r.SetPhase("s1", "writing", "test"));
  CHECK(r.Phase("s1") == "writing");
  const Decision d = DecideIn(e, r, Write("/srv/blog/a.md"));
  CHECK(d.verdict == Verdict::kAllow);
  CHECK(d.phase == "writing");
  CHECK(DecideIn(e, r, Write("/srv/blog/a.md", "s2")).verdict == Verdict::kDeny);
  CHECK(!r.SetPhase("s1", "", "test"));
  CHECK(DecideIn(e, r, Write("/srv/blog/a.md")).verdict == Verdict::kDeny);
  auto events = r.TakeEvents();
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == SessionEvent::Kind::kPhaseSet);
  CHECK(events[1].previous_phase == "writing");
  CHECK(r.SetPhase("s1", "bad phase", "test").has_value());
  CHECK(r.SetPhase("", "writing", "test").has_value());
}

TEST_CASE("registry: ValidatePhase checks names against the policy") {
  auto p = Load();
  CHECK(!ValidatePhase(*p, "", "writing"));
  CHECK(!ValidatePhase(*p, "anyone", "research"));
  CHECK(!ValidatePhase(*p, "", ""));
  CHECK(ValidatePhase(*p, "", "chat").has_value());
  CHECK(ValidatePhase(*p, "anyone", "chat")->code == ErrorCode::kPolicyReference);
}

TEST_CASE("registry: a temporary grant widens the default, is named in the finding, and expires") {
  Engine e(Load());
  FakeClock clock;
  SessionRegistry r(clock.fn());
  auto g = r.AddGrant("s1", "", "fs.write:/srv/drafts/**", std::chrono::minutes(15), e.policy(), "test");
  REQUIRE(g.ok());
  CHECK(g->id.rfind("tg-", 0) == 0);
  CHECK(g->expires - g->created == std::chrono::minutes(15));

  Decision d = DecideIn(e, r, Write("/srv/drafts/a.md"));
  CHECK(d.verdict == Verdict::kAllow);
  bool named = false;
  for (const Finding& f : d.findings) {
    if (f.grant != nullptr && f.grant->id == "temporary:" + g->id) named = true;
  }
  CHECK(named);
  // Other sessions do not get it.
  CHECK(DecideIn(e, r, Write("/srv/drafts/a.md", "s2")).verdict == Verdict::kDeny);
  // An explicit policy deny still wins.
  CHECK(r.AddGrant("s1", "", "fs.write:/srv/secret/**", std::chrono::minutes(5), e.policy(), "test").ok());
  CHECK(DecideIn(e, r, Write("/srv/secret/k")).verdict == Verdict::kDeny);
  CHECK(r.Grants("s1").at(0).uses == 1);

  clock.now += std::chrono::minutes(15);
  CHECK(DecideIn(e, r, Write("/srv/drafts/a.md")).verdict == Verdict::kDeny);
  auto events = r.TakeEvents();
  int created = 0, expired = 0;
  for (const auto& ev : events) {
    created += ev.kind == SessionEvent::Kind::kGrantCreated;
    if (ev.kind == SessionEvent::Kind::kGrantExpired) {
      ++expired;
      if (ev.grant.id == g->id) CHECK(ev.grant.uses == 1);
    }
  }
  CHECK(created == 2);
  CHECK(expired == 2);  // both lapsed: the 15-minute one and the 5-minute one
  CHECK(r.Grants("s1").empty());
}

TEST_CASE("registry: grants for one agent, every kind, revoke, and refusals") {
  Engine e(Load());
  FakeClock clock;
  SessionRegistry r(clock.fn(), SessionLimits{4, 2, std::chrono::hours(24), 100});
  auto g = r.AddGrant("s1", "alice", "exec:git status", std::chrono::seconds(60), e.policy(), "test");
  REQUIRE(g.ok());
  ToolCall bash;
  bash.session_id = "s1";
  bash.tool_name = "Bash";
  bash.tool_input = {{"command", "git status"}};
  bash.cwd = "/srv";
  bash.agent_id = "alice";
  CHECK(DecideIn(e, r, bash).verdict == Verdict::kAllow);
  bash.agent_id = "bob";
  CHECK(DecideIn(e, r, bash).verdict == Verdict::kDeny);
  CHECK(r.Revoke("s1", g->id, "test"));
  CHECK(!r.Revoke("s1", g->id, "test"));
  bash.agent_id = "alice";
  CHECK(DecideIn(e, r, bash).verdict == Verdict::kDeny);

  CHECK(r.AddGrant("s1", "", "tool:Edit", std::chrono::seconds(60), e.policy(), "t").ok());
  CHECK(r.AddGrant("s1", "", "host:api.bank.example:443", std::chrono::seconds(60), e.policy(), "t").ok());
  // Limits: 2 grants per session, 24 h, syntax.
  CHECK(!r.AddGrant("s1", "", "tool:X", std::chrono::seconds(60), e.policy(), "t").ok());
  CHECK(!r.AddGrant("s2", "", "tool:X", std::chrono::hours(25), e.policy(), "t").ok());
  CHECK(!r.AddGrant("s2", "", "tool:X", std::chrono::seconds(0), e.policy(), "t").ok());
  CHECK(r.AddGrant("s2", "", "disk:/x", std::chrono::seconds(60), e.policy(), "t").error().code ==
        ErrorCode::kPolicySchema);
  CHECK(r.AddGrant("s2", "", "fs.write:", std::chrono::seconds(60), e.policy(), "t").error().code ==
        ErrorCode::kPolicySchema);
  CHECK(r.AddGrant("s2", "", "fs.write:relative[", std::chrono::seconds(60), e.policy(), "t").error().code ==
        ErrorCode::kPolicyPattern);
}

TEST_CASE("registry: durations") {
  CHECK(ParseDuration("15m") == std::chrono::seconds(900));
  CHECK(ParseDuration("1h30m") == std::chrono::seconds(5400));
  CHECK(ParseDuration("90") == std::chrono::seconds(90));
  CHECK(!ParseDuration(""));
  CHECK(!ParseDuration("1h30"));
  CHECK(!ParseDuration("-5m"));
  CHECK(!ParseDuration("5y"));
}

// Phase switches racing with decisions: every decision is made wholly in one
// phase. In "writing" the blog write is allowed, in "research" denied; a
// decision whose recorded phase disagrees with its verdict saw a torn view.
TEST_CASE("registry: phase switches racing with calls give each call one consistent phase") {
  Engine e(Load());
  SessionRegistry r;
  REQUIRE(!r.SetPhase("s1", "research", "test"));
  std::atomic<bool> stop{false};
  std::atomic<int> inconsistent{0}, writing{0}, research{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::thread switcher([&] {
    for (int i = 0; i < 20000 && !stop.load() && std::chrono::steady_clock::now() < deadline; ++i) {
      (void)r.SetPhase("s1", i % 2 ? "writing" : "research", "test");
      if (i % 64 == 0) (void)r.TakeEvents();
    }
  });
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 3000 && std::chrono::steady_clock::now() < deadline; ++i) {
        const Decision d = DecideIn(e, r, Write("/srv/blog/a.md"));
        if (d.phase == "writing") {
          ++writing;
          if (d.verdict != Verdict::kAllow) ++inconsistent;
        } else if (d.phase == "research") {
          ++research;
          if (d.verdict != Verdict::kDeny) ++inconsistent;
        } else {
          ++inconsistent;
        }
      }
    });
  }
  for (auto& c : callers) c.join();
  stop = true;
  switcher.join();
  CHECK(inconsistent.load() == 0);
  CHECK(writing.load() + research.load() > 0);
}

TEST_CASE("registry: grants added and revoked while other threads decide") {
  Engine e(Load());
  SessionRegistry r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::atomic<int> bad{0};
  std::thread admin([&] {
    for (int i = 0; i < 500 && std::chrono::steady_clock::now() < deadline; ++i) {
      auto g = r.AddGrant("s1", "", "fs.write:/srv/drafts/**", std::chrono::seconds(60), e.policy(), "t");
      if (g.ok()) (void)r.Revoke("s1", g->id, "t");
      (void)r.TakeEvents();
    }
  });
  std::thread caller([&] {
    for (int i = 0; i < 2000 && std::chrono::steady_clock::now() < deadline; ++i) {
      const Decision d = DecideIn(e, r, Write("/srv/drafts/a.md"));
      // Allowed only through the temporary grant, which the finding names.
      if (d.verdict == Verdict::kAllow) {
        bool named = false;
        for (const Finding& f : d.findings) named = named || (f.grant && f.grant->id.rfind("temporary:", 0) == 0);
        if (!named) ++bad;
      }
    }
  });
  admin.join();
  caller.join();
  CHECK(bad.load() == 0);
}
