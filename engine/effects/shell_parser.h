// A shell (bash/POSIX sh) parser that turns a command string into a syntax
// tree, so the effects extractor can see every command a script would run.
//
// The parser never executes or expands anything: words keep their parts
// (literal text, parameter references, command substitutions, ...) and the
// effects layer expands them against what it knows. Input is hostile: every
// recursion is bounded, every scan is linear, and syntax it cannot parse is
// recorded as a ParseIssue (the caller turns it into an UnknownEffect) while
// whatever was understood is still returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace toolgate::shell {

enum class PartKind : std::uint8_t {
  kLiteral,      // text (after quote removal)
  kParam,        // $NAME, ${NAME}, $1, $@ ...: text is the name
  kParamOp,      // ${NAME...op...}: never statically known; text is NAME
  kCommandSub,   // $( ) or ` `: body indexes Script::bodies (-1 when not parsed)
  kArith,        // $(( )): text is the expression
  kProcessSub,   // <( ) or >( ): body indexes Script::bodies (-1 when not parsed)
  kTilde,        // unquoted leading ~ or ~user: text is the user ("" for ~)
};

struct WordPart {
  std::string text;
  int body = -1;
  PartKind kind = PartKind::kLiteral;
  bool quoted = false;   // from '...', "...", $'...' or a backslash: no glob, split or brace
  bool assigns = false;  // kParamOp with = or := (the expansion may assign NAME)
};

// The parts of a word, in order, used like a std::vector<WordPart>. Nearly
// every word is one part (a plain word, one quoted string, one $VAR), so one
// part is kept inline and reading a script costs no allocation per word;
// from the second part on, all of them live in a vector.
class WordParts {
 public:
  WordParts() = default;
  WordParts(const WordParts&) = default;
  WordParts& operator=(const WordParts&) = default;
  // A moved-from WordParts is empty, as a moved-from vector is.
  WordParts(WordParts&& other) noexcept
      : one_(std::move(other.one_)), many_(std::move(other.many_)), has_one_(std::exchange(other.has_one_, false)) {
    other.many_.clear();
  }
  WordParts& operator=(WordParts&& other) noexcept {
    if (this == &other) return *this;
    one_ = std::move(other.one_);
    many_ = std::move(other.many_);
    other.many_.clear();
    has_one_ = std::exchange(other.has_one_, false);
    return *this;
  }

  std::size_t size() const { return many_.empty() ? (has_one_ ? 1 : 0) : many_.size(); }
  bool empty() const { return size() == 0; }
  WordPart* begin() { return many_.empty() ? &one_ : many_.data(); }
  WordPart* end() { return begin() + size(); }
  const WordPart* begin() const { return many_.empty() ? &one_ : many_.data(); }
  const WordPart* end() const { return begin() + size(); }
  WordPart& operator[](std::size_t i) { return begin()[i]; }
  const WordPart& operator[](std::size_t i) const { return begin()[i]; }
  WordPart& back() { return begin()[size() - 1]; }
  const WordPart& back() const { return begin()[size() - 1]; }

  // A new default part at the end; like vector's, it invalidates references
  // to the parts before it.
  WordPart& emplace_back() {
    if (many_.empty() && !has_one_) {
      has_one_ = true;
      Reset(one_);
      return one_;
    }
    if (many_.empty()) {
      many_.reserve(4);  // words of several parts (--opt="$x"/y) usually have a few
      many_.push_back(std::move(one_));
      has_one_ = false;
    }
    return many_.emplace_back();
  }
  void push_back(WordPart part) { emplace_back() = std::move(part); }

 private:
  // One field at a time: cheaper than assigning a new WordPart, and one_
  // may be a moved-from part.
  static void Reset(WordPart& part) {
    part.text.clear();
    part.body = -1;
    part.kind = PartKind::kLiteral;
    part.quoted = false;
    part.assigns = false;
  }

  WordPart one_;                // the only part, when has_one_
  std::vector<WordPart> many_;  // every part, when there are two or more
  bool has_one_ = false;
};

struct Word {
  WordParts parts;
  std::string raw;  // the source text of the word
};

struct Assignment {
  std::string name;
  Word value;                  // for scalar assignments
  std::vector<Word> elements;  // for NAME=( ... ) array assignments
  bool is_array = false;
  bool append = false;         // NAME+=value
};

enum class RedirectKind : std::uint8_t {
  kRead,        // <
  kWrite,       // >
  kAppend,      // >>
  kClobber,     // >|
  kReadWrite,   // <>
  kWriteBoth,   // &> or >& FILE (stdout and stderr)
  kAppendBoth,  // &>>
  kDup,         // N>&M, N<&M, N>&- : file descriptors, not paths
  kHereDoc,     // << and <<-: target holds the body
  kHereString,  // <<<
};

struct Redirect {
  int fd = -1;           // explicit descriptor number, -1 when not written
  RedirectKind kind = RedirectKind::kWrite;
  Word target;           // the file, descriptor or here-string (the delimiter for <<)
  bool quoted_heredoc = false;  // <<'EOF': the body is literal data
  int heredoc = -1;             // kHereDoc: index into Script::heredocs
};

struct List;

enum class CommandKind : std::uint8_t {
  kSimple,    // assignments, words, redirects
  kSubshell,  // ( list )
  kGroup,     // { list; }
  kIf,        // bodies: cond1, then1, cond2, then2, ..., [else]
  kWhile,     // bodies: cond, body
  kUntil,     // bodies: cond, body
  kFor,       // name, words (the `in` list; arithmetic for: one word), bodies: body
  kCase,      // words[0] subject, then the patterns; bodies: one per item
  kFunction,  // name, bodies: body
  kArith,     // (( expr )): words[0] is the expression as a double-quoted word
  kCond,      // [[ ... ]]: the operand words
};

struct Command {
  CommandKind kind = CommandKind::kSimple;
  std::vector<Assignment> assignments;
  std::vector<Word> words;
  std::vector<Redirect> redirects;
  std::vector<List> bodies;
  std::vector<int> case_pattern_counts;  // kCase: how many of words[1..] each item has
  std::string name;
  bool has_else = false;  // kIf: the last body is the else branch
  bool arith_for = false; // kFor: for (( ; ; ))
};

struct Pipeline {
  bool negated = false;
  std::vector<Command> commands;
};

struct AndOr {
  std::vector<Pipeline> pipelines;
  std::vector<bool> or_ops;  // or_ops[i] joins pipelines[i] and [i+1]: true ||, false &&
  bool background = false;   // ended by &
};

struct List {
  std::vector<AndOr> items;
};

struct ParseIssue {
  std::string what;    // "unparseable shell", "shell nesting too deep", "input too large"
  std::string detail;  // the offending text
};

// A command or process substitution body, stored flat so deep nesting never
// means deep recursive destruction.
struct SubstitutionBody {
  List list;
  int depth = 0;  // shell depth of the commands inside (for max_shell_depth)
};

struct Script {
  List top;
  std::vector<std::unique_ptr<SubstitutionBody>> bodies;
  std::vector<Word> heredocs;  // here-document bodies, read after the line that opened them
  std::vector<ParseIssue> issues;
};

struct ParseOptions {
  int depth = 0;                          // shell depth of the text itself
  int max_depth = 8;                      // $( ) / ` ` nesting beyond this is an issue
  std::size_t max_bytes = std::size_t{1} << 20;
};

// Reserved limit on compound nesting ( ( ( ..., { {, if if ...) independent of
// max_depth; keeps recursion (and stack use) small for any input.
inline constexpr int kMaxCompoundNesting = 32;

// Parses `text` as a shell script. Never throws on any input.
Script Parse(std::string_view text, const ParseOptions& options);

}  // namespace toolgate::shell
