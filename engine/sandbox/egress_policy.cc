#include "sandbox/egress_policy.h"

#include <netdb.h>
#include <sys/socket.h>

#include "grants/compiled_profile.h"
#include "grants/host_pattern.h"
#include "toolgate/policy.h"

namespace toolgate::sandbox {

namespace {

std::string HostPort(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

EgressVerdict Refused(std::string reason, const GrantInfo* grant = nullptr, int status = 403) {
  EgressVerdict v;
  v.status = status;
  v.grant = grant;
  v.reason = std::move(reason);
  return v;
}

// What kind of pattern a grant is ("*", a name, an IP or CIDR).
std::optional<HostPattern::Kind> GrantKind(const GrantInfo* grant) {
  if (grant == nullptr) return std::nullopt;
  Result<HostPattern> p = ParseHostPattern(grant->pattern);
  if (!p) return std::nullopt;
  return p->kind;
}

// RFC 6761: "localhost" and names below it are loopback by definition, so a
// grant naming them means the loopback addresses they resolve to.
bool IsLocalhostName(const std::string& host) {
  constexpr std::string_view kSuffix = ".localhost";
  return host == "localhost" ||
         (host.size() > kSuffix.size() && host.compare(host.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0);
}

}  // namespace

std::vector<std::string> SystemResolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::vector<std::string> out;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* a = res; a != nullptr && out.size() < kMaxResolvedAddresses; a = a->ai_next) {
    char buf[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0) out.emplace_back(buf);
  }
  freeaddrinfo(res);
  return out;
}

EgressVerdict DecideEgress(const CompiledProfile& profile, const std::string& host, bool host_is_ip, int port,
                           const std::string& scheme, const Resolver& resolve) {
  const std::string where = HostPort(host, port);
  HostEffect effect;
  effect.host = host;
  effect.port = port;
  effect.scheme = scheme;
  effect.source = "egress proxy";

  // 1. The name (or literal) must be granted.
  const GrantMatch name = profile.CheckHost(effect);
  if (name.verdict == Verdict::kDeny) {
    return Refused(name.grant != nullptr ? where + " is denied by grant " + name.grant->id
                                         : where + " is not granted to this agent",
                   name.grant);
  }
  if (name.verdict == Verdict::kAsk) {
    return Refused(where + " needs approval (" + (name.grant != nullptr ? name.grant->id : "profile default") +
                       "); the egress proxy cannot ask, so it refuses",
                   name.grant);
  }
  if (name.grant == nullptr) {
    return Refused(where + " is not named by any network grant (a profile default does not open the proxy)");
  }
  const std::optional<HostPattern::Kind> name_kind = GrantKind(name.grant);

  // 2. Resolve (a literal is its own answer) and check every address.
  std::vector<IpAddress> addresses;
  if (host_is_ip) {
    const std::optional<IpAddress> ip = ParseIpLiteral(host);
    if (!ip) return Refused("'" + host + "' is not an IP address");
    addresses.push_back(*ip);
  } else {
    std::vector<std::string> answers;
    if (resolve) answers = resolve(host);
    for (const std::string& a : answers) {
      if (addresses.size() == kMaxResolvedAddresses) break;
      // A resolver answer must be an address written plainly; anything else
      // (a name, a zone id, an odd numeric form) is not something to trust.
      const std::optional<IpAddress> ip = ParseIpLiteral(a);
      const bool plain = ip && (a.find(':') != std::string::npos || FormatIp(*ip) == a);
      if (!plain) {
        return Refused(host + " resolved to '" + a.substr(0, 64) + "', which is not an IP address");
      }
      addresses.push_back(*ip);
    }
    if (addresses.empty()) return Refused("cannot resolve " + host, nullptr, 502);
  }

  for (const IpAddress& a : addresses) {
    const std::string text = FormatIp(a);
    HostEffect addr_effect = effect;
    addr_effect.host = text;
    const GrantMatch m = profile.CheckHost(addr_effect);
    const std::string subject = host_is_ip ? where : where + " (" + text + ")";
    if (m.grant != nullptr && m.verdict != Verdict::kAllow) {
      EgressVerdict v = Refused(subject + (m.verdict == Verdict::kAsk ? " needs approval (" : " is denied by grant (") +
                                    m.grant->id + ")",
                                m.grant);
      v.addresses = addresses;
      return v;
    }
    const AddressClass cls = ClassifyAddress(a);
    if (cls == AddressClass::kPublic) continue;
    const std::optional<HostPattern::Kind> kind = m.verdict == Verdict::kAllow ? GrantKind(m.grant) : std::nullopt;
    if (kind == HostPattern::Kind::kIpv4 || kind == HostPattern::Kind::kIpv6) continue;
    if (cls == AddressClass::kLoopback && IsLocalhostName(host) && name_kind == HostPattern::Kind::kName) continue;
    EgressVerdict v =
        Refused(subject + " is a " + AddressClassName(cls) + " address; only an IP or CIDR grant allows it");
    v.addresses = addresses;
    return v;
  }

  EgressVerdict v;
  v.allowed = true;
  v.status = 200;
  v.grant = name.grant;
  v.reason = where + " allowed by grant " + name.grant->id;
  v.addresses = std::move(addresses);
  return v;
}

Decision ReplayEgressCall(const Policy& policy, const ToolCall& call) {
  Decision d;
  d.verdict = Verdict::kDeny;
  d.agent_id = call.agent_id;
  d.policy_digest = policy.digest();
  Finding f;
  f.verdict = Verdict::kDeny;
  f.subject = Subject::kHost;
  const nlohmann::json& in = call.tool_input;
  const auto text = [&in](const char* key) {
    return in.contains(key) && in[key].is_string() ? in[key].get<std::string>() : std::string();
  };
  const std::string host = text("host");
  const int port = in.contains("port") && in["port"].is_number_integer() ? in["port"].get<int>() : 0;
  std::vector<std::string> logged;
  if (in.contains("addresses") && in["addresses"].is_array()) {
    for (const nlohmann::json& a : in["addresses"]) {
      if (a.is_string()) logged.push_back(a.get<std::string>());
    }
  }
  const CompiledProfile* profile = policy.ProfileFor(call.agent_id, &d.profile);
  if (host.empty() || port < 1 || port > 65535) {
    f.target = "-";
    f.note = "the request was malformed";
  } else if (profile == nullptr) {
    f.target = host + ":" + std::to_string(port);
    f.note = "unknown agent";
  } else {
    const std::optional<IpAddress> ip = ParseIpLiteral(host);
    const bool is_ip = ip.has_value() && FormatIp(*ip) == host;
    const EgressVerdict v = DecideEgress(*profile, host, is_ip, port, text("method") == "CONNECT" ? "" : "http",
                                         [&logged](const std::string&) { return logged; });
    f.target = HostPort(host, port);
    f.verdict = v.allowed ? Verdict::kAllow : Verdict::kDeny;
    f.grant = v.grant;
    f.note = v.reason;
  }
  d.verdict = f.verdict;
  d.findings.push_back(std::move(f));
  return d;
}

}  // namespace toolgate::sandbox
