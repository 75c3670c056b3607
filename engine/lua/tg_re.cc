// tg.re: RE2 for rules. RE2 runs in time linear in the input, so a hostile
// pattern or subject cannot stall a worker the way Lua patterns can.
//
//   tg.re.test(s, re)            -> boolean
//   tg.re.match(s, re)           -> the captures (or the whole match) | nil
//   tg.re.find(s, re [, init])   -> start, end (1-based, inclusive), captures... | nil
//   tg.re.find_all(s, re [, max])-> { whole matches } (at most max, default 1000)
//   tg.re.replace(s, re, rewrite [, max]) -> new string, count   (\0..\9 in rewrite)
//   tg.re.escape(s)              -> s with every regex metacharacter quoted
// Flags go inline: "(?i)secret". Text is matched as UTF-8.
#include <vector>

#include "lua/sandbox.h"
#include "lua/tg_api.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxPatternBytes = 4096;
constexpr std::size_t kMaxCachedPatterns = 512;
constexpr std::size_t kMaxReplaceOutput = std::size_t{4} << 20;
constexpr lua_Integer kDefaultMaxMatches = 1000;
constexpr lua_Integer kMaxMatches = 100000;
constexpr int kMaxGroups = 16;

const RE2& Compiled(lua_State* L, std::string_view pattern, const char* fn) {
  if (pattern.size() > kMaxPatternBytes) throw HostError(std::string(fn) + ": pattern longer than 4096 bytes");
  VmContext* ctx = ContextOf(L);
  auto& cache = ctx->regex_cache;
  const std::string key(pattern);
  if (auto it = cache.find(key); it != cache.end()) return *it->second;
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(std::int64_t{8} << 20);
  auto re = std::make_unique<RE2>(key, options);
  if (!re->ok()) throw HostError(std::string(fn) + ": bad pattern: " + re->error());
  if (re->NumberOfCapturingGroups() > kMaxGroups) {
    throw HostError(std::string(fn) + ": more than 16 capture groups");
  }
  if (cache.size() >= kMaxCachedPatterns) cache.clear();
  return *cache.emplace(key, std::move(re)).first->second;
}

// Matches re in text from `start`; fills groups[0..n] (0 = whole match).
bool MatchAt(const RE2& re, std::string_view text, std::size_t start, std::vector<re2::StringPiece>* groups) {
  const int n = re.NumberOfCapturingGroups() + 1;
  groups->assign(static_cast<std::size_t>(n), std::string_view());
  return re.Match(text, start, text.size(), RE2::UNANCHORED, groups->data(), n);
}

void PushGroup(lua_State* L, re2::StringPiece group) {
  if (group.data() == nullptr) {
    lua_pushboolean(L, 0);  // a group that did not take part in the match
  } else {
    Push(L, group);
  }
}

int Test(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.re.test", "subject");
  const RE2& re = Compiled(L, ArgString(L, 2, "tg.re.test", "pattern"), "tg.re.test");
  lua_pushboolean(L, RE2::PartialMatch(s, re) ? 1 : 0);
  return 1;
}

int MatchFn(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.re.match", "subject");
  const RE2& re = Compiled(L, ArgString(L, 2, "tg.re.match", "pattern"), "tg.re.match");
  std::vector<re2::StringPiece> groups;
  if (!MatchAt(re, s, 0, &groups)) {
    lua_pushnil(L);
    return 1;
  }
  if (groups.size() == 1) {
    Push(L, groups[0]);
    return 1;
  }
  for (std::size_t i = 1; i < groups.size(); ++i) PushGroup(L, groups[i]);
  return static_cast<int>(groups.size() - 1);
}

int Find(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.re.find", "subject");
  const RE2& re = Compiled(L, ArgString(L, 2, "tg.re.find", "pattern"), "tg.re.find");
  lua_Integer init = OptInteger(L, 3, "tg.re.find", "init", 1);
  if (init < 1) init = 1;
  if (static_cast<std::size_t>(init) > s.size() + 1) {
    lua_pushnil(L);
    return 1;
  }
  std::vector<re2::StringPiece> groups;
  if (!MatchAt(re, s, static_cast<std::size_t>(init - 1), &groups)) {
    lua_pushnil(L);
    return 1;
  }
  const auto begin = static_cast<lua_Integer>(groups[0].data() - s.data());
  lua_pushinteger(L, begin + 1);
  lua_pushinteger(L, begin + static_cast<lua_Integer>(groups[0].size()));
  for (std::size_t i = 1; i < groups.size(); ++i) PushGroup(L, groups[i]);
  return static_cast<int>(groups.size() + 1);
}

int FindAll(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.re.find_all", "subject");
  const RE2& re = Compiled(L, ArgString(L, 2, "tg.re.find_all", "pattern"), "tg.re.find_all");
  const lua_Integer max = std::min(OptInteger(L, 3, "tg.re.find_all", "max", kDefaultMaxMatches), kMaxMatches);
  lua_newtable(L);
  std::vector<re2::StringPiece> groups;
  std::size_t pos = 0;
  lua_Integer count = 0;
  while (count < max && pos <= s.size() && MatchAt(re, s, pos, &groups)) {
    Push(L, groups[0]);
    lua_rawseti(L, -2, ++count);
    const std::size_t end = static_cast<std::size_t>(groups[0].data() - s.data()) + groups[0].size();
    pos = groups[0].empty() ? end + 1 : end;  // an empty match must still advance
  }
  return 1;
}

int Replace(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.re.replace", "subject");
  const RE2& re = Compiled(L, ArgString(L, 2, "tg.re.replace", "pattern"), "tg.re.replace");
  const std::string_view rewrite = ArgString(L, 3, "tg.re.replace", "rewrite");
  const lua_Integer max = std::min(OptInteger(L, 4, "tg.re.replace", "max", kMaxMatches), kMaxMatches);
  std::string why;
  if (!re.CheckRewriteString(rewrite, &why)) throw HostError("tg.re.replace: bad rewrite: " + why);
  std::string out;
  std::vector<re2::StringPiece> groups;
  std::size_t pos = 0;
  lua_Integer count = 0;
  while (count < max && pos <= s.size() && MatchAt(re, s, pos, &groups)) {
    const std::size_t begin = static_cast<std::size_t>(groups[0].data() - s.data());
    out.append(s.substr(pos, begin - pos));
    if (!re.Rewrite(&out, rewrite, groups.data(), static_cast<int>(groups.size()))) {
      throw HostError("tg.re.replace: rewrite failed");
    }
    ++count;
    std::size_t end = begin + groups[0].size();
    if (groups[0].empty()) {
      if (end < s.size()) out.push_back(s[end]);
      ++end;
    }
    pos = end;
    if (out.size() > kMaxReplaceOutput) throw HostError("tg.re.replace: result larger than 4 MiB");
  }
  if (pos < s.size()) out.append(s.substr(pos));
  if (out.size() > kMaxReplaceOutput) throw HostError("tg.re.replace: result larger than 4 MiB");
  Push(L, out);
  lua_pushinteger(L, count);
  return 2;
}

int Escape(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.re.escape", "text");
  Push(L, RE2::QuoteMeta(s));
  return 1;
}

}  // namespace

void OpenTgRe(lua_State* L) {
  lua_createtable(L, 0, 6);
  SetFunction(L, "test", HostFunction<Test>);
  SetFunction(L, "match", HostFunction<MatchFn>);
  SetFunction(L, "find", HostFunction<Find>);
  SetFunction(L, "find_all", HostFunction<FindAll>);
  SetFunction(L, "replace", HostFunction<Replace>);
  SetFunction(L, "escape", HostFunction<Escape>);
}

}  // namespace toolgate::lua
