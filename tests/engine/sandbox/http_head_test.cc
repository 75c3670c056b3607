#include "sandbox/http_head.h"

#include <doctest/doctest.h>

#include <string>

using namespace toolgate::sandbox;

namespace {

HeadParse Parse(const std::string& head) { return ParseRequestHead(head); }

// Refused with the given status; returns the reason for further checks.
std::string Refused(const std::string& head, int status = 400) {
  const HeadParse p = Parse(head);
  CHECK_MESSAGE(!p.request.has_value(), head);
  CHECK_MESSAGE(p.status == status, head);
  CHECK_FALSE(p.reason.empty());
  return p.reason;
}

ProxyRequest Accepted(const std::string& head) {
  const HeadParse p = Parse(head);
  REQUIRE_MESSAGE(p.request.has_value(), std::string(head + " -> " + p.reason));
  return *p.request;
}

}  // namespace

TEST_CASE("scanning a head: complete, incomplete, too large, early refusal") {
  CHECK(ScanHead("CONNECT a:1 HTTP/1.1\r\n\r\n", 1024).state == HeadScan::State::kComplete);
  CHECK(ScanHead("CONNECT a:1 HTTP/1.1\r\n\r\nEXTRA", 1024).end == 24);
  CHECK(ScanHead("CONNECT a:1 HTTP/1.1\r\n", 1024).state == HeadScan::State::kNeedMore);
  CHECK(ScanHead("CONNECT a:1 HTTP/1.1\r", 1024).state == HeadScan::State::kNeedMore);
  CHECK(ScanHead(std::string(2000, 'a'), 1024).state == HeadScan::State::kTooLarge);
  CHECK(ScanHead(std::string(1024, 'a'), 1024).state == HeadScan::State::kTooLarge);
  CHECK(ScanHead(std::string(1023, 'a'), 1024).state == HeadScan::State::kNeedMore);
  CHECK(ScanHead("CONNECT a:1 HTTP/1.1\n\n", 1024).state == HeadScan::State::kMalformed);
  CHECK(ScanHead("GET http://a/ HTTP/1.1\r\nX: a\rb\r\n\r\n", 1024).state == HeadScan::State::kMalformed);
  CHECK(ScanHead(std::string("GET http://a/ HTTP/1.1\r\nX: \0\r\n\r\n", 31), 1024).state ==
        HeadScan::State::kMalformed);
  // The head must fit: a terminator past the limit is still too large.
  std::string big = "GET http://a/ HTTP/1.1\r\nX: " + std::string(2000, 'b') + "\r\n\r\n";
  CHECK(ScanHead(big, 1024).state == HeadScan::State::kTooLarge);
}

TEST_CASE("CONNECT with an authority target") {
  ProxyRequest r = Accepted("CONNECT Example.COM:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  CHECK(r.kind == ProxyRequest::Kind::kConnect);
  CHECK(r.host == "example.com");
  CHECK(r.port == 443);
  CHECK_FALSE(r.host_is_ip);
  r = Accepted("CONNECT example.com.:443 HTTP/1.1\r\n\r\n");
  CHECK(r.host == "example.com");
  r = Accepted("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n");
  CHECK(r.host == "::1");
  CHECK(r.host_is_ip);
  r = Accepted("CONNECT [::ffff:169.254.169.254]:80 HTTP/1.1\r\n\r\n");
  CHECK(r.host == "169.254.169.254");
  r = Accepted("CONNECT 0x7f.1:22 HTTP/1.0\r\n\r\n");
  CHECK(r.host == "127.0.0.1");
  CHECK(r.host_is_ip);
  r = Accepted("CONNECT 2852039166:80 HTTP/1.1\r\n\r\n");
  CHECK(r.host == "169.254.169.254");
  r = Accepted("CONNECT under_score.example:1 HTTP/1.1\r\n\r\n");
  CHECK(r.port == 1);
}

TEST_CASE("hostile CONNECT targets are refused") {
  Refused("CONNECT example.com HTTP/1.1\r\n\r\n");                 // no port
  Refused("CONNECT example.com: HTTP/1.1\r\n\r\n");                // empty port
  Refused("CONNECT example.com:0 HTTP/1.1\r\n\r\n");
  Refused("CONNECT example.com:65536 HTTP/1.1\r\n\r\n");
  Refused("CONNECT example.com:443443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT example.com:+443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT example.com:-1 HTTP/1.1\r\n\r\n");
  Refused("CONNECT example.com:0x1bb HTTP/1.1\r\n\r\n");
  Refused("CONNECT good.example@evil.example:443 HTTP/1.1\r\n\r\n");  // userinfo trick
  Refused("CONNECT user:pass@evil.example:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT evil%2eexample:443 HTTP/1.1\r\n\r\n");             // percent-encoding
  Refused("CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\n\r\n");           // zone id
  Refused("CONNECT ::1:443 HTTP/1.1\r\n\r\n");                        // unbracketed IPv6
  Refused("CONNECT [::1:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT [::1]x:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT [example.com]:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT 1.2.3.999:443 HTTP/1.1\r\n\r\n");                  // ends in a number, not IPv4
  Refused("CONNECT example.123:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT a..b:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT .example:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT exa\xc3\xa9mple.com:443 HTTP/1.1\r\n\r\n");        // non-ASCII
  Refused("CONNECT :443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT http://example.com:443/ HTTP/1.1\r\n\r\n");
  Refused("CONNECT example.com:443/x HTTP/1.1\r\n\r\n");
  Refused("CONNECT " + std::string(300, 'a') + ".com:443 HTTP/1.1\r\n\r\n");
  Refused("CONNECT " + std::string(64, 'a') + ".com:443 HTTP/1.1\r\n\r\n");
}

TEST_CASE("absolute-form http:// requests") {
  ProxyRequest r = Accepted("GET http://Example.com/a/b?c=d HTTP/1.1\r\nHost: other.example\r\nAccept: */*\r\n\r\n");
  CHECK(r.kind == ProxyRequest::Kind::kForward);
  CHECK(r.host == "example.com");
  CHECK(r.port == 80);
  CHECK(r.origin_target == "/a/b?c=d");
  r = Accepted("POST HTTP://example.com:8080 HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
  CHECK(r.port == 8080);
  CHECK(r.origin_target == "/");
  r = Accepted("GET http://example.com?q=1 HTTP/1.1\r\n\r\n");
  CHECK(r.origin_target == "/?q=1");
  r = Accepted("GET http://[::1]:81/ HTTP/1.1\r\n\r\n");
  CHECK(r.host == "::1");

  Refused("GET /relative HTTP/1.1\r\nHost: example.com\r\n\r\n");  // origin form: not a proxy request
  Refused("GET https://example.com/ HTTP/1.1\r\n\r\n");
  Refused("GET ftp://example.com/ HTTP/1.1\r\n\r\n");
  Refused("GET http://good.example@evil.example/ HTTP/1.1\r\n\r\n");
  Refused("GET http://evil.example:80@good.example/ HTTP/1.1\r\n\r\n");
  Refused("GET http:///path HTTP/1.1\r\n\r\n");
  Refused("GET http://example.com:/ HTTP/1.1\r\n\r\n");
  Refused("GET http://example.com/#frag HTTP/1.1\r\n\r\n");
  Refused("GET http://exa mple.com/ HTTP/1.1\r\n\r\n");
}

TEST_CASE("request line and header syntax is strict") {
  Refused("\r\nCONNECT a.example:1 HTTP/1.1\r\n\r\n");                 // leading empty line
  Refused("CONNECT  a.example:1 HTTP/1.1\r\n\r\n");                    // double space
  Refused("CONNECT a.example:1 HTTP/1.1 \r\n\r\n");
  Refused("CONNECT a.example:1 HTTP/2.0\r\n\r\n");
  Refused("CONNECT a.example:1 http/1.1\r\n\r\n");
  Refused("CONNECT a.example:1\r\n\r\n");
  Refused("CON\x01NECT a.example:1 HTTP/1.1\r\n\r\n");
  Refused("CONNECT a.example:1 HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n");    // obs-fold
  Refused("CONNECT a.example:1 HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n\r\n");
  Refused("CONNECT a.example:1 HTTP/1.1\r\nX-A : 1\r\n\r\n");              // space before colon
  Refused("CONNECT a.example:1 HTTP/1.1\r\nNoColon\r\n\r\n");
  Refused("CONNECT a.example:1 HTTP/1.1\r\n: empty name\r\n\r\n");
  Refused("CONNECT a.example:1 HTTP/1.1\r\nX-A: a\x01b\r\n\r\n");
  Refused("CONNECT a.example:1 HTTP/1.1\r\nX-A: a\x7f\r\n\r\n");
  Refused("CONNECT a.example:1 HTTP/1.1\nX-A: 1\r\n\r\n");                  // bare LF inside
  Refused("GET http://a.example/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
  Refused("GET http://a.example/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  Refused("GET http://a.example/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
  Refused("GET http://a.example/ HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n");
  Refused("GET http://a.example/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
  Refused("GET http://a.example/ HTTP/1.1\r\nConnection: close, Content-Length\r\nContent-Length: 4\r\n\r\n");
  Refused("GET http://a.example/ HTTP/1.1\r\nX-A: 1\r\n\r", 400);
  std::string many = "GET http://a.example/ HTTP/1.1\r\n";
  for (std::size_t i = 0; i <= kMaxHeaderLines; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  Refused(many + "\r\n", 431);
  // Same-valued duplicates and obs-text in values are fine.
  Accepted("GET http://a.example/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\nX-A: caf\xc3\xa9\r\n\r\n");
}

TEST_CASE("forwarded head: origin form, Host from the target, hop-by-hop headers gone") {
  const ProxyRequest r = Accepted(
      "GET http://example.com:8080/p?q HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic c2VjcmV0\r\n"
      "Proxy-Connection: keep-alive\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\n"
      "Upgrade: websocket\r\nTE: trailers\r\nAccept: text/html\r\n\r\n");
  const std::string head = BuildForwardHead(r);
  CHECK(head.rfind("GET /p?q HTTP/1.1\r\nHost: example.com:8080\r\n", 0) == 0);
  CHECK(head.find("Accept: text/html\r\n") != std::string::npos);
  CHECK(head.find("evil.example") == std::string::npos);
  CHECK(head.find("Proxy-") == std::string::npos);
  CHECK(head.find("c2VjcmV0") == std::string::npos);
  CHECK(head.find("X-Drop") == std::string::npos);
  CHECK(head.find("Keep-Alive") == std::string::npos);
  CHECK(head.find("Upgrade") == std::string::npos);
  CHECK(head.find("TE:") == std::string::npos);
  const std::string tail = "\r\nConnection: close\r\n\r\n";
  REQUIRE(head.size() > tail.size());
  CHECK(head.substr(head.size() - tail.size()) == tail);
  const ProxyRequest v6 = Accepted("GET http://[::1]/ HTTP/1.1\r\n\r\n");
  CHECK(BuildForwardHead(v6).find("Host: [::1]\r\n") != std::string::npos);
}

TEST_CASE("status responses never echo control bytes") {
  const std::string r = StatusResponse(403, "evil\r\nSet-Cookie: x");
  CHECK(r.rfind("HTTP/1.1 403 Forbidden\r\n", 0) == 0);
  CHECK(r.find("\r\nSet-Cookie") == std::string::npos);
  CHECK(r.find("evil??Set-Cookie: x") != std::string::npos);
}

TEST_CASE("mutated heads never crash and never yield a host outside the name alphabet") {
  // Deterministic mutations of valid heads: flipped, inserted and deleted
  // bytes. Whatever parses must still be a clean host and a valid port.
  const std::string seeds[] = {
      "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n",
      "GET http://[::1]:8080/a?b HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
      "POST http://0x7f.1/x HTTP/1.0\r\nConnection: close\r\n\r\n",
  };
  std::uint32_t state = 12345;
  const auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return (state >> 8) & 0xffffff;
  };
  int parsed = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string h = seeds[static_cast<std::size_t>(i) % 3];
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = next() % h.size();
      const char byte = static_cast<char>(next() & 0xff);
      switch (next() % 3) {
        case 0: h[at] = byte; break;
        case 1: h.insert(h.begin() + static_cast<std::ptrdiff_t>(at), byte); break;
        default: h.erase(at, 1); break;
      }
    }
    const HeadScan scan = ScanHead(h, 4096);
    if (scan.state != HeadScan::State::kComplete) continue;
    const HeadParse p = ParseRequestHead(std::string_view(h).substr(0, scan.end));
    if (!p.request) continue;
    ++parsed;
    const ProxyRequest& r = *p.request;
    CHECK(r.port >= 1);
    CHECK(r.port <= 65535);
    REQUIRE_FALSE(r.host.empty());
    for (const char c : r.host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
                      (r.host_is_ip && c == ':');
      REQUIRE_MESSAGE(ok, r.host);
    }
  }
  CHECK(parsed > 100);  // the mutations still exercise the accepting paths
}
