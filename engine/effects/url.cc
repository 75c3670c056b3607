#include "effects/url.h"

#include <array>
#include <utility>

namespace toolgate::effects {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Fills host/port from an authority without userinfo. Returns false when no
// host can be named at all.
bool ParseHostPort(std::string_view authority, ParsedUrl& url) {
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      url.ambiguous = true;
      host = authority.substr(1);
    } else {
      host = authority.substr(1, close - 1);
      std::string_view after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after.front() == ':') {
          port = after.substr(1);
        } else {
          url.ambiguous = true;
        }
      }
    }
  } else {
    std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  if (!port.empty()) {
    int value = 0;
    bool ok = port.size() <= 5;
    for (char c : port) {
      if (!IsDigit(c)) ok = false;
      if (ok) value = value * 10 + (c - '0');
    }
    if (ok && value > 0 && value <= 65535) {
      url.port = value;
    } else {
      url.ambiguous = true;
    }
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return false;
  bool bracketed = !authority.empty() && authority.front() == '[';
  if (!bracketed && host.find(':') != std::string_view::npos) url.ambiguous = true;
  url.host.reserve(host.size());
  for (char c : host) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      url.non_ascii_host = true;
    } else if (!(IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' || c == ':')) {
      url.ambiguous = true;  // %-encoding, spaces, control bytes ...
    }
    url.host += Lower(c);
  }
  return true;
}

}  // namespace

int DefaultPort(std::string_view scheme) {
  static constexpr std::array<std::pair<std::string_view, int>, 14> kPorts = {{
      {"http", 80}, {"https", 443}, {"ws", 80}, {"wss", 443}, {"ssh", 22}, {"sftp", 22},
      {"scp", 22}, {"git+ssh", 22}, {"ssh+git", 22}, {"git", 9418}, {"ftp", 21},
      {"ftps", 990}, {"rsync", 873}, {"telnet", 23},
  }};
  for (const auto& [name, port] : kPorts) {
    if (name == scheme) return port;
  }
  return 0;
}

std::optional<ParsedUrl> ParseUrl(std::string_view text) {
  if (text.empty() || !IsAlpha(text.front())) return std::nullopt;
  std::size_t i = 1;
  while (i < text.size() && (IsAlpha(text[i]) || IsDigit(text[i]) || text[i] == '+' ||
                             text[i] == '-' || text[i] == '.')) {
    ++i;
  }
  if (text.substr(i, 3) != "://" || i > 32) return std::nullopt;
  ParsedUrl url;
  url.scheme.reserve(i);
  for (char c : text.substr(0, i)) url.scheme += Lower(c);
  std::string_view rest = text.substr(i + 3);
  // RFC 3986 ends the authority at / ? #; WHATWG also at a backslash. Where
  // they disagree the URL is ambiguous.
  std::size_t rfc_end = rest.find_first_of("/?#");
  if (rfc_end == std::string_view::npos) rfc_end = rest.size();
  std::size_t end = rest.substr(0, rfc_end).find('\\');
  if (end != std::string_view::npos) {
    url.ambiguous = true;
  } else {
    end = rfc_end;
  }
  std::string_view authority = rest.substr(0, end);
  url.path = std::string(rest.substr(end));
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (url.scheme == "file") {
    if (!authority.empty() && authority != "localhost") ParseHostPort(authority, url);
    return url;
  }
  if (!ParseHostPort(authority, url)) {
    url.ambiguous = true;
  }
  if (url.port == 0) url.port = DefaultPort(url.scheme);
  return url;
}

std::optional<ParsedUrl> ParseBareHost(std::string_view text, std::string_view scheme) {
  if (text.empty() || text.front() == '-' || text.front() == '/' || text.front() == '.') {
    return std::nullopt;
  }
  std::size_t end = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, end == std::string_view::npos ? text.size() : end);
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  ParsedUrl url;
  url.scheme = std::string(scheme);
  if (!ParseHostPort(authority, url)) return std::nullopt;
  bool bracketed = !authority.empty() && authority.front() == '[';
  bool plausible = (url.host == "localhost" || url.host.find('.') != std::string::npos || bracketed ||
                    url.non_ascii_host) &&
                   !url.ambiguous;
  if (!plausible) return std::nullopt;
  if (url.port == 0) url.port = DefaultPort(url.scheme);
  return url;
}

std::optional<ParsedUrl> ParseScpTarget(std::string_view text) {
  if (text.find("://") != std::string_view::npos) return std::nullopt;
  std::size_t colon;
  if (!text.empty() && text.front() == '[') {
    colon = text.find("]:");
    if (colon == std::string_view::npos) return std::nullopt;
    ++colon;
  } else {
    colon = text.find(':');
  }
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::size_t slash = text.find('/');
  if (slash != std::string_view::npos && slash < colon) return std::nullopt;
  std::string_view authority = text.substr(0, colon);
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (!authority.empty() && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  ParsedUrl url;
  url.scheme = "ssh";
  url.port = 22;
  url.path = std::string(text.substr(colon + 1));
  for (char c : authority) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      url.non_ascii_host = true;
    } else if (!(IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' || c == ':')) {
      url.ambiguous = true;
    }
    url.host += Lower(c);
  }
  while (!url.host.empty() && url.host.back() == '.') url.host.pop_back();
  if (url.host.empty()) return std::nullopt;
  return url;
}

bool LooksLikeEmail(std::string_view text) {
  if (text.substr(0, 7) == "mailto:") text.remove_prefix(7);
  std::size_t at = text.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= text.size()) return false;
  if (text.find('@', at + 1) != std::string_view::npos) return false;
  for (char c : text.substr(0, at)) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-')) {
      return false;
    }
  }
  std::string_view domain = text.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.') {
    return false;
  }
  for (char c : domain) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '.' || c == '-' || static_cast<unsigned char>(c) >= 0x80)) {
      return false;
    }
  }
  return true;
}

}  // namespace toolgate::effects
