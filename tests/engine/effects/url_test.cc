#include "effects/url.h"

#include <doctest/doctest.h>

namespace toolgate::effects {
namespace {

TEST_CASE("URLs: scheme, host, port") {
  auto url = ParseUrl("HTTPS://Example.COM./path?q#f");
  REQUIRE(url);
  CHECK(url->scheme == "https");
  CHECK(url->host == "example.com");
  CHECK(url->port == 443);
  CHECK(url->path == "/path?q#f");
  CHECK(ParseUrl("http://h.io:8080")->port == 8080);
  CHECK(ParseUrl("ssh://git@h.io/r")->port == 22);
  CHECK(ParseUrl("git://h.io/r")->port == 9418);
  CHECK(ParseUrl("ftp://h.io/")->port == 21);
  CHECK(ParseUrl("custom://h.io/")->port == 0);
  auto v6 = ParseUrl("http://[2001:db8::1]:81/");
  REQUIRE(v6);
  CHECK(v6->host == "2001:db8::1");
  CHECK(v6->port == 81);
  CHECK(!ParseUrl("not a url"));
  CHECK(!ParseUrl("example.com/x"));
  CHECK(!ParseUrl("://x"));
}

TEST_CASE("URL userinfo tricks") {
  CHECK(ParseUrl("https://good.com@evil.com/")->host == "evil.com");
  CHECK(ParseUrl("https://user:pass@good.com:pass@evil.com/")->host == "evil.com");
  CHECK(ParseUrl("https://evil.com#@good.com/")->host == "evil.com");
  CHECK(ParseUrl("https://evil.com?@good.com/")->host == "evil.com");
  auto backslash = ParseUrl("https://evil.com\\@good.com/");
  REQUIRE(backslash);
  CHECK(backslash->host == "evil.com");
  CHECK(backslash->ambiguous);
  CHECK(ParseUrl("https://%65vil.com/")->ambiguous);
  CHECK(ParseUrl("https://h.io:99999/")->ambiguous);
  CHECK(ParseUrl("https://h.io:x/")->ambiguous);
  CHECK(ParseUrl("https:///path")->ambiguous);
}

TEST_CASE("non-ASCII hosts are kept as written and flagged") {
  auto url = ParseUrl("https://g\xD0\xBEogle.com/");
  REQUIRE(url);
  CHECK(url->non_ascii_host);
  CHECK(url->host == "g\xD0\xBEogle.com");
}

TEST_CASE("file URLs have no host") {
  auto url = ParseUrl("file:///etc/passwd");
  REQUIRE(url);
  CHECK(url->host.empty());
  CHECK(url->path == "/etc/passwd");
}

TEST_CASE("bare hosts") {
  auto host = ParseBareHost("Example.com:8443/x", "http");
  REQUIRE(host);
  CHECK(host->host == "example.com");
  CHECK(host->port == 8443);
  CHECK(ParseBareHost("example.com", "http")->port == 80);
  CHECK(ParseBareHost("localhost", "http"));
  CHECK(ParseBareHost("10.1.2.3", "https")->port == 443);
  CHECK(!ParseBareHost("plainword", "http"));
  CHECK(!ParseBareHost("-v", "http"));
  CHECK(!ParseBareHost("/path", "http"));
  CHECK(!ParseBareHost("::::", "http"));
  CHECK(ParseBareHost("[::1]:80", "http")->host == "::1");
}

TEST_CASE("scp-style targets") {
  auto target = ParseScpTarget("git@GitHub.com:org/repo.git");
  REQUIRE(target);
  CHECK(target->host == "github.com");
  CHECK(target->port == 22);
  CHECK(target->path == "org/repo.git");
  CHECK(ParseScpTarget("h.io:/etc/x")->host == "h.io");
  CHECK(ParseScpTarget("[::1]:/x")->host == "::1");
  CHECK(!ParseScpTarget("./a:b"));
  CHECK(!ParseScpTarget("/abs/a:b"));
  CHECK(!ParseScpTarget("https://h.io/x"));
  CHECK(!ParseScpTarget("plain"));
}

TEST_CASE("emails") {
  CHECK(LooksLikeEmail("a.b+c@ex-ample.co.uk"));
  CHECK(LooksLikeEmail("mailto:x@y.io"));
  CHECK(!LooksLikeEmail("@y.io"));
  CHECK(!LooksLikeEmail("x@y"));
  CHECK(!LooksLikeEmail("x@@y.io"));
  CHECK(!LooksLikeEmail("git@github.com:org/r"));
}

}  // namespace
}  // namespace toolgate::effects
