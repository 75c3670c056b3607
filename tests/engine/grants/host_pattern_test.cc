#include "grants/host_pattern.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace toolgate;

namespace {

// Returns whether pattern matches host:port, and whether the host was well formed.
bool Matches(std::string_view pattern, std::string_view host, int port = 0, bool* well_formed = nullptr) {
  Result<HostPattern> p = ParseHostPattern(pattern);
  REQUIRE_MESSAGE(p.ok(), std::string(pattern));
  HostPatternSet set;
  set.Add(*p, 3);
  std::string error;
  REQUIRE(set.Compile(&error));
  std::vector<int> slots;
  bool wf = false;
  const SetOutcome outcome = set.Match(host, port, &slots, &wf);
  REQUIRE(outcome != SetOutcome::kError);
  if (well_formed != nullptr) *well_formed = wf;
  return outcome == SetOutcome::kMatch;
}

bool Rejected(std::string_view pattern) {
  Result<HostPattern> p = ParseHostPattern(pattern);
  if (p.ok()) return false;
  CHECK(p.error().code == ErrorCode::kPolicyPattern);
  return true;
}

}  // namespace

TEST_CASE("exact names, case-insensitive, trailing dot ignored") {
  CHECK(Matches("api.github.com", "api.github.com"));
  CHECK(Matches("api.github.com", "API.GitHub.com"));
  CHECK(Matches("API.GITHUB.COM.", "api.github.com"));
  CHECK(Matches("api.github.com", "api.github.com."));
  CHECK_FALSE(Matches("api.github.com", "xapi.github.com"));
  CHECK_FALSE(Matches("api.github.com", "api.github.com.evil.net"));
  CHECK_FALSE(Matches("api.github.com", "apixgithub.com"));
  CHECK(ParseHostPattern("API.Example.COM.")->canonical == "api.example.com");
}

TEST_CASE("wildcard subdomains exclude the apex") {
  CHECK(Matches("*.example.com", "a.example.com"));
  CHECK(Matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(Matches("*.example.com", "example.com"));
  CHECK_FALSE(Matches("*.example.com", "badexample.com"));
  CHECK_FALSE(Matches("*.example.com", "example.com.evil.net"));
}

TEST_CASE("ports") {
  CHECK(Matches("example.com:443", "example.com", 443));
  CHECK_FALSE(Matches("example.com:443", "example.com", 80));
  CHECK_FALSE(Matches("example.com:443", "example.com", 0));  // unknown port matches only portless patterns
  CHECK(Matches("example.com", "example.com", 0));
  CHECK(Matches("example.com", "example.com", 8080));
  CHECK(Matches("example.com:*", "example.com", 0));
  CHECK(Matches("*.example.com:443", "x.example.com", 443));
  CHECK_FALSE(Matches("*.example.com:443", "x.example.com", 444));
  CHECK(ParseHostPattern("example.com:*")->canonical == "example.com");
  CHECK(ParseHostPattern("example.com:0443")->canonical == "example.com:443");
}

TEST_CASE("star matches any host, including IP literals and malformed hosts") {
  CHECK(Matches("*", "anything.example"));
  CHECK(Matches("*", "10.1.2.3"));
  CHECK(Matches("*", "::1"));
  bool wf = true;
  CHECK(Matches("*", "bad host", 0, &wf));
  CHECK_FALSE(wf);
  CHECK(Matches("*:22", "git.example", 22));
  CHECK_FALSE(Matches("*:22", "git.example", 0));
}

TEST_CASE("IPv4 literals and CIDR prefixes") {
  CHECK(Matches("127.0.0.1", "127.0.0.1"));
  CHECK_FALSE(Matches("127.0.0.1", "127.0.0.2"));
  CHECK(Matches("10.0.0.0/8", "10.200.3.4"));
  CHECK_FALSE(Matches("10.0.0.0/8", "11.0.0.1"));
  CHECK(Matches("0.0.0.0/0", "8.8.8.8"));
  CHECK(Matches("192.168.1.0/24:22", "192.168.1.9", 22));
  CHECK_FALSE(Matches("192.168.1.0/24:22", "192.168.1.9", 23));
  // CIDR matches IP literal hosts only, never names.
  CHECK_FALSE(Matches("10.0.0.0/8", "10.example.com"));
  // The forms curl and getaddrinfo accept for the same address.
  CHECK(Matches("127.0.0.0/8", "127.1"));
  CHECK(Matches("127.0.0.0/8", "2130706433"));
  CHECK(Matches("127.0.0.0/8", "0x7f.0.0.1"));
  CHECK(Matches("127.0.0.0/8", "0177.0.0.1"));
  CHECK(Matches("127.0.0.1", "127.0.0.1."));
  // An IPv4-mapped IPv6 address is the IPv4 address.
  CHECK(Matches("127.0.0.0/8", "::ffff:127.0.0.1"));
  CHECK(Matches("169.254.169.254", "[::ffff:a9fe:a9fe]"));
}

TEST_CASE("IPv6 literals") {
  CHECK(Matches("[::1]", "::1"));
  CHECK(Matches("[::1]", "0:0:0:0:0:0:0:1"));
  CHECK(Matches("[::1]:8080", "::1", 8080));
  CHECK_FALSE(Matches("[::1]:8080", "::1", 80));
  CHECK(Matches("[2001:DB8::1]", "2001:db8::1"));
  CHECK_FALSE(Matches("[::1]", "::2"));
  CHECK(Matches("[fe80::1]", "fe80::1%eth0"));
  CHECK(ParseHostPattern("[0:0::1]:80")->canonical == "[::1]:80");
}

TEST_CASE("well-formedness of hosts") {
  bool wf = false;
  Matches("example.com", "exa mple.com", 0, &wf);
  CHECK_FALSE(wf);
  Matches("example.com", "a..example.com", 0, &wf);
  CHECK_FALSE(wf);
  Matches("example.com", "", 0, &wf);
  CHECK_FALSE(wf);
  Matches("example.com", "ok-host_1.example.com", 0, &wf);
  CHECK(wf);
  Matches("example.com", "::zz", 0, &wf);
  CHECK_FALSE(wf);
  // A wildcard deny still catches malformed names below its domain.
  CHECK(Matches("*.example.com", "a b.example.com"));
}

TEST_CASE("invalid host patterns") {
  CHECK(Rejected(""));
  CHECK(Rejected("exa mple.com"));
  CHECK(Rejected("a..b"));
  CHECK(Rejected(".example.com"));
  CHECK(Rejected("a.*.com"));
  CHECK(Rejected("*example.com"));
  CHECK(Rejected("**.example.com"));
  CHECK(Rejected("b\xc3\xbc" "cher.de"));
  CHECK(Rejected("example.com:0"));
  CHECK(Rejected("example.com:65536"));
  CHECK(Rejected("example.com:http"));
  CHECK(Rejected("example.com:"));
  CHECK(Rejected("::1"));
  CHECK(Rejected("[::1"));
  CHECK(Rejected("[::g]"));
  CHECK(Rejected("[::1]x"));
  CHECK(Rejected("[fe80::/10]"));
  CHECK(Rejected("10.0.0.1/8"));
  CHECK(Rejected("10.0.0.0/33"));
  CHECK(Rejected("10.0.0.0/"));
  CHECK(Rejected("300.1.1.1/8"));
  CHECK(Rejected("127.1"));  // write a dotted quad
  CHECK(Rejected("http://example.com"));
  CHECK(Rejected("example.com/path"));
  CHECK(Rejected(std::string(64, 'a') + ".com"));
  CHECK_FALSE(Rejected("xn--bcher-kva.de"));
  CHECK_FALSE(Rejected("_dmarc.example.com"));
}

TEST_CASE("ParseIpv4Loose") {
  std::uint32_t a = 0;
  CHECK(ParseIpv4Loose("1.2.3.4", &a));
  CHECK(a == 0x01020304u);
  CHECK(ParseIpv4Loose("1.2.772", &a));
  CHECK(a == 0x01020304u);
  CHECK_FALSE(ParseIpv4Loose("1.2.3.4 ", &a));
  CHECK_FALSE(ParseIpv4Loose("1.2.3.4.5", &a));
  CHECK_FALSE(ParseIpv4Loose("256.1.1.1", &a));
  CHECK_FALSE(ParseIpv4Loose("08.1.1.1", &a));
  CHECK_FALSE(ParseIpv4Loose("4294967296", &a));
  CHECK_FALSE(ParseIpv4Loose("", &a));
  CHECK_FALSE(ParseIpv4Loose("1..2", &a));
  CHECK_FALSE(ParseIpv4Loose("example", &a));
}

TEST_CASE("name lookups answer exactly as the patterns' regexes") {
  const std::vector<std::string> patterns = {"github.com", "*.github.com", "API.GitHub.com", "*.ngrok.io",
                                             "a_b-c.example", "*.x", "localhost:8000", "*.Example.ORG:443",
                                             "github.com:22"};
  const std::vector<std::string> hosts = {
      "github.com",    "GITHUB.COM",      "github.com.",    "api.github.com",   "a.b.github.com",
      ".github.com",   "xgithub.com",     "github.comx",    "github.co",        "API.GITHUB.COM",
      "x.ngrok.io",    "ngrok.io",        "..ngrok.io",     "a_b-c.example",    "A_B-C.EXAMPLE",
      "a.x",           "x",               ".x",             "a..x",             "localhost",
      "www.example.org", "example.org",   "\xc0.github.com", "git\xc8ub.com",   "a b.github.com",
      "",              ".",               "github.com..",   "k.x",              "\xe4.x"};
  HostPatternSet set;
  RegexSet reference(/*case_sensitive=*/false);
  std::vector<int> ports;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    Result<HostPattern> p = ParseHostPattern(patterns[i]);
    REQUIRE_MESSAGE(p.ok(), patterns[i]);
    REQUIRE(p->kind == HostPattern::Kind::kName);
    set.Add(*p, static_cast<int>(i));
    std::string error;
    REQUIRE(reference.Add(p->regex, &error) >= 0);
    ports.push_back(p->port);
  }
  std::string error;
  REQUIRE(set.Compile(&error));
  REQUIRE(reference.Compile());
  for (const std::string& host : hosts) {
    for (const int port : {0, 22, 443, 8000}) {
      INFO("host: ", host, "  port: ", port);
      std::vector<int> got, hits, want;
      bool well_formed = false;
      REQUIRE(set.Match(host, port, &got, &well_formed) != SetOutcome::kError);
      std::string_view subject = host;
      while (!subject.empty() && subject.back() == '.') subject.remove_suffix(1);
      REQUIRE(reference.Match(subject, &hits) != SetOutcome::kError);
      for (const int h : hits) {
        const int want_port = ports[static_cast<std::size_t>(h)];
        if (want_port < 0 || want_port == port) want.push_back(h);
      }
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      CHECK(got == want);
    }
  }
}
