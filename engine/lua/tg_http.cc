// tg.http: the only network access a rule has, and only when the policy
// grants the pack the "http" capability (see http_probe.h for the limits).
//
//   tg.http.status(url) -> status, final_url | nil, why
//     status: the final HTTP status after redirects (HEAD, then GET if HEAD is refused)
//     why:    "timeout", "too many redirects", "refused: ...", "unsupported scheme", curl's error
#include "effects/url.h"
#include "lua/http_probe.h"
#include "lua/sandbox.h"
#include "lua/tg_api.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxUrlBytes = 4096;

int Status(lua_State* L) {
  const std::string_view url = ArgString(L, 1, "tg.http.status", "url");
  EvalScope& scope = ScopeFor(L, "tg.http.status");
  if (scope.http == nullptr || scope.http_probe == nullptr) {
    throw HostError("tg.http.status: the policy does not grant the 'http' capability to pack " +
                    std::string(scope.pack_id));
  }
  if (url.size() > kMaxUrlBytes) throw HostError("tg.http.status: url longer than 4096 bytes");
  const auto parsed = effects::ParseUrl(url);
  if (!parsed || (parsed->scheme != "http" && parsed->scheme != "https") || parsed->host.empty()) {
    lua_pushnil(L);
    lua_pushliteral(L, "unsupported scheme");
    return 2;
  }
  const ProbeResult r = scope.http_probe->Status(std::string(url), *scope.http, ContextOf(L)->deadline);
  if (!r.error.empty()) {
    lua_pushnil(L);
    Push(L, r.error);
    return 2;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(r.status));
  Push(L, r.final_url);
  return 2;
}

}  // namespace

void OpenTgHttp(lua_State* L) {
  lua_createtable(L, 0, 1);
  SetFunction(L, "status", HostFunction<Status>);
}

}  // namespace toolgate::lua
