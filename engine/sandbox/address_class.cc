#include "sandbox/address_class.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "grants/host_pattern.h"

namespace toolgate::sandbox {

namespace {

IpAddress FromV4(std::uint32_t host_order) {
  IpAddress a;
  a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

std::uint32_t V4At(const std::array<std::uint8_t, 16>& b, std::size_t i) {
  return (std::uint32_t{b[i]} << 24) | (std::uint32_t{b[i + 1]} << 16) | (std::uint32_t{b[i + 2]} << 8) | b[i + 3];
}

bool InV4(std::uint32_t a, std::uint32_t net, int len) {
  const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
  return (a & mask) == net;
}

constexpr std::uint32_t V4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | std::uint32_t{d};
}

AddressClass ClassifyV4(std::uint32_t a) {
  // Metadata endpoints first: they sit inside link-local, CGNAT and IETF ranges.
  if (a == V4(169, 254, 169, 254) || a == V4(169, 254, 170, 2) || a == V4(100, 100, 100, 200) ||
      a == V4(192, 0, 0, 192)) {
    return AddressClass::kMetadata;
  }
  if (InV4(a, V4(0, 0, 0, 0), 8)) return AddressClass::kUnspecified;
  if (InV4(a, V4(127, 0, 0, 0), 8)) return AddressClass::kLoopback;
  if (InV4(a, V4(10, 0, 0, 0), 8) || InV4(a, V4(172, 16, 0, 0), 12) || InV4(a, V4(192, 168, 0, 0), 16)) {
    return AddressClass::kPrivate;
  }
  if (InV4(a, V4(100, 64, 0, 0), 10)) return AddressClass::kSharedCgnat;
  if (InV4(a, V4(169, 254, 0, 0), 16)) return AddressClass::kLinkLocal;
  if (a == V4(255, 255, 255, 255)) return AddressClass::kBroadcast;
  if (InV4(a, V4(224, 0, 0, 0), 4)) return AddressClass::kMulticast;
  if (InV4(a, V4(192, 0, 0, 0), 24) || InV4(a, V4(192, 0, 2, 0), 24) || InV4(a, V4(192, 88, 99, 0), 24) ||
      InV4(a, V4(198, 18, 0, 0), 15) || InV4(a, V4(198, 51, 100, 0), 24) || InV4(a, V4(203, 0, 113, 0), 24) ||
      InV4(a, V4(240, 0, 0, 0), 4)) {
    return AddressClass::kReserved;
  }
  return AddressClass::kPublic;
}

bool AllZero(const std::array<std::uint8_t, 16>& b, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

AddressClass ClassifyV6(const std::array<std::uint8_t, 16>& b) {
  if (AllZero(b, 0, 10) && b[10] == 0xff && b[11] == 0xff) return ClassifyV4(V4At(b, 12));  // ::ffff:a.b.c.d
  if (AllZero(b, 0, 16)) return AddressClass::kUnspecified;
  if (AllZero(b, 0, 15) && b[15] == 1) return AddressClass::kLoopback;
  if (AllZero(b, 0, 12)) return AddressClass::kReserved;  // IPv4-compatible ::a.b.c.d (deprecated)
  if (AllZero(b, 0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) {
    return AddressClass::kReserved;  // ::ffff:0:a.b.c.d, IPv4-translated (SIIT): not a destination of its own
  }
  // NAT64 well-known prefix: the translator reaches the embedded IPv4 address.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && AllZero(b, 4, 12)) return ClassifyV4(V4At(b, 12));
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 && b[5] == 0x01) {
    return AddressClass::kPrivate;  // 64:ff9b:1::/48, local-use NAT64
  }
  if (b[0] == 0x01 && b[1] == 0x00 && AllZero(b, 2, 8)) return AddressClass::kReserved;  // 100::/64 discard
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) return AddressClass::kReserved;  // Teredo
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return AddressClass::kReserved;  // documentation
  if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0x00) return AddressClass::kReserved;  // 3fff::/20 documentation
  if (b[0] == 0x20 && b[1] == 0x02) return ClassifyV4(V4At(b, 2));  // 6to4: 2002:AABB:CCDD::/48 reaches a.b.c.d
  // fd00:ec2::254, the AWS metadata service over IPv6 (inside the ULA range).
  static constexpr std::array<std::uint8_t, 16> kAwsV6 = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (b == kAwsV6) return AddressClass::kMetadata;
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::kPrivate;                 // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::kLinkLocal;  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressClass::kPrivate;    // fec0::/10 site-local
  if (b[0] == 0xff) return AddressClass::kMulticast;
  return AddressClass::kPublic;
}

bool IsDigits(std::string_view s, bool hex) {
  for (const char c : s) {
    const bool digit = c >= '0' && c <= '9';
    const bool hex_digit = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit && !(hex && hex_digit)) return false;
  }
  return true;
}

}  // namespace

std::uint32_t IpAddress::v4() const { return V4At(bytes, 0); }

const char* AddressClassName(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic: return "public";
    case AddressClass::kUnspecified: return "unspecified";
    case AddressClass::kLoopback: return "loopback";
    case AddressClass::kPrivate: return "private";
    case AddressClass::kSharedCgnat: return "shared (CGNAT)";
    case AddressClass::kLinkLocal: return "link-local";
    case AddressClass::kMetadata: return "metadata";
    case AddressClass::kMulticast: return "multicast";
    case AddressClass::kBroadcast: return "broadcast";
    case AddressClass::kReserved: return "reserved";
  }
  return "reserved";
}

AddressClass ClassifyAddress(const IpAddress& address) {
  return address.v6 ? ClassifyV6(address.bytes) : ClassifyV4(address.v4());
}

std::optional<IpAddress> ParseIpLiteral(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 63) return std::nullopt;
  if (text.find(':') != std::string_view::npos) {
    if (text.find('%') != std::string_view::npos) return std::nullopt;  // zone ids name an interface, not a host
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress a;
    a.v6 = true;
    if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
    if (AllZero(a.bytes, 0, 10) && a.bytes[10] == 0xff && a.bytes[11] == 0xff) return FromV4(V4At(a.bytes, 12));
    return a;
  }
  std::uint32_t v4 = 0;
  if (!ParseIpv4Loose(text, &v4)) return std::nullopt;  // the grants' own reading, so both agree
  return FromV4(v4);
}

bool EndsInNumericLabel(std::string_view host) {
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const std::size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) return IsDigits(last.substr(2), true);
  return IsDigits(last, false);
}

std::string FormatIp(const IpAddress& address) {
  char buf[INET6_ADDRSTRLEN];
  if (address.v6) {
    inet_ntop(AF_INET6, address.bytes.data(), buf, sizeof buf);
  } else {
    inet_ntop(AF_INET, address.bytes.data(), buf, sizeof buf);
  }
  return buf;
}

unsigned FillSockaddr(const IpAddress& address, int port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  if (address.v6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(out);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&s->sin6_addr, address.bytes.data(), 16);
    return sizeof *s;
  }
  auto* s = reinterpret_cast<sockaddr_in*>(out);
  s->sin_family = AF_INET;
  s->sin_port = htons(static_cast<std::uint16_t>(port));
  std::memcpy(&s->sin_addr, address.bytes.data(), 4);
  return sizeof *s;
}

}  // namespace toolgate::sandbox
