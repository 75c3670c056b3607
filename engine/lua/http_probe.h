// HttpProbe: "does this URL answer?" for tg.http.status, through libcurl.
//
// Only http and https, on every hop; HEAD first, GET when HEAD is refused
// (the body is never read past the first bytes); a redirect limit; one
// timeout covering the whole probe and never past the rule's wall-time
// budget; no proxies from the environment; and by default no connection to
// loopback, private, link-local or multicast addresses (checked on the IP
// actually connected, after DNS, on every hop), so a URL in an email body
// cannot make the daemon probe its own network. Results are cached (shared by
// every worker) so a repeated URL costs one request per ttl.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace toolgate::lua {

// The policy's "http" capability for one pack (rules/schema/policy.schema.json).
struct HttpGrant {
  std::chrono::milliseconds timeout{3000};
  int max_redirects = 5;
  bool allow_private_addresses = false;  // tests against 127.0.0.1 need this
  std::chrono::seconds cache_ttl{300};
};

struct ProbeResult {
  long status = 0;          // final HTTP status; 0 when no response
  bool timeout = false;
  bool cached = false;
  std::string error;        // "" when a status was received
  std::string final_url;
};

class HttpProbe {
 public:
  using Clock = std::chrono::steady_clock;

  // Blocks for at most min(grant.timeout, deadline - now).
  ProbeResult Status(const std::string& url, const HttpGrant& grant, Clock::time_point deadline);
  void ClearCache();

  static constexpr std::size_t kMaxCacheEntries = 10000;

 private:
  ProbeResult Fetch(const std::string& url, const HttpGrant& grant, std::chrono::milliseconds timeout, bool head);

  std::mutex mu_;
  struct Cached {
    ProbeResult result;
    Clock::time_point expires;
  };
  std::map<std::string, Cached> cache_;
};

// True for loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified
// and multicast addresses, IPv4-mapped IPv6 included. Unparseable text: true.
bool IsNonPublicAddress(const std::string& ip);

}  // namespace toolgate::lua
