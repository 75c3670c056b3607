#include "sandbox/address_class.h"

#include <doctest/doctest.h>

#include <string>

using namespace toolgate::sandbox;

namespace {

AddressClass Class(const std::string& text) {
  const std::optional<IpAddress> ip = ParseIpLiteral(text);
  REQUIRE_MESSAGE(ip.has_value(), text);
  return ClassifyAddress(*ip);
}

std::string Normalized(const std::string& text) {
  const std::optional<IpAddress> ip = ParseIpLiteral(text);
  return ip ? FormatIp(*ip) : "<none>";
}

}  // namespace

TEST_CASE("IPv4 classes") {
  CHECK(Class("8.8.8.8") == AddressClass::kPublic);
  CHECK(Class("1.1.1.1") == AddressClass::kPublic);
  CHECK(Class("0.0.0.0") == AddressClass::kUnspecified);
  CHECK(Class("0.1.2.3") == AddressClass::kUnspecified);
  CHECK(Class("127.0.0.1") == AddressClass::kLoopback);
  CHECK(Class("127.255.0.9") == AddressClass::kLoopback);
  CHECK(Class("10.0.0.1") == AddressClass::kPrivate);
  CHECK(Class("172.16.0.1") == AddressClass::kPrivate);
  CHECK(Class("172.31.255.255") == AddressClass::kPrivate);
  CHECK(Class("172.32.0.1") == AddressClass::kPublic);
  CHECK(Class("172.15.255.255") == AddressClass::kPublic);
  CHECK(Class("192.168.1.1") == AddressClass::kPrivate);
  CHECK(Class("100.64.0.1") == AddressClass::kSharedCgnat);
  CHECK(Class("100.127.255.255") == AddressClass::kSharedCgnat);
  CHECK(Class("100.128.0.1") == AddressClass::kPublic);
  CHECK(Class("169.254.1.1") == AddressClass::kLinkLocal);
  CHECK(Class("169.254.169.254") == AddressClass::kMetadata);
  CHECK(Class("169.254.170.2") == AddressClass::kMetadata);
  CHECK(Class("100.100.100.200") == AddressClass::kMetadata);
  CHECK(Class("192.0.0.192") == AddressClass::kMetadata);
  CHECK(Class("224.0.0.1") == AddressClass::kMulticast);
  CHECK(Class("239.255.255.250") == AddressClass::kMulticast);
  CHECK(Class("255.255.255.255") == AddressClass::kBroadcast);
  CHECK(Class("240.0.0.1") == AddressClass::kReserved);
  CHECK(Class("192.0.2.1") == AddressClass::kReserved);
  CHECK(Class("198.18.0.1") == AddressClass::kReserved);
  CHECK(Class("203.0.113.7") == AddressClass::kReserved);
}

TEST_CASE("odd IPv4 forms normalize as inet_aton reads them") {
  CHECK(Normalized("127.1") == "127.0.0.1");
  CHECK(Normalized("2130706433") == "127.0.0.1");
  CHECK(Normalized("0x7f000001") == "127.0.0.1");
  CHECK(Normalized("0x7f.0.0.1") == "127.0.0.1");
  CHECK(Normalized("0177.0.0.1") == "127.0.0.1");
  CHECK(Normalized("017700000001") == "127.0.0.1");
  CHECK(Normalized("0xa9.0xfe.0xa9.0xfe") == "169.254.169.254");
  CHECK(Normalized("2852039166") == "169.254.169.254");
  CHECK(Normalized("169.254.43518") == "169.254.169.254");
  CHECK(Normalized("10.1") == "10.0.0.1");
  CHECK(Class("0") == AddressClass::kUnspecified);
  CHECK(Class("0x7f.1") == AddressClass::kLoopback);
  // Not addresses at all.
  CHECK(Normalized("256.0.0.1") == "<none>");
  CHECK(Normalized("1.2.3.4.5") == "<none>");
  CHECK(Normalized("08.0.0.1") == "<none>");  // 8 is not an octal digit
  CHECK(Normalized("1.2.3.4 ") == "<none>");
  CHECK(Normalized("0x") == "<none>");
  CHECK(Normalized("") == "<none>");
  CHECK(Normalized("4294967296") == "<none>");
}

TEST_CASE("IPv6 classes, and embedded IPv4 forms take the embedded class") {
  CHECK(Class("::") == AddressClass::kUnspecified);
  CHECK(Class("::1") == AddressClass::kLoopback);
  CHECK(Class("[::1]") == AddressClass::kLoopback);
  CHECK(Class("fe80::1") == AddressClass::kLinkLocal);
  CHECK(Class("febf::1") == AddressClass::kLinkLocal);
  CHECK(Class("fec0::1") == AddressClass::kPrivate);
  CHECK(Class("fc00::1") == AddressClass::kPrivate);
  CHECK(Class("fd12:3456::1") == AddressClass::kPrivate);
  CHECK(Class("fd00:ec2::254") == AddressClass::kMetadata);
  CHECK(Class("ff02::1") == AddressClass::kMulticast);
  CHECK(Class("2001:db8::1") == AddressClass::kReserved);
  CHECK(Class("2001::1") == AddressClass::kReserved);  // Teredo
  CHECK(Class("2606:4700::1111") == AddressClass::kPublic);
  // IPv4-mapped: normalized to IPv4, so grants and classes see one form.
  CHECK(Normalized("::ffff:127.0.0.1") == "127.0.0.1");
  CHECK(Normalized("::ffff:7f00:1") == "127.0.0.1");
  CHECK(Normalized("[::ffff:169.254.169.254]") == "169.254.169.254");
  CHECK(Class("::ffff:a9fe:a9fe") == AddressClass::kMetadata);
  CHECK(Class("::ffff:10.0.0.1") == AddressClass::kPrivate);
  CHECK(Class("::ffff:8.8.8.8") == AddressClass::kPublic);
  // IPv4-compatible (deprecated), NAT64 and 6to4 embed a reachable IPv4 address.
  CHECK(Class("::127.0.0.1") == AddressClass::kReserved);
  CHECK(Class("::ffff:0:127.0.0.1") == AddressClass::kReserved);
  CHECK(Class("64:ff9b::127.0.0.1") == AddressClass::kLoopback);
  CHECK(Class("64:ff9b::a9fe:a9fe") == AddressClass::kMetadata);
  CHECK(Class("64:ff9b::8.8.8.8") == AddressClass::kPublic);
  CHECK(Class("64:ff9b:1::1") == AddressClass::kPrivate);
  CHECK(Class("2002:7f00:1::1") == AddressClass::kLoopback);
  CHECK(Class("2002:a00:1::") == AddressClass::kPrivate);
  CHECK(Class("2002:808:808::1") == AddressClass::kPublic);
  // Zone ids name an interface: refused.
  CHECK(Normalized("fe80::1%eth0") == "<none>");
  CHECK(Normalized("[fe80::1%25eth0]") == "<none>");
  CHECK(Normalized("::1::1") == "<none>");
}

TEST_CASE("names that end in a number") {
  CHECK(EndsInNumericLabel("1.2.3.4"));
  CHECK(EndsInNumericLabel("1.2.3.999"));
  CHECK(EndsInNumericLabel("example.123"));
  CHECK(EndsInNumericLabel("0x10"));
  CHECK(EndsInNumericLabel("a.0X1f"));
  CHECK(EndsInNumericLabel("127.0.0.1."));
  CHECK_FALSE(EndsInNumericLabel("example.com"));
  CHECK_FALSE(EndsInNumericLabel("1.2.3.4.example"));
  CHECK_FALSE(EndsInNumericLabel("123abc"));
  CHECK_FALSE(EndsInNumericLabel("0xg1"));
}
