// tg.shell: shell text as toolgate's own parser sees it (engine/effects/
// shell_parser.h), so a rule and the grant checker never disagree on what a
// command means.
//
//   tg.shell.split(text) -> { words of every simple command, in order } | nil, why
//   tg.shell.commands(text) -> { command, ... } | nil, why
//     command = { argv = {...}, redirects = { {op=">", fd=1, target="f",
//                 heredoc_bytes=n (for << and <<<)} }, pipeline = k (1-based id),
//                 pipe_in = bool, pipe_out = bool, background = bool,
//                 nested = bool (inside $( ), a subshell, if/for/while, a function) }
//     Words that are not literal keep their source text ("$HOME", "$(date)").
//   tg.shell.issues(text) -> { "unparseable shell: ...", ... } (what the parser could not read)
#include "effects/shell_parser.h"
#include "lua/sandbox.h"
#include "lua/tg_api.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxShellBytes = std::size_t{1} << 20;
constexpr lua_Integer kMaxCommands = 4096;

std::string WordText(const shell::Word& word) {
  std::string out;
  for (const shell::WordPart& part : word.parts) {
    if (part.kind != shell::PartKind::kLiteral) return word.raw;
    out += part.text;
  }
  return out;
}

const char* RedirectOp(shell::RedirectKind kind) {
  using K = shell::RedirectKind;
  switch (kind) {
    case K::kRead: return "<";
    case K::kWrite: return ">";
    case K::kAppend: return ">>";
    case K::kClobber: return ">|";
    case K::kReadWrite: return "<>";
    case K::kWriteBoth: return "&>";
    case K::kAppendBoth: return "&>>";
    case K::kDup: return ">&";
    case K::kHereDoc: return "<<";
    case K::kHereString: return "<<<";
  }
  return "?";
}

class Walker {
 public:
  Walker(lua_State* L, const shell::Script& script, int out, bool words_only)
      : L_(L), script_(script), out_(out), words_only_(words_only) {}

  void List(const shell::List& list, bool nested) {
    for (const shell::AndOr& andor : list.items) {
      for (const shell::Pipeline& pipeline : andor.pipelines) {
        const lua_Integer id = ++pipelines_;
        for (std::size_t i = 0; i < pipeline.commands.size(); ++i) {
          Command(pipeline.commands[i], id, i > 0, i + 1 < pipeline.commands.size(), andor.background, nested);
        }
      }
    }
  }

 private:
  void Substitutions(const shell::Word& word) {
    for (const shell::WordPart& part : word.parts) {
      if ((part.kind == shell::PartKind::kCommandSub || part.kind == shell::PartKind::kProcessSub) && part.body >= 0 &&
          static_cast<std::size_t>(part.body) < script_.bodies.size()) {
        List(script_.bodies[static_cast<std::size_t>(part.body)]->list, true);
      }
    }
  }

  void Command(const shell::Command& cmd, lua_Integer pipeline, bool pipe_in, bool pipe_out, bool background,
               bool nested) {
    if (count_ >= kMaxCommands) return;
    for (const shell::Assignment& a : cmd.assignments) Substitutions(a.value);
    for (const shell::Word& w : cmd.words) Substitutions(w);
    for (const shell::Redirect& r : cmd.redirects) Substitutions(r.target);
    if (cmd.kind != shell::CommandKind::kSimple) {
      for (const shell::List& body : cmd.bodies) List(body, true);
      if (cmd.kind != shell::CommandKind::kCase && cmd.kind != shell::CommandKind::kFor) return;
    }
    if (cmd.kind != shell::CommandKind::kSimple) return;
    if (words_only_) {
      for (const shell::Word& w : cmd.words) {
        Push(L_, WordText(w));
        lua_rawseti(L_, out_, ++count_);
      }
      return;
    }
    lua_createtable(L_, 0, 7);
    lua_createtable(L_, static_cast<int>(cmd.words.size()), 0);
    lua_Integer i = 0;
    for (const shell::Word& w : cmd.words) {
      Push(L_, WordText(w));
      lua_rawseti(L_, -2, ++i);
    }
    lua_setfield(L_, -2, "argv");
    lua_createtable(L_, static_cast<int>(cmd.redirects.size()), 0);
    i = 0;
    for (const shell::Redirect& r : cmd.redirects) {
      lua_createtable(L_, 0, 4);
      SetField(L_, "op", RedirectOp(r.kind));
      SetField(L_, "fd", static_cast<lua_Integer>(r.fd));
      if (r.kind == shell::RedirectKind::kHereDoc) {
        std::size_t bytes = 0;
        if (r.heredoc >= 0 && static_cast<std::size_t>(r.heredoc) < script_.heredocs.size()) {
          bytes = script_.heredocs[static_cast<std::size_t>(r.heredoc)].raw.size();
        }
        SetField(L_, "heredoc_bytes", static_cast<lua_Integer>(bytes));
        SetField(L_, "target", "");
      } else {
        const std::string target = WordText(r.target);
        SetField(L_, "target", target);
        if (r.kind == shell::RedirectKind::kHereString) {
          SetField(L_, "heredoc_bytes", static_cast<lua_Integer>(target.size()));
        }
      }
      lua_rawseti(L_, -2, ++i);
    }
    lua_setfield(L_, -2, "redirects");
    SetField(L_, "pipeline", pipeline);
    SetFieldBool(L_, "pipe_in", pipe_in);
    SetFieldBool(L_, "pipe_out", pipe_out);
    SetFieldBool(L_, "background", background);
    SetFieldBool(L_, "nested", nested);
    lua_rawseti(L_, out_, ++count_);
  }

  lua_State* L_;
  const shell::Script& script_;
  int out_;
  bool words_only_;
  lua_Integer count_ = 0;
  lua_Integer pipelines_ = 0;
};

shell::Script ParseArg(lua_State* L, const char* fn) {
  const std::string_view text = ArgString(L, 1, fn, "text");
  if (text.size() > kMaxShellBytes) throw HostError(std::string(fn) + ": text larger than 1 MiB");
  shell::ParseOptions options;
  options.max_bytes = kMaxShellBytes;
  return shell::Parse(text, options);
}

int Run(lua_State* L, const char* fn, bool words_only) {
  const shell::Script script = ParseArg(L, fn);
  lua_newtable(L);
  if (!lua_checkstack(L, 40)) throw HostError(std::string(fn) + ": Lua stack exhausted");
  Walker(L, script, lua_gettop(L), words_only).List(script.top, false);
  return 1;
}

int Split(lua_State* L) { return Run(L, "tg.shell.split", true); }
int Commands(lua_State* L) { return Run(L, "tg.shell.commands", false); }

int Issues(lua_State* L) {
  const shell::Script script = ParseArg(L, "tg.shell.issues");
  lua_createtable(L, static_cast<int>(script.issues.size()), 0);
  lua_Integer i = 0;
  for (const shell::ParseIssue& issue : script.issues) {
    Push(L, issue.what + ": " + issue.detail.substr(0, 120));
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

}  // namespace

void OpenTgShell(lua_State* L) {
  lua_createtable(L, 0, 3);
  SetFunction(L, "split", HostFunction<Split>);
  SetFunction(L, "commands", HostFunction<Commands>);
  SetFunction(L, "issues", HostFunction<Issues>);
}

}  // namespace toolgate::lua
