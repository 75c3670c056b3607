#include "effects/shell_parser.h"

#include <algorithm>
#include <array>
#include <utility>

#include "util/utf8.h"

namespace toolgate::shell {
namespace {

constexpr std::string_view kUnparseable = "unparseable shell";
constexpr std::string_view kTooDeep = "shell nesting too deep";
constexpr std::size_t kDetailBytes = 120;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
constexpr std::array<bool, 256> kMetaTable = [] {
  std::array<bool, 256> t{};
  for (const char c : std::string_view(" \t\r\n;&|()<>")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
// Blanks and the operator characters that end a word (a table: this runs for every byte).
bool IsMeta(char c) { return kMetaTable[static_cast<unsigned char>(c)]; }
// The bytes that can end a run of plain word text, or start something else
// inside it: IsMeta, quotes, \ $ `, the extended glob openers ? * + @ ! (only
// before a `(`) and ~ (after `:` in an assignment). Any other byte continues
// the run, decided by one lookup.
constexpr std::array<bool, 256> kWordSpecialTable = [] {
  std::array<bool, 256> t = kMetaTable;
  for (const char c : std::string_view("'\"\\$`?*+@!~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
// The first bytes of the reserved words ScanKeyword knows.
constexpr std::array<bool, 256> kKeywordStartTable = [] {
  std::array<bool, 256> t{};
  for (const char c : std::string_view("itefdcwus{}![]")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpecialParam(char c) {
  return c == '@' || c == '*' || c == '#' || c == '?' || c == '$' || c == '!' || c == '-' || IsDigit(c);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// $'\u...' with a code point UTF-8 cannot carry becomes U+FFFD.
void AppendCodePoint(std::string& out, std::uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  AppendUtf8(cp, &out);
}

void AppendLiteral(Word& word, std::string_view text, bool quoted) {
  if (!word.parts.empty() && word.parts.back().kind == PartKind::kLiteral &&
      word.parts.back().quoted == quoted) {
    word.parts.back().text.append(text);
    return;
  }
  // Built in place: no temporary part to move and destroy. The new part's
  // text is empty, so append copies it (assign takes replace's general path).
  WordPart& part = word.parts.emplace_back();
  part.quoted = quoted;
  part.text.append(text);
}

constexpr std::array<std::string_view, 20> kKeywords = {
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while",
    "until", "for", "in", "select", "function", "time", "{", "}", "!", "[["};

class Parser {
 public:
  // `mode` says how the text is read: as a script, or as the inside of a
  // double-quoted string / unquoted here-document (only $, ` and \ special).
  enum class Mode { kScript, kDoubleQuoted, kHereDoc };

  Parser(std::string_view src, Script& out, int depth, int max_depth, int nesting)
      : s_(src), out_(out), depth_(depth), max_depth_(max_depth), nesting_(nesting) {}

  // Reads the whole text into `all` (empty): the lists a stray token splits
  // it into, one after the other. Lists are filled where they are kept, not
  // built and moved there: a list keeps its first and-or list (and that its
  // first pipeline and command) inline, so a move copies all of them.
  void ParseScript(List& all) {
    while (true) {
      ParseList(all);
      if (AtEnd()) break;
      // A token no construct expected here (a stray `)`, `fi`, `;;` ...).
      Issue(kUnparseable, Rest(p_));
      SkipStrayToken();
    }
    if (!pending_.empty()) ReadHereDocBodies();
  }

  Word ParseQuotedText(Mode mode) {
    Word word;
    while (!AtEnd()) ParseQuotedChar(word, mode);
    word.raw = std::string(s_);
    return word;
  }

 private:
  struct PendingHereDoc {
    int index;  // into Script::heredocs
    std::string delimiter;
    bool strip_tabs;
    bool quoted;
  };

  // ---- low-level scanning ------------------------------------------------

  bool AtEnd() const { return p_ >= s_.size(); }
  char Peek(std::size_t ahead = 0) const { return p_ + ahead < s_.size() ? s_[p_ + ahead] : '\0'; }
  bool LookingAt(std::string_view text) const { return s_.substr(p_, text.size()) == text; }
  std::string_view Rest(std::size_t from) const {
    return s_.substr(from, std::min(kDetailBytes, s_.size() - std::min(from, s_.size())));
  }

  void Issue(std::string_view what, std::string_view detail) {
    if (out_.issues.size() >= 64) return;
    out_.issues.push_back({std::string(what), std::string(detail.substr(0, kDetailBytes))});
  }

  void SkipBlanks() {
    while (!AtEnd()) {
      char c = Peek();
      if (IsBlank(c)) {
        ++p_;
      } else if (c == '\\' && Peek(1) == '\n') {
        p_ += 2;  // line continuation
      } else {
        break;
      }
    }
  }

  void SkipComment() {
    while (!AtEnd() && Peek() != '\n') ++p_;
  }

  // Blanks, comments and newlines (reading any pending here-documents).
  void SkipSeparatorsAndNewlines() {
    while (true) {
      SkipBlanks();
      if (Peek() == '#') SkipComment();
      if (!AtEnd() && Peek() == '\n') {
        ConsumeNewline();
        continue;
      }
      break;
    }
  }

  void ConsumeNewline() {
    ++p_;
    if (!pending_.empty()) ReadHereDocBodies();
  }

  // The reserved word at the cursor, if the next token is one.
  // Asked several times at one position (list, pipeline and command level
  // each look), so the last answer is kept: it depends on p_ alone.
  std::string_view PeekKeyword() const {
    if (keyword_at_ != p_) {
      keyword_ = ScanKeyword();
      keyword_at_ = p_;
    }
    return keyword_;
  }

  std::string_view ScanKeyword() const {
    if (p_ >= s_.size() || !kKeywordStartTable[static_cast<unsigned char>(s_[p_])]) return {};
    std::size_t end = p_;
    while (end < s_.size() && !IsMeta(s_[end]) && s_[end] != '"' && s_[end] != '\'' &&
           s_[end] != '\\' && s_[end] != '$' && s_[end] != '`' && end - p_ < 9) {
      ++end;
    }
    if (end == p_) return {};
    if (end < s_.size() && !IsMeta(s_[end])) return {};
    std::string_view token = s_.substr(p_, end - p_);
    for (std::string_view kw : kKeywords) {
      // Length and first byte first: most tokens differ there, and == calls memcmp.
      if (kw.size() == token.size() && kw[0] == token[0] && token == kw) return token;
    }
    if (token == "]]") return token;
    return {};
  }

  bool ConsumeKeyword(std::string_view kw) {
    if (PeekKeyword() != kw) return false;
    p_ += kw.size();
    return true;
  }

  void ExpectKeyword(std::string_view kw) {
    SkipSeparatorsAndNewlines();
    if (!ConsumeKeyword(kw)) Issue(kUnparseable, std::string("missing ").append(kw));
  }

  void SkipStrayToken() {
    std::string_view kw = PeekKeyword();
    if (!kw.empty()) {
      p_ += kw.size();
    } else {
      ++p_;
    }
  }

  static bool IsListTerminatorKeyword(std::string_view kw) {
    return kw == "then" || kw == "else" || kw == "elif" || kw == "fi" || kw == "do" ||
           kw == "done" || kw == "esac" || kw == "}";
  }

  // ---- lists, pipelines, commands ----------------------------------------

  // Appends the and-or lists up to the list's end to `list`.
  void ParseList(List& list) {
    while (true) {
      SkipSeparatorsAndNewlines();
      if (AtEnd()) break;
      char c = Peek();
      if (c == ')') break;
      if (c == ';' && Peek(1) == ';') break;  // case item end
      if (c == ';' && Peek(1) == '&') break;  // case fallthrough
      if (IsListTerminatorKeyword(PeekKeyword())) break;
      if (c == ';' || c == '&' || c == '|') {
        Issue(kUnparseable, Rest(p_));
        ++p_;
        continue;
      }
      std::size_t before = p_;
      // Each level (and-or list, pipeline, command) is built in place in the
      // vector that keeps it: no moves of a finished one into it.
      AndOr& item = list.items.emplace_back();
      ParseAndOr(item);
      SkipBlanks();
      if (Peek() == '#') SkipComment();
      if (Peek() == ';' && Peek(1) != ';' && Peek(1) != '&') {
        ++p_;
      } else if (Peek() == '&' && Peek(1) != '&' && Peek(1) != '>') {
        ++p_;
        item.background = true;
      } else if (Peek() == '\n') {
        ConsumeNewline();
      }
      if (item.pipelines.empty()) list.items.pop_back();
      if (p_ == before) {
        // No construct consumed anything: skip a byte so parsing always ends.
        Issue(kUnparseable, Rest(p_));
        ++p_;
      }
    }
  }

  void ParseAndOr(AndOr& item) {
    ParsePipeline(item.pipelines.emplace_back());
    while (true) {
      SkipBlanks();
      bool is_or;
      if (LookingAt("&&")) {
        is_or = false;
      } else if (LookingAt("||")) {
        is_or = true;
      } else {
        break;
      }
      p_ += 2;
      SkipSeparatorsAndNewlines();
      item.or_ops.push_back(is_or);
      ParsePipeline(item.pipelines.emplace_back());
    }
  }

  void ParsePipeline(Pipeline& pipeline) {
    while (true) {
      SkipBlanks();
      if (ConsumeKeyword("!")) {
        pipeline.negated = !pipeline.negated;
        continue;
      }
      // `time` is a keyword in bash: it times the pipeline, runs no program.
      if (ConsumeKeyword("time")) {
        SkipBlanks();
        while (LookingAt("-p") || LookingAt("--")) {
          std::size_t save = p_;
          p_ += 2;
          if (!AtEnd() && !IsMeta(Peek())) {
            p_ = save;
            break;
          }
          SkipBlanks();
        }
        continue;
      }
      break;
    }
    ParseCommand(pipeline.commands.emplace_back());
    while (true) {
      SkipBlanks();
      if (Peek() != '|' || Peek(1) == '|') break;
      ++p_;
      if (Peek() == '&') ++p_;  // |& also pipes stderr
      SkipSeparatorsAndNewlines();
      ParseCommand(pipeline.commands.emplace_back());
    }
  }

  void ParseCommand(Command& cmd) {
    SkipBlanks();
    if (nesting_ >= kMaxCompoundNesting) {
      Issue(kTooDeep, Rest(p_));
      p_ = s_.size();
      return;
    }
    ++nesting_;
    ParseCommandInner(cmd);
    --nesting_;
  }

  void ParseCommandInner(Command& cmd) {
    if (Peek() == '(') {
      if (Peek(1) == '(') {
        std::size_t save = p_;
        p_ += 2;
        std::string expr;
        if (ScanArithmetic(expr)) {
          cmd.kind = CommandKind::kArith;
          cmd.words.push_back(ParseSubText(expr, Mode::kDoubleQuoted));
          ParseTrailingRedirects(cmd);
          return;
        }
        p_ = save;
      }
      ++p_;
      cmd.kind = CommandKind::kSubshell;
      ParseList(cmd.bodies.emplace_back());
      if (Peek() == ')') {
        ++p_;
      } else {
        Issue(kUnparseable, "missing )");
      }
      ParseTrailingRedirects(cmd);
      return;
    }
    std::string_view kw = PeekKeyword();
    if (kw == "{") {
      p_ += 1;
      cmd.kind = CommandKind::kGroup;
      ParseList(cmd.bodies.emplace_back());
      ExpectKeyword("}");
    } else if (kw == "if") {
      p_ += 2;
      ParseIf(cmd);
    } else if (kw == "while" || kw == "until") {
      p_ += kw.size();
      cmd.kind = kw == "while" ? CommandKind::kWhile : CommandKind::kUntil;
      ParseList(cmd.bodies.emplace_back());
      ExpectKeyword("do");
      ParseList(cmd.bodies.emplace_back());
      ExpectKeyword("done");
    } else if (kw == "for" || kw == "select") {
      p_ += kw.size();
      ParseFor(cmd);
    } else if (kw == "case") {
      p_ += 4;
      ParseCase(cmd);
    } else if (kw == "function") {
      p_ += 8;
      ParseFunctionKeyword(cmd);
      return;
    } else if (kw == "[[") {
      p_ += 2;
      ParseCond(cmd);
    } else {
      ParseSimple(cmd);
      return;
    }
    ParseTrailingRedirects(cmd);
  }

  void ParseTrailingRedirects(Command& cmd) {
    while (true) {
      SkipBlanks();
      if (!TryParseRedirect(cmd)) break;
    }
  }

  void ParseIf(Command& cmd) {
    cmd.kind = CommandKind::kIf;
    ParseList(cmd.bodies.emplace_back());
    ExpectKeyword("then");
    ParseList(cmd.bodies.emplace_back());
    while (true) {
      SkipSeparatorsAndNewlines();
      if (ConsumeKeyword("elif")) {
        ParseList(cmd.bodies.emplace_back());
        ExpectKeyword("then");
        ParseList(cmd.bodies.emplace_back());
        continue;
      }
      if (ConsumeKeyword("else")) {
        ParseList(cmd.bodies.emplace_back());
        cmd.has_else = true;
      }
      break;
    }
    ExpectKeyword("fi");
  }

  void ParseFor(Command& cmd) {
    cmd.kind = CommandKind::kFor;
    SkipBlanks();
    if (LookingAt("((")) {
      p_ += 2;
      std::string expr;
      if (!ScanArithmetic(expr)) Issue(kUnparseable, "unterminated for ((");
      cmd.arith_for = true;
      cmd.words.push_back(ParseSubText(expr, Mode::kDoubleQuoted));
    } else {
      std::size_t start = p_;
      while (!AtEnd() && IsNameChar(Peek())) ++p_;
      cmd.name = std::string(s_.substr(start, p_ - start));
      if (cmd.name.empty()) Issue(kUnparseable, Rest(start));
      SkipSeparatorsAndNewlines();
      if (ConsumeKeyword("in")) {
        while (true) {
          SkipBlanks();
          if (AtEnd() || Peek() == ';' || Peek() == '\n' || Peek() == '#') break;
          if (IsMeta(Peek())) {
            Issue(kUnparseable, Rest(p_));
            break;
          }
          ReadWord(cmd.words.emplace_back());
        }
      } else {
        // for NAME; do ... iterates over "$@"
        WordPart all;
        all.kind = PartKind::kParam;
        all.text = "@";
        all.quoted = true;
        Word word;
        word.parts.push_back(std::move(all));
        word.raw = "\"$@\"";
        cmd.words.push_back(std::move(word));
      }
    }
    SkipBlanks();
    if (Peek() == ';') ++p_;
    SkipSeparatorsAndNewlines();
    if (PeekKeyword() == "{") {
      // bash also accepts for ... { list; }
      p_ += 1;
      ParseList(cmd.bodies.emplace_back());
      ExpectKeyword("}");
      return;
    }
    ExpectKeyword("do");
    ParseList(cmd.bodies.emplace_back());
    ExpectKeyword("done");
  }

  void ParseCase(Command& cmd) {
    cmd.kind = CommandKind::kCase;
    SkipBlanks();
    ReadWord(cmd.words.emplace_back());
    ExpectKeyword("in");
    while (true) {
      SkipSeparatorsAndNewlines();
      if (ConsumeKeyword("esac")) return;
      if (AtEnd()) {
        Issue(kUnparseable, "missing esac");
        return;
      }
      std::size_t item_start = p_;
      if (Peek() == '(') ++p_;
      int count = 0;
      while (true) {
        SkipBlanks();
        if (AtEnd()) break;
        if (!IsMeta(Peek())) {
          ReadWord(cmd.words.emplace_back());
          ++count;
        }
        SkipBlanks();
        if (Peek() == '|') {
          ++p_;
          continue;
        }
        if (Peek() == ')') {
          ++p_;
          break;
        }
        Issue(kUnparseable, Rest(p_));
        break;
      }
      cmd.case_pattern_counts.push_back(count);
      ParseList(cmd.bodies.emplace_back());
      SkipBlanks();
      if (LookingAt(";;&")) {
        p_ += 3;
      } else if (LookingAt(";;") || LookingAt(";&")) {
        p_ += 2;
      }
      if (p_ == item_start) {
        Issue(kUnparseable, Rest(p_));
        ++p_;
      }
    }
  }

  void ParseFunctionBody(Command& cmd) {
    SkipSeparatorsAndNewlines();
    cmd.kind = CommandKind::kFunction;
    List body;
    AndOr item;
    Pipeline pipeline;
    ParseCommand(pipeline.commands.emplace_back());
    item.pipelines.push_back(std::move(pipeline));
    body.items.push_back(std::move(item));
    cmd.bodies.push_back(std::move(body));
  }

  void ParseFunctionKeyword(Command& cmd) {
    SkipBlanks();
    Word name;
    ReadWord(name);
    cmd.name = name.raw;
    SkipBlanks();
    if (Peek() == '(') {
      std::size_t save = p_;
      ++p_;
      SkipBlanks();
      if (Peek() == ')') {
        ++p_;
      } else {
        p_ = save;
      }
    }
    ParseFunctionBody(cmd);
  }

  void ParseCond(Command& cmd) {
    cmd.kind = CommandKind::kCond;
    while (true) {
      SkipSeparatorsAndNewlines();
      if (AtEnd()) {
        Issue(kUnparseable, "missing ]]");
        return;
      }
      if (ConsumeKeyword("]]")) return;
      char c = Peek();
      if (c == '(' || c == ')' || c == '|' || c == '&' || c == '<' || c == '>' || c == ';') {
        ++p_;
        continue;
      }
      ReadWord(cmd.words.emplace_back());
    }
  }

  // NAME=, NAME+=, NAME[sub]= at the cursor: returns the length up to and
  // including '=' (0 when the cursor is not at an assignment).
  std::size_t AssignmentPrefixLength(std::string* name, bool* append) const {
    std::size_t i = p_;
    if (i >= s_.size() || !IsNameStart(s_[i])) return 0;
    while (i < s_.size() && IsNameChar(s_[i])) ++i;
    std::size_t name_end = i;
    if (i < s_.size() && s_[i] == '[') {
      int depth = 0;
      while (i < s_.size()) {
        if (s_[i] == '[') ++depth;
        if (s_[i] == ']' && --depth == 0) break;
        if (s_[i] == '\n') return 0;
        ++i;
      }
      if (i >= s_.size()) return 0;
      ++i;
    }
    *append = false;
    if (i < s_.size() && s_[i] == '+') {
      *append = true;
      ++i;
    }
    if (i >= s_.size() || s_[i] != '=') return 0;
    *name = std::string(s_.substr(p_, name_end - p_));
    return i + 1 - p_;
  }

  void ParseSimple(Command& cmd) {
    cmd.kind = CommandKind::kSimple;
    // Every simple command has words and most have no redirect: one block
    // for the usual handful of words instead of growing 1, 2, 4, 8.
    cmd.words.reserve(8);
    while (true) {
      SkipBlanks();
      if (AtEnd()) break;
      char c = Peek();
      if (c == '#') {
        SkipComment();
        break;
      }
      if (TryParseRedirect(cmd)) continue;
      if (c == '(' && cmd.words.size() == 1 && cmd.assignments.empty()) {
        // NAME ( ) compound: a function definition.
        std::size_t save = p_;
        ++p_;
        SkipBlanks();
        if (Peek() == ')') {
          ++p_;
          cmd.name = cmd.words[0].raw;
          cmd.words.clear();
          ParseFunctionBody(cmd);
          return;
        }
        p_ = save;
      }
      if (IsMeta(c) && !((c == '<' || c == '>') && Peek(1) == '(')) break;
      if (cmd.words.empty()) {
        std::string name;
        bool append = false;
        std::size_t prefix = AssignmentPrefixLength(&name, &append);
        if (prefix > 0) {
          std::size_t start = p_;
          p_ += prefix;
          Assignment assignment;
          assignment.name = std::move(name);
          assignment.append = append;
          if (Peek() == '(') {
            ++p_;
            assignment.is_array = true;
            while (true) {
              SkipSeparatorsAndNewlines();
              if (AtEnd()) {
                Issue(kUnparseable, Rest(start));
                break;
              }
              if (Peek() == ')') {
                ++p_;
                break;
              }
              if (IsMeta(Peek())) {
                Issue(kUnparseable, Rest(p_));
                ++p_;
                continue;
              }
              ReadWord(assignment.elements.emplace_back());
            }
          } else {
            ReadWord(assignment.value, /*assignment_value=*/true);
          }
          assignment.value.raw = std::string(s_.substr(start, p_ - start));
          cmd.assignments.push_back(std::move(assignment));
          continue;
        }
      }
      // Most commands have a few words: one allocation instead of 1, 2, 4.
      if (cmd.words.capacity() == 0) cmd.words.reserve(4);
      ReadWord(cmd.words.emplace_back());
    }
  }

  // Redirection at the cursor (with an optional fd number). Process
  // substitutions <( and >( are words, not redirections. Only a digit, <, >
  // or & can start one, so an ordinary word is turned away here, inline,
  // before every word of a command.
  bool TryParseRedirect(Command& cmd) {
    const char c = Peek();
    if (!IsDigit(c) && c != '<' && c != '>' && c != '&') return false;
    return ParseRedirect(cmd);
  }

  bool ParseRedirect(Command& cmd) {
    std::size_t start = p_;
    std::size_t i = p_;
    int fd = -1;
    while (i < s_.size() && IsDigit(s_[i]) && i - p_ < 4) ++i;
    if (i > p_) {
      if (i >= s_.size() || (s_[i] != '<' && s_[i] != '>')) return false;
      fd = 0;
      for (std::size_t k = p_; k < i; ++k) fd = fd * 10 + (s_[k] - '0');
    }
    if (i >= s_.size()) return false;
    char op = s_[i];
    if (op != '<' && op != '>' && !(op == '&' && fd < 0 && i + 1 < s_.size() && s_[i + 1] == '>')) {
      return false;  // the common case: an ordinary word
    }
    std::string_view rest = s_.substr(i);
    RedirectKind kind;
    std::size_t op_len;
    if (fd < 0 && rest.substr(0, 3) == "&>>") {
      kind = RedirectKind::kAppendBoth;
      op_len = 3;
    } else if (fd < 0 && rest.substr(0, 2) == "&>") {
      kind = RedirectKind::kWriteBoth;
      op_len = 2;
    } else if (rest.substr(0, 3) == "<<<") {
      kind = RedirectKind::kHereString;
      op_len = 3;
    } else if (rest.substr(0, 2) == "<<") {
      kind = RedirectKind::kHereDoc;
      op_len = rest.substr(0, 3) == "<<-" ? 3 : 2;
    } else if (rest.substr(0, 2) == "<>") {
      kind = RedirectKind::kReadWrite;
      op_len = 2;
    } else if (rest.substr(0, 2) == "<&") {
      kind = RedirectKind::kDup;
      op_len = 2;
    } else if (rest.substr(0, 2) == "<(") {
      return false;
    } else if (rest.substr(0, 1) == "<") {
      kind = RedirectKind::kRead;
      op_len = 1;
    } else if (rest.substr(0, 2) == ">>") {
      kind = RedirectKind::kAppend;
      op_len = 2;
    } else if (rest.substr(0, 2) == ">|") {
      kind = RedirectKind::kClobber;
      op_len = 2;
    } else if (rest.substr(0, 2) == ">&") {
      kind = RedirectKind::kDup;
      op_len = 2;
    } else if (rest.substr(0, 2) == ">(") {
      return false;
    } else if (rest.substr(0, 1) == ">") {
      kind = RedirectKind::kWrite;
      op_len = 1;
    } else {
      return false;
    }
    bool strip_tabs = kind == RedirectKind::kHereDoc && op_len == 3;
    p_ = i + op_len;
    SkipBlanks();
    if (AtEnd() || (IsMeta(Peek()) && !((Peek() == '<' || Peek() == '>') && Peek(1) == '('))) {
      Issue(kUnparseable, Rest(start));
      return true;
    }
    Redirect redirect;
    redirect.fd = fd;
    redirect.kind = kind;
    Word target;
    ReadWord(target);
    if (kind == RedirectKind::kDup) {
      // >&FILE (not a number or -) writes stdout and stderr to FILE.
      bool is_fd = !target.parts.empty();
      for (const WordPart& part : target.parts) {
        if (part.kind != PartKind::kLiteral) {
          is_fd = false;
          break;
        }
        for (char ch : part.text) {
          if (!IsDigit(ch) && ch != '-') is_fd = false;
        }
      }
      if (!is_fd) redirect.kind = s_[i] == '>' ? RedirectKind::kWriteBoth : RedirectKind::kRead;
    }
    if (kind == RedirectKind::kHereDoc) {
      std::string delimiter;
      for (const WordPart& part : target.parts) {
        if (part.quoted) redirect.quoted_heredoc = true;
        if (part.kind == PartKind::kLiteral) {
          delimiter += part.text;
        } else {
          // $X in a delimiter is literal text to bash.
          delimiter += part.kind == PartKind::kTilde ? "~" + part.text : "$" + part.text;
        }
      }
      if (target.raw.find_first_of("\"'\\") != std::string::npos) redirect.quoted_heredoc = true;
      redirect.heredoc = static_cast<int>(out_.heredocs.size());
      out_.heredocs.emplace_back();
      pending_.push_back({redirect.heredoc, std::move(delimiter), strip_tabs, redirect.quoted_heredoc});
      redirect.target = std::move(target);
      cmd.redirects.push_back(std::move(redirect));
      return true;
    }
    redirect.target = std::move(target);
    cmd.redirects.push_back(std::move(redirect));
    return true;
  }

  void ReadHereDocBodies() {
    for (PendingHereDoc& doc : pending_) {
      std::string body;
      bool terminated = false;
      while (!AtEnd()) {
        std::size_t eol = s_.find('\n', p_);
        std::size_t line_end = eol == std::string_view::npos ? s_.size() : eol;
        std::string_view line = s_.substr(p_, line_end - p_);
        p_ = eol == std::string_view::npos ? s_.size() : eol + 1;
        if (doc.strip_tabs) {
          while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
        }
        if (line == doc.delimiter) {
          terminated = true;
          break;
        }
        body.append(line);
        body += '\n';
      }
      if (!terminated) Issue(kUnparseable, "unterminated here-document " + doc.delimiter);
      Word word;
      if (doc.quoted) {
        AppendLiteral(word, body, true);
        word.raw = std::move(body);
      } else {
        word = ParseSubText(body, Mode::kHereDoc);
      }
      out_.heredocs[static_cast<std::size_t>(doc.index)] = std::move(word);
    }
    pending_.clear();
  }

  // ---- words -------------------------------------------------------------

  // Reads the word at the cursor into `word`, which must be empty: callers
  // build it in place, in the vector that keeps it, instead of moving it there.
  void ReadWord(Word& word, bool assignment_value = false) {
    std::size_t start = p_;
    bool at_start = true;
    while (!AtEnd()) {
      char c = Peek();
      if (!kWordSpecialTable[static_cast<unsigned char>(c)]) {
        // Plain text, as the default case below reads it: none of the
        // checks on the way there applies to it.
        at_start = false;
        ReadPlainText(word, assignment_value);
        continue;
      }
      if ((c == '<' || c == '>') && Peek(1) == '(' && at_start) {
        p_ += 2;
        ParseProcessSubstitution(word);
        at_start = false;
        continue;
      }
      if (IsMeta(c)) break;
      if (c == '~' && (at_start || (assignment_value && (s_[p_ - 1] == ':' || s_[p_ - 1] == '=')))) {
        if (TryTilde(word)) {
          at_start = false;
          continue;
        }
      }
      at_start = false;
      if ((c == '?' || c == '*' || c == '+' || c == '@' || c == '!') && Peek(1) == '(') {
        ScanExtglob(word);
        continue;
      }
      switch (c) {
        case '\'': {
          ++p_;
          std::size_t end = s_.find('\'', p_);
          if (end == std::string_view::npos) {
            Issue(kUnparseable, "unbalanced quote: " + std::string(Rest(p_ - 1)));
            end = s_.size();
          }
          AppendLiteral(word, s_.substr(p_, end - p_), true);
          p_ = std::min(end + 1, s_.size());
          if (word.parts.empty()) AppendLiteral(word, "", true);
          break;
        }
        case '"':
          ++p_;
          ParseDoubleQuoted(word);
          break;
        case '\\':
          if (Peek(1) == '\n') {
            p_ += 2;
          } else if (p_ + 1 < s_.size()) {
            AppendLiteral(word, s_.substr(p_ + 1, 1), true);
            p_ += 2;
          } else {
            AppendLiteral(word, "\\", true);
            ++p_;
          }
          break;
        case '$':
          ParseDollar(word, /*in_double_quotes=*/false);
          break;
        case '`':
          ParseBacktick(word, /*in_double_quotes=*/false);
          break;
        default:
          ReadPlainText(word, assignment_value);
      }
    }
    word.raw.append(s_.substr(start, p_ - start));  // raw is empty: append is assign
  }

  // Unquoted text from the cursor (its first byte is text, whatever it is)
  // up to a byte that ends the word or starts a quote, an expansion or an
  // extended glob.
  void ReadPlainText(Word& word, bool assignment_value) {
    std::size_t end = p_ + 1;
    while (end < s_.size()) {
      char d = s_[end];
      if (!kWordSpecialTable[static_cast<unsigned char>(d)]) {
        ++end;
        continue;
      }
      if (IsMeta(d) || d == '\'' || d == '"' || d == '\\' || d == '$' || d == '`') break;
      bool extglob = d == '?' || d == '*' || d == '+' || d == '@' || d == '!';
      if (extglob && end + 1 < s_.size() && s_[end + 1] == '(') break;
      if (assignment_value && d == '~' && s_[end - 1] == ':') break;  // PATH=a:~/bin
      ++end;
    }
    AppendLiteral(word, s_.substr(p_, end - p_), false);
    p_ = end;
  }

  bool TryTilde(Word& word) {
    std::size_t i = p_ + 1;
    while (i < s_.size() && !IsMeta(s_[i]) && s_[i] != '/' && s_[i] != ':') {
      char c = s_[i];
      if (!(IsNameChar(c) || c == '.' || c == '-' || c == '+')) return false;
      ++i;
    }
    WordPart part;
    part.kind = PartKind::kTilde;
    part.text = std::string(s_.substr(p_ + 1, i - p_ - 1));
    word.parts.push_back(std::move(part));
    p_ = i;
    return true;
  }

  // ?( *( +( @( !( extended globs: kept as unquoted literal text.
  void ScanExtglob(Word& word) {
    std::size_t start = p_;
    p_ += 2;
    int depth = 1;
    while (!AtEnd() && depth > 0) {
      char c = Peek();
      if (c == '\\') {
        p_ += 2;
        continue;
      }
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (c == '\n') break;
      ++p_;
    }
    p_ = std::min(p_, s_.size());
    if (depth > 0) Issue(kUnparseable, Rest(start));
    AppendLiteral(word, s_.substr(start, p_ - start), false);
  }

  void ParseDoubleQuoted(Word& word) {
    std::size_t start = p_ - 1;
    bool any = false;
    while (true) {
      if (AtEnd()) {
        Issue(kUnparseable, "unbalanced quote: " + std::string(Rest(start)));
        break;
      }
      if (Peek() == '"') {
        ++p_;
        break;
      }
      ParseQuotedChar(word, Mode::kDoubleQuoted);
      any = true;
    }
    if (!any) AppendLiteral(word, "", true);
  }

  // One unit of double-quoted / here-document text at the cursor.
  void ParseQuotedChar(Word& word, Mode mode) {
    char c = Peek();
    if (c == '\\') {
      char next = Peek(1);
      bool escapes = next == '$' || next == '`' || next == '\\' || next == '\n' ||
                     (mode == Mode::kDoubleQuoted && next == '"');
      if (escapes && p_ + 1 < s_.size()) {
        if (next != '\n') AppendLiteral(word, s_.substr(p_ + 1, 1), true);
        p_ += 2;
      } else {
        AppendLiteral(word, "\\", true);
        ++p_;
      }
      return;
    }
    if (c == '$') {
      ParseDollar(word, true);
      return;
    }
    if (c == '`') {
      ParseBacktick(word, true);
      return;
    }
    std::size_t end = p_ + 1;
    while (end < s_.size() && s_[end] != '\\' && s_[end] != '$' && s_[end] != '`' &&
           !(mode == Mode::kDoubleQuoted && s_[end] == '"')) {
      ++end;
    }
    if (mode != Mode::kDoubleQuoted || c != '"') {
      AppendLiteral(word, s_.substr(p_, end - p_), true);
    }
    p_ = end;
  }

  void ParseDollar(Word& word, bool in_double_quotes) {
    char next = Peek(1);
    if (next == '\'' && !in_double_quotes) {
      p_ += 2;
      ParseAnsiC(word);
      return;
    }
    if (next == '"' && !in_double_quotes) {
      p_ += 2;
      ParseDoubleQuoted(word);
      return;
    }
    if (next == '(') {
      if (Peek(2) == '(') {
        std::size_t save = p_;
        p_ += 3;
        std::string expr;
        if (ScanArithmetic(expr)) {
          WordPart part;
          part.kind = PartKind::kArith;
          part.quoted = in_double_quotes;
          part.text = expr;
          word.parts.push_back(std::move(part));
          // Substitutions inside the expression run too.
          Word inner = ParseSubText(expr, Mode::kDoubleQuoted);
          for (WordPart& p : inner.parts) {
            if (p.kind != PartKind::kLiteral) word.parts.push_back(std::move(p));
          }
          return;
        }
        p_ = save;
      }
      p_ += 2;
      ParseCommandSubstitution(word, PartKind::kCommandSub, in_double_quotes);
      return;
    }
    if (next == '{') {
      ParseBraceParameter(word, in_double_quotes);
      return;
    }
    if (IsNameStart(next)) {
      std::size_t start = p_ + 1;
      std::size_t end = start;
      while (end < s_.size() && IsNameChar(s_[end])) ++end;
      WordPart part;
      part.kind = PartKind::kParam;
      part.quoted = in_double_quotes;
      part.text = std::string(s_.substr(start, end - start));
      word.parts.push_back(std::move(part));
      p_ = end;
      return;
    }
    if (IsSpecialParam(next)) {
      WordPart part;
      part.kind = PartKind::kParam;
      part.quoted = in_double_quotes;
      part.text = std::string(1, next);
      word.parts.push_back(std::move(part));
      p_ += 2;
      return;
    }
    AppendLiteral(word, "$", in_double_quotes);
    ++p_;
  }

  void ParseAnsiC(Word& word) {
    std::string text;
    bool closed = false;
    std::size_t start = p_;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '\'') {
        ++p_;
        closed = true;
        break;
      }
      if (c != '\\' || p_ + 1 >= s_.size()) {
        text += c;
        ++p_;
        continue;
      }
      char e = s_[p_ + 1];
      p_ += 2;
      switch (e) {
        case 'a': text += '\a'; break;
        case 'b': text += '\b'; break;
        case 'e': case 'E': text += '\x1b'; break;
        case 'f': text += '\f'; break;
        case 'n': text += '\n'; break;
        case 'r': text += '\r'; break;
        case 't': text += '\t'; break;
        case 'v': text += '\v'; break;
        case 'c':
          if (!AtEnd()) {
            text += static_cast<char>(Peek() & 0x1F);
            ++p_;
          }
          break;
        case 'x': {
          int value = 0;
          int digits = 0;
          while (digits < 2 && !AtEnd() && HexValue(Peek()) >= 0) {
            value = value * 16 + HexValue(Peek());
            ++p_;
            ++digits;
          }
          if (digits == 0) {
            text += "\\x";
          } else {
            text += static_cast<char>(value);
          }
          break;
        }
        case 'u':
        case 'U': {
          int max_digits = e == 'u' ? 4 : 8;
          std::uint32_t value = 0;
          int digits = 0;
          while (digits < max_digits && !AtEnd() && HexValue(Peek()) >= 0) {
            value = value * 16 + static_cast<std::uint32_t>(HexValue(Peek()));
            ++p_;
            ++digits;
          }
          if (digits == 0) {
            text += '\\';
            text += e;
          } else {
            AppendCodePoint(text, value);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int value = e - '0';
            int digits = 1;
            while (digits < 3 && !AtEnd() && Peek() >= '0' && Peek() <= '7') {
              value = value * 8 + (Peek() - '0');
              ++p_;
              ++digits;
            }
            text += static_cast<char>(value & 0xFF);
          } else if (e == '\\' || e == '\'' || e == '"' || e == '?') {
            text += e;
          } else {
            text += '\\';
            text += e;
          }
      }
    }
    if (!closed) Issue(kUnparseable, "unbalanced quote: " + std::string(Rest(start)));
    AppendLiteral(word, text, true);
  }

  // After `$(`, `<(` or `>(`: the body up to the matching `)`.
  void ParseCommandSubstitution(Word& word, PartKind kind, bool in_double_quotes) {
    WordPart part;
    part.kind = kind;
    part.quoted = in_double_quotes;
    if (depth_ + 1 > max_depth_ || nesting_ >= kMaxCompoundNesting) {
      Issue(kTooDeep, Rest(p_));
      SkipBalancedParen();
      word.parts.push_back(std::move(part));
      return;
    }
    auto body = std::make_unique<SubstitutionBody>();
    body->depth = depth_ + 1;
    ++depth_;
    ++nesting_;
    ParseList(body->list);
    --nesting_;
    --depth_;
    if (Peek() == ')') {
      ++p_;
    } else {
      Issue(kUnparseable, "unterminated substitution");
    }
    part.body = static_cast<int>(out_.bodies.size());
    out_.bodies.push_back(std::move(body));
    word.parts.push_back(std::move(part));
  }

  void ParseProcessSubstitution(Word& word) {
    ParseCommandSubstitution(word, PartKind::kProcessSub, false);
  }

  // Skips to the `)` matching an already consumed `(` without recursion.
  void SkipBalancedParen() {
    int depth = 1;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '\\') {
        p_ += 2;
        continue;
      }
      if (c == '\'') {
        std::size_t end = s_.find('\'', p_ + 1);
        p_ = end == std::string_view::npos ? s_.size() : end + 1;
        continue;
      }
      if (c == '"') {
        ++p_;
        while (!AtEnd() && Peek() != '"') p_ += Peek() == '\\' ? 2 : 1;
        ++p_;
        continue;
      }
      ++p_;
      if (c == '(') ++depth;
      if (c == ')' && --depth == 0) return;
    }
    p_ = s_.size();
  }

  // After `((`: the text up to the matching `))`; false when the parens do
  // not close as `))` (then it was a subshell in a subshell, and the caller
  // rewinds). Quotes are plain text here, which keeps the scan linear.
  bool ScanArithmetic(std::string& expr) {
    std::size_t start = p_;
    int depth = 0;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (depth == 0) {
          if (Peek(1) != ')') return false;
          expr = std::string(s_.substr(start, p_ - start));
          p_ += 2;
          return true;
        }
        --depth;
      }
      ++p_;
    }
    return false;
  }

  void ParseBraceParameter(Word& word, bool in_double_quotes) {
    std::size_t start = p_;
    p_ += 2;
    std::size_t content_start = p_;
    int depth = 1;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '\\') {
        p_ += 2;
        continue;
      }
      if (c == '\'' && !in_double_quotes) {
        std::size_t end = s_.find('\'', p_ + 1);
        p_ = end == std::string_view::npos ? s_.size() : end + 1;
        continue;
      }
      if (c == '{') ++depth;
      if (c == '}' && --depth == 0) break;
      ++p_;
    }
    p_ = std::min(p_, s_.size());
    if (AtEnd()) {
      Issue(kUnparseable, "unterminated ${: " + std::string(Rest(start)));
    }
    std::string_view content = s_.substr(content_start, p_ - content_start);
    if (!AtEnd()) ++p_;
    WordPart part;
    part.quoted = in_double_quotes;
    std::size_t name_len = 0;
    while (name_len < content.size() && IsNameChar(content[name_len])) ++name_len;
    if (name_len == content.size() && name_len > 0 &&
        (IsNameStart(content[0]) || std::all_of(content.begin(), content.end(), IsDigit))) {
      part.kind = PartKind::kParam;
      part.text = std::string(content);
      word.parts.push_back(std::move(part));
      return;
    }
    if (content.size() == 1 && IsSpecialParam(content[0])) {
      part.kind = PartKind::kParam;
      part.text = std::string(content);
      word.parts.push_back(std::move(part));
      return;
    }
    part.kind = PartKind::kParamOp;
    part.text = std::string(content.substr(0, name_len));
    std::string_view op = content.substr(name_len);
    if (op.substr(0, 2) == ":=" || op.substr(0, 1) == "=") part.assigns = true;
    word.parts.push_back(std::move(part));
    // The operand words may hold substitutions, which run.
    Word inner = ParseSubText(content, Mode::kDoubleQuoted);
    for (WordPart& p : inner.parts) {
      if (p.kind == PartKind::kCommandSub || p.kind == PartKind::kProcessSub ||
          p.kind == PartKind::kParamOp) {
        word.parts.push_back(std::move(p));
      }
    }
  }

  void ParseBacktick(Word& word, bool in_double_quotes) {
    std::size_t start = p_;
    ++p_;
    std::string content;
    bool closed = false;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '`') {
        ++p_;
        closed = true;
        break;
      }
      if (c == '\\' && p_ + 1 < s_.size()) {
        char e = s_[p_ + 1];
        if (e == '$' || e == '`' || e == '\\' || (in_double_quotes && e == '"')) {
          content += e;
          p_ += 2;
          continue;
        }
      }
      content += c;
      ++p_;
    }
    if (!closed) Issue(kUnparseable, "unterminated backquote: " + std::string(Rest(start)));
    WordPart part;
    part.kind = PartKind::kCommandSub;
    part.quoted = in_double_quotes;
    if (depth_ + 1 > max_depth_ || nesting_ >= kMaxCompoundNesting) {
      Issue(kTooDeep, Rest(start));
      word.parts.push_back(std::move(part));
      return;
    }
    auto body = std::make_unique<SubstitutionBody>();
    body->depth = depth_ + 1;
    Parser inner(content, out_, depth_ + 1, max_depth_, nesting_ + 1);
    inner.ParseScript(body->list);
    part.body = static_cast<int>(out_.bodies.size());
    out_.bodies.push_back(std::move(body));
    word.parts.push_back(std::move(part));
  }

  // Parses `text` (a separate buffer) as double-quoted or here-document text.
  Word ParseSubText(std::string_view text, Mode mode) {
    if (nesting_ >= kMaxCompoundNesting) {
      Issue(kTooDeep, text.substr(0, kDetailBytes));
      Word word;
      AppendLiteral(word, text, true);
      word.raw = std::string(text);
      return word;
    }
    Parser inner(text, out_, depth_, max_depth_, nesting_ + 1);
    return inner.ParseQuotedText(mode);
  }

  std::string_view s_;
  std::size_t p_ = 0;
  mutable std::size_t keyword_at_ = std::string_view::npos;  // PeekKeyword's memo
  mutable std::string_view keyword_;
  Script& out_;
  int depth_;
  int max_depth_;
  int nesting_;
  std::vector<PendingHereDoc> pending_;
};

}  // namespace

Script Parse(std::string_view text, const ParseOptions& options) {
  Script script;
  if (text.size() > options.max_bytes) {
    script.issues.push_back({"input too large", std::string(text.substr(0, kDetailBytes))});
    return script;
  }
  if (options.depth > options.max_depth) {
    script.issues.push_back({std::string(kTooDeep), std::string(text.substr(0, kDetailBytes))});
    return script;
  }
  Parser parser(text, script, options.depth, options.max_depth, 0);
  parser.ParseScript(script.top);
  return script;
}

}  // namespace toolgate::shell
