// HostPattern: one network grant ("api.github.com", "*.example.com:443",
// "10.0.0.0/8", "[::1]:8080", "*"). HostPatternSet matches a HostEffect's
// host and port against every pattern of a profile: host names through one
// case-insensitive RE2 set, IP literals through numeric prefix lists.
//
// Syntax: HOST[:PORT] where PORT is 1-65535 or '*' (absent = any port) and
// HOST is one of
//   *                 any host (including IP literals)
//   name.example      exactly that name, case-insensitive, trailing '.' ignored
//   *.example         any name below example (at least one more label), not example itself
//   1.2.3.4           an IPv4 literal (dotted quad)
//   10.0.0.0/8        an IPv4 prefix; host bits must be zero
//   [::1]             an IPv6 literal (brackets required)
// Names are ASCII labels of [a-z0-9_-]; internationalized names must be
// written in punycode ("xn--..."). A host whose port is unknown (0) matches
// only patterns without a port.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grants/regex_set.h"
#include "toolgate/result.h"

namespace toolgate {

struct HostPattern {
  enum class Kind { kAny, kName, kIpv4, kIpv6 };
  Kind kind = Kind::kName;
  std::string canonical;  // lower-case, normalized: "*.example.com:443", "10.0.0.0/8", "[::1]"
  std::string regex;      // kName
  std::string name;       // kName: the name without a leading "*.", lower-case
  bool wildcard = false;  // kName: "*.name"
  std::uint32_t v4_addr = 0, v4_mask = 0;  // kIpv4, host byte order
  std::array<std::uint8_t, 16> v6{};       // kIpv6
  int port = -1;                           // -1: any port
  bool literal = false;   // one host: a name without '*', a /32, or an IPv6 literal
  std::string literal_host;  // that host as a HostEffect would carry it
};

Result<HostPattern> ParseHostPattern(std::string_view pattern);

// RE2's error for a pattern its set compiles (case-insensitive); "" when
// there is none or the pattern is answered from the tables.
std::string RegexErrorOf(const HostPattern& pattern);

// Parses an IPv4 literal the way inet_aton (and so curl and getaddrinfo) does:
// 1-4 parts, each decimal, octal (leading 0) or hex (0x). "127.1" and
// "2130706433" are 127.0.0.1. No trailing text of any kind is accepted.
bool ParseIpv4Loose(std::string_view text, std::uint32_t* addr);

class HostPatternSet {
 public:
  // True when the pattern is answered from the tables (never compiled).
  static bool InTable(const HostPattern& pattern);
  void Add(const HostPattern& pattern, int slot);
  [[nodiscard]] bool Compile(std::string* error);
  // Slots of every matching pattern. *well_formed is false when host is not a
  // syntactically valid name or IP literal; callers must then not let an allow
  // grant decide (a malformed host can still be denied or asked).
  SetOutcome Match(std::string_view host, int port, std::vector<int>* slots, bool* well_formed) const;

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Numeric {
    HostPattern::Kind kind;
    std::uint32_t v4_addr, v4_mask;
    std::array<std::uint8_t, 16> v6;
    int port;
    int slot;
  };
  // Name patterns by their lower-case name, exact or below a wildcard: a
  // host is looked up whole and by each of its parent suffixes, which
  // matches what the patterns' case-insensitive regexes (name, and
  // .+\.name) match, without running RE2.
  struct NameEntry {
    int slot;
    int port;
  };
  std::unordered_map<std::string, std::vector<NameEntry>, NameHash, std::equal_to<>> exact_names_;
  std::unordered_map<std::string, std::vector<NameEntry>, NameHash, std::equal_to<>> wildcard_names_;
  RegexSet names_{/*case_sensitive=*/false};
  std::vector<int> name_slots_;
  std::vector<int> name_ports_;
  std::vector<Numeric> numeric_;  // kAny, kIpv4, kIpv6
};

}  // namespace toolgate
