#include "sandbox/http_head.h"

#include <algorithm>

#include "sandbox/address_class.h"

namespace toolgate::sandbox {

namespace {

HeadParse Refuse(std::string reason, int status = 400) {
  HeadParse out;
  out.status = status;
  out.reason = std::move(reason);
  return out;
}

// RFC 9110 token characters.
bool IsTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return IsTchar(static_cast<unsigned char>(c)); });
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

// A host name as the grants read one: labels of [a-z0-9_-], none empty,
// at most 63 bytes each and 253 in all.
bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (const char c : name) {
    if (!IsNameChar(c)) return false;
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label > 0;
}

// Parses "host:port" or "host" (port optional when default_port > 0) into
// request->host/port. Returns a reason on failure.
std::optional<std::string> ParseAuthority(std::string_view authority, int default_port, ProxyRequest* request) {
  if (authority.empty()) return "empty authority in the request target";
  if (authority.find('@') != std::string_view::npos) return "userinfo ('@') in the request target is not accepted";
  if (authority.find('%') != std::string_view::npos) return "percent-encoded or zone-qualified hosts are not accepted";
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "'[' without ']' in the request target";
    host = authority.substr(0, close + 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return "unexpected text after ']' in the request target";
      has_port = true;
      port_text = rest.substr(1);
    }
    const std::optional<IpAddress> ip = ParseIpLiteral(host);
    if (!ip) return "'" + std::string(host) + "' is not an IPv6 address";
    request->host = FormatIp(*ip);
    request->host_is_ip = true;
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos) {
      return "IPv6 hosts must be in brackets";
    }
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    std::string name = LowerCopy(host);
    if (!name.empty() && name.back() == '.') name.pop_back();  // one trailing dot: the absolute form of the name
    if (EndsInNumericLabel(name)) {
      // Only an IPv4 address may end in a number; normalize the odd forms
      // (127.1, 0x7f.0.0.1, 2130706433) exactly as the grants do.
      const std::optional<IpAddress> ip = ParseIpLiteral(name);
      if (!ip) return "'" + std::string(host) + "' ends in a number but is not an IPv4 address";
      request->host = FormatIp(*ip);
      request->host_is_ip = true;
    } else {
      if (!IsHostName(name)) return "'" + std::string(host) + "' is not a valid host name";
      request->host = std::move(name);
      request->host_is_ip = false;
    }
  }
  if (!has_port) {
    if (default_port <= 0) return "the request target needs a port (host:port)";
    request->port = default_port;
    return std::nullopt;
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "the port must be a number 1-65535";
  }
  int port = 0;
  for (const char c : port_text) port = port * 10 + (c - '0');
  if (port < 1 || port > 65535) return "the port must be a number 1-65535";
  request->port = port;
  return std::nullopt;
}

bool IsHopByHop(std::string_view name) {
  for (const char* h : {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
                        "te", "upgrade", "host"}) {
    if (EqualsNoCase(name, h)) return true;
  }
  return false;
}

// Comma-separated tokens of a Connection header value, lower-cased.
std::vector<std::string> ConnectionTokens(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view t = value.substr(start, end - start);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (!t.empty()) out.push_back(LowerCopy(t));
    start = end + 1;
  }
  return out;
}

}  // namespace

HeadScan ScanHead(std::string_view data, std::size_t max_bytes) {
  HeadScan out;
  const std::size_t limit = std::min(data.size(), max_bytes);
  for (std::size_t i = 0; i < limit; ++i) {
    const char c = data[i];
    if (c == '\0') {
      out.state = HeadScan::State::kMalformed;
      out.reason = "NUL byte in the request head";
      return out;
    }
    if (c == '\n' && (i == 0 || data[i - 1] != '\r')) {
      out.state = HeadScan::State::kMalformed;
      out.reason = "bare LF in the request head (lines must end in CRLF)";
      return out;
    }
    if (c == '\r' && i + 1 < data.size() && data[i + 1] != '\n') {
      out.state = HeadScan::State::kMalformed;
      out.reason = "bare CR in the request head";
      return out;
    }
    if (c == '\n' && i >= 3 && data[i - 1] == '\r' && data[i - 2] == '\n' && data[i - 3] == '\r') {
      out.state = HeadScan::State::kComplete;
      out.end = i + 1;
      return out;
    }
  }
  if (data.size() >= max_bytes) {
    out.state = HeadScan::State::kTooLarge;
    out.reason = "request head larger than " + std::to_string(max_bytes) + " bytes";
  }
  return out;
}

HeadParse ParseRequestHead(std::string_view head) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") return Refuse("incomplete request head");
  // Lines without their CRLF; the last (empty) line is the terminator.
  std::vector<std::string_view> lines;
  std::string_view rest = head.substr(0, head.size() - 2);
  while (!rest.empty()) {
    const std::size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) return Refuse("bare CR or LF in the request head");
    lines.push_back(rest.substr(0, eol));
    rest.remove_prefix(eol + 2);
  }
  if (lines.empty() || lines[0].empty()) return Refuse("empty request line");
  if (lines.size() - 1 > kMaxHeaderLines) return Refuse("more than " + std::to_string(kMaxHeaderLines) + " header lines", 431);

  // request-line = method SP request-target SP HTTP-version, single spaces only.
  const std::string_view line = lines[0];
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Refuse("malformed request line");
  }
  ProxyRequest r;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || method.size() > 32) return Refuse("malformed request method");
  if (target.empty() || target.size() > 8192) return Refuse("malformed request target");
  for (const char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Refuse("control, space or non-ASCII byte in the request target");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Refuse("unsupported HTTP version (HTTP/1.0 or HTTP/1.1)");
  r.method = std::string(method);
  r.target = std::string(target);
  r.version = std::string(version);

  if (method == "CONNECT") {
    r.kind = ProxyRequest::Kind::kConnect;
    if (target.find_first_of("/?#") != std::string_view::npos) return Refuse("CONNECT needs an authority target (host:port)");
    if (auto why = ParseAuthority(target, 0, &r)) return Refuse(*why);
  } else {
    r.kind = ProxyRequest::Kind::kForward;
    constexpr std::string_view kHttp = "http://";
    if (target.size() < kHttp.size() || !EqualsNoCase(target.substr(0, kHttp.size()), kHttp)) {
      if (target.size() >= 8 && EqualsNoCase(target.substr(0, 8), "https://")) {
        return Refuse("https:// targets go through CONNECT");
      }
      return Refuse("the proxy accepts CONNECT host:port or an absolute http:// target");
    }
    if (target.find('#') != std::string_view::npos) return Refuse("a fragment ('#') in the request target");
    const std::string_view after = target.substr(kHttp.size());
    const std::size_t path_at = after.find_first_of("/?");
    const std::string_view authority = after.substr(0, path_at);
    if (auto why = ParseAuthority(authority, 80, &r)) return Refuse(*why);
    std::string_view path = path_at == std::string_view::npos ? std::string_view() : after.substr(path_at);
    r.origin_target = path.empty() ? "/" : path[0] == '?' ? "/" + std::string(path) : std::string(path);
  }

  // header-field = field-name ":" OWS field-value OWS
  bool has_length = false;
  bool has_chunked_or_te = false;
  std::string length_value;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view h = lines[i];
    if (h.empty()) return Refuse("empty header line");
    if (h[0] == ' ' || h[0] == '\t') return Refuse("obs-fold (a header line starting with whitespace) is not accepted");
    const std::size_t colon = h.find(':');
    if (colon == std::string_view::npos) return Refuse("header line without ':'");
    const std::string_view name = h.substr(0, colon);
    if (!IsToken(name)) return Refuse("malformed header name (no whitespace before ':')");
    std::string_view value = h.substr(colon + 1);
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return Refuse("control byte in a header value");
    }
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (EqualsNoCase(name, "content-length")) {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Refuse("malformed Content-Length");
      }
      if (has_length && length_value != value) return Refuse("conflicting Content-Length headers");
      has_length = true;
      length_value = std::string(value);
    } else if (EqualsNoCase(name, "transfer-encoding")) {
      has_chunked_or_te = true;
    } else if (EqualsNoCase(name, "connection")) {
      for (const std::string& t : ConnectionTokens(value)) {
        if (t == "content-length" || t == "transfer-encoding" || t == "host") {
          return Refuse("Connection may not name Content-Length, Transfer-Encoding or Host");
        }
      }
    }
    r.headers.push_back(HttpHeader{std::string(name), std::string(value)});
  }
  if (has_length && has_chunked_or_te) return Refuse("both Content-Length and Transfer-Encoding");
  if (r.version == "HTTP/1.0" && has_chunked_or_te) return Refuse("Transfer-Encoding in an HTTP/1.0 request");

  HeadParse out;
  out.request = std::move(r);
  out.status = 200;
  return out;
}

std::string BuildForwardHead(const ProxyRequest& request) {
  std::vector<std::string> named;  // header names listed in Connection: hop-by-hop too
  for (const HttpHeader& h : request.headers) {
    if (EqualsNoCase(h.name, "connection")) {
      for (std::string& t : ConnectionTokens(h.value)) named.push_back(std::move(t));
    }
  }
  std::string out;
  out.reserve(256 + request.origin_target.size());
  out += request.method;
  out += ' ';
  out += request.origin_target;
  out += ' ';
  out += request.version;
  out += "\r\nHost: ";
  const bool v6 = request.host.find(':') != std::string::npos;
  if (v6) out += '[';
  out += request.host;
  if (v6) out += ']';
  if (request.port != 80) out += ":" + std::to_string(request.port);
  out += "\r\n";
  for (const HttpHeader& h : request.headers) {
    if (IsHopByHop(h.name)) continue;
    const std::string lower = LowerCopy(h.name);
    if (std::find(named.begin(), named.end(), lower) != named.end()) continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  return out;
}

const char* StatusText(int status) {
  switch (status) {
    case 200: return "Connection established";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

std::string StatusResponse(int status, std::string_view reason) {
  std::string body = "toolgate egress proxy: ";
  // The reason may echo client text; keep it to printable ASCII on one line.
  for (const char c : reason.substr(0, 512)) {
    const auto u = static_cast<unsigned char>(c);
    body.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  body += "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n";
  out += body;
  return out;
}

}  // namespace toolgate::sandbox
