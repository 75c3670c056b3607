// tg.http.status against a real HTTP server on 127.0.0.1 (the fixture the
// pack tests use): statuses, redirects, HEAD refusal, timeouts, the
// private-address guard, the cache, and the rule budget bounding a probe.
#include <doctest/doctest.h>

#include <chrono>

#include "fixture_http_server.h"
#include "lua_test_util.h"

namespace toolgate::lua {
namespace {

using Clock = std::chrono::steady_clock;

HttpGrant LocalGrant() {
  HttpGrant g;
  g.allow_private_addresses = true;
  g.timeout = std::chrono::milliseconds(800);
  g.cache_ttl = std::chrono::seconds(0);
  return g;
}

TEST_CASE("HttpProbe against the fixture server") {
  cli::FixtureHttpServer server;
  std::string error;
  REQUIRE(server.Start(&error));
  HttpProbe probe;
  const auto deadline = [] { return Clock::now() + std::chrono::seconds(5); };
  const std::string base = server.base_url();

  CHECK(probe.Status(base + "/ok", LocalGrant(), deadline()).status == 200);
  CHECK(probe.Status(base + "/not-found", LocalGrant(), deadline()).status == 404);
  CHECK(probe.Status(base + "/error", LocalGrant(), deadline()).status == 500);
  CHECK(probe.Status(base + "/redirect", LocalGrant(), deadline()).status == 200);
  CHECK(probe.Status(base + "/redirect-broken", LocalGrant(), deadline()).status == 404);
  CHECK(probe.Status(base + "/head-refused", LocalGrant(), deadline()).status == 200);
  const ProbeResult loop = probe.Status(base + "/redirect-loop", LocalGrant(), deadline());
  CHECK(loop.status == 0);
  CHECK_FALSE(loop.error.empty());

  const auto start = Clock::now();
  const ProbeResult slow = probe.Status(base + "/slow", LocalGrant(), deadline());
  CHECK(slow.timeout);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() < 2500);

  // The rule's deadline bounds the probe even when the grant allows longer.
  HttpGrant patient = LocalGrant();
  patient.timeout = std::chrono::milliseconds(10000);
  const auto start2 = Clock::now();
  CHECK(probe.Status(base + "/slow", patient, Clock::now() + std::chrono::milliseconds(300)).timeout);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start2).count() < 2000);

  // Without the opt-in, loopback is refused before any request is sent.
  HttpGrant strict = LocalGrant();
  strict.allow_private_addresses = false;
  const int before = server.requests();
  const ProbeResult refused = probe.Status(base + "/ok", strict, deadline());
  CHECK(refused.status == 0);
  CHECK(refused.error.find("refused") != std::string::npos);
  CHECK(server.requests() == before);

  // Only http and https, also for redirects' targets: curl refuses others.
  CHECK(probe.Status("ftp://127.0.0.1/", LocalGrant(), deadline()).status == 0);

  // Cached: a second probe of the same URL sends nothing.
  HttpGrant cached = LocalGrant();
  cached.cache_ttl = std::chrono::seconds(60);
  CHECK(probe.Status(base + "/ok?c", cached, deadline()).status == 200);
  const int after_first = server.requests();
  const ProbeResult again = probe.Status(base + "/ok?c", cached, deadline());
  CHECK(again.status == 200);
  CHECK(again.cached);
  CHECK(server.requests() == after_first);
  server.Stop();
}

TEST_CASE("tg.http.status in a rule granted http") {
  cli::FixtureHttpServer server;
  std::string error;
  REQUIRE(server.Start(&error));
  testing::InlinePack pack{"net", R"(pack { id = 'net', capabilities = { 'http' } }
rule { id = 'probe', check = function(call)
  local status, why = tg.http.status(call.input.url)
  if not status then return tg.ask(why) end
  if status ~= 200 then return tg.deny('status ' .. status) end
end })"};
  pack.http = LocalGrant();
  // As the policy compiler gives a pack with the http capability: a wall time of
  // four probe timeouts, so a probe that times out leaves the rule time to answer
  // (with the 50 ms default, the probe ran to the rule's own deadline and the
  // rule's budget tripped on a loaded machine: deny instead of ask).
  pack.budget.wall_time = pack.http->timeout * 4;
  PackError perror;
  auto set = testing::BuildRuleSet({pack}, &perror);
  REQUIRE(set != nullptr);
  const auto judge = [&](const std::string& path) {
    return testing::Judge(*set, testing::MakeCall("Probe", {{"url", server.base_url() + path}})).verdict;
  };
  CHECK(judge("/ok") == Verdict::kAllow);
  CHECK(judge("/not-found") == Verdict::kDeny);
  CHECK(judge("/slow") == Verdict::kAsk);
  CHECK(testing::Judge(*set, testing::MakeCall("Probe", {{"url", "gopher://x/"}})).verdict == Verdict::kAsk);
  server.Stop();
}

}  // namespace
}  // namespace toolgate::lua
