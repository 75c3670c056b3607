// Shell effects: walks a parsed script the way the shell would run it and
// reports every program run, path touched and host contacted.
//
// The interpreter is an abstract one: it never runs anything. It tracks what
// it can know statically (the working directory candidates, variables with
// static values, symlinks the script creates) and reports everything else as
// an UnknownEffect. Program-specific knowledge (which argument of cp is the
// destination, which curl option names an output file ...) lives in
// program_effects.cc and calls back into the interpreter.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "effects/effects_sink.h"
#include "effects/shell_parser.h"
#include "toolgate/effects.h"

namespace toolgate::effects {

// One argument after expansion.
struct Field {
  Field() = default;
  // Text and raw copied as the field is built in place (a constructor, not
  // aggregate initialization: clang 14, the sanitizer build, has no C++20
  // parenthesized aggregate initialization for emplace_back).
  Field(const std::string& text_in, const std::string& raw_in) : text(text_in), raw(raw_in) {}

  std::string text;          // the static value; for a dynamic field, its static prefix
  std::string raw;           // the word as written
  std::string glob_active;   // for a glob: per byte of text, nonzero where it may act as glob
                             // syntax (unquoted). Any other length: every metacharacter may.
  // The flags together after the strings: 104 bytes a field, not 112.
  bool dynamic = false;      // holds $VAR, $( ), `...`, $(( )) that cannot be resolved
  bool glob = false;         // unquoted * ? [ or an extended glob
  bool process_sub = false;  // <( ) / >( ): a pipe, not a file
  bool synthetic = false;    // not written in the command (xargs' stdin arguments)
};

// The candidate directories of a CwdSet, used like a std::vector<std::string>
// (read, clear, push_back). A shell state is copied for every and-or list,
// pipeline element, subshell and substitution, and its directories rarely
// change there: copies share one list, and the copy that changes makes its
// own first (copy on write), so a copy costs no allocation. The list is never
// changed while another copy shares it.
class CwdDirs {
 public:
  std::size_t size() const { return dirs_ ? dirs_->size() : 0; }
  bool empty() const { return size() == 0; }
  const std::string* begin() const { return dirs_ ? dirs_->data() : nullptr; }
  const std::string* end() const { return begin() + size(); }
  const std::string& operator[](std::size_t i) const { return (*dirs_)[i]; }

  void clear() { dirs_.reset(); }
  void push_back(std::string dir) { Own().push_back(std::move(dir)); }

 private:
  std::vector<std::string>& Own() {
    if (!dirs_) {
      dirs_ = std::make_shared<std::vector<std::string>>();
    } else if (dirs_.use_count() > 1) {
      dirs_ = std::make_shared<std::vector<std::string>>(*dirs_);
    }
    return *dirs_;
  }

  // Shared only between copies of one state, which one thread analyses.
  std::shared_ptr<std::vector<std::string>> dirs_;
};

// Where the shell may be: every candidate directory, plus `unknown` when it
// may also be somewhere the extractor cannot name.
struct CwdSet {
  CwdDirs dirs;
  bool unknown = false;
};

inline constexpr std::size_t kMaxCwdCandidates = 8;
inline constexpr std::size_t kMaxVariableBytes = 64 * 1024;
inline constexpr std::size_t kMaxBraceFields = 256;
inline constexpr std::size_t kMaxGlobMatches = 256;
inline constexpr std::size_t kMaxGlobEntries = 65536;  // directory entries read per glob

struct ShellState {
  CwdSet cwd;
  std::map<std::string, std::string, std::less<>> vars;  // statically known values only
  std::map<std::string, bool, std::less<>> functions;    // name -> body changes shell state
  std::vector<std::string> opaque_vars;  // declare -n/-i/-l/-u ...: values never static
  bool ifs_modified = false;
  int cd_count = 0;             // bumps on every cd: an and-or list's "cd may fail" case
  std::uint32_t mutations = 0;  // bumps on any variable or directory change
};

enum class StdinKind : std::uint8_t { kInherited, kPipe, kHereDoc, kFile };

struct CommandContext {
  std::string_view source = "command";  // ExecEffect::source for programs run here
  int depth = 0;                        // bash -c / eval / $( ) nesting
  StdinKind stdin_kind = StdinKind::kInherited;
  bool stdin_static = false;            // here-document / here-string text is known
  std::string stdin_text;               // ... and this is it
};

class ShellInterpreter {
 public:
  ShellInterpreter(const EffectsContext& context, EffectsSink& sink);

  // Parses `script` at ctx.depth and runs it in `state` (eval, source-like).
  void RunScript(std::string_view script, ShellState& state, const CommandContext& ctx);
  // A script in a new shell process (bash -c): inherits cwd and HOME only.
  void RunChildScript(std::string_view script, const ShellState& parent, const CommandContext& ctx);
  // `field` as a script for a new shell (or this one when same_shell): a
  // dynamic field is an UnknownEffect "dynamic shell script".
  void RunScriptField(const Field& field, ShellState& state, const CommandContext& ctx,
                      bool same_shell);

  // Runs an already expanded argv: one ExecEffect for argv[0] plus what the
  // program is known to do. A dynamic argv[0] is "dynamic program name".
  void RunArgv(const std::vector<Field>& argv, ShellState& state, const CommandContext& ctx);

  // Paths: resolves `field` against the state (cwd candidates, symlinks the
  // script created, the file system when configured) and records each result.
  void ReportPath(const Field& field, PathAccess access, std::string_view source,
                  const ShellState& state);
  // Every absolute form of `field` (one per cwd candidate and symlink alias);
  // records UnknownEffects for what cannot be resolved. An unquoted glob in
  // the last component also yields what it matches on the file system now
  // (see ExpandGlob); the pattern itself is always kept.
  std::vector<std::string> ResolvePath(const Field& field, const ShellState& state);
  // `ln [-s] target link`: later paths under `link` also mean `target`.
  void RecordLink(const Field& target, const Field& link, bool symbolic, const ShellState& state);
  // cd / pushd: `target` nullptr means $HOME.
  void ChangeDirectory(const Field* target, ShellState& state);

  // A URL or bare host argument (curl x, ping x). Dynamic: "dynamic host".
  void ReportHostArgument(const Field& field, std::string_view source, std::string_view bare_scheme);
  // Free text (python -c code, awk programs): URLs, absolute paths, emails.
  void ScanInlineText(const Field& field, std::string_view source, PathAccess access);

  void SetVariable(ShellState& state, std::string_view name, const std::string* value);
  // An environment assignment that changes what runs (PATH, LD_PRELOAD ...).
  void CheckEnvironmentAssignment(std::string_view name, std::string_view raw);

  EffectsSink& sink() { return sink_; }
  const EffectsContext& context() const { return context_; }

 private:
  void RunList(const shell::List& list, ShellState& state, const CommandContext& ctx);
  void RunAndOr(const shell::AndOr& item, ShellState& state, const CommandContext& ctx);
  void RunPipeline(const shell::Pipeline& pipeline, ShellState& state, const CommandContext& ctx);
  void RunCommand(const shell::Command& command, ShellState& state, const CommandContext& ctx);
  void RunSimple(const shell::Command& command, ShellState& state, const CommandContext& ctx);
  void RunLoop(const shell::List* cond, const shell::List& body, ShellState& state,
               const CommandContext& ctx);
  void RunFunctionDefinition(const shell::Command& command, ShellState& state,
                             const CommandContext& ctx);
  // Applies redirections; returns the stdin the command sees.
  CommandContext ApplyRedirects(const std::vector<shell::Redirect>& redirects, ShellState& state,
                                const CommandContext& ctx);
  void RunSubstitution(int body, ShellState& state, const CommandContext& ctx, std::string_view source);

  void ExpandWord(const shell::Word& word, ShellState& state, const CommandContext& ctx,
                  bool split, std::vector<Field>& out);
  std::vector<Field> ExpandWords(const std::vector<shell::Word>& words, ShellState& state,
                                 const CommandContext& ctx);
  Field ExpandSingle(const shell::Word& word, ShellState& state, const CommandContext& ctx);
  void ForgetArithmeticVariables(std::string_view expr, ShellState& state);
  // `path` (absolute, not normalized) rewritten through links_ component by
  // component; "" when it passes through none.
  std::string RewriteThroughLinks(const std::string& path, bool& unknown_target) const;
  // What the shell's pathname expansion of `field` would produce: the entries
  // of each directory the field's directory part names whose name matches its
  // last component (fnmatch with FNM_PERIOD, so * skips dotfiles as bash
  // does). At most kMaxGlobMatches, else an UnknownEffect "glob too large".
  void ExpandGlob(const Field& field, const ShellState& state, std::vector<std::string>& out);

  const EffectsContext& context_;
  EffectsSink& sink_;
  const shell::Script* script_ = nullptr;  // the script whose bodies/heredocs are in use
  std::vector<std::pair<std::string, std::string>> links_;  // link -> target ("" unknown)
};

// Extracts the effects of running `script` with working directory `cwd`
// ("" when unknown). `source` names the ExecEffect source of top-level commands.
void ExtractShellEffects(std::string_view script, std::string_view cwd, const EffectsContext& context,
                         EffectsSink& sink, std::string_view source = "command");

// The same for a command given as an argv array (no shell parses it).
void ExtractArgvEffects(const std::vector<std::string>& argv, std::string_view cwd,
                        const EffectsContext& context, EffectsSink& sink,
                        std::string_view source = "command");

// State union: cwd candidates merge, variables survive only where both agree.
ShellState UnionStates(const ShellState& a, const ShellState& b);

}  // namespace toolgate::effects
