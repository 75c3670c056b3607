#include "lua/http_probe.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace toolgate::lua {
namespace {

std::once_flag curl_once;

struct Transfer {
  bool allow_private = false;
  bool refused = false;
  std::size_t body_bytes = 0;
};

int CheckAddress(void* clientp, char* primary_ip, char*, int, int) {
  auto* t = static_cast<Transfer*>(clientp);
  if (!t->allow_private && IsNonPublicAddress(primary_ip != nullptr ? primary_ip : "")) {
    t->refused = true;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

// GET fallback: the status line is all we need; stop after the first bytes.
std::size_t DiscardBody(char*, std::size_t size, std::size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  t->body_bytes += size * n;
  return t->body_bytes > 1024 ? 0 : size * n;
}

}  // namespace

bool IsNonPublicAddress(const std::string& ip) {
  unsigned char a[16];
  if (inet_pton(AF_INET, ip.c_str(), a) == 1) {
    if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224) return true;
    if (a[0] == 169 && a[1] == 254) return true;
    if (a[0] == 172 && (a[1] & 0xf0) == 16) return true;
    if (a[0] == 192 && a[1] == 168) return true;
    if (a[0] == 100 && (a[1] & 0xc0) == 64) return true;
    return false;
  }
  if (inet_pton(AF_INET6, ip.c_str(), a) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kMapped, 12) == 0) {
      char v4[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, a + 12, v4, sizeof v4);
      return IsNonPublicAddress(v4);
    }
    bool zero_prefix = true;
    for (int i = 0; i < 15; ++i) zero_prefix = zero_prefix && a[i] == 0;
    if (zero_prefix && (a[15] == 0 || a[15] == 1)) return true;  // :: and ::1
    if ((a[0] & 0xfe) == 0xfc) return true;                        // fc00::/7
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return true;        // fe80::/10
    if (a[0] == 0xff) return true;                                 // multicast
    return false;
  }
  return true;
}

ProbeResult HttpProbe::Fetch(const std::string& url, const HttpGrant& grant, std::chrono::milliseconds timeout,
                             bool head) {
  ProbeResult r;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    r.error = "cannot create a curl handle";
    return r;
  }
  Transfer t;
  t.allow_private = grant.allow_private_addresses;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, static_cast<long>(grant.max_redirects));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, timeout.count())));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<long long>(1, timeout.count())));
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "toolgate-link-check/0.1");
  curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, CheckAddress);
  curl_easy_setopt(curl, CURLOPT_PREREQDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(1) << 20);
  if (head) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  char* effective = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr) r.final_url = effective;
  curl_easy_cleanup(curl);

  if (t.refused) {
    r.error = "refused: the URL resolves to a loopback, private or link-local address";
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    r.timeout = true;
    r.error = "timeout";
  } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
    r.error = "too many redirects";
  } else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && status != 0)) {
    r.status = status;
  } else if (status >= 300 && status < 400) {
    r.error = "redirect to an unsupported location";  // e.g. a non-http(s) scheme
  } else {
    r.error = curl_easy_strerror(rc);
  }
  if (!r.error.empty()) r.status = 0;
  return r;
}

ProbeResult HttpProbe::Status(const std::string& url, const HttpGrant& grant, Clock::time_point deadline) {
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  const std::string key = std::string(grant.allow_private_addresses ? "p:" : "-:") + url;
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.expires > now) {
        ProbeResult r = it->second.result;
        r.cached = true;
        return r;
      }
      cache_.erase(it);
    }
  }
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
  const auto timeout = std::min(grant.timeout, remaining);
  if (timeout.count() <= 0) {
    ProbeResult r;
    r.timeout = true;
    r.error = "timeout";
    return r;
  }
  ProbeResult r = Fetch(url, grant, timeout, /*head=*/true);
  if (!r.timeout && r.error.empty() && r.status >= 400) {
    // Many servers refuse or mishandle HEAD; the GET answer is the truth.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const auto get_timeout = std::min(grant.timeout, left);
    if (get_timeout.count() > 0) r = Fetch(url, grant, get_timeout, /*head=*/false);
  }
  if (!r.timeout) {
    const auto ttl = r.error.empty() ? grant.cache_ttl : std::min(grant.cache_ttl, std::chrono::seconds(60));
    std::lock_guard lock(mu_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_[key] = Cached{r, Clock::now() + ttl};
  }
  return r;
}

void HttpProbe::ClearCache() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

}  // namespace toolgate::lua
