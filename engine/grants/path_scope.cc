#include "grants/path_scope.h"

namespace toolgate {

namespace {

Error PatternError(std::string message) { return Error{ErrorCode::kPolicyPattern, std::move(message), ""}; }

bool StartsWithVar(std::string_view s, std::string_view var) {
  return s.substr(0, var.size()) == var && (s.size() == var.size() || s[var.size()] == '/');
}

std::string JoinSegments(const std::vector<std::string>& segments) {
  std::string out;
  for (const std::string& s : segments) out.append("/").append(s);
  return out;
}

}  // namespace

Result<std::vector<std::string>> NormalizePathGlob(std::string_view glob) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= glob.size()) {
    std::size_t end = glob.find('/', start);
    if (end == std::string_view::npos) end = glob.size();
    const std::string_view seg = glob.substr(start, end - start);
    start = end + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") return PatternError("'..' is not allowed in a path pattern; write the normalized path");
    if (seg == "**" && !segments.empty() && segments.back() == "**") continue;
    segments.emplace_back(seg);
  }
  return segments;
}

Result<std::string> PathSegmentsToRegex(const std::vector<std::string>& segments,
                                        const GlobFlavor& segment_flavor, std::string_view any_run) {
  std::string out;
  for (const std::string& seg : segments) {
    if (seg == "**") {
      out.append("(?:/").append(any_run).append(")?");
      continue;
    }
    Result<std::string> piece = GlobToRegex(seg, segment_flavor);
    if (!piece.ok()) return piece.error();
    out.append("/").append(*piece);
  }
  return out;
}

Result<PathScope> ParsePathScope(std::string_view pattern, std::string_view home) {
  if (pattern.empty()) return PatternError("empty path pattern");
  PathScope scope;
  std::string body;  // glob text below the anchor
  std::string base;  // literal text the anchor expands to (home), escaped for globbing
  const bool home_anchored = pattern == "~" || pattern.substr(0, 2) == "~/" || StartsWithVar(pattern, "${home}");
  if (home_anchored && (home.empty() || home[0] != '/')) {
    return PatternError("'~' and ${home} need settings.home to be an absolute path");
  }
  if (pattern == "~" || pattern.substr(0, 2) == "~/") {
    base = EscapeGlob(home);
    body = pattern.substr(1);
  } else if (StartsWithVar(pattern, "${home}")) {
    base = EscapeGlob(home);
    body = pattern.substr(7);
  } else if (StartsWithVar(pattern, "${cwd}")) {
    scope.anchor = PathScope::Anchor::kCwd;
    body = pattern.substr(6);
  } else if (pattern[0] == '~') {
    return PatternError("'~user' is not supported; write '~/...' or the absolute path");
  } else if (pattern.substr(0, 2) == "${") {
    return PatternError("unknown variable in path pattern; only ${home} and ${cwd} are defined");
  } else if (pattern[0] == '/') {
    body = pattern;
  } else if (pattern == "**" || pattern.substr(0, 3) == "**/") {
    body = "/" + std::string(pattern);  // any depth, anywhere
  } else {
    scope.anchor = PathScope::Anchor::kCwd;
    body = "/" + std::string(pattern);
  }
  if (body.find("${") != std::string::npos) {
    return PatternError("'${' may only start a path pattern (${home}, ${cwd})");
  }
  Result<std::vector<std::string>> segments = NormalizePathGlob(base + body);
  if (!segments.ok()) return segments.error();
  Result<std::string> regex = PathSegmentsToRegex(*segments, kPathFlavor, ".*");
  if (!regex.ok()) return regex.error();
  scope.regex = std::move(*regex);
  const std::string joined = JoinSegments(*segments);
  if (scope.anchor == PathScope::Anchor::kAbsolute) {
    scope.canonical = joined.empty() ? "/" : joined;
    if (segments->empty()) scope.regex = "/";
    scope.matches_everything = segments->size() == 1 && (*segments)[0] == "**";
  } else {
    scope.canonical = "${cwd}" + joined;
  }
  scope.literal = true;
  for (const std::string& seg : *segments) scope.literal = scope.literal && IsLiteralGlob(seg);
  if (scope.literal) scope.canonical = UnescapeGlob(scope.canonical);
  return scope;
}

bool NormalizeAbsolutePath(std::string_view path, std::string* out) {
  out->clear();
  if (path.empty() || path[0] != '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view seg = path.substr(start, end - start);
    start = end + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      const std::size_t slash = out->rfind('/');
      out->resize(slash == std::string::npos ? 0 : slash);
      continue;
    }
    out->push_back('/');
    out->append(seg);
  }
  if (out->empty()) out->push_back('/');
  return true;
}

void PathScopeSet::Add(const PathScope& scope, int slot) {
  std::string ignored;
  if (scope.anchor == PathScope::Anchor::kAbsolute) {
    if (absolute_.Add(scope.regex, &ignored) >= 0) absolute_slots_.push_back(slot);
  } else {
    if (below_cwd_.Add(scope.regex, &ignored) >= 0) cwd_slots_.push_back(slot);
  }
}

bool PathScopeSet::Compile(std::string* error) {
  if (!absolute_.Compile() || !below_cwd_.Compile()) {
    *error = "the profile's path scopes are too large for RE2 to compile";
    return false;
  }
  return true;
}

bool IsNormalizedAbsolutePath(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  if (p.size() == 1) return true;
  if (p.back() == '/') return false;
  // One pass over the bytes (this runs for every path of every call): each
  // segment between slashes must be non-empty and neither "." nor "..".
  std::size_t start = 1;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    if (i < p.size() && p[i] != '/') continue;
    const std::size_t len = i - start;
    if (len == 0) return false;
    if (p[start] == '.' && (len == 1 || (len == 2 && p[start + 1] == '.'))) return false;
    start = i + 1;
  }
  return true;
}

SetOutcome PathScopeSet::Match(std::string_view path, std::string_view cwd, std::vector<int>* slots) const {
  thread_local std::vector<int> hits;
  slots->clear();
  SetOutcome outcome = absolute_.Match(path, &hits);
  if (outcome == SetOutcome::kError) return outcome;
  for (const int h : hits) slots->push_back(absolute_slots_[static_cast<std::size_t>(h)]);

  if (below_cwd_.size() == 0 || cwd.empty()) return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
  thread_local std::string normalized_cwd;
  // A cwd is normalized in the common case, so the hot path copies nothing.
  if (!IsNormalizedAbsolutePath(cwd)) {
    if (!NormalizeAbsolutePath(cwd, &normalized_cwd)) {
      return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
    }
    cwd = normalized_cwd;
  }
  if (cwd == "/") cwd = "";  // root: every absolute path is below it
  std::string_view rest;
  if (path.size() >= cwd.size() && path.substr(0, cwd.size()) == cwd &&
      (path.size() == cwd.size() || path[cwd.size()] == '/')) {
    rest = path.substr(cwd.size());
    if (cwd.empty() && rest == "/") rest = "";  // the root itself
    const SetOutcome below = below_cwd_.Match(rest, &hits);
    if (below == SetOutcome::kError) return below;
    for (const int h : hits) slots->push_back(cwd_slots_[static_cast<std::size_t>(h)]);
  }
  return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
}

}  // namespace toolgate
