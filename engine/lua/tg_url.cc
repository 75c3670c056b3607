// tg.url: finding and parsing URLs in rule code.
//
//   tg.url.extract(text [, max]) -> { "https://...", ... }   (http, https, ftp, ws, wss;
//        trailing punctuation and an unbalanced ')' are not part of the URL)
//   tg.url.parse(url) -> { scheme, host, port, path, query, fragment, userinfo,
//                          ambiguous, non_ascii_host } | nil, why
// Parsing is toolgate's own (engine/effects/url.h), so a rule sees the same
// host the grant checker saw.
#include <algorithm>
#include <cctype>

#include "effects/url.h"
#include "lua/sandbox.h"
#include "lua/tg_api.h"

namespace toolgate::lua {
namespace {

constexpr lua_Integer kDefaultMaxUrls = 1000;

bool IsUrlByte(unsigned char c) {
  if (c <= 0x20 || c == 0x7f) return false;
  switch (c) {
    case '"': case '\'': case '<': case '>': case '`': case '{': case '}': case '|': case '\\': case '^':
      return false;
    default: return true;
  }
}

bool StartsWithScheme(std::string_view text, std::size_t at, std::size_t* scheme_len) {
  static constexpr std::string_view kSchemes[] = {"https://", "http://", "ftp://", "wss://", "ws://"};
  for (std::string_view scheme : kSchemes) {
    if (text.size() - at < scheme.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < scheme.size() && same; ++i) {
      char c = text[at + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == scheme[i];
    }
    if (same) {
      *scheme_len = scheme.size();
      return true;
    }
  }
  return false;
}

// The URL starting at `at`: greedy over URL bytes, then trimmed.
std::string_view UrlAt(std::string_view text, std::size_t at, std::size_t scheme_len) {
  std::size_t end = at + scheme_len;
  while (end < text.size() && IsUrlByte(static_cast<unsigned char>(text[end]))) ++end;
  std::string_view url = text.substr(at, end - at);
  for (;;) {
    if (url.size() <= scheme_len) return {};
    const char last = url.back();
    if (last == '.' || last == ',' || last == ';' || last == ':' || last == '!' || last == '?' || last == '*') {
      url.remove_suffix(1);
      continue;
    }
    if (last == ')' || last == ']') {
      const char open = last == ')' ? '(' : '[';
      int balance = 0;
      for (const char c : url) balance += c == open ? 1 : (c == last ? -1 : 0);
      if (balance < 0) {
        url.remove_suffix(1);
        continue;
      }
    }
    return url;
  }
}

int Extract(lua_State* L) {
  const std::string_view text = ArgString(L, 1, "tg.url.extract", "text");
  const lua_Integer max = OptInteger(L, 2, "tg.url.extract", "max", kDefaultMaxUrls);
  lua_newtable(L);
  lua_Integer count = 0;
  std::size_t i = 0;
  while (i < text.size() && count < max) {
    // Cheap skip to the next possible scheme start.
    const std::size_t colon = text.find("://", i);
    if (colon == std::string_view::npos) break;
    const std::size_t lowest = std::max(i, colon >= 5 ? colon - 5 : std::size_t{0});
    std::size_t start = colon;
    while (start > lowest && std::isalpha(static_cast<unsigned char>(text[start - 1]))) --start;
    std::size_t scheme_len = 0;
    bool found = false;
    for (std::size_t s = start; s < colon && !found; ++s) {
      if (StartsWithScheme(text, s, &scheme_len)) {
        // A scheme glued to a preceding letter ("xhttps://") is not a URL start.
        found = s == 0 || !std::isalnum(static_cast<unsigned char>(text[s - 1]));
        if (found) start = s;
      }
    }
    if (!found) {
      i = colon + 3;
      continue;
    }
    const std::string_view url = UrlAt(text, start, scheme_len);
    if (!url.empty()) {
      Push(L, url);
      lua_rawseti(L, -2, ++count);
      i = start + url.size();
    } else {
      i = colon + 3;
    }
  }
  return 1;
}

int Parse(lua_State* L) {
  const std::string_view text = ArgString(L, 1, "tg.url.parse", "url");
  const std::optional<effects::ParsedUrl> url = effects::ParseUrl(text);
  if (!url || (url->host.empty() && url->scheme != "file")) {
    lua_pushnil(L);
    lua_pushliteral(L, "not an absolute URL with a host");
    return 2;
  }
  // userinfo sits between "://" and the last '@' of the authority.
  const std::size_t authority_start = text.find("://") + 3;
  std::size_t authority_end = text.find_first_of("/?#", authority_start);
  if (authority_end == std::string_view::npos) authority_end = text.size();
  const std::string_view authority = text.substr(authority_start, authority_end - authority_start);
  const std::size_t at = authority.rfind('@');
  std::string_view rest = text.substr(authority_end);
  std::string_view fragment, query;
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  lua_createtable(L, 0, 9);
  SetField(L, "scheme", url->scheme);
  SetField(L, "host", url->host);
  SetField(L, "port", static_cast<lua_Integer>(url->port));
  SetField(L, "path", rest.empty() ? std::string_view("/") : rest);
  SetField(L, "query", query);
  SetField(L, "fragment", fragment);
  SetField(L, "userinfo", at == std::string_view::npos ? std::string_view() : authority.substr(0, at));
  SetFieldBool(L, "ambiguous", url->ambiguous);
  SetFieldBool(L, "non_ascii_host", url->non_ascii_host);
  return 1;
}

}  // namespace

void OpenTgUrl(lua_State* L) {
  lua_createtable(L, 0, 2);
  SetFunction(L, "extract", HostFunction<Extract>);
  SetFunction(L, "parse", HostFunction<Parse>);
}

}  // namespace toolgate::lua
