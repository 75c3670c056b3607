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

#include "effects/first_inline_vector.h"

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

// The parts of a word, in order. Nearly every word is one part (a plain
// word, one quoted string, one $VAR), kept inline: reading a word costs no
// allocation for its parts.
using WordParts = FirstInlineVector<WordPart>;

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

// The tree's sequences are nearly always one element (one command per
// pipeline, one pipeline per and-or list, one and-or list per line): each
// keeps its first inline, so parsing a command allocates none of them.
struct Pipeline {
  bool negated = false;
  FirstInlineVector<Command> commands;
};

struct AndOr {
  FirstInlineVector<Pipeline> pipelines;
  std::vector<bool> or_ops;  // or_ops[i] joins pipelines[i] and [i+1]: true ||, false &&
  bool background = false;   // ended by &
};

struct List {
  FirstInlineVector<AndOr> items;
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
