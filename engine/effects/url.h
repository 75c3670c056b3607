// URL and host parsing for effects: which host and port a URL (or a bare
// host argument, or an scp-style [user@]host:path) would contact. Written for
// hostile input: userinfo tricks, backslashes, percent-encoding and non-ASCII
// hosts are detected, never guessed around.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace toolgate::effects {

struct ParsedUrl {
  std::string scheme;          // lower-case; "" for bare hosts
  std::string host;            // lower-case ASCII, IPv6 without brackets, no trailing dot
  int port = 0;                // explicit, else the scheme default, else 0
  std::string path;            // what follows the authority ("/x?y"), for file: URLs
  bool non_ascii_host = false; // the host has bytes >= 0x80 (kept as written)
  bool ambiguous = false;      // backslash, percent-encoding, bad port or odd bytes in
                               // the authority: URL parsers disagree on the host
};

// "scheme://[userinfo@]host[:port][/path]". nullopt when `text` does not start
// with a scheme and "://". file:// URLs parse with an empty host.
std::optional<ParsedUrl> ParseUrl(std::string_view text);

// A bare "host[:port][/path]" such as `curl example.com`: nullopt unless the
// host part is a plausible DNS name (has a dot, or is localhost) or an IP.
std::optional<ParsedUrl> ParseBareHost(std::string_view text, std::string_view scheme);

// "[user@]host:path" as scp, rsync and git take it. nullopt when there is no
// colon before the first slash, or the text is a URL.
std::optional<ParsedUrl> ParseScpTarget(std::string_view text);

// 80, 443, 22, 9418, 21 ...; 0 for unknown schemes.
int DefaultPort(std::string_view scheme);

// local@domain.tld (a leading "mailto:" is accepted).
bool LooksLikeEmail(std::string_view text);

}  // namespace toolgate::effects
