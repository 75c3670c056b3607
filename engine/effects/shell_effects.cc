#include "effects/shell_effects.h"

#include <dirent.h>
#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <span>
#include <functional>
#include <memory>
#include <utility>

#include "effects/dir_listing_cache.h"
#include "effects/path_normalizer.h"
#include "effects/program_effects.h"
#include "effects/string_index_set.h"
#include "effects/text_scan.h"
#include "effects/url.h"
#include "util/utf8.h"

namespace toolgate::effects {
namespace {

using shell::CommandKind;
using shell::PartKind;
using shell::RedirectKind;

constexpr std::size_t kMaxScriptBytes = std::size_t{1} << 20;
constexpr int kMaxLoopPasses = 4;
constexpr std::size_t kMaxLinks = 64;

// Character flags carried alongside expanded text: which characters may still
// act as brace-expansion or glob syntax.
constexpr char kInert = 0;
constexpr char kGlobActive = 1;
constexpr char kBraceActive = 2;

bool IsIfsSpace(char c) { return c == ' ' || c == '\t' || c == '\n'; }

bool SameCwd(const CwdSet& a, const CwdSet& b) {
  if (a.unknown != b.unknown || a.dirs.size() != b.dirs.size()) return false;
  return std::all_of(a.dirs.begin(), a.dirs.end(), [&](const std::string& dir) {
    return std::find(b.dirs.begin(), b.dirs.end(), dir) != b.dirs.end();
  });
}

void AddCwd(CwdSet& set, const std::string& dir) {
  if (std::find(set.dirs.begin(), set.dirs.end(), dir) != set.dirs.end()) return;
  if (set.dirs.size() >= kMaxCwdCandidates) {
    set.unknown = true;
    return;
  }
  set.dirs.push_back(dir);
}

CwdSet UnionCwd(const CwdSet& a, const CwdSet& b) {
  CwdSet out = a;
  out.unknown = a.unknown || b.unknown;
  for (const std::string& dir : b.dirs) AddCwd(out, dir);
  return out;
}

bool SameState(const ShellState& a, const ShellState& b) {
  return SameCwd(a.cwd, b.cwd) && a.vars == b.vars && a.functions == b.functions &&
         a.ifs_modified == b.ifs_modified && a.opaque_vars == b.opaque_vars;
}

// Brace expansion over characters flagged kBraceActive. Iterative with a
// result cap, so {a,b}{c,d}... cannot blow up.
struct Expansion {
  std::string text;
  std::string flags;
};

bool FindBraceGroup(const Expansion& item, std::size_t from, std::size_t& open, std::size_t& close,
                    std::vector<std::pair<std::size_t, std::size_t>>& alternatives, bool& is_sequence) {
  const std::string& t = item.text;
  const std::string& f = item.flags;
  for (open = from; open < t.size(); ++open) {
    if (t[open] != '{' || !(f[open] & kBraceActive)) continue;
    int depth = 0;
    alternatives.clear();
    std::size_t start = open + 1;
    for (close = open; close < t.size(); ++close) {
      if (!(f[close] & kBraceActive)) continue;
      char c = t[close];
      if (c == '{') {
        ++depth;
      } else if (c == '}') {
        if (--depth == 0) break;
      } else if (c == ',' && depth == 1) {
        alternatives.emplace_back(start, close);
        start = close + 1;
      }
    }
    if (close >= t.size()) return false;  // no matching } for this or any later {
    if (!alternatives.empty()) {
      alternatives.emplace_back(start, close);
      is_sequence = false;
      return true;
    }
    std::string_view inner = std::string_view(t).substr(open + 1, close - open - 1);
    if (inner.find("..") != std::string_view::npos && inner.size() >= 4) {
      is_sequence = true;
      return true;
    }
  }
  return false;
}

bool ParseInt(std::string_view s, long& value) {
  if (s.empty() || s.size() > 9) return false;
  std::size_t i = 0;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return false;
  long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  value = negative ? -v : v;
  return true;
}

// {x..y[..step]} -> its items; false when it is not a valid sequence.
bool SequenceItems(std::string_view inner, std::vector<std::string>& items, std::size_t limit,
                   bool& overflow) {
  std::size_t dots = inner.find("..");
  std::string_view from = inner.substr(0, dots);
  std::string_view rest = inner.substr(dots + 2);
  std::string_view to = rest;
  long step = 1;
  std::size_t dots2 = rest.find("..");
  if (dots2 != std::string_view::npos) {
    to = rest.substr(0, dots2);
    if (!ParseInt(rest.substr(dots2 + 2), step)) return false;
    if (step < 0) step = -step;
    if (step == 0) step = 1;
  }
  long a = 0;
  long b = 0;
  if (ParseInt(from, a) && ParseInt(to, b)) {
    long count = (a > b ? a - b : b - a) / step + 1;
    if (count > static_cast<long>(limit)) {
      overflow = true;
      return true;
    }
    std::size_t width = 0;
    if ((from.size() > 1 && from[0] == '0') || (to.size() > 1 && to[0] == '0')) {
      width = std::max(from.size(), to.size());
    }
    for (long v = a, n = 0; n < count; ++n, v += (a <= b ? step : -step)) {
      std::string s = std::to_string(v < 0 ? -v : v);
      while (s.size() + (v < 0 ? 1 : 0) < width) s.insert(s.begin(), '0');
      if (v < 0) s.insert(s.begin(), '-');
      items.push_back(std::move(s));
    }
    return true;
  }
  if (from.size() == 1 && to.size() == 1) {
    char x = from[0];
    char y = to[0];
    bool letters = ((x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z')) &&
                   ((y >= 'a' && y <= 'z') || (y >= 'A' && y <= 'Z'));
    if (!letters) return false;
    int dir = x <= y ? 1 : -1;
    for (int c = x;; c += dir * static_cast<int>(step)) {
      if ((dir > 0 && c > y) || (dir < 0 && c < y)) break;
      items.emplace_back(1, static_cast<char>(c));
      if (items.size() > limit) {
        overflow = true;
        return true;
      }
    }
    return true;
  }
  return false;
}

void BraceExpand(Expansion input, std::vector<Expansion>& out, bool& overflow, EffectsSink& sink) {
  std::vector<Expansion> queue;
  queue.push_back(std::move(input));
  std::vector<std::pair<std::size_t, std::size_t>> alternatives;
  while (!queue.empty()) {
    Expansion item = std::move(queue.back());
    queue.pop_back();
    if (!sink.Charge(item.text.size() + 1)) {
      overflow = true;
      return;
    }
    std::size_t from = 0;
    bool expanded = false;
    while (from < item.text.size()) {
      std::size_t open = 0;
      std::size_t close = 0;
      bool is_sequence = false;
      if (!FindBraceGroup(item, from, open, close, alternatives, is_sequence)) break;
      std::vector<Expansion> produced;
      std::string prefix = item.text.substr(0, open);
      std::string prefix_flags = item.flags.substr(0, open);
      std::string suffix = item.text.substr(close + 1);
      std::string suffix_flags = item.flags.substr(close + 1);
      if (is_sequence) {
        std::vector<std::string> items;
        std::string_view inner = std::string_view(item.text).substr(open + 1, close - open - 1);
        if (!SequenceItems(inner, items, kMaxBraceFields, overflow)) {
          from = open + 1;
          continue;
        }
        if (overflow) return;
        for (std::string& s : items) {
          Expansion e;
          e.text = prefix + s + suffix;
          e.flags = prefix_flags + std::string(s.size(), kInert) + suffix_flags;
          produced.push_back(std::move(e));
        }
      } else {
        for (auto [a, b] : alternatives) {
          Expansion e;
          e.text = prefix + item.text.substr(a, b - a) + suffix;
          e.flags = prefix_flags + item.flags.substr(a, b - a) + suffix_flags;
          produced.push_back(std::move(e));
        }
      }
      // Reverse so the queue (a stack) yields them in order.
      for (auto it = produced.rbegin(); it != produced.rend(); ++it) queue.push_back(std::move(*it));
      expanded = true;
      break;
    }
    if (!expanded) out.push_back(std::move(item));
    if (out.size() + queue.size() > kMaxBraceFields) {
      overflow = true;
      return;
    }
  }
}

bool IsGlobChar(char c) { return c == '*' || c == '?' || c == '[' || c == '('; }

// For ExpandLiteralWord's look at a word: per byte, kBraceByte for `{` and
// kGlobByte for what IsGlobChar accepts (one lookup per byte, not five tests).
constexpr std::uint8_t kBraceByte = 1;
constexpr std::uint8_t kGlobByte = 2;
constexpr std::array<std::uint8_t, 256> kBraceOrGlobTable = [] {
  std::array<std::uint8_t, 256> t{};
  t['{'] = kBraceByte;
  for (const char c : std::string_view("*?[(")) t[static_cast<unsigned char>(c)] = kGlobByte;
  return t;
}();

// Most words are one literal part without braces: the field is that text,
// exactly what ExpandWord's general path builds, without its per-byte flag
// string and copies. An unquoted empty literal has no content (no field).
// False when `word` is not such a word. Small enough to inline where words
// are expanded in bulk, which then skip ExpandWord's heavy entry.
inline bool ExpandLiteralWord(const shell::Word& word, std::vector<Field>& out) {
  if (word.parts.size() != 1 || word.parts[0].kind != PartKind::kLiteral) return false;
  const shell::WordPart& part = word.parts[0];
  // One pass answers both questions (find_first_of would call memchr once
  // per byte of the word).
  std::uint8_t seen = 0;
  for (const char c : part.text) seen |= kBraceOrGlobTable[static_cast<unsigned char>(c)];
  if ((seen & kBraceByte) != 0) return false;
  if (!part.quoted && part.text.empty()) return true;
  Field& field = out.emplace_back(part.text, word.raw);  // built in place
  if (!part.quoted && (seen & kGlobByte) != 0) {
    field.glob = true;
    field.glob_active.assign(part.text.size(), '\1');
  }
  return true;
}

// Where the first character that acts as glob syntax is, or npos.
std::size_t FirstActiveGlob(const Field& field) {
  bool known = field.glob_active.size() == field.text.size();
  for (std::size_t i = 0; i < field.text.size(); ++i) {
    if (IsGlobChar(field.text[i]) && (!known || field.glob_active[i] != '\0')) return i;
  }
  return std::string::npos;
}

// The last component of a glob field, from `start`, as an fnmatch pattern:
// characters the shell sees as quoted are escaped. "" when nothing in it is
// active glob syntax (the glob was elsewhere).
std::string GlobPattern(const Field& field, std::size_t start) {
  bool known = field.glob_active.size() == field.text.size();
  std::string pattern;
  bool active_glob = false;
  for (std::size_t i = start; i < field.text.size(); ++i) {
    char c = field.text[i];
    bool active = !known || field.glob_active[i] != '\0';
    if (active) {
      if (IsGlobChar(c)) active_glob = true;
      pattern += c;
    } else {
      if (!std::isalnum(static_cast<unsigned char>(c))) pattern += '\\';
      pattern += c;
    }
  }
  return active_glob ? pattern : "";
}

enum class GlobScan : std::uint8_t { kDone, kUnreadable, kTooLarge };

// A matching entry of a listing the caller keeps alive.
struct GlobMatch {
  const DirListing::Entry* entry;
  bool operator<(const GlobMatch& other) const { return entry->name < other.entry->name; }
};

// A glob pattern that is literal text around one '*' ("*", "*.txt",
// "build*"), matched by comparing bytes: what fnmatch answers for it with
// FNM_PERIOD, and without its per-call setup. The literal text is limited
// to characters that are never syntax for fnmatch (not even with
// FNM_EXTMATCH, whose "+(", "@(", "!(" need a '(') and are one character in
// every locale: ASCII letters, digits and a few punctuation marks.
class StarPattern {
 public:
  explicit StarPattern(std::string_view pattern) {
    const std::size_t star = pattern.find('*');
    if (star == std::string_view::npos) return;
    prefix_ = pattern.substr(0, star);
    suffix_ = pattern.substr(star + 1);
    simple_ = Literal(prefix_) && Literal(suffix_);
  }
  bool simple() const { return simple_; }

  // fnmatch(pattern, name, FNM_PERIOD [| FNM_EXTMATCH]) == 0, for a simple
  // pattern and a name that is ASCII (in a multibyte locale fnmatch reads
  // other bytes as characters, and may refuse ones that are not).
  bool Matches(std::string_view name) const {
    // FNM_PERIOD: a leading '.' is matched only by a '.' in the pattern.
    if (prefix_.empty() && !name.empty() && name.front() == '.') return false;
    return name.size() >= prefix_.size() + suffix_.size() && name.starts_with(prefix_) &&
           name.ends_with(suffix_);
  }

 private:
  static bool Literal(std::string_view text) {
    for (const char c : text) {
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '.' || c == '_' || c == '-' || c == ',' || c == '=' || c == '%' || c == ':' ||
                         c == '~' || c == '#';
      if (!plain) return false;
    }
    return true;
  }

  std::string_view prefix_, suffix_;
  bool simple_ = false;
};

// Names in `dir` matching `pattern`, the way bash's pathname expansion reads
// a directory, sorted. A missing directory matches nothing (bash keeps the
// word). The listing may come from the process-wide directory cache, which
// is validated against a fresh stat() of the directory.
GlobScan MatchDirectory(const std::string& dir, const std::string& pattern, std::vector<GlobMatch>& names,
                        std::size_t& entries, EffectsSink& sink, std::shared_ptr<const DirListing>& listing) {
  switch (ListDirectory(dir, kMaxGlobEntries + 1, listing)) {
    case ListStatus::kOk:
      break;
    case ListStatus::kMissing:
      return GlobScan::kDone;
    case ListStatus::kUnreadable:
      return GlobScan::kUnreadable;
  }
  int flags = FNM_PERIOD;
#ifdef FNM_EXTMATCH
  flags |= FNM_EXTMATCH;
#endif
  const StarPattern star(pattern);
  // Any name is one character per byte to fnmatch in a single-byte locale.
  const bool single_byte = star.simple() && MB_CUR_MAX == 1;
  const std::vector<DirListing::Entry>& listed = listing->entries;
  // Matches are found in readdir order, where the limits count, and marked;
  // with the listing's name order they are then listed sorted (bash sorts,
  // which keeps results stable) without sorting them here.
  const bool ordered = listing->by_name.size() == listed.size();
  std::array<unsigned char, 256> small_marks;
  std::vector<unsigned char> large_marks;
  unsigned char* marks = nullptr;
  if (ordered) {
    if (listed.size() <= small_marks.size()) {
      marks = small_marks.data();
      std::fill_n(marks, listed.size(), 0);
    } else {
      large_marks.assign(listed.size(), 0);
      marks = large_marks.data();
    }
  }
  GlobScan result = GlobScan::kDone;
  std::size_t matched = 0;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const DirListing::Entry& entry = listed[i];
    if (++entries > kMaxGlobEntries || !sink.Charge(1)) {
      result = GlobScan::kTooLarge;
      break;
    }
    const bool match = star.simple() && (single_byte || IsAscii(entry.name))
                           ? star.Matches(entry.name)
                           : ::fnmatch(pattern.c_str(), entry.name.c_str(), flags) == 0;
    if (!match) continue;
    if (ordered) {
      marks[i] = 1;
    } else {
      names.push_back({&entry});
    }
    if (++matched > kMaxGlobMatches) break;  // the caller reports it
  }
  if (ordered) {
    names.reserve(matched);
    for (const std::uint32_t i : listing->by_name) {
      if (marks[i] != 0) names.push_back({&listed[i]});
    }
  } else {
    std::sort(names.begin(), names.end());
  }
  return result;
}

}  // namespace

ShellState UnionStates(const ShellState& a, const ShellState& b) {
  ShellState out;
  out.cwd = UnionCwd(a.cwd, b.cwd);
  for (const auto& [name, value] : a.vars) {
    auto it = b.vars.find(name);
    if (it != b.vars.end() && it->second == value) out.vars.emplace(name, value);
  }
  out.functions = a.functions;
  for (const auto& [name, mutates] : b.functions) out.functions[name] = out.functions[name] || mutates;
  out.ifs_modified = a.ifs_modified || b.ifs_modified;
  out.opaque_vars = a.opaque_vars;
  for (const std::string& name : b.opaque_vars) {
    if (std::find(out.opaque_vars.begin(), out.opaque_vars.end(), name) == out.opaque_vars.end()) {
      out.opaque_vars.push_back(name);
    }
  }
  out.cd_count = std::max(a.cd_count, b.cd_count);
  out.mutations = std::max(a.mutations, b.mutations);
  return out;
}

ShellInterpreter::ShellInterpreter(const EffectsContext& context, EffectsSink& sink)
    : context_(context), sink_(sink) {}

// ---- scripts and lists ------------------------------------------------------

void ShellInterpreter::RunScript(std::string_view script, ShellState& state, const CommandContext& ctx) {
  if (!sink_.Charge(script.size() + 16)) return;
  if (ctx.depth > context_.max_shell_depth) {
    sink_.AddUnknown("shell nesting too deep", script);
    return;
  }
  shell::ParseOptions options;
  options.depth = ctx.depth;
  options.max_depth = context_.max_shell_depth;
  options.max_bytes = kMaxScriptBytes;
  shell::Script parsed = shell::Parse(script, options);
  for (const shell::ParseIssue& issue : parsed.issues) sink_.AddUnknown(issue.what, issue.detail);
  const shell::Script* saved = script_;
  script_ = &parsed;
  RunList(parsed.top, state, ctx);
  script_ = saved;
}

void ShellInterpreter::RunChildScript(std::string_view script, const ShellState& parent,
                                      const CommandContext& ctx) {
  // A new shell sees the environment, not the parent's unexported variables;
  // HOME is the one variable every shell inherits.
  ShellState child;
  child.cwd = parent.cwd;
  auto home = parent.vars.find("HOME");
  if (home != parent.vars.end()) child.vars.emplace("HOME", home->second);
  RunScript(script, child, ctx);
}

void ShellInterpreter::RunScriptField(const Field& field, ShellState& state, const CommandContext& ctx,
                                      bool same_shell) {
  if (field.dynamic) {
    sink_.AddUnknown("dynamic shell script", field.raw);
    return;
  }
  CommandContext inner = ctx;
  inner.depth = ctx.depth + 1;
  if (same_shell) {
    RunScript(field.text, state, inner);
  } else {
    RunChildScript(field.text, state, inner);
  }
}

void ShellInterpreter::RunList(const shell::List& list, ShellState& state, const CommandContext& ctx) {
  for (const shell::AndOr& item : list.items) {
    if (sink_.exhausted()) return;
    if (item.background) {
      ShellState copy = state;  // `cmd &` runs in a subshell
      RunAndOr(item, copy, ctx);
    } else {
      RunAndOr(item, state, ctx);
    }
  }
}

void ShellInterpreter::RunAndOr(const shell::AndOr& item, ShellState& state, const CommandContext& ctx) {
  // Each pipeline ends in success or failure, and && / || pick the state
  // the next one starts from. The only state a failure differs in is the
  // directory: a cd that fails leaves it where it was.
  auto run = [&](const shell::Pipeline& pipeline, ShellState& s, ShellState& failed) {
    CwdSet before = s.cwd;
    int cds = s.cd_count;
    RunPipeline(pipeline, s, ctx);
    failed = s;
    if (s.cd_count != cds) failed.cwd = UnionCwd(before, s.cwd);
    if (pipeline.negated) std::swap(s, failed);
  };
  if (item.pipelines.size() == 1) {
    // The same as run() with a union at the end, but since the failure state
    // differs only in its directory, only the directory is copied.
    const shell::Pipeline& pipeline = item.pipelines[0];
    CwdSet before = state.cwd;
    const int cds = state.cd_count;
    RunPipeline(pipeline, state, ctx);
    if (state.cd_count == cds) return;  // success and failure are the same state
    CwdSet failed = UnionCwd(before, state.cwd);
    if (pipeline.negated) std::swap(state.cwd, failed);
    if (!SameCwd(failed, state.cwd)) state.cwd = UnionCwd(state.cwd, failed);
    return;
  }
  ShellState ok = state;
  ShellState fail;
  run(item.pipelines[0], ok, fail);
  for (std::size_t i = 1; i < item.pipelines.size(); ++i) {
    if (sink_.exhausted()) return;
    // The next pipeline starts from the state its operator selects and
    // that state is replaced by the outcome, so it runs on it in place.
    ShellState next_fail;
    if (!item.or_ops[i - 1]) {
      run(item.pipelines[i], ok, next_fail);  // && : runs after success
      fail = UnionStates(fail, next_fail);
    } else {
      run(item.pipelines[i], fail, next_fail);  // || : runs after failure
      ok = UnionStates(ok, fail);
      fail = std::move(next_fail);
    }
  }
  if (SameState(ok, fail)) {
    // What UnionStates would build, without building it.
    ok.cd_count = std::max(ok.cd_count, fail.cd_count);
    ok.mutations = std::max(ok.mutations, fail.mutations);
    ok.cwd.unknown = ok.cwd.unknown || fail.cwd.unknown;
    state = std::move(ok);
    return;
  }
  state = UnionStates(ok, fail);
}

void ShellInterpreter::RunPipeline(const shell::Pipeline& pipeline, ShellState& state,
                                   const CommandContext& ctx) {
  if (pipeline.commands.size() == 1) {
    RunCommand(pipeline.commands[0], state, ctx);
    return;
  }
  // Every element of a multi-command pipeline runs in its own subshell.
  for (std::size_t i = 0; i < pipeline.commands.size(); ++i) {
    if (sink_.exhausted()) return;
    ShellState copy = state;
    if (i == 0) {
      RunCommand(pipeline.commands[i], copy, ctx);
    } else {
      CommandContext piped = ctx;
      piped.stdin_kind = StdinKind::kPipe;
      piped.stdin_static = false;
      piped.stdin_text.clear();
      RunCommand(pipeline.commands[i], copy, piped);
    }
  }
}

void ShellInterpreter::RunCommand(const shell::Command& command, ShellState& state,
                                  const CommandContext& ctx) {
  if (!sink_.Charge(1)) return;
  if (command.kind == CommandKind::kSimple) {
    RunSimple(command, state, ctx);
    return;
  }
  CommandContext inner = ApplyRedirects(command.redirects, state, ctx);
  switch (command.kind) {
    case CommandKind::kSimple:
      break;
    case CommandKind::kSubshell: {
      ShellState copy = state;
      if (!command.bodies.empty()) RunList(command.bodies[0], copy, inner);
      break;
    }
    case CommandKind::kGroup:
      if (!command.bodies.empty()) RunList(command.bodies[0], state, inner);
      break;
    case CommandKind::kIf: {
      std::size_t n = command.bodies.size();
      std::size_t pairs = command.has_else ? (n - 1) / 2 : n / 2;
      std::vector<ShellState> outcomes;
      for (std::size_t i = 0; i < pairs; ++i) {
        RunList(command.bodies[2 * i], state, inner);
        ShellState branch = state;
        RunList(command.bodies[2 * i + 1], branch, inner);
        outcomes.push_back(std::move(branch));
      }
      if (command.has_else && n > 0) {
        ShellState branch = state;
        RunList(command.bodies[n - 1], branch, inner);
        outcomes.push_back(std::move(branch));
      } else {
        outcomes.push_back(state);
      }
      ShellState merged = outcomes[0];
      for (std::size_t i = 1; i < outcomes.size(); ++i) merged = UnionStates(merged, outcomes[i]);
      state = std::move(merged);
      break;
    }
    case CommandKind::kWhile:
    case CommandKind::kUntil:
      if (command.bodies.size() == 2) RunLoop(&command.bodies[0], command.bodies[1], state, inner);
      break;
    case CommandKind::kFor: {
      if (command.arith_for) {
        if (!command.words.empty()) {
          ExpandSingle(command.words[0], state, inner);
          ForgetArithmeticVariables(command.words[0].raw, state);
        }
      } else {
        ExpandWords(command.words, state, inner);
        SetVariable(state, command.name, nullptr);
      }
      if (!command.bodies.empty()) RunLoop(nullptr, command.bodies[0], state, inner);
      break;
    }
    case CommandKind::kCase: {
      std::vector<Field> ignored;
      for (const shell::Word& word : command.words) ExpandWord(word, state, inner, false, ignored);
      ShellState merged = state;
      for (const shell::List& body : command.bodies) {
        ShellState branch = state;
        RunList(body, branch, inner);
        merged = UnionStates(merged, branch);
      }
      state = std::move(merged);
      break;
    }
    case CommandKind::kFunction:
      RunFunctionDefinition(command, state, inner);
      break;
    case CommandKind::kArith:
      if (!command.words.empty()) {
        ExpandSingle(command.words[0], state, inner);
        ForgetArithmeticVariables(command.words[0].raw, state);
      }
      break;
    case CommandKind::kCond: {
      std::vector<Field> ignored;
      for (const shell::Word& word : command.words) ExpandWord(word, state, inner, false, ignored);
      break;
    }
  }
}

void ShellInterpreter::RunLoop(const shell::List* cond, const shell::List& body, ShellState& state,
                               const CommandContext& ctx) {
  // Iterate to a fixpoint: whatever one pass changes (directory, variables)
  // is widened to "unknown" and the body analysed again, so effects of later
  // iterations are covered. Bounded passes; the work budget bounds nesting.
  for (int pass = 0; pass < kMaxLoopPasses; ++pass) {
    ShellState iteration = state;
    if (cond != nullptr) RunList(*cond, iteration, ctx);
    RunList(body, iteration, ctx);
    if (sink_.exhausted()) return;
    ShellState widened = UnionStates(state, iteration);
    if (!SameCwd(iteration.cwd, state.cwd)) widened.cwd.unknown = true;
    if (SameState(widened, state)) return;
    state = std::move(widened);
  }
  state.vars.clear();
  state.cwd.unknown = true;
  state.ifs_modified = true;
  ShellState last = state;
  if (cond != nullptr) RunList(*cond, last, ctx);
  RunList(body, last, ctx);
  state = UnionStates(state, last);
}

void ShellInterpreter::RunFunctionDefinition(const shell::Command& command, ShellState& state,
                                             const CommandContext& ctx) {
  // The body runs when called, with whatever directory and variables hold
  // then: analyse it knowing neither, and remember whether a call can change
  // the caller's state.
  ShellState body_state;
  body_state.cwd.unknown = true;
  body_state.functions = state.functions;
  body_state.functions[command.name] = true;  // recursive calls
  CommandContext inner = ctx;
  inner.source = "function";
  if (!command.bodies.empty()) RunList(command.bodies[0], body_state, inner);
  bool mutates = body_state.mutations > 0 || body_state.cd_count > 0 || body_state.ifs_modified;
  state.functions[command.name] = mutates;
  ++state.mutations;
}

CommandContext ShellInterpreter::ApplyRedirects(const std::vector<shell::Redirect>& redirects,
                                                ShellState& state, const CommandContext& ctx) {
  CommandContext out = ctx;
  for (const shell::Redirect& redirect : redirects) {
    std::string_view source;
    PathAccess access = PathAccess::kWrite;
    bool also_read = false;
    switch (redirect.kind) {
      case RedirectKind::kDup:
        continue;
      case RedirectKind::kHereDoc: {
        if (script_ == nullptr || redirect.heredoc < 0 ||
            static_cast<std::size_t>(redirect.heredoc) >= script_->heredocs.size()) {
          continue;
        }
        Field body = ExpandSingle(script_->heredocs[static_cast<std::size_t>(redirect.heredoc)], state, ctx);
        if (redirect.fd <= 0) {
          out.stdin_kind = StdinKind::kHereDoc;
          out.stdin_static = !body.dynamic;
          out.stdin_text = std::move(body.text);
        }
        continue;
      }
      case RedirectKind::kHereString: {
        Field text = ExpandSingle(redirect.target, state, ctx);
        if (redirect.fd <= 0) {
          out.stdin_kind = StdinKind::kHereDoc;
          out.stdin_static = !text.dynamic;
          out.stdin_text = text.text + "\n";
        }
        continue;
      }
      case RedirectKind::kRead:
        source = "redirect <";
        access = PathAccess::kRead;
        if (redirect.fd <= 0) {
          out.stdin_kind = StdinKind::kFile;
          out.stdin_static = false;
        }
        break;
      case RedirectKind::kWrite:
        source = "redirect >";
        break;
      case RedirectKind::kClobber:
        source = "redirect >|";
        break;
      case RedirectKind::kAppend:
        source = "redirect >>";
        break;
      case RedirectKind::kReadWrite:
        source = "redirect <>";
        also_read = true;
        break;
      case RedirectKind::kWriteBoth:
        source = "redirect &>";
        break;
      case RedirectKind::kAppendBoth:
        source = "redirect &>>";
        break;
    }
    Field target = ExpandSingle(redirect.target, state, ctx);
    if (target.process_sub) continue;
    ReportPath(target, access, source, state);
    if (also_read) ReportPath(target, PathAccess::kRead, source, state);
  }
  return out;
}

// ---- simple commands -------------------------------------------------------

void ShellInterpreter::RunSimple(const shell::Command& command, ShellState& state,
                                 const CommandContext& ctx) {
  struct Assigned {
    const shell::Assignment* assignment;
    bool known;
    std::string value;
  };
  std::vector<Assigned> assigned;
  assigned.reserve(command.assignments.size());
  for (const shell::Assignment& assignment : command.assignments) {
    Assigned a{&assignment, false, {}};
    if (assignment.is_array) {
      ExpandWords(assignment.elements, state, ctx);
    } else {
      Field value = ExpandSingle(assignment.value, state, ctx);
      a.known = !value.dynamic && !value.process_sub;
      a.value = std::move(value.text);
      if (assignment.append) {
        auto it = state.vars.find(assignment.name);
        if (it == state.vars.end()) {
          a.known = false;
        } else {
          a.value = it->second + a.value;
        }
      }
    }
    assigned.push_back(std::move(a));
  }
  std::vector<Field> argv = ExpandWords(command.words, state, ctx);
  CommandContext inner = ApplyRedirects(command.redirects, state, ctx);
  if (argv.empty()) {
    for (const Assigned& a : assigned) {
      CheckEnvironmentAssignment(a.assignment->name, a.assignment->value.raw);
      SetVariable(state, a.assignment->name, a.known ? &a.value : nullptr);
    }
    return;
  }
  for (const Assigned& a : assigned) CheckEnvironmentAssignment(a.assignment->name, a.assignment->value.raw);
  RunArgv(argv, state, inner);
}

void ShellInterpreter::RunArgv(const std::vector<Field>& argv, ShellState& state,
                               const CommandContext& ctx) {
  if (argv.empty()) return;
  const Field& program = argv[0];
  if (program.dynamic || program.glob || program.process_sub || program.synthetic) {
    sink_.AddUnknown("dynamic program name", program.raw);
    // Its arguments still name paths and hosts.
    std::vector<Field> as_unknown = argv;
    as_unknown[0].text = "";
    AnalyzeProgram(*this, as_unknown, state, ctx);
    return;
  }
  if (!IsAscii(program.text)) sink_.AddUnknown("non-ASCII program name", program.text);
  ExecEffect exec;
  exec.program = program.text;
  exec.source = std::string(ctx.source);
  exec.argv.reserve(argv.size());
  for (const Field& field : argv) {
    if (field.synthetic) continue;
    exec.argv.push_back(field.dynamic ? field.raw : field.text);
  }
  if (program.text.find('/') != std::string::npos) {
    std::vector<std::string> resolved = ResolvePath(program, state);
    for (std::size_t i = 1; i < resolved.size(); ++i) {
      ExecEffect other = exec;
      other.resolved = resolved[i];
      sink_.AddExec(std::move(other));
    }
    if (!resolved.empty()) exec.resolved = resolved[0];
  }
  sink_.AddExec(std::move(exec));
  auto function = state.functions.find(program.text);
  if (function != state.functions.end()) {
    // A shell function, not a program: its body was analysed where defined.
    if (function->second) {
      state.vars.clear();
      state.cwd.unknown = true;
      ++state.mutations;
      ++state.cd_count;
    }
    return;
  }
  AnalyzeProgram(*this, argv, state, ctx);
}

void ShellInterpreter::SetVariable(ShellState& state, std::string_view name, const std::string* value) {
  ++state.mutations;
  if (name == "IFS") state.ifs_modified = true;
  auto it = state.vars.find(name);
  bool opaque = std::find(state.opaque_vars.begin(), state.opaque_vars.end(), name) != state.opaque_vars.end();
  if (value == nullptr || value->size() > kMaxVariableBytes || opaque) {
    if (it != state.vars.end()) state.vars.erase(it);
    return;
  }
  if (it != state.vars.end()) {
    it->second = *value;
  } else {
    state.vars.emplace(std::string(name), *value);
  }
}

void ShellInterpreter::CheckEnvironmentAssignment(std::string_view name, std::string_view raw) {
  if (name == "PATH") {
    sink_.AddUnknown("PATH modified", raw);
    return;
  }
  if (name == "CDPATH") {
    sink_.AddUnknown("CDPATH modified", raw);
    return;
  }
  static constexpr std::string_view kCodeLoading[] = {
      "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "BASH_ENV", "ENV",
      "PS4", "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "GIT_SSH", "GIT_SSH_COMMAND",
      "GIT_EXEC_PATH", "GIT_PROXY_COMMAND", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_EDITOR",
      "GIT_PAGER", "EDITOR", "VISUAL", "PAGER", "PERL5OPT", "NODE_OPTIONS", "RUBYOPT",
      "JAVA_TOOL_OPTIONS", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_PARAMETERS", "LESSOPEN"};
  for (std::string_view var : kCodeLoading) {
    if (name == var) {
      sink_.AddUnknown("code-loading environment variable", raw);
      return;
    }
  }
  if (name.substr(0, 11) == "GIT_CONFIG_") sink_.AddUnknown("code-loading environment variable", raw);
}

// ---- expansion --------------------------------------------------------------

void ShellInterpreter::RunSubstitution(int body, ShellState& state, const CommandContext& ctx,
                                       std::string_view source) {
  if (script_ == nullptr || body < 0 || static_cast<std::size_t>(body) >= script_->bodies.size()) return;
  const shell::SubstitutionBody& sub = *script_->bodies[static_cast<std::size_t>(body)];
  ShellState copy = state;  // substitutions run in a subshell
  CommandContext inner = ctx;
  inner.source = source;
  inner.depth = sub.depth;
  RunList(sub.list, copy, inner);
}

void ShellInterpreter::ForgetArithmeticVariables(std::string_view expr, ShellState& state) {
  // Arithmetic can assign any variable it names, and evaluates variable
  // values as expressions (x='y=1'; ((x)) assigns y): forget what it names,
  // and everything if a named value is itself an expression.
  bool forget_all = false;
  std::size_t i = 0;
  while (i < expr.size()) {
    char c = expr[i];
    bool start = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!start) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < expr.size() && ((expr[end] >= 'a' && expr[end] <= 'z') || (expr[end] >= 'A' && expr[end] <= 'Z') ||
                                 (expr[end] >= '0' && expr[end] <= '9') || expr[end] == '_')) {
      ++end;
    }
    std::string_view name = expr.substr(i, end - i);
    auto it = state.vars.find(name);
    if (it != state.vars.end()) {
      if (!std::all_of(it->second.begin(), it->second.end(), [](char d) { return d >= '0' && d <= '9'; })) {
        forget_all = true;
      }
      state.vars.erase(it);
      ++state.mutations;
    }
    i = end;
  }
  if (forget_all) {
    state.vars.clear();
    ++state.mutations;
  }
}

void ShellInterpreter::ExpandWord(const shell::Word& word, ShellState& state, const CommandContext& ctx,
                                  bool split, std::vector<Field>& out) {
  if (ExpandLiteralWord(word, out)) return;
  Expansion current;
  bool dynamic = false;
  bool has_content = false;
  bool process_sub = false;
  std::string prefix;

  auto finish = [&]() {
    if (!dynamic && !has_content && !process_sub) return;
    auto emit = [&](Expansion& e) {
      Field field;
      field.raw = word.raw;
      field.dynamic = dynamic;
      field.process_sub = process_sub;
      if (dynamic) {
        field.text = prefix;
      } else {
        for (std::size_t i = 0; i < e.text.size(); ++i) {
          char c = e.text[i];
          if ((e.flags[i] & kGlobActive) && IsGlobChar(c)) field.glob = true;
        }
        if (field.glob) {
          field.glob_active.resize(e.text.size());
          for (std::size_t i = 0; i < e.text.size(); ++i) {
            field.glob_active[i] = (e.flags[i] & kGlobActive) ? '\1' : '\0';
          }
        }
        field.text = std::move(e.text);
      }
      out.push_back(std::move(field));
    };
    if (!dynamic && current.text.find('{') != std::string::npos) {
      std::vector<Expansion> expanded;
      bool overflow = false;
      BraceExpand(std::move(current), expanded, overflow, sink_);
      if (overflow) {
        sink_.AddUnknown("brace expansion too large", word.raw);
        dynamic = true;
        Expansion none;
        emit(none);
      } else {
        for (Expansion& e : expanded) emit(e);
      }
    } else {
      emit(current);
    }
    current = Expansion();
    has_content = false;
  };

  auto append = [&](std::string_view text, char flag) {
    if (!dynamic) {
      current.text.append(text);
      current.flags.append(text.size(), flag);
    }
    if (!text.empty()) has_content = true;
  };
  auto make_dynamic = [&]() {
    if (!dynamic) prefix = current.text;
    dynamic = true;
    has_content = true;
  };

  for (const shell::WordPart& part : word.parts) {
    switch (part.kind) {
      case PartKind::kLiteral:
        if (part.quoted) has_content = true;
        append(part.text, part.quoted ? kInert : static_cast<char>(kGlobActive | kBraceActive));
        break;
      case PartKind::kTilde: {
        const std::string* value = nullptr;
        std::string pwd;
        if (part.text.empty()) {
          auto it = state.vars.find("HOME");
          if (it != state.vars.end()) value = &it->second;
        } else if (part.text == "+" && state.cwd.dirs.size() == 1 && !state.cwd.unknown) {
          pwd = state.cwd.dirs[0];
          value = &pwd;
        }
        if (value == nullptr) {
          make_dynamic();
        } else {
          append(*value, kInert);
          has_content = true;
        }
        break;
      }
      case PartKind::kParam: {
        const std::string* value = nullptr;
        std::string pwd;
        auto it = state.vars.find(part.text);
        if (it != state.vars.end()) {
          value = &it->second;
        } else if (part.text == "PWD" && state.cwd.dirs.size() == 1 && !state.cwd.unknown) {
          pwd = state.cwd.dirs[0];
          value = &pwd;
        }
        if (value == nullptr) {
          make_dynamic();
          break;
        }
        if (part.quoted) {
          has_content = true;
          append(*value, kInert);
          break;
        }
        if (state.ifs_modified) {
          make_dynamic();
          break;
        }
        if (!sink_.Charge(value->size())) {
          make_dynamic();
          break;
        }
        // Unquoted: split on IFS whitespace, and the value may glob.
        for (char c : *value) {
          if (split && IsIfsSpace(c)) {
            if (has_content || !current.text.empty()) finish();
            continue;
          }
          append(std::string_view(&c, 1), kGlobActive);
        }
        break;
      }
      case PartKind::kParamOp:
        if (part.assigns) SetVariable(state, part.text, nullptr);
        make_dynamic();
        break;
      case PartKind::kArith:
        ForgetArithmeticVariables(part.text, state);
        make_dynamic();
        break;
      case PartKind::kCommandSub:
        RunSubstitution(part.body, state, ctx, "$( )");
        make_dynamic();
        break;
      case PartKind::kProcessSub:
        RunSubstitution(part.body, state, ctx, "<( )");
        process_sub = true;
        append("/dev/fd/63", kInert);
        break;
    }
  }
  finish();
}

std::vector<Field> ShellInterpreter::ExpandWords(const std::vector<shell::Word>& words, ShellState& state,
                                                 const CommandContext& ctx) {
  std::vector<Field> out;
  out.reserve(words.size());
  for (const shell::Word& word : words) {
    if (!ExpandLiteralWord(word, out)) ExpandWord(word, state, ctx, true, out);
  }
  return out;
}

Field ShellInterpreter::ExpandSingle(const shell::Word& word, ShellState& state, const CommandContext& ctx) {
  std::vector<Field> out;
  ExpandWord(word, state, ctx, false, out);
  if (out.empty()) {
    Field empty;
    empty.raw = word.raw;
    return empty;
  }
  if (out.size() > 1) {
    // Brace expansion in a single-word context (a redirect target): bash
    // calls it ambiguous and does not run the command; keep it unknown.
    Field field = out[0];
    field.dynamic = true;
    field.text.clear();
    return field;
  }
  return std::move(out[0]);
}

// ---- paths, directories, hosts -----------------------------------------------

std::vector<std::string> ShellInterpreter::ResolvePath(const Field& field, const ShellState& state) {
  std::vector<std::string> out;
  if (field.process_sub) return out;
  if (field.dynamic || field.synthetic) {
    sink_.AddUnknown("dynamic path", field.raw);
    return out;
  }
  if (field.text.empty()) return out;
  NormalizeOptions options;
  options.home = context_.home;
  options.resolve_symlinks = context_.resolve_symlinks;
  options.cache = sink_.path_cache();
  auto add = [&](NormalizedPath result) {
    if (!result.problem.empty()) sink_.AddUnknown(result.problem, field.raw);
    if (result.path.empty()) return;
    if (std::find(out.begin(), out.end(), result.path) == out.end()) out.push_back(std::move(result.path));
  };
  if (field.text.front() == '/') {
    add(NormalizePath(field.text, options));
  } else {
    if (state.cwd.unknown || state.cwd.dirs.empty()) {
      sink_.AddUnknown("relative path with unknown working directory", field.raw);
    }
    for (const std::string& dir : state.cwd.dirs) {
      options.cwd = dir;
      add(NormalizePath(field.text, options));
    }
  }
  if (field.glob) {
    // A glob before the last component can match directories anywhere under
    // its fixed prefix; the policy cannot judge that from the pattern.
    std::string_view text = field.text;
    std::size_t glob = FirstActiveGlob(field);
    if (glob != std::string_view::npos && text.find('/', glob) != std::string_view::npos) {
      sink_.AddUnknown("glob in directory", field.raw);
    } else {
      ExpandGlob(field, state, out);
    }
  }
  // Symlinks and hard links this script creates: a path through the link also
  // names the target. Walk the path as written so `..` after the link
  // applies to the target, as it would on the file system.
  if (!links_.empty()) {
    std::vector<std::string> joined;
    if (field.text.front() == '/') {
      joined.push_back(field.text);
    } else {
      for (const std::string& dir : state.cwd.dirs) joined.push_back(dir + "/" + field.text);
    }
    for (const std::string& path : joined) {
      bool unknown_target = false;
      std::string rewritten = RewriteThroughLinks(path, unknown_target);
      if (unknown_target) sink_.AddUnknown("path through a link with unknown target", field.raw);
      if (rewritten.empty()) continue;
      NormalizeOptions lexical;
      lexical.resolve_symlinks = context_.resolve_symlinks;
      lexical.cache = sink_.path_cache();
      NormalizedPath result = NormalizePath(rewritten, lexical);
      if (!result.path.empty() && std::find(out.begin(), out.end(), result.path) == out.end()) {
        out.push_back(std::move(result.path));
      }
    }
  }
  return out;
}

void ShellInterpreter::ExpandGlob(const Field& field, const ShellState& state, std::vector<std::string>& out) {
  std::string_view text = field.text;
  std::size_t slash = text.rfind('/');
  std::size_t name_start = slash == std::string_view::npos ? 0 : slash + 1;
  std::string pattern = GlobPattern(field, name_start);
  if (pattern.empty()) return;
  // The directories the shell would read: the directory part resolved like
  // any path, so cwd candidates and links the script made count as well.
  Field directory;
  directory.raw = field.raw;
  directory.text = slash == std::string_view::npos ? "." : std::string(text.substr(0, slash + 1));
  std::vector<std::string> dirs = ResolvePath(directory, state);
  NormalizeOptions options;
  options.home = context_.home;
  options.resolve_symlinks = context_.resolve_symlinks;
  options.cache = sink_.path_cache();
  std::size_t matches = 0;
  std::size_t entries = 0;
  // out's paths by index, once it is worth hashing them: the set hashes the
  // strings in out, so a match costs no copy of its path.
  StringIndexSet seen(out);
  bool hashing = false;
  for (const std::string& dir : dirs) {
    std::vector<GlobMatch> names;
    std::shared_ptr<const DirListing> listing;  // what names point into
    switch (MatchDirectory(dir, pattern, names, entries, sink_, listing)) {
      case GlobScan::kDone:
        break;
      case GlobScan::kUnreadable:
        // The tool's shell may be able to read what we cannot.
        sink_.AddUnknown("glob in unreadable directory", field.raw);
        break;
      case GlobScan::kTooLarge:
        sink_.AddUnknown("glob too large", field.raw);
        break;
    }
    // The directory was resolved already: when that walk met no link or
    // special case, a match that is not a link is just dir/name.
    bool plain = !names.empty() && IsPlainDirectory(dir, options);
    out.reserve(out.size() + names.size());
    for (const GlobMatch& match : names) {
      if (++matches > kMaxGlobMatches) {
        sink_.AddUnknown("glob too large", field.raw);
        return;
      }
      NormalizedPath result = NormalizeDirectoryEntry(dir, plain, match.entry->name, match.entry->type, options);
      if (!result.problem.empty()) sink_.AddUnknown(result.problem, field.raw);
      if (result.path.empty()) continue;
      // out holds each path once; a set keeps that linear for large globs.
      if (!hashing && out.size() + names.size() > 16) {
        seen.Reserve(out.size() + names.size());
        for (std::size_t i = 0; i < out.size(); ++i) seen.Insert(i);
        hashing = true;
      }
      if (hashing) {
        out.push_back(std::move(result.path));
        if (!seen.Insert(out.size() - 1)) out.pop_back();  // its equal is there already
      } else if (std::find(out.begin(), out.end(), result.path) == out.end()) {
        out.push_back(std::move(result.path));
      }
    }
  }
}

std::string ShellInterpreter::RewriteThroughLinks(const std::string& path, bool& unknown_target) const {
  std::string result;
  bool rewritten = false;
  int rewrites = 0;
  std::size_t pos = 0;
  while (pos < path.size()) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    std::size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string_view comp = std::string_view(path).substr(pos, end - pos);
    pos = end;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      std::size_t slash = result.rfind('/');
      result.resize(slash == std::string::npos ? 0 : slash);
      continue;
    }
    result += '/';
    result.append(comp);
    for (const auto& [link, target] : links_) {
      if (result != link) continue;
      if (target.empty()) {
        unknown_target = true;
        break;
      }
      if (++rewrites > kMaxSymlinks) return "";
      result = target == "/" ? "" : target;
      rewritten = true;
      break;
    }
  }
  if (!rewritten) return "";
  return result.empty() ? "/" : result;
}

void ShellInterpreter::ReportPath(const Field& field, PathAccess access, std::string_view source,
                                  const ShellState& state) {
  if (field.process_sub) return;
  if (!field.dynamic && !field.synthetic && (field.text.empty() || field.text == "-")) return;
  std::vector<std::string> paths = ResolvePath(field, state);
  // ResolvePath gives each path once, so they go to the sink in batches; a
  // /dev/tcp path's host is added in its turn, after the paths before it,
  // exactly as one AddPath after another would.
  std::size_t pending = 0;  // paths[pending, i) are not added yet
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    if (path.rfind("/dev/tcp/", 0) != 0 && path.rfind("/dev/udp/", 0) != 0) continue;
    sink_.AddPaths(std::span(paths).subspan(pending, i - pending), field.raw, access, source);
    pending = i;
    // bash opens a network connection for /dev/tcp/HOST/PORT.
    std::string_view rest = std::string_view(path).substr(9);
    std::size_t slash = rest.find('/');
    ParsedUrl host;
    host.scheme = path.substr(5, 3);
    std::string_view name = rest.substr(0, slash);
    for (char c : name) host.host += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    host.non_ascii_host = !IsAscii(name);
    if (slash != std::string_view::npos) host.port = std::atoi(std::string(rest.substr(slash + 1)).c_str());
    sink_.AddHost(host, source);
  }
  sink_.AddPaths(std::span(paths).subspan(pending), field.raw, access, source);
}

void ShellInterpreter::RecordLink(const Field& target, const Field& link, bool symbolic,
                                  const ShellState& state) {
  if (links_.size() >= kMaxLinks) {
    sink_.AddUnknown("too many links", link.raw);
    return;
  }
  std::vector<std::string> link_paths;
  {
    // Record the link lexically: it does not exist yet.
    NormalizeOptions options;
    options.home = context_.home;
    if (link.dynamic || link.text.empty()) return;
    if (link.text.front() == '/') {
      link_paths.push_back(NormalizePath(link.text, options).path);
    } else {
      for (const std::string& dir : state.cwd.dirs) {
        options.cwd = dir;
        link_paths.push_back(NormalizePath(link.text, options).path);
      }
    }
  }
  for (const std::string& link_path : link_paths) {
    if (link_path.empty()) continue;
    std::string target_path;
    if (!target.dynamic && !target.text.empty()) {
      // A relative symlink target is relative to the link's directory.
      Field anchored = target;
      ShellState at_link;
      at_link.cwd.dirs.push_back(symbolic ? std::string(ParentDirectory(link_path))
                                          : (state.cwd.dirs.empty() ? "" : state.cwd.dirs[0]));
      at_link.cwd.unknown = !symbolic && (state.cwd.unknown || state.cwd.dirs.empty());
      std::vector<std::string> resolved = ResolvePath(anchored, at_link);
      if (!resolved.empty()) target_path = resolved.back();
    }
    links_.emplace_back(link_path, std::move(target_path));
  }
}

void ShellInterpreter::ChangeDirectory(const Field* target, ShellState& state) {
  ++state.cd_count;
  ++state.mutations;
  state.vars.erase("PWD");
  state.vars.erase("OLDPWD");
  Field home;
  if (target == nullptr) {
    auto it = state.vars.find("HOME");
    if (it == state.vars.end()) {
      state.cwd.dirs.clear();
      state.cwd.unknown = true;
      return;
    }
    home.text = it->second;
    home.raw = "~";
    target = &home;
  }
  if (target->dynamic || target->text == "-" || target->glob) {
    state.cwd.dirs.clear();
    state.cwd.unknown = true;
    return;
  }
  std::vector<std::string> dirs = ResolvePath(*target, state);
  // Relative to an unknown directory: still unknown.
  bool unknown = target->text.front() != '/' && state.cwd.unknown;
  state.cwd.dirs.clear();
  state.cwd.unknown = unknown || dirs.empty();
  for (const std::string& dir : dirs) AddCwd(state.cwd, dir);
}

void ShellInterpreter::ReportHostArgument(const Field& field, std::string_view source,
                                          std::string_view bare_scheme) {
  if (field.dynamic || field.synthetic) {
    sink_.AddUnknown("dynamic host", field.raw);
    return;
  }
  if (auto url = ParseUrl(field.text)) {
    sink_.AddUrl(*url, field.text, source);
    return;
  }
  if (auto host = ParseBareHost(field.text, bare_scheme)) {
    sink_.AddHost(*host, source);
    return;
  }
  if (!field.text.empty()) {
    // A single-label name ("intranet") still resolves somewhere.
    ParsedUrl host;
    host.scheme = std::string(bare_scheme);
    host.port = DefaultPort(bare_scheme);
    for (char c : field.text) host.host += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    host.non_ascii_host = !IsAscii(field.text);
    host.ambiguous = host.host.find_first_of("/\\%@ \t") != std::string::npos;
    sink_.AddHost(host, source);
  }
}

void ShellInterpreter::ScanInlineText(const Field& field, std::string_view source, PathAccess access) {
  if (field.dynamic) return;
  TextScanOptions options;
  options.source = source;
  options.home = context_.home;
  options.path_access = access;
  options.resolve_symlinks = context_.resolve_symlinks;
  ScanText(field.text, options, sink_);
}

// ---- entry -------------------------------------------------------------------

namespace {

ShellState InitialState(std::string_view cwd, const EffectsContext& context) {
  ShellState state;
  if (!cwd.empty() && cwd.front() == '/') {
    state.cwd.dirs.push_back(LexicallyNormalize(cwd));
  } else {
    state.cwd.unknown = true;
  }
  if (!context.home.empty()) state.vars.emplace("HOME", context.home);
  return state;
}

}  // namespace

void ExtractArgvEffects(const std::vector<std::string>& argv, std::string_view cwd,
                        const EffectsContext& context, EffectsSink& sink, std::string_view source) {
  ShellInterpreter interpreter(context, sink);
  ShellState state = InitialState(cwd, context);
  std::vector<Field> fields;
  fields.reserve(argv.size());
  for (const std::string& arg : argv) {
    Field field;
    field.text = arg;
    field.raw = arg;
    fields.push_back(std::move(field));
  }
  CommandContext ctx;
  ctx.source = source;
  interpreter.RunArgv(fields, state, ctx);
}

void ExtractShellEffects(std::string_view script, std::string_view cwd, const EffectsContext& context,
                         EffectsSink& sink, std::string_view source) {
  ShellInterpreter interpreter(context, sink);
  ShellState state = InitialState(cwd, context);
  CommandContext ctx;
  ctx.source = source;
  interpreter.RunScript(script, state, ctx);
}

}  // namespace toolgate::effects
