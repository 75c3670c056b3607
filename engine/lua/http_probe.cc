#include "lua/http_probe.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace toolgate::lua {
namespace {

// libcurl is loaded on the first probe, not linked: it pulls in some thirty
// shared libraries (TLS, Kerberos, LDAP, SSH, ...) whose loading and
// relocation would otherwise be paid by every process start, the hook
// included, although only rule packs granted "http" ever probe a URL. The
// header still fixes the ABI; the soname pins the major version it matches.
struct CurlApi {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  std::string error;  // "" when every symbol was found and curl_global_init succeeded
};

template <typename F>
bool Resolve(void* lib, const char* name, F* out, std::string* error) {
  *out = reinterpret_cast<F>(::dlsym(lib, name));
  if (*out == nullptr && error->empty()) error->assign(std::string("libcurl has no ") + name);
  return *out != nullptr;
}

// Loaded once per process and never unloaded (curl_global_cleanup is not
// safe while other threads may still probe).
const CurlApi& Curl() {
  static const CurlApi api = [] {
    CurlApi a;
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = ::dlerror();
      a.error = std::string("cannot load libcurl.so.4 (install libcurl4): ") + (why != nullptr ? why : "dlopen failed");
      return a;
    }
    Resolve(lib, "curl_global_init", &a.global_init, &a.error);
    Resolve(lib, "curl_easy_init", &a.easy_init, &a.error);
    Resolve(lib, "curl_easy_setopt", &a.easy_setopt, &a.error);
    Resolve(lib, "curl_easy_perform", &a.easy_perform, &a.error);
    Resolve(lib, "curl_easy_getinfo", &a.easy_getinfo, &a.error);
    Resolve(lib, "curl_easy_cleanup", &a.easy_cleanup, &a.error);
    Resolve(lib, "curl_easy_strerror", &a.easy_strerror, &a.error);
    if (a.error.empty() && a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) a.error = "curl_global_init failed";
    return a;
  }();
  return api;
}

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
  const CurlApi& c = Curl();
  CURL* curl = c.easy_init();
  if (curl == nullptr) {
    r.error = "cannot create a curl handle";
    return r;
  }
  Transfer t;
  t.allow_private = grant.allow_private_addresses;
  c.easy_setopt(curl, CURLOPT_URL, url.c_str());
  c.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  c.easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  c.easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  c.easy_setopt(curl, CURLOPT_MAXREDIRS, static_cast<long>(grant.max_redirects));
  c.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, timeout.count())));
  c.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<long long>(1, timeout.count())));
  c.easy_setopt(curl, CURLOPT_PROXY, "");
  c.easy_setopt(curl, CURLOPT_USERAGENT, "toolgate-link-check/0.1");
  c.easy_setopt(curl, CURLOPT_PREREQFUNCTION, CheckAddress);
  c.easy_setopt(curl, CURLOPT_PREREQDATA, &t);
  c.easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  c.easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  c.easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(1) << 20);
  if (head) c.easy_setopt(curl, CURLOPT_NOBODY, 1L);
  const CURLcode rc = c.easy_perform(curl);
  long status = 0;
  c.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  char* effective = nullptr;
  c.easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr) r.final_url = effective;
  c.easy_cleanup(curl);

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
    r.error = c.easy_strerror(rc);
  }
  if (!r.error.empty()) r.status = 0;
  return r;
}

ProbeResult HttpProbe::Status(const std::string& url, const HttpGrant& grant, Clock::time_point deadline) {
  // Fails closed: without libcurl a probe answers with an error, never a status.
  if (const CurlApi& c = Curl(); !c.error.empty()) {
    ProbeResult r;
    r.error = c.error;
    return r;
  }
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
