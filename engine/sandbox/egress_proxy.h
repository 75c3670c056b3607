// The egress proxy: an HTTP CONNECT + plain-HTTP forward proxy that runs
// outside a sandbox and is the only way out of its network namespace. It lets
// through only the hosts and ports the agent's profile grants, resolves names
// itself, and refuses private, loopback, link-local and metadata addresses
// unless the profile grants them explicitly (DNS rebinding, SSRF).
//
// Pieces: sandbox/http_head.h (strict, bounded request heads),
// sandbox/egress_policy.h (the judgment: which grants open what),
// sandbox/address_class.h (what counts as non-public), sandbox/tunnel.h
// (splice relay). One thread per connection, at most max_connections.
// Answers: 200 (tunnel open / response relayed), 400 malformed, 403 refused,
// 408 head too slow, 431 head too large, 502 unresolvable or unreachable,
// 503 too many connections or the decision log failed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "toolgate/result.h"

namespace toolgate {
class AuditLog;
class CompiledProfile;
}  // namespace toolgate

namespace toolgate::sandbox {

struct EgressProxyOptions {
  // Where to listen. At least one must be set. The Unix socket is what a
  // sandbox's bridge connects to; the TCP address (loopback only) serves
  // tests and benchmarks.
  std::string unix_socket_path;  // created mode 0600, removed on Stop
  std::string tcp_listen;        // "127.0.0.1:0" picks a free port

  // The profile whose network grants decide each connection. Must outlive the proxy.
  const CompiledProfile* profile = nullptr;
  std::string agent_id;      // recorded with each connection decision
  std::string session_id;
  std::string policy_digest;  // "sha256:<hex>" of the policy, recorded with each decision

  // Each connection decision (allow or deny, host, port, resolved address,
  // reason) is appended here when set. Must outlive the proxy.
  AuditLog* log = nullptr;

  // Name resolution; tests replace it to simulate DNS rebinding. Returns
  // the addresses (numeric strings) for a host, or an empty vector. Called
  // from connection threads at once, so it must be thread-safe. Empty: the
  // system resolver (getaddrinfo). The proxy connects only to addresses this
  // returned and it checked; it never resolves a name twice.
  std::function<std::vector<std::string>(const std::string& host)> resolve;

  std::chrono::milliseconds header_timeout{10000};  // to receive a complete request head
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};
  std::size_t max_connections = 256;
  std::size_t max_header_bytes = 16 * 1024;
};

class EgressProxy {
 public:
  // Binds the listeners and starts serving on background threads.
  static Result<std::unique_ptr<EgressProxy>> Start(EgressProxyOptions options);
  ~EgressProxy();  // Stop()
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  // The TCP address actually bound ("127.0.0.1:41234"), "" when none.
  std::string tcp_address() const;
  const std::string& unix_socket_path() const;

  // Stops accepting, closes every tunnel, joins the threads. Idempotent.
  void Stop();

 private:
  struct State;
  explicit EgressProxy(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace toolgate::sandbox
