#include "grants/argv_pattern.h"

#include <algorithm>

#include "grants/glob.h"
#include "grants/path_scope.h"

namespace toolgate {

namespace {

// One argv element character: any byte but the separator and the escape
// byte, or a whole escape pair.
constexpr std::string_view kElementChar = "(?:[^\\x00\\x01]|\\x01[\\x02\\x03])";
constexpr std::string_view kPathChar = "(?:[^/\\x00\\x01]|\\x01[\\x02\\x03])";
const GlobFlavor kArgvFlavor{kElementChar, "\\x00\\x01", "|\\x01[\\x02\\x03]", false};
const GlobFlavor kArgvPathFlavor{kPathChar, "/\\x00\\x01", "|\\x01[\\x02\\x03]", true};
constexpr std::string_view kAnyElements = "(?:\\x00[^\\x00]*)*";
constexpr std::string_view kRest = "(?:\\x00[\\x00-\\xff]*)?";

Error PatternError(std::string message) { return Error{ErrorCode::kPolicyPattern, std::move(message), ""}; }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool IsTrustedDir(std::string_view dir, const std::vector<std::string>& trusted) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  return std::any_of(trusted.begin(), trusted.end(), [dir](const std::string& t) { return t == dir; });
}

// Regex for the first element when it names a path.
Result<std::string> ProgramPathRegex(const std::string& element, std::string_view home,
                                     const std::vector<std::string>& trusted) {
  std::string glob;
  if (element.substr(0, 2) == "~/") {
    if (home.empty() || home[0] != '/') return PatternError("'~/' needs settings.home to be an absolute path");
    glob = EscapeGlob(home) + element.substr(1);
  } else if (!element.empty() && element[0] == '/') {
    glob = element;
  } else {
    return PatternError("a program path in an exec pattern must be absolute or start with '~/'");
  }
  Result<std::vector<std::string>> segments = NormalizePathGlob(glob);
  if (!segments.ok()) return segments.error();
  if (segments->empty()) return PatternError("'/' is not a program");
  // A literal trusted directory means the bare name: that is how such programs are identified.
  std::string dir;
  bool dir_literal = true;
  for (std::size_t i = 0; i + 1 < segments->size(); ++i) {
    dir_literal = dir_literal && (*segments)[i] != "**" && IsLiteralGlob((*segments)[i]);
    dir += "/" + UnescapeGlob((*segments)[i]);
  }
  if (dir.empty()) dir = "/";
  const std::string& base = segments->back();
  Result<std::string> path = PathSegmentsToRegex(*segments, kArgvPathFlavor, "[^\\x00]*");
  if (!path.ok()) return path.error();
  std::string regex = std::string("(?:").append(kElementChar).append(")*\\x01\\x04").append(*path);
  if (dir_literal && base != "**" && IsTrustedDir(dir, trusted)) {
    Result<std::string> bare = GlobToRegex(base, kArgvPathFlavor);
    if (!bare.ok()) return bare.error();
    regex = "(?:" + *bare + "\\x01\\x04[^\\x00]*|" + regex + ")";
  }
  return regex;
}

void AppendEscapedElement(std::string_view bytes, std::string* out) {
  // Runs between the two escaped bytes are appended whole (most arguments have none).
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c != '\x00' && c != '\x01') continue;
    out->append(bytes.data() + start, i - start);
    out->append(c == '\x00' ? "\x01\x02" : "\x01\x03", 2);
    start = i + 1;
  }
  out->append(bytes.data() + start, bytes.size() - start);
}

}  // namespace

Result<std::vector<std::string>> SplitArgvPattern(std::string_view pattern) {
  std::vector<std::string> elements;
  std::size_t i = 0;
  while (i < pattern.size()) {
    while (i < pattern.size() && IsSpace(pattern[i])) ++i;
    if (i >= pattern.size()) break;
    std::string element;
    while (i < pattern.size() && !IsSpace(pattern[i])) {
      const char c = pattern[i];
      if (c == '\'' || c == '"') {
        const std::size_t close = pattern.find(c, i + 1);
        if (close == std::string_view::npos) return PatternError(std::string("unterminated ") + c + " quote");
        element += EscapeGlob(pattern.substr(i + 1, close - i - 1));
        i = close + 1;
      } else if (c == '\\') {
        if (i + 1 >= pattern.size()) return PatternError("pattern ends with a lone '\\'");
        element.push_back('\\');
        element.push_back(pattern[i + 1]);
        i += 2;
      } else {
        element.push_back(c);
        ++i;
      }
    }
    elements.push_back(std::move(element));
  }
  if (elements.empty()) return PatternError("empty exec pattern");
  return elements;
}

Result<ArgvPattern> ParseArgvPattern(std::string_view pattern, std::string_view home,
                                     const std::vector<std::string>& trusted_bin_dirs) {
  Result<std::vector<std::string>> elements = SplitArgvPattern(pattern);
  if (!elements.ok()) return elements.error();
  ArgvPattern out;
  out.elements = std::move(*elements);
  out.literal = true;
  int stars = 0;
  bool only_wildcards = true;
  for (std::size_t i = 0; i < out.elements.size(); ++i) {
    const std::string& e = out.elements[i];
    if (i > 0) out.canonical.push_back(' ');
    out.canonical += e;
    if (e == "**") {
      out.literal = false;
      out.regex += kAnyElements;
      continue;
    }
    if (e == "*") ++stars;
    else only_wildcards = false;
    out.literal = out.literal && IsLiteralGlob(e);
    Result<std::string> piece = (i == 0 && e.find('/') != std::string::npos)
                                    ? ProgramPathRegex(e, home, trusted_bin_dirs)
                                    : GlobToRegex(e, kArgvFlavor);
    if (!piece.ok()) return piece.error();
    out.regex.append("\\x00").append(*piece);
    if (i == 0 && e.find('/') == std::string::npos) out.regex.append("\\x01\\x04[^\\x00]*");
  }
  out.regex += kRest;
  out.matches_everything = only_wildcards && stars <= 1;
  return out;
}

std::string_view ExecIdentity(const ExecEffect& exec, const std::vector<std::string>& trusted_bin_dirs) {
  std::string_view program = exec.program;
  if (program.empty() && !exec.argv.empty()) program = exec.argv[0];
  if (program.find('/') == std::string_view::npos) return program;
  const std::string_view full = exec.resolved.empty() ? program : std::string_view(exec.resolved);
  const std::size_t slash = full.rfind('/');
  if (slash == std::string_view::npos) return full;
  const std::string_view dir = slash == 0 ? std::string_view("/") : full.substr(0, slash);
  const std::string_view base = full.substr(slash + 1);
  if (!base.empty() && full[0] == '/' && IsTrustedDir(dir, trusted_bin_dirs)) return base;
  return full;
}

std::string_view ExecFullPath(const ExecEffect& exec) {
  if (!exec.resolved.empty()) return exec.resolved;
  std::string_view program = exec.program;
  if (program.empty() && !exec.argv.empty()) program = exec.argv[0];
  return program.find('/') == std::string_view::npos ? std::string_view() : program;
}

void EncodeArgv(const ExecEffect& exec, std::string_view identity, std::string* out) {
  out->push_back('\x00');
  AppendEscapedElement(identity, out);
  out->append("\x01\x04", 2);
  AppendEscapedElement(ExecFullPath(exec), out);
  for (std::size_t i = 1; i < exec.argv.size(); ++i) {
    out->push_back('\x00');
    AppendEscapedElement(exec.argv[i], out);
  }
}

namespace {

// Whether argv[1..] has each word as a whole element, in this order.
bool ContainsInOrder(const std::vector<std::string>& argv, const std::vector<std::string>& words) {
  std::size_t at = 1;
  for (const std::string& w : words) {
    while (at < argv.size() && argv[at] != w) ++at;
    if (at >= argv.size()) return false;
    ++at;
  }
  return true;
}

// Characters with a meaning in a glob (glob.h), or '/' (a path pattern).
bool IsGlobSpecial(char c) {
  return c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == '\\' ||
         c == '/';
}

// A first element that is a plain name: its regex is exactly "identity == name".
bool IsPlainProgram(const std::string& first) {
  return first.substr(0, 1) != "~" &&
         std::none_of(first.begin(), first.end(), [](char c) { return IsGlobSpecial(c); });
}

}  // namespace

bool ArgvPatternSet::ToSimple(const ArgvPattern& pattern, SimplePattern* out) {
  if (pattern.elements.empty() || !IsPlainProgram(pattern.elements[0])) return false;
  out->rest.clear();
  for (std::size_t i = 1; i < pattern.elements.size(); ++i) {
    const std::string& e = pattern.elements[i];
    Element element;
    if (e == "**") {
      element.kind = Element::Kind::kAny;
    } else if (IsLiteralGlob(e)) {
      element.text = UnescapeGlob(e);
    } else if (e.back() == '*' && IsLiteralGlob(e.substr(0, e.size() - 1)) &&
               (e.size() == 1 || e[e.size() - 2] != '*')) {
      // "word*": (?:[^\x00\x01]|\x01[\x02\x03])* after the word is any
      // rest of the element.
      element.kind = Element::Kind::kPrefix;
      element.text = UnescapeGlob(e.substr(0, e.size() - 1));
    } else {
      return false;
    }
    out->rest.push_back(std::move(element));
  }
  return true;
}

bool ArgvPatternSet::InTable(const ArgvPattern& pattern) {
  SimplePattern simple;
  return ToSimple(pattern, &simple);
}

std::string RegexErrorOf(const ArgvPattern& pattern) {
  return ArgvPatternSet::InTable(pattern) ? std::string() : RegexSet::Validate(pattern.regex);
}

void ArgvPatternSet::Add(const ArgvPattern& pattern, int slot) {
  ++count_;
  SimplePattern simple;
  if (ToSimple(pattern, &simple)) {
    simple.slot = slot;
    by_program_[pattern.elements[0]].simple.push_back(std::move(simple));
    return;
  }
  std::string ignored;
  if (set_.Add(pattern.regex, &ignored) < 0) return;
  slots_.push_back(slot);
  const std::string first = pattern.elements.empty() ? std::string() : pattern.elements[0];
  if (first.find('/') != std::string::npos || first.substr(0, 1) == "~") {
    always_regex_ = true;  // a path glob: matches identities by path and by trusted bare name
    return;
  }
  if (!IsPlainProgram(first)) {
    // A glob (or an escape): it can only match identities that start with
    // its text up to the first special character.
    std::size_t plain = 0;
    while (plain < first.size() && !IsGlobSpecial(first[plain])) ++plain;
    glob_prefixes_.push_back(first.substr(0, plain));
    return;
  }
  // A plain name with other elements of other forms: the argv must hold the
  // pattern's plain words, in order, for its regex to match.
  std::vector<std::string> words;
  for (std::size_t i = 1; i < pattern.elements.size(); ++i) {
    const std::string& e = pattern.elements[i];
    if (e != "**" && IsLiteralGlob(e)) words.push_back(UnescapeGlob(e));
  }
  by_program_[first].other_words.push_back(std::move(words));
}

bool ArgvPatternSet::MatchesRest(const std::vector<Element>& rest, const std::vector<std::string>& argv) {
  // A pattern matches a prefix of the argv: runs of single-element matchers
  // separated by "**" (any number of elements). With every run of a fixed
  // length, taking each run at its leftmost place is never worse.
  const auto element_matches = [](const Element& e, const std::string& arg) {
    if (e.kind == Element::Kind::kWord) return arg == e.text;
    return arg.size() >= e.text.size() && arg.compare(0, e.text.size(), e.text) == 0;
  };
  std::size_t pos = 1;  // argv[0] is the identity, matched already
  bool anchored = true;
  std::size_t i = 0;
  while (i < rest.size()) {
    if (rest[i].kind == Element::Kind::kAny) {
      anchored = false;
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < rest.size() && rest[end].kind != Element::Kind::kAny) ++end;
    const std::size_t length = end - i;
    const auto run_at = [&](std::size_t at) {
      if (at + length > argv.size()) return false;
      for (std::size_t k = 0; k < length; ++k) {
        if (!element_matches(rest[i + k], argv[at + k])) return false;
      }
      return true;
    };
    std::size_t at = pos;
    if (anchored) {
      if (!run_at(at)) return false;
    } else {
      while (at + length <= argv.size() && !run_at(at)) ++at;
      if (at + length > argv.size()) return false;
    }
    pos = at + length;
    i = end;
  }
  return true;
}

bool ArgvPatternSet::Compile(std::string* error) {
  compiled_ = set_.Compile();
  if (compiled_) return true;
  *error = "the profile's exec patterns are too large for RE2 to compile";
  return false;
}

SetOutcome ArgvPatternSet::Match(const ExecEffect& exec, const std::vector<std::string>& trusted_bin_dirs,
                                 std::vector<int>* slots) const {
  slots->clear();
  if (count_ == 0) return SetOutcome::kNoMatch;
  if (!compiled_) return SetOutcome::kError;
  const std::string_view identity = ExecIdentity(exec, trusted_bin_dirs);
  bool regex = always_regex_;
  for (std::size_t i = 0; !regex && i < glob_prefixes_.size(); ++i) {
    regex = identity.substr(0, glob_prefixes_[i].size()) == glob_prefixes_[i];
  }
  if (const auto it = by_program_.find(identity); it != by_program_.end()) {
    const ProgramEntry& entry = it->second;
    for (const SimplePattern& p : entry.simple) {
      if (MatchesRest(p.rest, exec.argv)) slots->push_back(p.slot);
    }
    for (std::size_t i = 0; !regex && i < entry.other_words.size(); ++i) {
      regex = ContainsInOrder(exec.argv, entry.other_words[i]);
    }
  }
  if (regex) {
    thread_local std::vector<int> hits;
    thread_local std::string encoded;
    encoded.clear();
    EncodeArgv(exec, identity, &encoded);
    if (set_.Match(encoded, &hits) == SetOutcome::kError) {
      slots->clear();
      return SetOutcome::kError;
    }
    for (const int h : hits) slots->push_back(slots_[static_cast<std::size_t>(h)]);
  }
  return slots->empty() ? SetOutcome::kNoMatch : SetOutcome::kMatch;
}

}  // namespace toolgate
