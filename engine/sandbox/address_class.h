// IP addresses as the egress proxy sees them: parsed from a request target or
// a resolver answer, normalized (IPv4-mapped IPv6 becomes IPv4; the odd IPv4
// forms inet_aton accepts become a dotted quad), and classified so that
// private, loopback, link-local, metadata and other non-public destinations
// can be refused unless a grant names them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr_storage;

namespace toolgate::sandbox {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4: the first 4 bytes, network order

  std::uint32_t v4() const;  // host byte order; only when !v6
  bool operator==(const IpAddress&) const = default;
};

// What kind of destination an address is. Everything but kPublic is refused
// by the proxy unless an address grant covers it.
enum class AddressClass {
  kPublic,
  kUnspecified,  // 0.0.0.0/8, ::
  kLoopback,     // 127.0.0.0/8, ::1
  kPrivate,      // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 (site-local), 64:ff9b:1::/48
  kSharedCgnat,  // 100.64.0.0/10
  kLinkLocal,    // 169.254.0.0/16, fe80::/10
  kMetadata,     // cloud instance metadata: 169.254.169.254, 169.254.170.2, 100.100.100.200,
                 // 192.0.0.192, fd00:ec2::254
  kMulticast,    // 224.0.0.0/4, ff00::/8
  kBroadcast,    // 255.255.255.255
  kReserved,     // documentation, benchmarking, 240/4, IETF 192.0.0/24, discard 100::/64,
                 // Teredo 2001::/32, IPv4-compatible ::/96, IPv4-translated ::ffff:0:0:0/96
};

const char* AddressClassName(AddressClass c);  // "public", "loopback", "metadata", ...

// Classifies an address. IPv6 forms that embed an IPv4 address a host would
// reach (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) take
// the class of the embedded address when that is not public.
AddressClass ClassifyAddress(const IpAddress& address);

// Parses an IP literal as a URL host or resolver answer may carry it:
// IPv4 in any form inet_aton accepts ("127.1", "0x7f.0.0.1", "2130706433",
// "017700000001"), IPv6 with or without brackets. Zone ids ("fe80::1%eth0")
// are refused. IPv4-mapped IPv6 is returned as IPv4.
std::optional<IpAddress> ParseIpLiteral(std::string_view text);

// True when text ends in a numeric label ("1.2.3.999", "0x10", "example.123")
// and so must be an IPv4 literal or nothing: such names are never resolved.
bool EndsInNumericLabel(std::string_view host);

// "127.0.0.1", "::1" (no brackets).
std::string FormatIp(const IpAddress& address);

// Fills a sockaddr for address:port; returns its length.
unsigned FillSockaddr(const IpAddress& address, int port, sockaddr_storage* out);

}  // namespace toolgate::sandbox
