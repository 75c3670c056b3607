// The egress proxy's judgment, apart from any socket: may this agent's
// profile reach host:port, and at which checked addresses.
//
//  1. The host (a name or a normalized IP literal) and port must match an
//     allow grant in network.allow. A deny grant, an ask grant (a proxy cannot
//     ask anyone), or no grant at all is a refusal; a profile whose default is
//     allow does not open the proxy by itself.
//  2. The proxy resolves a name itself; every address of the answer is then
//     checked: an address a network deny (or ask) grant matches is refused,
//     and a non-public address (private, loopback, link-local, CGNAT,
//     metadata, multicast, reserved, unspecified; see address_class.h) is
//     refused unless an IP or CIDR allow grant covers it ("*" is not one), or
//     it is a loopback address of a "localhost" name granted by name. A name grant like "api.example.com" never
//     unlocks a private address: that is exactly what DNS rebinding forges.
//  3. One refused address refuses the whole request; otherwise the caller
//     connects only to the addresses returned here, never resolving again.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sandbox/address_class.h"
#include "toolgate/decision.h"
#include "toolgate/tool_call.h"

namespace toolgate {
class CompiledProfile;
class Policy;
}

namespace toolgate::sandbox {

using Resolver = std::function<std::vector<std::string>(const std::string& host)>;

// getaddrinfo (AF_UNSPEC, SOCK_STREAM), numeric answers, in resolver order.
std::vector<std::string> SystemResolve(const std::string& host);

struct EgressVerdict {
  bool allowed = false;
  int status = 403;                  // what the client gets when refused: 403, or 502 when the name does not resolve
  const GrantInfo* grant = nullptr;  // the grant that decided (allow, or the deny/ask that refused); may be null
  std::string reason;                // one short line for the client and the log
  std::vector<IpAddress> addresses;  // every address checked (allowed: the ones to connect to, in order)
};

inline constexpr std::size_t kMaxResolvedAddresses = 32;

// host is what ParseRequestHead produced (lower-case; IP literals normalized
// and unbracketed). scheme is recorded in the HostEffect ("http", "" for CONNECT).
EgressVerdict DecideEgress(const CompiledProfile& profile, const std::string& host, bool host_is_ip, int port,
                           const std::string& scheme, const Resolver& resolve);

// The tool name and the agent.via prefix of the proxy's decision records.
inline constexpr std::string_view kEgressToolName = "egress";
inline constexpr std::string_view kEgressViaPrefix = "egress-proxy/";

// Re-judges a connection decision the proxy logged (call.tool_name "egress",
// tool_input {method, target, host, port, addresses, status}) under another
// policy, for `toolgate replay`. The name is answered with the addresses
// that were logged, so the result does not depend on today's DNS. A request
// that was malformed (no host) stays a deny.
Decision ReplayEgressCall(const Policy& policy, const ToolCall& call);

}  // namespace toolgate::sandbox
