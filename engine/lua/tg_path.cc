// tg.path: lexical path handling for rules (no file system access: rules see
// effects whose paths the extractor already resolved).
//
//   tg.path.normalize(path [, cwd]) -> absolute normalized path | nil, why
//        (~ and ~/ mean the policy's home; relative paths need cwd)
//   tg.path.within(path, dir [, cwd]) -> boolean   (path is dir or below it)
//   tg.path.basename(path) -> "file.txt"
//   tg.path.dirname(path)  -> "/a/b"
//   tg.path.home() -> the policy's home directory
#include "effects/path_normalizer.h"
#include "lua/sandbox.h"
#include "lua/tg_api.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxPathBytes = 8192;

std::string_view Home(lua_State* L) {
  const EvalScope* scope = ContextOf(L)->scope;
  return scope != nullptr && !scope->home.empty() ? scope->home : std::string_view("/root");
}

std::optional<std::string> Normalize(lua_State* L, std::string_view path, std::string_view cwd, const char* fn,
                                     std::string* why) {
  if (path.size() > kMaxPathBytes || cwd.size() > kMaxPathBytes) throw HostError(std::string(fn) + ": path too long");
  effects::NormalizeOptions options;
  options.cwd = cwd;
  options.home = Home(L);
  options.expand_tilde = true;
  options.resolve_symlinks = false;
  effects::NormalizedPath out = effects::NormalizePath(path, options);
  if (out.path.empty()) {
    *why = out.problem.empty() ? "cannot normalize" : out.problem;
    return std::nullopt;
  }
  return std::move(out.path);
}

int NormalizeFn(lua_State* L) {
  const std::string_view path = ArgString(L, 1, "tg.path.normalize", "path");
  const std::string_view cwd = OptString(L, 2, "tg.path.normalize", "cwd", "");
  std::string why;
  const auto out = Normalize(L, path, cwd, "tg.path.normalize", &why);
  if (!out) {
    lua_pushnil(L);
    Push(L, why);
    return 2;
  }
  Push(L, *out);
  return 1;
}

int Within(lua_State* L) {
  const std::string_view path = ArgString(L, 1, "tg.path.within", "path");
  const std::string_view dir = ArgString(L, 2, "tg.path.within", "dir");
  const std::string_view cwd = OptString(L, 3, "tg.path.within", "cwd", "");
  std::string why;
  const auto p = Normalize(L, path, cwd, "tg.path.within", &why);
  const auto d = Normalize(L, dir, cwd, "tg.path.within", &why);
  bool inside = false;
  if (p && d) {
    inside = *p == *d || *d == "/" || (p->size() > d->size() && p->compare(0, d->size(), *d) == 0 && (*p)[d->size()] == '/');
  }
  lua_pushboolean(L, inside ? 1 : 0);
  return 1;
}

int Basename(lua_State* L) {
  std::string_view path = ArgString(L, 1, "tg.path.basename", "path");
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  Push(L, effects::BaseName(path));
  return 1;
}

int Dirname(lua_State* L) {
  std::string_view path = ArgString(L, 1, "tg.path.dirname", "path");
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) {
    lua_pushliteral(L, ".");
  } else if (slash == 0) {
    lua_pushliteral(L, "/");
  } else {
    Push(L, path.substr(0, slash));
  }
  return 1;
}

int HomeFn(lua_State* L) {
  Push(L, Home(L));
  return 1;
}

}  // namespace

void OpenTgPath(lua_State* L) {
  lua_createtable(L, 0, 5);
  SetFunction(L, "normalize", HostFunction<NormalizeFn>);
  SetFunction(L, "within", HostFunction<Within>);
  SetFunction(L, "basename", HostFunction<Basename>);
  SetFunction(L, "dirname", HostFunction<Dirname>);
  SetFunction(L, "home", HostFunction<HomeFn>);
}

}  // namespace toolgate::lua
