#include "grants/host_pattern.h"

#include <arpa/inet.h>

#include <cstring>

#include "grants/glob.h"

namespace toolgate {

namespace {

Error PatternError(std::string message) { return Error{ErrorCode::kPolicyPattern, std::move(message), ""}; }

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Every label non-empty, of label characters, at most 63 bytes; total <= 253.
bool IsWellFormedName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!IsLabelChar(c) || ++label > 63) return false;
  }
  return label > 0;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ParseV6(std::string_view text, std::array<std::uint8_t, 16>* out) {
  char buf[64];
  const std::size_t zone = text.find('%');
  if (zone != std::string_view::npos) text = text.substr(0, zone);
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return inet_pton(AF_INET6, buf, out->data()) == 1;
}

bool StrictV4(std::string_view text, std::uint32_t* addr) {
  char buf[16];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr a{};
  if (inet_pton(AF_INET, buf, &a) != 1) return false;
  *addr = ntohl(a.s_addr);
  return true;
}

bool IsV4Mapped(const std::array<std::uint8_t, 16>& a, std::uint32_t* v4) {
  for (int i = 0; i < 10; ++i) {
    if (a[static_cast<std::size_t>(i)] != 0) return false;
  }
  if (a[10] != 0xff || a[11] != 0xff) return false;
  *v4 = (std::uint32_t{a[12]} << 24) | (std::uint32_t{a[13]} << 16) | (std::uint32_t{a[14]} << 8) | a[15];
  return true;
}

std::string FormatV6(const std::array<std::uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

std::string FormatV4(std::uint32_t addr) {
  in_addr a{};
  a.s_addr = htonl(addr);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace

bool ParseIpv4Loose(std::string_view text, std::uint32_t* addr) {
  std::uint64_t parts[4];
  int n = 0;
  std::size_t start = 0;
  while (true) {
    if (n == 4) return false;
    std::size_t end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view p = text.substr(start, end - start);
    if (p.empty()) return false;
    int base = 10;
    if (p.size() > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
      base = 16;
      p.remove_prefix(2);
      if (p.empty()) return false;
    } else if (p.size() > 1 && p[0] == '0') {
      base = 8;
      p.remove_prefix(1);
    }
    std::uint64_t v = 0;
    for (const char c : p) {
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return false;
      if (d >= base) return false;
      v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
      if (v > 0xffffffffULL) return false;
    }
    parts[n++] = v;
    if (end == text.size()) break;
    start = end + 1;
  }
  std::uint32_t out = 0;
  for (int i = 0; i < n - 1; ++i) {
    if (parts[i] > 0xff) return false;
    out |= static_cast<std::uint32_t>(parts[i]) << (24 - 8 * i);
  }
  const std::uint64_t last_max = 0xffffffffULL >> (8 * (n - 1));
  if (parts[n - 1] > last_max) return false;
  out |= static_cast<std::uint32_t>(parts[n - 1]);
  *addr = out;
  return true;
}

Result<HostPattern> ParseHostPattern(std::string_view pattern) {
  if (pattern.empty()) return PatternError("empty host pattern");
  std::string text;
  for (const char c : pattern) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      return PatternError("host patterns must be ASCII; write internationalized names in punycode (xn--...)");
    }
    if (u <= 0x20 || u == 0x7f) return PatternError("spaces and control bytes are not allowed in a host pattern");
    text.push_back(static_cast<char>(u >= 'A' && u <= 'Z' ? u - 'A' + 'a' : u));
  }
  HostPattern out;
  std::string host;
  std::string_view port_text;
  bool has_port = false;
  if (text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos) return PatternError("'[' without ']' in an IPv6 host pattern");
    host = text.substr(1, close - 1);
    const std::string_view rest = std::string_view(text).substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return PatternError("expected ':PORT' after ']'");
      has_port = true;
      port_text = rest.substr(1);
    }
    if (host.find('/') != std::string::npos) return PatternError("IPv6 prefixes are not supported; list addresses");
    if (!ParseV6(host, &out.v6) || host.find('%') != std::string::npos) {
      return PatternError("'" + host + "' is not an IPv6 address");
    }
    out.kind = HostPattern::Kind::kIpv6;
    out.literal = true;
    out.literal_host = FormatV6(out.v6);
    out.canonical = "[" + out.literal_host + "]";
  } else {
    const std::size_t colon = text.find(':');
    if (colon != std::string::npos && text.find(':', colon + 1) != std::string::npos) {
      return PatternError("write IPv6 literals in brackets: [::1] or [::1]:8080");
    }
    host = text.substr(0, colon);
    if (colon != std::string::npos) {
      has_port = true;
      port_text = std::string_view(text).substr(colon + 1);
    }
    while (!host.empty() && host.back() == '.') host.pop_back();
    if (host.empty()) return PatternError("empty host in host pattern");
    const std::size_t slash = host.find('/');
    std::uint32_t v4 = 0;
    if (host == "*") {
      out.kind = HostPattern::Kind::kAny;
      out.canonical = "*";
    } else if (slash != std::string::npos) {
      const std::string addr = host.substr(0, slash);
      const std::string len_text = host.substr(slash + 1);
      if (!StrictV4(addr, &v4)) return PatternError("'" + addr + "' is not a dotted-quad IPv4 address");
      if (len_text.empty() || len_text.size() > 2 || len_text.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(len_text) > 32) {
        return PatternError("IPv4 prefix length must be 0-32");
      }
      const int len = std::stoi(len_text);
      out.v4_mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
      if ((v4 & ~out.v4_mask) != 0) {
        return PatternError("'" + host + "' has host bits set; write the network address (e.g. 10.0.0.0/8)");
      }
      out.kind = HostPattern::Kind::kIpv4;
      out.v4_addr = v4;
      out.canonical = FormatV4(v4) + "/" + std::to_string(len);
      out.literal = len == 32;
      if (out.literal) out.literal_host = FormatV4(v4);
    } else if (StrictV4(host, &v4)) {
      out.kind = HostPattern::Kind::kIpv4;
      out.v4_addr = v4;
      out.v4_mask = ~std::uint32_t{0};
      out.canonical = FormatV4(v4);
      out.literal = true;
      out.literal_host = out.canonical;
    } else if (ParseIpv4Loose(host, &v4)) {
      return PatternError("'" + host + "' reads as an IPv4 address; write it as a dotted quad (" + FormatV4(v4) + ")");
    } else {
      std::string_view name = host;
      const bool wildcard = name.substr(0, 2) == "*.";
      if (wildcard) name.remove_prefix(2);
      if (name.find('*') != std::string_view::npos) {
        return PatternError("'*' may only be the whole host or a leading '*.' label");
      }
      if (!IsWellFormedName(name)) {
        return PatternError("'" + host + "' is not a host name: labels of a-z 0-9 - _, none empty, at most 63 bytes");
      }
      out.kind = HostPattern::Kind::kName;
      out.regex = (wildcard ? std::string(".+\\x2e") : std::string()) + RegexLiteral(name);
      out.name = AsciiLower(name);
      out.wildcard = wildcard;
      out.canonical = host;
      out.literal = !wildcard;
      if (out.literal) out.literal_host = host;
    }
  }
  if (has_port) {
    if (port_text == "*") {
      out.port = -1;
    } else if (port_text.empty() || port_text.size() > 5 ||
               port_text.find_first_not_of("0123456789") != std::string_view::npos ||
               std::stoi(std::string(port_text)) < 1 || std::stoi(std::string(port_text)) > 65535) {
      return PatternError("port must be 1-65535 or '*'");
    } else {
      out.port = std::stoi(std::string(port_text));
    }
  }
  if (out.port >= 0) out.canonical += ":" + std::to_string(out.port);
  return out;
}

bool HostPatternSet::InTable(const HostPattern& pattern) {
  return pattern.kind != HostPattern::Kind::kName || !pattern.name.empty();
}

std::string RegexErrorOf(const HostPattern& pattern) {
  return HostPatternSet::InTable(pattern) ? std::string() : RegexSet::Validate(pattern.regex, false);
}

void HostPatternSet::Add(const HostPattern& pattern, int slot) {
  if (pattern.kind == HostPattern::Kind::kName) {
    if (InTable(pattern)) {
      (pattern.wildcard ? wildcard_names_ : exact_names_)[pattern.name].push_back(NameEntry{slot, pattern.port});
      return;
    }
    std::string ignored;
    if (names_.Add(pattern.regex, &ignored) >= 0) {
      name_slots_.push_back(slot);
      name_ports_.push_back(pattern.port);
    }
    return;
  }
  numeric_.push_back(Numeric{pattern.kind, pattern.v4_addr, pattern.v4_mask, pattern.v6, pattern.port, slot});
}

bool HostPatternSet::Compile(std::string* error) {
  if (names_.Compile()) return true;
  *error = "the profile's host patterns are too large for RE2 to compile";
  return false;
}

SetOutcome HostPatternSet::Match(std::string_view host, int port, std::vector<int>* slots, bool* well_formed) const {
  thread_local std::vector<int> hits;
  slots->clear();
  const auto port_ok = [port](int want) { return want < 0 || want == port; };

  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  enum class Kind { kName, kV4, kV6 } kind = Kind::kName;
  std::uint32_t v4 = 0;
  bool has_v4 = false;
  std::array<std::uint8_t, 16> v6{};
  if (host.find(':') != std::string_view::npos) {
    *well_formed = ParseV6(host, &v6);
    kind = Kind::kV6;
    has_v4 = *well_formed && IsV4Mapped(v6, &v4);
  } else {
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (ParseIpv4Loose(host, &v4)) {
      kind = Kind::kV4;
      has_v4 = true;
      *well_formed = true;
    } else {
      *well_formed = IsWellFormedName(host);
    }
  }

  for (const Numeric& n : numeric_) {
    if (!port_ok(n.port)) continue;
    bool hit = false;
    switch (n.kind) {
      case HostPattern::Kind::kAny: hit = true; break;
      case HostPattern::Kind::kIpv4: hit = has_v4 && (v4 & n.v4_mask) == n.v4_addr; break;
      case HostPattern::Kind::kIpv6: hit = kind == Kind::kV6 && *well_formed && v6 == n.v6; break;
      case HostPattern::Kind::kName: break;
    }
    if (hit) slots->push_back(n.slot);
  }
  if (kind == Kind::kName && (!exact_names_.empty() || !wildcard_names_.empty())) {
    // Pattern names are ASCII; RE2's case folding in Latin-1 maps an ASCII
    // letter only to its other ASCII case, so lowering ASCII bytes is the
    // same comparison.
    thread_local std::string lower;
    lower.assign(host);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    const auto add = [&](const std::vector<NameEntry>& entries) {
      for (const NameEntry& e : entries) {
        if (port_ok(e.port)) slots->push_back(e.slot);
      }
    };
    if (const auto it = exact_names_.find(lower); it != exact_names_.end()) add(it->second);
    if (!wildcard_names_.empty()) {
      // "*.name" is .+\.name: a '.' after at least one byte, then name.
      for (std::size_t dot = lower.find('.', 1); dot != std::string::npos; dot = lower.find('.', dot + 1)) {
        const auto it = wildcard_names_.find(std::string_view(lower).substr(dot + 1));
        if (it != wildcard_names_.end()) add(it->second);
      }
    }
  }
  if (kind == Kind::kName && names_.size() > 0) {
    const SetOutcome outcome = names_.Match(host, &hits);
    if (outcome == SetOutcome::kError) return outcome;
    for (const int h : hits) {
      const auto i = static_cast<std::size_t>(h);
      if (port_ok(name_ports_[i])) slots->push_back(name_slots_[i]);
    }
  }
  return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
}

}  // namespace toolgate
