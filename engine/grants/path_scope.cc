#include "grants/path_scope.h"

#include <cstring>

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
  scope.segments = std::move(*segments);
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

namespace {

// A segment with no glob syntax: "**" or any unescaped *, ?, [, {.
bool IsLiteralSegment(const std::string& seg) { return seg != "**" && IsLiteralGlob(seg); }

// A segment that is literal text followed by one unescaped '*' ("shadow*",
// "*"): its regex is that text, then (?:[^/])*.
bool IsPrefixStarSegment(const std::string& seg) {
  if (seg.empty() || seg.back() != '*' || IsLiteralGlob(seg)) return false;
  const std::string before = seg.substr(0, seg.size() - 1);
  return IsLiteralGlob(before) && (before.empty() || before.back() != '*');
}

}  // namespace

bool SimpleScope::From(const std::vector<std::string>& segments, bool absolute, int slot, SimpleScope* out) {
  SimpleScope s;
  s.slot = slot;
  const std::size_t n = segments.size();
  // (?:/.*)? then "/lit"... then a literal or prefix-star last segment.
  if (n >= 2 && segments[0] == "**") {
    for (std::size_t i = 1; i + 1 < n; ++i) {
      if (!IsLiteralSegment(segments[i])) return false;
      s.head.append("/").append(UnescapeGlob(segments[i]));
    }
    const std::string& last = segments[n - 1];
    if (IsLiteralSegment(last)) {
      s.last = UnescapeGlob(last);
    } else if (IsPrefixStarSegment(last)) {
      s.last = UnescapeGlob(last.substr(0, last.size() - 1));
      s.last_prefix = true;
    } else {
      return false;
    }
    s.shape = Shape::kAnyDepth;
    *out = std::move(s);
    return true;
  }
  // "/lit"... then nothing, "**", or a prefix-star segment.
  std::size_t literal_count = 0;
  while (literal_count < n && IsLiteralSegment(segments[literal_count])) {
    s.head.append("/").append(UnescapeGlob(segments[literal_count]));
    ++literal_count;
  }
  if (literal_count == n) {
    s.shape = Shape::kExact;
    if (n == 0 && absolute) s.head = "/";  // the regex of "/" is "/"
  } else if (literal_count + 1 == n && segments[n - 1] == "**") {
    s.shape = Shape::kBelow;
  } else if (literal_count + 1 == n && IsPrefixStarSegment(segments[n - 1])) {
    s.shape = Shape::kChild;
    s.last = UnescapeGlob(segments[n - 1].substr(0, segments[n - 1].size() - 1));
  } else {
    return false;
  }
  *out = std::move(s);
  return true;
}

bool SimpleScope::Matches(std::string_view subject, std::size_t last_slash) const {
  // Every scope of a set is tried on every path, so these are byte compares
  // with the length checked first (most scopes fail on it or the first bytes).
  const std::size_t h = head.size();
  switch (shape) {
    case Shape::kExact:
      return subject.size() == h && std::memcmp(subject.data(), head.data(), h) == 0;
    case Shape::kBelow:
      // head(?:/.*)?
      return subject.size() >= h && std::memcmp(subject.data(), head.data(), h) == 0 &&
             (subject.size() == h || subject[h] == '/');
    case Shape::kChild: {
      // head/last(?:[^/])*
      const std::size_t l = last.size();
      if (subject.size() < h + 1 + l || subject[h] != '/' || std::memcmp(subject.data(), head.data(), h) != 0 ||
          std::memcmp(subject.data() + h + 1, last.data(), l) != 0) {
        return false;
      }
      return subject.find('/', h + 1 + l) == std::string_view::npos;
    }
    case Shape::kAnyDepth: {
      // (?:/.*)?head/last[(?:[^/])*]: the last segment follows the last '/'.
      const std::size_t slash = last_slash;
      if (slash == std::string_view::npos) return false;
      const std::size_t l = last.size();
      const std::size_t name_size = subject.size() - slash - 1;
      if (last_prefix ? name_size < l : name_size != l) return false;
      if (std::memcmp(subject.data() + slash + 1, last.data(), l) != 0) return false;
      // What comes before the slash: "" or "/..." (the (?:/.*)? part), then head.
      if (slash < h || std::memcmp(subject.data() + slash - h, head.data(), h) != 0) return false;
      return slash == h || subject[0] == '/';
    }
  }
  return false;
}

void SimpleScopeIndex::Add(SimpleScope scope) {
  ++count_;
  // A scope with a head matches only subjects of which the head is a prefix
  // that ends where a '/' follows or the subject ends (kExact: the whole
  // subject; kBelow: it or a parent; kChild: the parent).
  if (scope.shape == SimpleScope::Shape::kAnyDepth || scope.head.empty() || scope.head == "/") {
    headless_.push_back(std::move(scope));
    return;
  }
  std::uint64_t hash = kHashStart;
  for (const char c : scope.head) hash = HashStep(hash, c);
  if (const Head* head = Find(scope.head, hash)) {
    heads_[static_cast<std::size_t>(head - heads_.data())].scopes.push_back(std::move(scope));
    return;
  }
  if (2 * (heads_.size() + 1) > table_.size()) Rehash(table_.empty() ? 16 : 2 * table_.size());
  Head head;
  head.hash = hash;
  head.text = scope.head;
  head.scopes.push_back(std::move(scope));
  heads_.push_back(std::move(head));
  const std::size_t mask = table_.size() - 1;
  std::size_t s = hash & mask;
  while (table_[s] != 0) s = (s + 1) & mask;
  table_[s] = static_cast<std::uint32_t>(heads_.size());
  filter_ |= std::uint64_t{1} << (hash & 63);
}

void SimpleScopeIndex::Rehash(std::size_t capacity) {
  table_.assign(capacity, 0);
  for (std::size_t i = 0; i < heads_.size(); ++i) {
    std::size_t s = heads_[i].hash & (capacity - 1);
    while (table_[s] != 0) s = (s + 1) & (capacity - 1);
    table_[s] = static_cast<std::uint32_t>(i + 1);
  }
}

const SimpleScopeIndex::Head* SimpleScopeIndex::Find(std::string_view prefix, std::uint64_t hash) const {
  if ((filter_ >> (hash & 63) & 1) == 0) return nullptr;
  const std::size_t mask = table_.size() - 1;
  for (std::size_t s = hash & mask; table_[s] != 0; s = (s + 1) & mask) {
    const Head& head = heads_[table_[s] - 1];
    if (head.hash == hash && head.text == prefix) return &head;
  }
  return nullptr;
}

void SimpleScopeIndex::Match(std::string_view subject, std::vector<int>* slots) const {
  const std::size_t last_slash = subject.rfind('/');
  for (const SimpleScope& s : headless_) {
    if (s.Matches(subject, last_slash)) slots->push_back(s.slot);
  }
  if (heads_.empty()) return;
  // Every prefix a head can be: the subject up to each '/' after the first
  // byte, and the whole subject; each prefix's hash is the running one.
  const auto try_prefix = [&](std::size_t size, std::uint64_t hash) {
    if ((filter_ >> (hash & 63) & 1) == 0) return;  // as Find would, without the call
    const Head* head = Find(subject.substr(0, size), hash);
    if (head == nullptr) return;
    for (const SimpleScope& s : head->scopes) {
      if (s.Matches(subject, last_slash)) slots->push_back(s.slot);
    }
  };
  std::uint64_t hash = kHashStart;
  for (std::size_t i = 0; i < subject.size(); ++i) {
    if (subject[i] == '/' && i > 0) try_prefix(i, hash);
    hash = HashStep(hash, subject[i]);
  }
  if (!subject.empty()) try_prefix(subject.size(), hash);
}

bool PathScopeSet::InTable(const PathScope& scope) {
  SimpleScope simple;
  return SimpleScope::From(scope.segments, scope.anchor == PathScope::Anchor::kAbsolute, -1, &simple);
}

std::string RegexErrorOf(const PathScope& scope) {
  return PathScopeSet::InTable(scope) ? std::string() : RegexSet::Validate(scope.regex);
}

void PathScopeSet::Add(const PathScope& scope, int slot) {
  std::string ignored;
  const bool absolute = scope.anchor == PathScope::Anchor::kAbsolute;
  SimpleScope simple;
  if (SimpleScope::From(scope.segments, absolute, slot, &simple)) {
    (absolute ? simple_absolute_ : simple_cwd_).Add(std::move(simple));
    return;
  }
  if (absolute) {
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

PathScopeSet::Cwd::Cwd(std::string_view cwd) {
  if (cwd.empty()) return;
  // A cwd is normalized in the common case, so this copies nothing.
  if (IsNormalizedAbsolutePath(cwd)) {
    text_ = cwd;
  } else {
    if (!NormalizeAbsolutePath(cwd, &normalized_)) return;
    text_ = normalized_;
  }
  if (text_ == "/") text_ = "";  // root: every absolute path is below it
  usable_ = true;
}

SetOutcome PathScopeSet::Match(std::string_view path, std::string_view cwd, std::vector<int>* slots) const {
  if (below_cwd_.size() == 0 && simple_cwd_.empty()) cwd = {};  // not even looked at
  return Match(path, Cwd(cwd), slots);
}

SetOutcome PathScopeSet::Match(std::string_view path, const Cwd& prepared, std::vector<int>* slots) const {
  thread_local std::vector<int> hits;
  slots->clear();
  SetOutcome outcome = absolute_.Match(path, &hits);
  if (outcome == SetOutcome::kError) return outcome;
  for (const int h : hits) slots->push_back(absolute_slots_[static_cast<std::size_t>(h)]);
  simple_absolute_.Match(path, slots);

  if ((below_cwd_.size() == 0 && simple_cwd_.empty()) || !prepared.usable_) {
    return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
  }
  const std::string_view cwd = prepared.text_;
  std::string_view rest;
  if (path.size() >= cwd.size() && path.substr(0, cwd.size()) == cwd &&
      (path.size() == cwd.size() || path[cwd.size()] == '/')) {
    rest = path.substr(cwd.size());
    if (cwd.empty() && rest == "/") rest = "";  // the root itself
    const SetOutcome below = below_cwd_.Match(rest, &hits);
    if (below == SetOutcome::kError) return below;
    for (const int h : hits) slots->push_back(cwd_slots_[static_cast<std::size_t>(h)]);
    simple_cwd_.Match(rest, slots);
  }
  return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
}

}  // namespace toolgate
