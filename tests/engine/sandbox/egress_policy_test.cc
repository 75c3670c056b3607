// The egress judgment against a loaded policy, with a fake resolver: which
// names and addresses a profile opens, and which forged DNS answers it refuses.
#include "sandbox/egress_policy.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "grants/compiled_profile.h"
#include "toolgate/policy.h"

using namespace toolgate;
using namespace toolgate::sandbox;

namespace {

constexpr const char* kPolicy = R"({
  "toolgate_policy": 1,
  "profiles": {
    "agent": {
      "network": {
        "allow": ["api.example.com:443", "*.cdn.example", "intranet.example", "10.0.0.0/8", "127.0.0.1:8080",
                  "[::1]:8080", "localhost:9000", "*.localhost", "bad-answer.example", "mixed.example", "blocked.example"],
        "ask": ["ask.example"],
        "deny": ["evil.example", "203.0.113.0/24", "8.8.4.0/24"]
      }
    },
    "meta": {"network": {"allow": ["169.254.0.0/16", "metadata.example"]}},
    "star": {"network": {"allow": ["*"]}},
    "open": {"default": "allow"}
  }
})";

std::shared_ptr<const Policy> Load() {
  PolicyLoadResult r = LoadPolicyText(kPolicy, "egress.json");
  for (const auto& d : r.diagnostics) MESSAGE(FormatDiagnostic(d));
  REQUIRE(r.ok());
  return r.policy;
}

const std::map<std::string, std::vector<std::string>>& Dns() {
  static const std::map<std::string, std::vector<std::string>> dns = {
      {"api.example.com", {"93.184.216.34", "2606:2800:220:1::1"}},
      {"x.cdn.example", {"93.184.216.35"}},
      {"intranet.example", {"10.1.2.3"}},
      {"localhost", {"::1", "127.0.0.1"}},
      {"app.localhost", {"127.0.0.1"}},
      {"evil.localhost", {"192.168.0.1"}},
      {"metadata.example", {"169.254.169.254"}},
      {"bad-answer.example", {"evil.example"}},
      {"mixed.example", {"93.184.216.34", "192.168.9.9"}},
      {"blocked.example", {"8.8.4.4"}},
      {"anything.example", {"93.184.216.36"}},
  };
  return dns;
}

std::vector<std::string> FakeResolve(const std::string& host) {
  const auto it = Dns().find(host);
  return it == Dns().end() ? std::vector<std::string>{} : it->second;
}

// A resolver that answers every name with fixed addresses: DNS rebinding.
Resolver Rebind(std::vector<std::string> answer) {
  return [answer](const std::string&) { return answer; };
}

EgressVerdict Decide(const CompiledProfile& p, const std::string& host, int port, const Resolver& r = FakeResolve) {
  const std::optional<IpAddress> ip = ParseIpLiteral(host);
  const bool is_ip = ip.has_value() && host.find_first_not_of("0123456789.:abcdefx[]") == std::string::npos;
  return DecideEgress(p, is_ip ? FormatIp(*ip) : host, is_ip, port, "", r);
}

}  // namespace

TEST_CASE("names: granted, not granted, denied, ask, port") {
  const auto policy = Load();
  const CompiledProfile& p = *policy->ProfileNamed("agent");

  EgressVerdict v = Decide(p, "api.example.com", 443);
  CHECK(v.allowed);
  REQUIRE(v.grant != nullptr);
  CHECK(v.grant->id == "agent.network.allow[0]");
  CHECK(v.addresses.size() == 2);

  v = Decide(p, "api.example.com", 80);  // granted on 443 only
  CHECK_FALSE(v.allowed);
  CHECK(v.status == 403);

  v = Decide(p, "x.cdn.example", 443);
  CHECK(v.allowed);

  v = Decide(p, "anything.example", 443);
  CHECK_FALSE(v.allowed);
  CHECK(v.grant == nullptr);
  CHECK(v.reason.find("not granted") != std::string::npos);

  v = Decide(p, "evil.example", 443);
  CHECK_FALSE(v.allowed);
  REQUIRE(v.grant != nullptr);
  CHECK(v.grant->id == "agent.network.deny[0]");

  v = Decide(p, "ask.example", 443);  // a proxy cannot ask: refused
  CHECK_FALSE(v.allowed);
  CHECK(v.reason.find("cannot ask") != std::string::npos);

  v = Decide(p, "nowhere.cdn.example", 443);  // granted, but no answer
  CHECK_FALSE(v.allowed);
  CHECK(v.status == 502);
}

TEST_CASE("a profile default of allow does not open the proxy; '*' opens public hosts only") {
  const auto policy = Load();
  EgressVerdict v = Decide(*policy->ProfileNamed("open"), "anything.example", 443);
  CHECK_FALSE(v.allowed);
  CHECK(v.reason.find("profile default") != std::string::npos);

  const CompiledProfile& star = *policy->ProfileNamed("star");
  CHECK(Decide(star, "anything.example", 443).allowed);
  CHECK_FALSE(Decide(star, "127.0.0.1", 8080).allowed);
  CHECK_FALSE(Decide(star, "10.1.2.3", 80).allowed);
  CHECK_FALSE(Decide(star, "169.254.169.254", 80).allowed);
  CHECK_FALSE(Decide(star, "::1", 80).allowed);
  CHECK_FALSE(Decide(star, "intranet.example", 80).allowed);  // resolves to 10.1.2.3
  CHECK_FALSE(Decide(star, "localhost", 80).allowed);         // '*' is not an explicit localhost grant
  CHECK(Decide(star, "8.8.8.8", 53).allowed);
}

TEST_CASE("DNS rebinding: a granted public name that resolves to a private address is refused") {
  const auto policy = Load();
  const CompiledProfile& p = *policy->ProfileNamed("agent");
  for (const char* forged : {"127.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
                             "fd00:ec2::254", "0.0.0.0", "192.168.1.10", "100.64.1.1", "fe80::1", "224.0.0.1"}) {
    const EgressVerdict v = Decide(p, "api.example.com", 443, Rebind({forged}));
    CHECK_MESSAGE(!v.allowed, forged);
    CHECK_MESSAGE(v.status == 403, forged);
  }
  // One bad address among good ones refuses the whole answer.
  CHECK_FALSE(Decide(p, "mixed.example", 443).allowed);
  // Answers that are not plain addresses are not trusted.
  CHECK_FALSE(Decide(p, "bad-answer.example", 443).allowed);
  CHECK_FALSE(Decide(p, "api.example.com", 443, Rebind({"2130706433"})).allowed);
  CHECK_FALSE(Decide(p, "api.example.com", 443, Rebind({"fe80::1%eth0"})).allowed);
  // An address deny grant applies to resolved addresses too.
  const EgressVerdict blocked = Decide(p, "blocked.example", 443);
  CHECK_FALSE(blocked.allowed);
  REQUIRE(blocked.grant != nullptr);
  CHECK(blocked.grant->id == "agent.network.deny[2]");
}

TEST_CASE("non-public addresses need an IP or CIDR grant") {
  const auto policy = Load();
  const CompiledProfile& p = *policy->ProfileNamed("agent");
  CHECK(Decide(p, "intranet.example", 80).allowed);  // name granted and 10.0.0.0/8 granted
  CHECK(Decide(p, "10.200.0.1", 22).allowed);
  CHECK(Decide(p, "127.0.0.1", 8080).allowed);
  CHECK_FALSE(Decide(p, "127.0.0.1", 8081).allowed);
  CHECK(Decide(p, "::1", 8080).allowed);
  CHECK_FALSE(Decide(p, "203.0.113.9", 443).allowed);  // denied CIDR
  CHECK_FALSE(Decide(p, "169.254.169.254", 80).allowed);
  CHECK_FALSE(Decide(p, "metadata.example", 80).allowed);  // not granted here
  // An address or CIDR grant is explicit, metadata included.
  const CompiledProfile& meta = *policy->ProfileNamed("meta");
  CHECK(Decide(meta, "169.254.3.4", 80).allowed);
  CHECK(Decide(meta, "169.254.169.254", 80).allowed);
  CHECK(Decide(meta, "metadata.example", 443).allowed);
}

TEST_CASE("localhost names reach loopback when granted by name") {
  const auto policy = Load();
  const CompiledProfile& p = *policy->ProfileNamed("agent");
  const EgressVerdict v = Decide(p, "localhost", 9000);
  CHECK(v.allowed);
  CHECK(v.addresses.size() == 2);
  CHECK_FALSE(Decide(p, "localhost", 9001).allowed);
  CHECK(Decide(p, "app.localhost", 1234).allowed);
  CHECK_FALSE(Decide(p, "evil.localhost", 1234).allowed);  // a localhost name answering non-loopback
  CHECK_FALSE(Decide(p, "localhost", 9000, Rebind({"169.254.169.254"})).allowed);
}

TEST_CASE("replaying a logged connection uses the logged addresses") {
  PolicyLoadResult r = LoadPolicyText(
      R"({"toolgate_policy": 1, "agents": {"a": {"profile": "agent"}},
          "profiles": {"agent": {"network": {"allow": ["api.example.com:443", "10.0.0.0/8"]}}}})",
      "replay.json");
  REQUIRE(r.ok());
  ToolCall call;
  call.agent_id = "a";
  call.tool_name = std::string(kEgressToolName);
  call.tool_input = nlohmann::json{{"method", "CONNECT"}, {"target", "api.example.com:443"},
                                   {"host", "api.example.com"}, {"port", 443},
                                   {"addresses", {"93.184.216.34"}}, {"status", 200}};
  Decision d = ReplayEgressCall(*r.policy, call);
  CHECK(d.verdict == Verdict::kAllow);
  REQUIRE(d.findings.size() == 1);
  REQUIRE(d.findings[0].grant != nullptr);
  CHECK(d.findings[0].grant->id == "agent.network.allow[0]");

  call.tool_input["addresses"] = {"169.254.169.254"};  // what the name answered then
  CHECK(ReplayEgressCall(*r.policy, call).verdict == Verdict::kDeny);
  call.tool_input["addresses"] = {"10.1.1.1"};
  CHECK(ReplayEgressCall(*r.policy, call).verdict == Verdict::kAllow);
  call.tool_input["port"] = 80;
  CHECK(ReplayEgressCall(*r.policy, call).verdict == Verdict::kDeny);
  call.tool_input = nlohmann::json{{"method", "BREW"}, {"target", ""}, {"host", ""}, {"port", 0}, {"status", 400}};
  CHECK(ReplayEgressCall(*r.policy, call).verdict == Verdict::kDeny);
  call.agent_id = "stranger";
  call.tool_input = nlohmann::json{{"method", "CONNECT"}, {"host", "api.example.com"}, {"port", 443},
                                   {"addresses", {"93.184.216.34"}}};
  CHECK(ReplayEgressCall(*r.policy, call).verdict == Verdict::kDeny);
}
