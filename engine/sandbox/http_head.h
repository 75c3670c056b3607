// The request head a client sends the egress proxy, parsed strictly and
// bounded: a CONNECT with an authority-form target, or a plain HTTP request
// with an absolute-form http:// target. Anything ambiguous is refused with a
// status code rather than guessed at: bare CR or LF, NUL and other control
// bytes, obs-fold continuation lines, userinfo in the target ("a@b"),
// percent-encoded or non-ASCII hosts, zone ids, bad or missing ports, names
// ending in a number that is not an IPv4 address, and conflicting
// Content-Length/Transfer-Encoding framing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::sandbox {

// How far the bytes read so far get towards a complete head.
struct HeadScan {
  enum class State { kNeedMore, kComplete, kTooLarge, kMalformed };
  State state = State::kNeedMore;
  std::size_t end = 0;  // kComplete: bytes of the head including its final CRLF CRLF
  std::string reason;   // kMalformed: why
};

// Looks for the blank line that ends the head in data. Fails early on a byte
// that can never be part of a valid head (NUL, a bare LF or CR), so a client
// cannot keep the proxy reading until max_bytes with a head it will refuse.
HeadScan ScanHead(std::string_view data, std::size_t max_bytes);

struct HttpHeader {
  std::string name;   // as sent
  std::string value;  // surrounding whitespace removed
};

struct ProxyRequest {
  enum class Kind { kConnect, kForward };
  Kind kind = Kind::kConnect;
  std::string method;   // "CONNECT", "GET", ...
  std::string target;   // the request-target as sent
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  std::string host;     // lower-case; IP literals normalized ("0x7f.1" -> "127.0.0.1", no brackets)
  bool host_is_ip = false;
  int port = 0;                   // 1-65535
  std::string origin_target;      // kForward: "/path?query"
  std::vector<HttpHeader> headers;
};

struct HeadParse {
  std::optional<ProxyRequest> request;
  int status = 400;    // when request is empty: 400, 405, 431 ...
  std::string reason;  // when request is empty: one short line for the client and the log
};

inline constexpr std::size_t kMaxHeaderLines = 100;

// Parses one complete head (what ScanHead reported as kComplete).
HeadParse ParseRequestHead(std::string_view head);

// The head to send upstream for a kForward request: origin-form request line,
// Host from the target's authority, hop-by-hop and proxy headers dropped
// (Connection and what it names, Proxy-Connection, Proxy-Authorization,
// Keep-Alive, TE, Upgrade), "Connection: close" so one connection carries
// one request to the checked destination.
std::string BuildForwardHead(const ProxyRequest& request);

// A short plain-text response the proxy itself sends (403, 502, ...).
std::string StatusResponse(int status, std::string_view reason);
const char* StatusText(int status);

}  // namespace toolgate::sandbox
