#include "effects/program_effects.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "effects/path_normalizer.h"
#include "effects/sed_script.h"
#include "effects/url.h"

namespace toolgate::effects {
namespace {

using Argv = std::vector<Field>;
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

bool InList(std::string_view list, std::string_view name) {
  // `list` is comma separated: "output,user-agent".
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find(',', pos);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(pos, end - pos) == name) return true;
    pos = end + 1;
  }
  return false;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Field Subfield(const Field& field, std::size_t offset) {
  Field out;
  out.text = offset < field.text.size() ? field.text.substr(offset) : "";
  out.raw = field.raw;
  out.dynamic = field.dynamic;
  out.glob = field.glob;
  if (field.glob_active.size() == field.text.size()) {
    out.glob_active = offset < field.glob_active.size() ? field.glob_active.substr(offset) : "";
  }
  out.synthetic = field.synthetic;
  return out;
}

Field Literal(std::string text) {
  Field out;
  out.raw = text;
  out.text = std::move(text);
  return out;
}

bool LooksLikePath(std::string_view text) {
  return StartsWith(text, "/") || StartsWith(text, "./") || StartsWith(text, "../") ||
         StartsWith(text, "~") || text == "." || text == "..";
}

// ---- option parsing ----------------------------------------------------------

struct OptionSpec {
  std::string_view short_with_value = {};  // letters whose option takes a value
  std::string_view long_with_value = {};   // comma-separated long names that take a value
  bool posix = false;                 // options end at the first operand (wrappers)
  std::string_view known_short = {};  // for wrappers: other letters that are valid flags
  bool check_unknown = false;         // an unknown short option is an UnknownEffect
  std::string_view known_long = {};   // with check_unknown: long flags without a value
};

struct Option {
  std::string name;
  bool has_value = false;
  Field value;
};

struct Args {
  std::vector<Option> options;
  std::vector<Field> operands;
  std::size_t first_operand = kNone;  // argv index of the first operand
  bool unknown_option = false;

  const Option* Find(std::string_view names) const {
    for (const Option& option : options) {
      if (InList(names, option.name)) return &option;
    }
    return nullptr;
  }
  bool Has(std::string_view names) const { return Find(names) != nullptr; }
  std::vector<const Field*> Values(std::string_view names) const {
    std::vector<const Field*> out;
    for (const Option& option : options) {
      if (option.has_value && InList(names, option.name)) out.push_back(&option.value);
    }
    return out;
  }
};

Args ParseArgs(const Argv& argv, std::size_t start, const OptionSpec& spec) {
  Args out;
  bool options_done = false;
  for (std::size_t i = start; i < argv.size(); ++i) {
    const Field& field = argv[i];
    const std::string& text = field.text;
    bool is_option = !options_done && !field.synthetic && text.size() > 1 && text[0] == '-';
    if (!is_option) {
      if (out.first_operand == kNone) out.first_operand = i;
      if (spec.posix) {
        for (std::size_t j = i; j < argv.size(); ++j) out.operands.push_back(argv[j]);
        break;
      }
      out.operands.push_back(field);
      continue;
    }
    if (text == "--" && !field.dynamic) {
      options_done = true;
      if (spec.posix) {
        if (i + 1 < argv.size()) out.first_operand = i + 1;
        for (std::size_t j = i + 1; j < argv.size(); ++j) out.operands.push_back(argv[j]);
        break;
      }
      continue;
    }
    if (text[1] == '-') {
      std::string_view body = std::string_view(text).substr(2);
      std::size_t eq = body.find('=');
      Option option;
      option.name = std::string(body.substr(0, eq));
      if (eq != std::string_view::npos) {
        option.has_value = true;
        option.value = Subfield(field, 2 + eq + 1);
      } else if (InList(spec.long_with_value, option.name) && i + 1 < argv.size()) {
        option.has_value = true;
        option.value = argv[++i];
      }
      if (spec.check_unknown && !spec.known_long.empty() && !InList(spec.long_with_value, option.name) &&
          !InList(spec.known_long, option.name)) {
        out.unknown_option = true;
      }
      out.options.push_back(std::move(option));
      continue;
    }
    for (std::size_t k = 1; k < text.size(); ++k) {
      char c = text[k];
      Option option;
      option.name = std::string(1, c);
      if (spec.short_with_value.find(c) != std::string_view::npos) {
        option.has_value = true;
        if (k + 1 < text.size() || field.dynamic) {
          option.value = Subfield(field, k + 1);
        } else if (i + 1 < argv.size()) {
          option.value = argv[++i];
        } else {
          option.has_value = false;
        }
        out.options.push_back(std::move(option));
        break;
      }
      if (spec.check_unknown && spec.known_short.find(c) == std::string_view::npos) {
        out.unknown_option = true;
      }
      out.options.push_back(std::move(option));
    }
  }
  return out;
}

// ---- one call ----------------------------------------------------------------

struct Call {
  ShellInterpreter& interp;
  const Argv& argv;
  ShellState& state;
  const CommandContext& ctx;
  std::string_view name;

  std::string Source(std::string_view what) const {
    std::string source(name);
    if (!what.empty()) source.append(" ").append(what);
    return source;
  }
  void Read(const Field& field, std::string_view what = "") const {
    interp.ReportPath(field, PathAccess::kRead, Source(what), state);
  }
  void Write(const Field& field, std::string_view what = "") const {
    interp.ReportPath(field, PathAccess::kWrite, Source(what), state);
  }
  void Host(const Field& field, std::string_view scheme) const {
    interp.ReportHostArgument(field, name, scheme);
  }
  void Unknown(std::string_view what, std::string_view detail) const {
    interp.sink().AddUnknown(what, detail);
  }
  // Runs `inner` as the command this wrapper starts.
  void RunInner(const Argv& inner, std::string_view source, ShellState& s) const {
    if (inner.empty()) return;
    CommandContext wrapped = ctx;
    wrapped.source = source;
    interp.RunArgv(inner, s, wrapped);
  }
  void RunInnerFrom(std::size_t index) const {
    if (index == kNone || index >= argv.size()) return;
    Argv inner(argv.begin() + static_cast<std::ptrdiff_t>(index), argv.end());
    RunInner(inner, name, state);
  }
  void RunScript(const Field& script, std::string_view source, bool same_shell) const {
    CommandContext inner = ctx;
    inner.source = source;
    interp.RunScriptField(script, state, inner, same_shell);
  }
  void ScanCode(const Field& code, PathAccess access = PathAccess::kRead) const {
    interp.ScanInlineText(code, Source("inline code"), access);
  }
};

// A generic look at arguments of a program we do not model: URLs are hosts,
// path-looking arguments are reads, addresses are emails.
void ScanArguments(const Call& c, std::size_t start) {
  for (std::size_t i = start; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    if (field.synthetic || field.process_sub) continue;
    std::string_view text = field.text;
    if (field.dynamic) {
      if (!text.empty() && LooksLikePath(text)) c.Unknown("dynamic path", field.raw);
      continue;
    }
    std::size_t eq = text.find('=');
    if (StartsWith(text, "-") && eq != std::string_view::npos) text = text.substr(eq + 1);
    if (text.find("://") != std::string_view::npos) {
      if (auto url = ParseUrl(text)) {
        c.interp.sink().AddUrl(*url, text, "argument");
        continue;
      }
    }
    if (LooksLikePath(text)) {
      Field path = field;
      path.text = std::string(text);
      c.interp.ReportPath(path, PathAccess::kRead, "argument", c.state);
      continue;
    }
    if (text.find('@') != std::string_view::npos && LooksLikeEmail(text)) c.interp.sink().AddEmail(text);
  }
}

// ---- shells and builtins -----------------------------------------------------

bool IsStdinPath(const Field& field) {
  return !field.dynamic && (field.text == "/dev/stdin" || field.text == "/dev/fd/0" ||
                            field.text == "/proc/self/fd/0" || field.text == "-");
}

// Code read from stdin: a static here-document is analysed, anything else
// is unknown code.
void RunStdinScript(Call& c, std::string_view what) {
  if (c.ctx.stdin_kind == StdinKind::kHereDoc && c.ctx.stdin_static) {
    CommandContext inner = c.ctx;
    inner.source = "shell stdin";
    inner.depth = c.ctx.depth + 1;
    inner.stdin_kind = StdinKind::kInherited;
    c.interp.RunChildScript(c.ctx.stdin_text, c.state, inner);
    return;
  }
  c.Unknown(what, c.name);
}

void Shell(Call& c) {
  bool has_command = false;
  bool read_stdin = false;
  std::size_t i = 1;
  for (; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (field.dynamic) break;
    if (t == "--" || t == "-") {
      ++i;
      break;
    }
    if (t.size() < 2 || (t[0] != '-' && t[0] != '+')) break;
    if (StartsWith(t, "--")) {
      if ((t == "--rcfile" || t == "--init-file") && i + 1 < c.argv.size()) c.Read(c.argv[++i], "rcfile");
      continue;
    }
    for (std::size_t k = 1; k < t.size(); ++k) {
      if (t[k] == 'c') has_command = true;
      if (t[k] == 's') read_stdin = true;
      if ((t[k] == 'o' || t[k] == 'O') && k + 1 == t.size() && i + 1 < c.argv.size()) ++i;
    }
  }
  std::string source = c.Source("-c");
  if (has_command) {
    if (i < c.argv.size()) c.RunScript(c.argv[i], source, /*same_shell=*/false);
    return;
  }
  if (i < c.argv.size() && !read_stdin && !IsStdinPath(c.argv[i])) {
    if (c.argv[i].process_sub) {
      c.Unknown("shell reads commands from stdin", c.argv[i].raw);
      return;
    }
    c.Read(c.argv[i], "script");
    ScanArguments(c, i + 1);
    return;
  }
  RunStdinScript(c, "shell reads commands from stdin");
}

// at / batch: commands from stdin (or -f FILE) run later.
void At(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"qftM", "", false, "", false});
  if (args.Has("l,r,d,c")) return;  // list, remove, show
  std::vector<const Field*> files = args.Values("f");
  if (!files.empty()) {
    for (const Field* file : files) c.Read(*file, "-f");
    c.Unknown("scheduled command from file", files[0]->raw);
    return;
  }
  RunStdinScript(c, "shell reads commands from stdin");
}

void Parallel(Call& c) { c.Unknown("dynamic command", c.argv[0].raw); }

// Joins argv[1..] with spaces (the text or the raw form of each field) into
// one string, sized once: eval's script is as long as its arguments. The
// string starts as all spaces and each argument is copied to its place, one
// memcpy each instead of two appends (with their capacity checks).
std::string JoinArguments(const Argv& argv, std::string Field::*member) {
  if (argv.size() < 2) return {};
  std::size_t size = argv.size() - 2;  // the spaces between
  for (std::size_t i = 1; i < argv.size(); ++i) size += (argv[i].*member).size();
  std::string out(size, ' ');
  std::size_t at = 0;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& piece = argv[i].*member;
    if (!piece.empty()) std::memcpy(out.data() + at, piece.data(), piece.size());
    at += piece.size() + 1;
  }
  return out;
}

void Eval(Call& c) {
  bool dynamic = false;
  for (std::size_t i = 1; i < c.argv.size(); ++i) dynamic = dynamic || c.argv[i].dynamic || c.argv[i].synthetic;
  Field field;
  field.text = JoinArguments(c.argv, &Field::text);
  // RunScriptField reads the raw form only to report a dynamic script (a
  // static one is parsed from its text), so only then is it built.
  if (dynamic) field.raw = JoinArguments(c.argv, &Field::raw);
  field.dynamic = dynamic;
  c.RunScript(field, "eval", /*same_shell=*/true);
  if (dynamic) {
    // Unknown code ran in this shell: it may have changed anything.
    c.state.vars.clear();
    c.state.cwd.unknown = true;
    ++c.state.cd_count;
    ++c.state.mutations;
  }
}

void Source(Call& c) {
  if (c.argv.size() > 1) {
    const Field& file = c.argv[1];
    if (file.process_sub) {
      c.Unknown("shell reads commands from stdin", file.raw);
    } else if (IsStdinPath(file)) {
      RunStdinScript(c, "shell reads commands from stdin");
    } else {
      c.Read(file);
    }
  }
  // Sourced code can change anything in this shell.
  c.state.vars.clear();
  c.state.cwd.unknown = true;
  ++c.state.cd_count;
  ++c.state.mutations;
}

void ChangeDir(Call& c) {
  if (c.name == "popd") {
    c.interp.ChangeDirectory(nullptr, c.state);
    c.state.cwd.dirs.clear();
    c.state.cwd.unknown = true;
    return;
  }
  Args args = ParseArgs(c.argv, 1, {});
  if (args.operands.empty()) {
    c.interp.ChangeDirectory(nullptr, c.state);
    return;
  }
  const Field& target = args.operands[0];
  if (c.name == "pushd" && !target.dynamic && (StartsWith(target.text, "+") || StartsWith(target.text, "-"))) {
    c.state.cwd.dirs.clear();
    c.state.cwd.unknown = true;
    ++c.state.cd_count;
    return;
  }
  c.interp.ChangeDirectory(&target, c.state);
}

void Declare(Call& c) {
  bool opaque = false;
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (!field.dynamic && (StartsWith(t, "-") || StartsWith(t, "+")) && t.find('=') == std::string::npos) {
      // Attributes that transform values (nameref, integer, case) make them opaque.
      if (t.find_first_of("niluc") != std::string::npos) opaque = true;
      continue;
    }
    std::size_t eq = t.find('=');
    std::string name = t.substr(0, eq);
    if (field.dynamic && eq == std::string::npos) {
      // declare "$X": any variable.
      c.state.vars.clear();
      ++c.state.mutations;
      continue;
    }
    if (opaque) c.state.opaque_vars.push_back(name);
    if (eq == std::string::npos) {
      if (c.name == "local" || c.name == "declare" || c.name == "typeset") {
        c.interp.SetVariable(c.state, name, nullptr);
      }
      continue;
    }
    c.interp.CheckEnvironmentAssignment(name, field.raw);
    std::string value = t.substr(eq + 1);
    c.interp.SetVariable(c.state, name, field.dynamic ? nullptr : &value);
  }
}

void Unset(Call& c) {
  bool functions = false;
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    if (field.text == "-f") {
      functions = true;
      continue;
    }
    if (StartsWith(field.text, "-")) continue;
    if (field.dynamic) {
      c.state.vars.clear();
      continue;
    }
    if (functions) {
      c.state.functions.erase(field.text);
    } else {
      c.interp.SetVariable(c.state, field.text, nullptr);
    }
  }
}

// read, mapfile, getopts, printf -v, let: builtins that assign variables.
void AssigningBuiltin(Call& c) {
  if (c.name == "let") {
    c.state.vars.clear();
    ++c.state.mutations;
    return;
  }
  if (c.name == "printf") {
    Args args = ParseArgs(c.argv, 1, {"v", "", true, "", false});
    for (const Field* name : args.Values("v")) {
      if (name->dynamic) {
        c.state.vars.clear();
      } else {
        c.interp.SetVariable(c.state, name->text, nullptr);
      }
    }
    return;
  }
  std::string_view with_value = c.name == "read" ? "adinNptu" : "dnOsuCc";
  Args args = ParseArgs(c.argv, 1, {with_value, "", false, "", false});
  std::vector<std::string> names;
  for (const Field* name : args.Values("a")) names.push_back(name->text);
  if (c.name == "getopts") {
    if (args.operands.size() >= 2) names.push_back(args.operands[1].text);
  } else {
    for (const Field& operand : args.operands) names.push_back(operand.text);
  }
  if (names.empty()) names.push_back(c.name == "read" ? "REPLY" : "MAPFILE");
  for (const std::string& name : names) c.interp.SetVariable(c.state, name, nullptr);
  for (const Field& operand : args.operands) {
    if (operand.dynamic) c.state.vars.clear();
  }
}

void Alias(Call& c) {
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    std::size_t eq = field.text.find('=');
    if (eq == std::string::npos) continue;
    c.RunScript(Subfield(field, eq + 1), "alias", /*same_shell=*/false);
  }
}

void Trap(Call& c) {
  if (c.argv.size() < 3 || StartsWith(c.argv[1].text, "-")) return;
  c.RunScript(c.argv[1], "trap", /*same_shell=*/false);
}

// ---- wrappers: programs that run another program -------------------------------

void Exec(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"a", "", true, "cl", true});
  c.RunInnerFrom(args.first_operand);
}

void CommandBuiltin(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"", "", true, "pvV", true});
  if (args.Has("v,V")) return;  // a lookup, runs nothing
  c.RunInnerFrom(args.first_operand);
}

void SimpleWrapper(Call& c) {
  // nohup, builtin, setsid, busybox: the rest is the command.
  Args args = ParseArgs(c.argv, 1, {"", "", true, "cfw", c.name == "setsid"});
  if (args.unknown_option) c.Unknown("unknown wrapper option", c.argv.size() > 1 ? c.argv[1].raw : "");
  if (c.name == "nohup") c.Write(Literal("nohup.out"));
  c.RunInnerFrom(args.first_operand);
}

void Time(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"fo", "format,output", true, "apvq", true});
  for (const Field* out : args.Values("o,output")) c.Write(*out);
  c.RunInnerFrom(args.first_operand);
}

void Nice(Call& c) {
  std::size_t i = 1;
  while (i < c.argv.size()) {
    const std::string& t = c.argv[i].text;
    if (c.argv[i].dynamic) break;
    if (t == "-n" || t == "--adjustment") {
      i += 2;
    } else if (StartsWith(t, "-n") || StartsWith(t, "--adjustment=") ||
               (t.size() > 1 && t[0] == '-' && (std::isdigit(static_cast<unsigned char>(t[1])) || t[1] == '-'))) {
      if (t == "--") {
        ++i;
        break;
      }
      ++i;
    } else {
      break;
    }
  }
  c.RunInnerFrom(i);
}

void Timeout(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"sk", "signal,kill-after", true, "v", true});
  if (args.unknown_option) c.Unknown("unknown wrapper option", c.argv[1].raw);
  if (args.first_operand == kNone) return;
  c.RunInnerFrom(args.first_operand + 1);  // skip the duration
}

void Stdbuf(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"ioe", "input,output,error", true, "", true});
  if (args.unknown_option) c.Unknown("unknown wrapper option", c.argv[1].raw);
  c.RunInnerFrom(args.first_operand);
}

void Ionice(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"cnpPu", "class,classdata,pid,pgid,uid", true, "t", true});
  if (args.unknown_option) c.Unknown("unknown wrapper option", c.argv[1].raw);
  if (args.Has("p,P,u,pid,pgid,uid")) return;
  c.RunInnerFrom(args.first_operand);
}

void PriorityWrapper(Call& c) {
  // chrt [opts] PRIO cmd; taskset [opts] MASK cmd.
  Args args = ParseArgs(c.argv, 1, {"TPD", "sched-runtime,sched-period,sched-deadline", true,
                                    "abdefimoRrvpcal", false});
  if (args.Has("p,pid") || args.first_operand == kNone) return;
  c.RunInnerFrom(args.first_operand + 1);
}

void Sudo(Call& c) {
  bool doas = c.name == "doas";
  OptionSpec spec = doas ? OptionSpec{"uCa", "", true, "nsL", true}
                         : OptionSpec{"CDghpRTtUucr", "user,group,host,prompt,chroot,chdir,close-from,role,type,"
                                      "command-timeout,other-user,login-class",
                                      true, "AbEeHiKklnPSsVvB", true,
                                      "askpass,background,bell,preserve-env,edit,help,set-home,login,"
                                      "remove-timestamp,reset-timestamp,list,non-interactive,preserve-groups,"
                                      "stdin,shell,version,validate"};
  Args args = ParseArgs(c.argv, 1, spec);
  if (args.unknown_option) c.Unknown("unknown wrapper option", c.argv[1].raw);
  if (args.Has("l,v,k,K,V,list,validate,version,help,h") && args.first_operand == kNone) return;
  if (!doas && args.Has("e,edit")) {
    for (const Field& file : args.operands) c.Write(file, "edit");
    return;
  }
  std::size_t first = args.first_operand;
  // Leading NAME=value operands are environment for the command.
  while (first != kNone && first < c.argv.size()) {
    const Field& field = c.argv[first];
    std::size_t eq = field.text.find('=');
    if (field.dynamic || eq == std::string::npos || eq == 0 ||
        field.text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") < eq) {
      break;
    }
    c.interp.CheckEnvironmentAssignment(field.text.substr(0, eq), field.raw);
    ++first;
  }
  ShellState inner_state = c.state;
  for (const Field* dir : args.Values("D,chdir,R,chroot")) {
    if (dir == nullptr) continue;
    c.interp.ChangeDirectory(dir, inner_state);
  }
  if (args.Has("R,chroot")) c.Unknown("chroot", c.argv[0].raw);
  bool shell = args.Has("s,i,shell,login");
  if (first == kNone || first >= c.argv.size()) {
    if (shell) c.Unknown("shell reads commands from stdin", c.name);
    return;
  }
  if (shell) {
    // sudo -s cmd args: the shell runs "cmd args" with -c.
    std::string script;
    bool dynamic = false;
    for (std::size_t i = first; i < c.argv.size(); ++i) {
      if (i > first) script += ' ';
      script += c.argv[i].text;
      dynamic = dynamic || c.argv[i].dynamic;
    }
    Field field = Literal(std::move(script));
    field.dynamic = dynamic;
    c.RunScript(field, c.name, false);
    return;
  }
  Argv inner(c.argv.begin() + static_cast<std::ptrdiff_t>(first), c.argv.end());
  c.RunInner(inner, c.name, inner_state);
}

void Env(Call& c) {
  ShellState inner_state = c.state;
  std::size_t i = 1;
  for (; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (field.dynamic) break;
    if (t == "--") {
      ++i;
      break;
    }
    if (t == "-i" || t == "-" || t == "--ignore-environment" || t == "-0" || t == "--null" ||
        t == "-v" || t == "--debug") {
      continue;
    }
    if (t == "-u" || t == "--unset") {
      ++i;
      continue;
    }
    if ((StartsWith(t, "-u") && t.size() > 2) || StartsWith(t, "--unset=")) continue;
    if (t == "-C" || t == "--chdir" || StartsWith(t, "--chdir=") || (StartsWith(t, "-C") && t.size() > 2)) {
      Field dir;
      if (t == "-C" || t == "--chdir") {
        if (i + 1 >= c.argv.size()) break;
        dir = c.argv[++i];
      } else {
        dir = Subfield(field, t[1] == 'C' ? 2 : 8);
      }
      c.interp.ChangeDirectory(&dir, inner_state);
      continue;
    }
    if (t == "-S" || t == "--split-string" || StartsWith(t, "--split-string=") || (StartsWith(t, "-S") && t.size() > 2)) {
      Field script;
      if (t == "-S" || t == "--split-string") {
        if (i + 1 >= c.argv.size()) break;
        script = c.argv[++i];
      } else {
        script = Subfield(field, t[1] == 'S' ? 2 : 15);
      }
      for (std::size_t j = i + 1; j < c.argv.size(); ++j) {
        script.text += " " + c.argv[j].text;
        script.dynamic = script.dynamic || c.argv[j].dynamic;
      }
      CommandContext inner = c.ctx;
      inner.source = "env";
      inner.depth = c.ctx.depth + 1;
      if (script.dynamic) {
        c.Unknown("dynamic shell script", script.raw);
      } else {
        c.interp.RunScript(script.text, inner_state, inner);
      }
      return;
    }
    if (t == "-P" || StartsWith(t, "-P")) {
      c.Unknown("PATH modified", field.raw);
      if (t == "-P") ++i;
      continue;
    }
    if (StartsWith(t, "-")) {
      c.Unknown("unknown wrapper option", field.raw);
      continue;
    }
    std::size_t eq = t.find('=');
    if (eq != std::string::npos && eq > 0) {
      c.interp.CheckEnvironmentAssignment(t.substr(0, eq), field.raw);
      continue;
    }
    break;
  }
  if (i >= c.argv.size()) return;
  Argv inner(c.argv.begin() + static_cast<std::ptrdiff_t>(i), c.argv.end());
  c.RunInner(inner, "env", inner_state);
}

void Xargs(Call& c) {
  Args args = ParseArgs(c.argv, 1,
                        {"adEILnPs",
                         "arg-file,delimiter,eof,replace,max-lines,max-args,max-procs,max-chars,process-slot-var",
                         true, "0oprtxeil", true});
  if (args.unknown_option) c.Unknown("unknown wrapper option", c.argv[1].raw);
  for (const Field* file : args.Values("a,arg-file")) c.Read(*file);
  std::string replace;
  if (const Option* opt = args.Find("I,replace")) replace = opt->has_value ? opt->value.text : "{}";
  for (const Option& opt : args.options) {
    if (opt.name == "i") replace = "{}";
  }
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    // -i[REPL] / -iREPL: the optional attached form.
    const std::string& t = c.argv[i].text;
    if (args.first_operand != kNone && i >= args.first_operand) break;
    if (StartsWith(t, "-i") && t.size() > 2) replace = t.substr(2);
  }
  Argv inner;
  if (args.first_operand == kNone) {
    inner.push_back(Literal("echo"));
  } else {
    inner.assign(c.argv.begin() + static_cast<std::ptrdiff_t>(args.first_operand), c.argv.end());
  }
  if (!replace.empty()) {
    for (std::size_t i = 0; i < inner.size(); ++i) {
      if (inner[i].text.find(replace) != std::string::npos) {
        inner[i].dynamic = true;
        inner[i].text = inner[i].text.substr(0, inner[i].text.find(replace));
      }
    }
  } else {
    Field from_stdin;
    from_stdin.raw = "<xargs stdin>";
    from_stdin.dynamic = true;
    from_stdin.synthetic = true;
    inner.push_back(std::move(from_stdin));
  }
  c.RunInner(inner, "xargs", c.state);
}

void Chroot(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"", "userspec,groups", true, "", false});
  if (args.first_operand == kNone) return;
  c.Read(c.argv[args.first_operand], "root");
  c.Unknown("chroot", c.argv[args.first_operand].raw);
  ShellState inner_state = c.state;
  inner_state.cwd.dirs.clear();
  inner_state.cwd.unknown = true;
  if (args.first_operand + 1 >= c.argv.size()) return;
  Argv inner(c.argv.begin() + static_cast<std::ptrdiff_t>(args.first_operand + 1), c.argv.end());
  c.RunInner(inner, "chroot", inner_state);
}

void Flock(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"Ewc", "conflict-exit-code,timeout,wait,command", true, "sxunoFhV", false});
  if (args.first_operand == kNone) return;
  const Field& lock = c.argv[args.first_operand];
  bool is_fd = !lock.dynamic && !lock.text.empty() &&
               lock.text.find_first_not_of("0123456789") == std::string::npos;
  if (!is_fd) c.Write(lock, "lock");
  // flock FILE -c CMD puts -c after the file.
  for (std::size_t i = args.first_operand + 1; i + 1 < c.argv.size(); ++i) {
    if (c.argv[i].text == "-c" || c.argv[i].text == "--command") {
      c.RunScript(c.argv[i + 1], "flock", false);
      return;
    }
  }
  for (const Field* cmd : args.Values("c,command")) {
    c.RunScript(*cmd, "flock", false);
    return;
  }
  c.RunInnerFrom(args.first_operand + 1);
}

void Watch(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"nq", "interval,differences,equexit", true, "dgtbecxpwr", false});
  if (args.first_operand == kNone) return;
  if (args.Has("x,exec")) {
    c.RunInnerFrom(args.first_operand);
    return;
  }
  std::string script;
  bool dynamic = false;
  for (std::size_t i = args.first_operand; i < c.argv.size(); ++i) {
    if (i > args.first_operand) script += ' ';
    script += c.argv[i].text;
    dynamic = dynamic || c.argv[i].dynamic;
  }
  Field field = Literal(std::move(script));
  field.dynamic = dynamic;
  c.RunScript(field, "watch", false);
}

void ScriptCommand(Call& c) {
  // script [-c CMD] [file]: without -c it starts an interactive shell.
  Args args = ParseArgs(c.argv, 1, {"cIOTEBm", "command,log-in,log-out,log-timing,echo,logging-format", false, "", false});
  for (const Field& file : args.operands) c.Write(file, "typescript");
  std::vector<const Field*> commands = args.Values("c,command");
  if (commands.empty()) {
    c.Unknown("shell reads commands from stdin", c.name);
    return;
  }
  for (const Field* command : commands) c.RunScript(*command, "script", false);
}

void SystemdRun(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"pMEuHs", "property,machine,setenv,unit,host,slice,description,uid,gid,nice,"
                                              "working-directory,on-active,on-calendar,on-boot,on-startup,"
                                              "on-unit-active,on-unit-inactive,timer-property,path-property,"
                                              "socket-property,service-type,shell",
                                    true, "", false});
  for (const Field* env : args.Values("E,setenv")) {
    std::size_t eq = env->text.find('=');
    c.interp.CheckEnvironmentAssignment(env->text.substr(0, eq), env->raw);
  }
  ShellState inner_state = c.state;
  for (const Field* dir : args.Values("working-directory")) c.interp.ChangeDirectory(dir, inner_state);
  if (args.first_operand == kNone) {
    if (args.Has("S,shell")) c.Unknown("shell reads commands from stdin", c.name);
    return;
  }
  Argv inner(c.argv.begin() + static_cast<std::ptrdiff_t>(args.first_operand), c.argv.end());
  c.RunInner(inner, "systemd-run", inner_state);
}

void Su(Call& c) {
  Args args = ParseArgs(c.argv, 1,
                        {"cgGsw", "command,group,supp-group,shell,whitelist-environment,session-command",
                         false, "", false});
  std::vector<const Field*> commands = args.Values("c,command,session-command");
  if (commands.empty()) {
    c.Unknown("shell reads commands from stdin", c.name);
    return;
  }
  for (const Field* command : commands) c.RunScript(*command, c.name, false);
}

void Tracer(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"abeEIoOpPsSuX", "output,trace-path,signal,status", true,
                                    "cCdDfFhiknqrtTvVwxyYzZ", false});
  for (const Field* out : args.Values("o,output")) c.Write(*out, "output");
  if (args.Has("p") && args.first_operand == kNone) return;
  c.RunInnerFrom(args.first_operand);
}

void Namespaces(Call& c) {
  // unshare / nsenter: flags may carry an attached =file; values for a few.
  Args args = ParseArgs(c.argv, 1, {"SGRwt", "setuid,setgid,root,wd,target,map-user,map-group,propagation,setgroups",
                                    true, "", false});
  c.Unknown("namespace change", c.argv[0].raw);
  if (args.first_operand == kNone) return;
  c.RunInnerFrom(args.first_operand);
}

// ---- find ----------------------------------------------------------------------

void Find(Call& c) {
  std::size_t i = 1;
  while (i < c.argv.size()) {
    const std::string& t = c.argv[i].text;
    if (t == "-H" || t == "-L" || t == "-P" || StartsWith(t, "-O")) {
      ++i;
    } else if (t == "-D" && i + 1 < c.argv.size()) {
      i += 2;
    } else {
      break;
    }
  }
  std::vector<Field> starts;
  for (; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    if (!field.dynamic && (StartsWith(field.text, "-") || field.text == "(" || field.text == "!" ||
                           field.text == ",")) {
      break;
    }
    starts.push_back(field);
  }
  if (starts.empty()) starts.push_back(Literal("."));
  for (const Field& start : starts) c.Read(start);
  for (; i < c.argv.size(); ++i) {
    const std::string& t = c.argv[i].text;
    if (t == "-delete") {
      for (const Field& start : starts) c.Write(start, "-delete");
    } else if ((t == "-fprint" || t == "-fprint0" || t == "-fls" || t == "-fprintf") && i + 1 < c.argv.size()) {
      c.Write(c.argv[++i], t);
      if (t == "-fprintf") ++i;
    } else if (t == "-exec" || t == "-execdir" || t == "-ok" || t == "-okdir") {
      std::size_t begin = i + 1;
      std::size_t end = begin;
      while (end < c.argv.size() && c.argv[end].text != ";" && c.argv[end].text != "+") ++end;
      // Run the command once per start point, with {} standing for it (the
      // files found are under it).
      std::size_t runs = 0;
      for (const Field& start : starts) {
        if (++runs > 8) break;
        Argv inner;
        for (std::size_t k = begin; k < end; ++k) {
          Field arg = c.argv[k];
          std::size_t brace = arg.text.find("{}");
          if (brace != std::string::npos && !arg.dynamic) {
            if (k == begin || start.dynamic) {
              arg.dynamic = true;
              arg.text = arg.text.substr(0, brace);
            } else {
              arg.text.replace(brace, 2, start.text);
            }
          }
          inner.push_back(std::move(arg));
        }
        c.RunInner(inner, "find -exec", c.state);
      }
      i = end;
    }
  }
}

// ---- file programs ----------------------------------------------------------------

enum class FileKind : std::uint8_t {
  kRead,            // every operand is read
  kWrite,           // every operand is written
  kEdit,            // read and written (editors, in-place tools)
  kListDir,         // read; no operands means the working directory
  kReadThenWrite,   // uniq/xxd: first read, second written
  kFirstWrite,      // mknod: the first operand is written, the rest are not paths
  kCompress,        // gzip & co: read and replaced (written) unless -c/-t/-l
};

struct FileProgram {
  std::string_view name;
  FileKind kind;
  std::string_view short_with_value;
  std::string_view long_with_value;
  std::string_view read_options;   // options whose value is a file read
  std::string_view write_options;  // options whose value is a file written
};

constexpr FileProgram kFilePrograms[] = {
    {"cat", FileKind::kRead, "", "", "", ""},
    {"tac", FileKind::kRead, "s", "separator", "", ""},
    {"head", FileKind::kRead, "nc", "lines,bytes", "", ""},
    {"tail", FileKind::kRead, "ncs", "lines,bytes,sleep-interval,pid,max-unchanged-stats", "", ""},
    {"less", FileKind::kRead, "bhjkoOpPtTxyz", "log-file,LOG-FILE,tag,pattern,prompt", "", "o,O,log-file,LOG-FILE"},
    {"more", FileKind::kRead, "n", "lines", "", ""},
    {"most", FileKind::kRead, "", "", "", ""},
    {"wc", FileKind::kRead, "", "files0-from", "files0-from", ""},
    {"nl", FileKind::kRead, "bdfhilnpsvw", "", "", ""},
    {"od", FileKind::kRead, "AjNSstw", "", "", ""},
    {"hexdump", FileKind::kRead, "enfs", "", "f", ""},
    {"strings", FileKind::kRead, "nteT", "", "", ""},
    {"md5sum", FileKind::kRead, "", "", "", ""},
    {"sha1sum", FileKind::kRead, "", "", "", ""},
    {"sha224sum", FileKind::kRead, "", "", "", ""},
    {"sha256sum", FileKind::kRead, "", "", "", ""},
    {"sha384sum", FileKind::kRead, "", "", "", ""},
    {"sha512sum", FileKind::kRead, "", "", "", ""},
    {"b2sum", FileKind::kRead, "l", "length", "", ""},
    {"cksum", FileKind::kRead, "al", "algorithm,length", "", ""},
    {"base64", FileKind::kRead, "w", "wrap", "", ""},
    {"base32", FileKind::kRead, "w", "wrap", "", ""},
    {"file", FileKind::kRead, "fFmP", "files-from,separator,magic-file,parameter", "f,files-from,m,magic-file", ""},
    {"stat", FileKind::kRead, "cf", "format,printf", "", ""},
    {"cut", FileKind::kRead, "bcdf", "bytes,characters,delimiter,fields,output-delimiter", "", ""},
    {"paste", FileKind::kRead, "d", "delimiters", "", ""},
    {"fold", FileKind::kRead, "w", "width", "", ""},
    {"fmt", FileKind::kRead, "wpg", "width,prefix,goal", "", ""},
    {"column", FileKind::kRead, "cstoNRWHOEdJlin", "", "", ""},
    {"expand", FileKind::kRead, "t", "tabs", "", ""},
    {"unexpand", FileKind::kRead, "t", "tabs", "", ""},
    {"iconv", FileKind::kRead, "ftco", "from-code,to-code,output", "", "o,output"},
    {"sort", FileKind::kRead, "kotST", "key,field-separator,output,buffer-size,temporary-directory,files0-from,parallel,compress-program,batch-size,random-source",
     "files0-from,random-source", "o,output"},
    {"diff", FileKind::kRead, "CUDFIxXSL", "exclude,exclude-from,ignore-matching-lines,label,starting-file,from-file,to-file,unified,context,line-format",
     "X,exclude-from,from-file,to-file", ""},
    {"cmp", FileKind::kRead, "in", "ignore-initial,bytes", "", ""},
    {"comm", FileKind::kRead, "", "output-delimiter", "", ""},
    {"join", FileKind::kRead, "aejotv12", "", "", ""},
    {"tr", FileKind::kFirstWrite, "", "", "", ""},
    {"bat", FileKind::kRead, "lmHrpd", "language,map-syntax,highlight-line,line-range,style,theme,tabs", "", ""},
    {"readlink", FileKind::kRead, "", "", "", ""},
    {"realpath", FileKind::kRead, "", "relative-to,relative-base", "", ""},
    {"ls", FileKind::kListDir, "ITw", "hide,ignore,tabsize,width,format,sort,time-style,color,block-size,indicator-style,quoting-style,time",
     "", ""},
    {"dir", FileKind::kListDir, "ITw", "hide,ignore,tabsize,width", "", ""},
    {"tree", FileKind::kListDir, "LPIo", "filelimit,timefmt,charset", "", "o"},
    {"du", FileKind::kListDir, "BdtX", "block-size,max-depth,threshold,exclude,exclude-from,time-style,files0-from",
     "X,exclude-from,files0-from", ""},
    {"uniq", FileKind::kReadThenWrite, "fsw", "skip-fields,skip-chars,check-chars,group,all-repeated", "", ""},
    {"xxd", FileKind::kReadThenWrite, "cglosn", "", "", ""},
    {"rm", FileKind::kWrite, "", "", "", ""},
    {"rmdir", FileKind::kWrite, "", "", "", ""},
    {"mkdir", FileKind::kWrite, "m", "mode,context", "", ""},
    {"touch", FileKind::kWrite, "dtr", "date,reference,time", "r,reference", ""},
    {"truncate", FileKind::kWrite, "sr", "size,reference", "r,reference", ""},
    {"shred", FileKind::kWrite, "ns", "iterations,size,random-source", "random-source", ""},
    {"unlink", FileKind::kWrite, "", "", "", ""},
    {"mkfifo", FileKind::kWrite, "m", "mode,context", "", ""},
    {"mknod", FileKind::kFirstWrite, "m", "mode,context", "", ""},
    {"tee", FileKind::kWrite, "", "output-error", "", ""},
    {"vi", FileKind::kEdit, "cSuUTiwWsrt", "cmd", "", ""},
    {"vim", FileKind::kEdit, "cSuUTiwWsrt", "cmd", "", ""},
    {"nvim", FileKind::kEdit, "cSuUiwWsrt", "cmd", "", ""},
    {"view", FileKind::kRead, "cSuUTiwWsrt", "cmd", "", ""},
    {"nano", FileKind::kEdit, "TYorQsXCJ", "", "", ""},
    {"emacs", FileKind::kEdit, "lLfe", "eval,load,funcall", "", ""},
    {"ed", FileKind::kEdit, "p", "prompt", "", ""},
    {"gzip", FileKind::kCompress, "S", "suffix", "", ""},
    {"gunzip", FileKind::kCompress, "S", "suffix", "", ""},
    {"bzip2", FileKind::kCompress, "", "", "", ""},
    {"bunzip2", FileKind::kCompress, "", "", "", ""},
    {"xz", FileKind::kCompress, "CFTSM", "", "", ""},
    {"unxz", FileKind::kCompress, "", "", "", ""},
    {"lzma", FileKind::kCompress, "", "", "", ""},
    {"zstd", FileKind::kCompress, "oTDM", "", "D", "o"},
    {"unzstd", FileKind::kCompress, "o", "", "", "o"},
    {"lz4", FileKind::kCompress, "", "", "", ""},
    {"compress", FileKind::kCompress, "b", "", "", ""},
    {"uncompress", FileKind::kCompress, "", "", "", ""},
    {"chattr", FileKind::kWrite, "pv", "", "", ""},
    {"setfacl", FileKind::kWrite, "mMxX", "modify,modify-file,remove,remove-file,set,set-file", "M,X,modify-file,remove-file,set-file", ""},
};

void FileProgramEffects(Call& c, const FileProgram& program) {
  Args args = ParseArgs(c.argv, 1, {program.short_with_value, program.long_with_value, false, "", false});
  for (const Option& option : args.options) {
    if (!option.has_value) continue;
    if (InList(program.read_options, option.name)) c.Read(option.value, "-" + option.name);
    if (InList(program.write_options, option.name)) c.Write(option.value, "-" + option.name);
  }
  if ((c.name == "vi" || c.name == "vim" || c.name == "nvim" || c.name == "emacs") &&
      (args.Has("c,cmd,eval,funcall,S") ||
       std::any_of(args.operands.begin(), args.operands.end(), [](const Field& f) { return StartsWith(f.text, "+"); }))) {
    c.Unknown("editor command", c.argv[0].raw);
  }
  const auto& ops = args.operands;
  switch (program.kind) {
    case FileKind::kRead:
      for (const Field& op : ops) c.Read(op);
      break;
    case FileKind::kWrite:
      for (const Field& op : ops) c.Write(op);
      break;
    case FileKind::kEdit:
      for (const Field& op : ops) {
        if (StartsWith(op.text, "+")) continue;
        c.Read(op);
        c.Write(op);
      }
      break;
    case FileKind::kListDir:
      if (ops.empty()) c.Read(Literal("."));
      for (const Field& op : ops) c.Read(op);
      break;
    case FileKind::kReadThenWrite:
      if (!ops.empty()) c.Read(ops[0]);
      if (ops.size() > 1) c.Write(ops[1], "output");
      break;
    case FileKind::kFirstWrite:
      if (!ops.empty() && c.name != "tr") c.Write(ops[0]);
      break;
    case FileKind::kCompress: {
      bool in_place = !args.Has("c,stdout,to-stdout,t,test,l,list,k,keep");
      for (const Field& op : ops) {
        c.Read(op);
        if (in_place) c.Write(op);
      }
      if (in_place && ops.empty() && args.Has("r,recursive")) c.Write(Literal("."));
      break;
    }
  }
}

void Chmod(Call& c) {
  // Mode arguments may look like options (chmod -x file), so only known
  // flags are options here.
  bool have_mode = false;
  bool options_done = false;
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (!options_done && !field.dynamic) {
      if (t == "--") {
        options_done = true;
        continue;
      }
      if (StartsWith(t, "--reference=")) {
        c.Read(Subfield(field, 12), "--reference");
        have_mode = true;
        continue;
      }
      if (StartsWith(t, "--from=")) continue;
      if (StartsWith(t, "--") || t == "-R" || t == "-c" || t == "-f" || t == "-v" || t == "-h" ||
          t == "-H" || t == "-L" || t == "-P" || t == "-Rf" || t == "-fR" || t == "-Rv" || t == "-vR") {
        continue;
      }
    }
    if (!have_mode) {
      have_mode = true;  // the mode, owner or group
      continue;
    }
    c.Write(field);
  }
}

void Copy(Call& c) {
  bool is_mv = c.name == "mv";
  bool is_install = c.name == "install";
  Args args = ParseArgs(c.argv, 1,
                        {is_install ? "tSgmoCZ" : "tSZ", "target-directory,suffix,context,group,mode,owner,strip-program",
                         false, "", false});
  if (is_install && args.Has("d,directory")) {
    for (const Field& op : args.operands) c.Write(op);
    return;
  }
  std::vector<Field> sources = args.operands;
  std::vector<const Field*> targets = args.Values("t,target-directory");
  Field destination;
  bool has_destination = false;
  if (!targets.empty()) {
    destination = *targets.back();
    has_destination = true;
  } else if (sources.size() >= 2) {
    destination = sources.back();
    sources.pop_back();
    has_destination = true;
  }
  for (const Field& source : sources) {
    c.Read(source, "source");
    if (is_mv) c.Write(source, "source");
  }
  if (has_destination) c.Write(destination, "destination");
}

void Link(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"tS", "target-directory,suffix", false, "", false});
  bool symbolic = args.Has("s,symbolic");
  std::vector<Field> targets = args.operands;
  std::vector<const Field*> dirs = args.Values("t,target-directory");
  std::vector<std::pair<Field, Field>> links;  // target, link name
  if (!dirs.empty() || targets.size() >= 3) {
    Field dir;
    if (!dirs.empty()) {
      dir = *dirs.back();
    } else {
      dir = targets.back();
      targets.pop_back();
    }
    for (const Field& target : targets) {
      Field name = dir;
      name.text = dir.text + "/" + std::string(BaseName(target.text));
      links.emplace_back(target, name);
    }
  } else if (targets.size() == 2) {
    links.emplace_back(targets[0], targets[1]);
    if (!targets[1].text.empty() && targets[1].text.back() == '/') {
      Field inside = targets[1];
      inside.text += std::string(BaseName(targets[0].text));
      links.emplace_back(targets[0], inside);
    }
  } else if (targets.size() == 1) {
    links.emplace_back(targets[0], Literal(std::string(BaseName(targets[0].text))));
  }
  for (const auto& [target, link] : links) {
    c.Write(link, "link");
    if (symbolic && !target.dynamic && !target.text.empty() && target.text.front() != '/') {
      // A relative symlink target is relative to the link's directory.
      for (const std::string& dir : c.state.cwd.dirs) {
        std::string link_path = link.text.front() == '/' ? LexicallyNormalize(link.text)
                                                         : LexicallyNormalize(dir + "/" + link.text);
        Field anchored = target;
        anchored.text = std::string(ParentDirectory(link_path)) + "/" + target.text;
        c.Read(anchored, "target");
      }
    } else {
      c.Read(target, "target");
    }
    c.interp.RecordLink(target, link, symbolic, c.state);
  }
}

void Dd(Call& c) {
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    if (StartsWith(field.text, "if=")) c.Read(Subfield(field, 3), "if");
    if (StartsWith(field.text, "of=")) c.Write(Subfield(field, 3), "of");
  }
}

void Tar(Call& c) {
  char mode = 0;
  Field archive;
  bool has_archive = false;
  std::vector<Field> dirs;
  std::vector<Field> operands;
  auto set_mode = [&](char m) {
    if (mode == 0) mode = m;
  };
  constexpr std::string_view kValueLetters = "fCTXbgKLNVHI";
  auto take_value = [&](char letter, const Field& value) {
    switch (letter) {
      case 'f':
        archive = value;
        has_archive = true;
        break;
      case 'C':
        dirs.push_back(value);
        break;
      case 'T':
      case 'X':
        c.Read(value, letter == 'T' ? "files-from" : "exclude-from");
        break;
      case 'I':
        c.Unknown("tar runs a command", value.raw);
        break;
      default:
        break;
    }
  };
  std::size_t i = 1;
  std::size_t pending_values = 0;
  std::string pending_letters;
  // Old style: the first argument is a bundle of letters without a dash.
  if (i < c.argv.size() && !c.argv[i].dynamic && !c.argv[i].text.empty() && c.argv[i].text[0] != '-') {
    for (char letter : c.argv[i].text) {
      if (std::string_view("cxtrudA").find(letter) != std::string_view::npos) set_mode(letter);
      if (kValueLetters.find(letter) != std::string_view::npos) pending_letters += letter;
    }
    ++i;
  }
  for (; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (pending_values < pending_letters.size()) {
      take_value(pending_letters[pending_values++], field);
      continue;
    }
    if (field.dynamic || t.size() < 2 || t[0] != '-') {
      operands.push_back(field);
      continue;
    }
    if (StartsWith(t, "--")) {
      std::string_view body = std::string_view(t).substr(2);
      std::size_t eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      Field value;
      bool has_value = eq != std::string_view::npos;
      if (has_value) value = Subfield(field, 2 + eq + 1);
      static constexpr std::string_view kLongValues =
          "file,directory,files-from,exclude-from,use-compress-program,to-command,info-script,"
          "new-volume-script,checkpoint-action,blocking-factor,listed-incremental,label,format,"
          "owner,group,mode,mtime,exclude,transform,xform,newer,after-date,newer-mtime,starting-file,"
          "tape-length,volno-file,rsh-command,index-file,suffix,backup";
      if (!has_value && InList(kLongValues, name) && i + 1 < c.argv.size()) {
        value = c.argv[++i];
        has_value = true;
      }
      if (name == "create") set_mode('c');
      if (name == "extract" || name == "get") set_mode('x');
      if (name == "list") set_mode('t');
      if (name == "append") set_mode('r');
      if (name == "update") set_mode('u');
      if (name == "diff" || name == "compare") set_mode('d');
      if (name == "delete") set_mode('D');
      if (!has_value) continue;
      if (name == "file") take_value('f', value);
      if (name == "directory") take_value('C', value);
      if (name == "files-from") take_value('T', value);
      if (name == "exclude-from") take_value('X', value);
      if (name == "use-compress-program" || name == "to-command" || name == "info-script" ||
          name == "new-volume-script" || name == "rsh-command" ||
          (name == "checkpoint-action" && StartsWith(value.text, "exec"))) {
        c.Unknown("tar runs a command", field.raw);
      }
      if (name == "index-file" || name == "volno-file") c.Write(value);
      continue;
    }
    for (std::size_t k = 1; k < t.size(); ++k) {
      char letter = t[k];
      if (std::string_view("cxtrudA").find(letter) != std::string_view::npos) set_mode(letter);
      if (letter == 'F') c.Unknown("tar runs a command", field.raw);
      if (kValueLetters.find(letter) != std::string_view::npos) {
        if (k + 1 < t.size()) {
          take_value(letter, Subfield(field, k + 1));
        } else if (i + 1 < c.argv.size()) {
          take_value(letter, c.argv[++i]);
        }
        break;
      }
    }
  }
  bool writes_archive = mode == 'c' || mode == 'r' || mode == 'u' || mode == 'A' || mode == 'D';
  if (has_archive && !(archive.text == "-" && !archive.dynamic)) {
    if (ParseScpTarget(archive.text) && !archive.dynamic && archive.text.front() != '/') {
      // tar -f host:file uses rsh/ssh.
      if (auto host = ParseScpTarget(archive.text)) c.interp.sink().AddHost(*host, "tar");
    } else if (writes_archive) {
      c.Write(archive, "archive");
      if (mode != 'c') c.Read(archive, "archive");
    } else {
      c.Read(archive, "archive");
    }
  }
  ShellState at_dir = c.state;
  if (!dirs.empty()) c.interp.ChangeDirectory(&dirs.back(), at_dir);
  if (mode == 'x') {
    Field where = dirs.empty() ? Literal(".") : dirs.back();
    c.interp.ReportPath(where, PathAccess::kWrite, "tar extract", c.state);
  }
  if (mode == 'c' || mode == 'r' || mode == 'u' || mode == 'd') {
    for (const Field& op : operands) c.interp.ReportPath(op, PathAccess::kRead, "tar", at_dir);
  }
}

void Unzip(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"dPx", "", false, "", false});
  if (args.operands.empty()) return;
  c.Read(args.operands[0], "archive");
  if (args.Has("l,t,v,p,c,Z,z")) return;
  std::vector<const Field*> dirs = args.Values("d");
  if (dirs.empty()) {
    c.Write(Literal("."), "extract");
  } else {
    for (const Field* dir : dirs) c.Write(*dir, "extract");
  }
}

void Zip(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"bntxiPOZs", "", false, "", false});
  if (args.operands.empty()) return;
  c.Write(args.operands[0], "archive");
  for (const Field* out : args.Values("O")) c.Write(*out, "archive");
  for (std::size_t i = 1; i < args.operands.size(); ++i) c.Read(args.operands[i]);
}

// ---- text processors with a program or pattern first ------------------------------

void Grep(Call& c) {
  bool rg = c.name == "rg" || c.name == "ag" || c.name == "ack";
  Args args = ParseArgs(
      c.argv, 1,
      rg ? OptionSpec{"efgtTABCmMjEr",
                      "regexp,file,glob,iglob,type,type-not,max-count,max-depth,threads,replace,encoding,pre,"
                      "pre-glob,ignore-file,type-add,type-clear,sort,sortr,max-filesize,context-separator,"
                      "field-match-separator,path-separator,colors,engine,after-context,before-context,context,"
                      "dfa-size-limit,regex-size-limit,max-columns",
                      false, "", false}
         : OptionSpec{"efABCmdD",
                      "regexp,file,after-context,before-context,context,max-count,label,include,exclude,"
                      "exclude-from,exclude-dir,binary-files,devices,directories,group-separator",
                      false, "", false});
  for (const Field* file : args.Values("f,file,exclude-from,ignore-file")) c.Read(*file, "-f");
  for (const Field* pre : args.Values("pre")) {
    c.RunInner({*pre}, "rg --pre", c.state);
  }
  std::size_t first_file = args.Has("e,f,regexp,file") ? 0 : 1;
  if (args.Has("files,type-list")) first_file = 0;
  bool recursive = rg || args.Has("r,R,recursive,dereference-recursive");
  if (args.operands.size() <= first_file && recursive) c.Read(Literal("."));
  for (std::size_t i = first_file; i < args.operands.size(); ++i) c.Read(args.operands[i]);
}

void Sed(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"efl", "expression,file,line-length", false, "", false});
  std::vector<const Field*> scripts = args.Values("e,expression");
  for (const Field* file : args.Values("f,file")) {
    c.Read(*file, "-f");
    c.Unknown("sed script from file", file->raw);
  }
  std::size_t first_file = 0;
  Field inline_script;
  if (scripts.empty() && !args.Has("f,file") && !args.operands.empty()) {
    inline_script = args.operands[0];
    scripts.push_back(&inline_script);
    first_file = 1;
  }
  // GNU sed joins -e pieces with newlines before parsing: `-e 'a\' -e 'w x'`
  // is appended text, not a w command.
  std::string program;
  std::string raw;
  bool dynamic = false;
  for (const Field* script : scripts) {
    if (script->dynamic) {
      c.Unknown("dynamic sed script", script->raw);
      dynamic = true;
      continue;
    }
    if (!program.empty() || !raw.empty()) {
      program += '\n';
      raw += ' ';
    }
    program += script->text;
    raw += script->raw;
  }
  if (!dynamic && !scripts.empty()) {
    SedScriptEffects sed = AnalyzeSedScript(program);
    if (!sed.understood) c.Unknown("unparseable sed script", raw);
    if (sed.runs_command) c.Unknown("sed runs a command", raw);
    for (const SedFileAccess& file : sed.files) {
      Field name = Literal(file.name);
      name.raw = raw;
      std::string what = file.command == 's' ? "s///w" : std::string(1, file.command);
      if (file.write) {
        c.Write(name, what);
      } else {
        c.Read(name, what);
      }
    }
  }
  bool in_place = args.Has("i,in-place");
  for (std::size_t i = first_file; i < args.operands.size(); ++i) {
    c.Read(args.operands[i]);
    if (in_place) c.Write(args.operands[i], "-i");
  }
}

void Awk(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"Fvfe", "field-separator,assign,file,source,include,load", false, "", false});
  std::vector<const Field*> programs = args.Values("e,source");
  for (const Field* file : args.Values("f,file,i,include")) {
    c.Read(*file, "-f");
    c.Unknown("awk program from file", file->raw);
  }
  std::size_t first_file = 0;
  Field inline_program;
  if (programs.empty() && !args.Has("f,file") && !args.operands.empty()) {
    inline_program = args.operands[0];
    programs.push_back(&inline_program);
    first_file = 1;
  }
  for (const Field* program : programs) {
    if (program->dynamic) {
      c.Unknown("dynamic awk program", program->raw);
      continue;
    }
    const std::string& text = program->text;
    if (text.find("system") != std::string::npos || text.find('|') != std::string::npos) {
      // system(), cmd | getline and print | cmd all run shell commands.
      c.Unknown("awk runs a command", program->raw);
    }
    c.ScanCode(*program, PathAccess::kWrite);
  }
  for (std::size_t i = first_file; i < args.operands.size(); ++i) {
    const Field& op = args.operands[i];
    std::size_t eq = op.text.find('=');
    if (eq != std::string::npos && eq > 0 && op.text.find('/') > eq) continue;  // var=value
    c.Read(op);
  }
}

void Jq(Call& c) {
  bool have_filter = false;
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (!field.dynamic && t.size() > 1 && t[0] == '-') {
      if (t == "--arg" || t == "--argjson") {
        i += 2;
      } else if (t == "--slurpfile" || t == "--rawfile") {
        if (i + 2 < c.argv.size()) c.Read(c.argv[i + 2], t);
        i += 2;
      } else if (t == "-f" || t == "--from-file") {
        if (i + 1 < c.argv.size()) c.Read(c.argv[++i], "-f");
        have_filter = true;
      } else if (t == "--indent" || t == "-L") {
        ++i;
      } else if (t == "--args" || t == "--jsonargs") {
        return;  // the rest are arguments, not files
      }
      continue;
    }
    if (!have_filter) {
      have_filter = true;
      continue;
    }
    c.Read(field);
  }
}

// ---- network programs ------------------------------------------------------------------

void Curl(Call& c) {
  Args args = ParseArgs(
      c.argv, 1,
      {"AbcCdDeEFHKmoPQrTuUwxXYyzt",
       "data,data-binary,data-raw,data-ascii,data-urlencode,json,form,form-string,header,output,output-dir,"
       "upload-file,user,user-agent,referer,cookie,cookie-jar,config,proxy,request,url,dump-header,cert,key,"
       "cacert,capath,connect-to,resolve,max-time,connect-timeout,retry,retry-delay,retry-max-time,trace,"
       "trace-ascii,stderr,unix-socket,abstract-unix-socket,interface,dns-servers,doh-url,preproxy,socks4,"
       "socks4a,socks5,socks5-hostname,range,write-out,variable,limit-rate,netrc-file,ciphers,proxy-user,"
       "oauth2-bearer,aws-sigv4,libcurl,etag-save,etag-compare,hsts,alt-svc,max-filesize,speed-limit,"
       "speed-time,telnet-option,quote,mail-from,mail-rcpt,mail-auth,time-cond,local-port,expect100-timeout,"
       "proto,proto-redir,proto-default,create-file-mode,key-type,cert-type,pass,pinnedpubkey,crlfile,"
       "proxy-cacert,proxy-cert,proxy-key,happy-eyeballs-timeout-ms,keepalive-time,login-options,sasl-authzid,"
       "service-name,tls-max,tlsuser,tlspassword,max-redirs,connect-timeout,noproxy,data-urlencode",
       false, "", false});
  std::vector<Field> urls;
  for (const Field& op : args.operands) urls.push_back(op);
  for (const Field* url : args.Values("url")) urls.push_back(*url);
  if (args.Has("connect-to,resolve")) c.Unknown("curl host override", c.argv[0].raw);
  for (const Field* config : args.Values("K,config")) c.Unknown("curl options from file", config->raw);
  for (const Field* proxy : args.Values("x,proxy,preproxy,socks4,socks4a,socks5,socks5-hostname")) {
    c.Host(*proxy, "http");
  }
  for (const Field* file : args.Values("o,output")) c.Write(*file, "--output");
  for (const Field* file : args.Values("D,dump-header,c,cookie-jar,trace,trace-ascii,stderr,libcurl,etag-save")) {
    c.Write(*file, "output");
  }
  for (const Field* file : args.Values("hsts,alt-svc")) {
    c.Read(*file);
    c.Write(*file);
  }
  for (const Field* file : args.Values("K,config,netrc-file,E,cert,key,cacert,crlfile,etag-compare,T,upload-file,unix-socket")) {
    c.Read(*file, "input");
  }
  for (const Field* data : args.Values("d,data,data-binary,data-ascii,data-urlencode,json")) {
    std::size_t at = data->text.find('@');
    if (at == std::string::npos || data->dynamic) continue;
    if (at != 0 && data->text.find('=') < at) continue;  // name=value@x is data
    Field file = Subfield(*data, at + 1);
    if (file.text != "-") c.Read(file, "--data");
  }
  for (const Field* form : args.Values("F,form")) {
    std::size_t eq = form->text.find('=');
    if (eq == std::string::npos || eq + 1 >= form->text.size()) continue;
    char kind = form->text[eq + 1];
    if (kind == '@' || kind == '<') {
      Field file = Subfield(*form, eq + 2);
      file.text = file.text.substr(0, file.text.find(';'));
      if (file.text != "-") c.Read(file, "--form");
    }
  }
  for (const Field* cookie : args.Values("b,cookie")) {
    if (cookie->text.find('=') == std::string::npos) c.Read(*cookie, "--cookie");
  }
  for (const Field* rcpt : args.Values("mail-rcpt")) c.interp.sink().AddEmail(rcpt->text);
  bool globbing = !args.Has("g,globoff");
  for (const Field& url : urls) {
    if (globbing && !url.dynamic &&
        (url.text.find('{') != std::string::npos ||
         (url.text.find('[') != std::string::npos && url.text.find("://[") == std::string::npos))) {
      c.Unknown("URL glob", url.raw);
    }
    c.Host(url, "http");
  }
  if (args.Has("O,remote-name,remote-name-all,J,remote-header-name")) {
    std::vector<const Field*> out_dirs = args.Values("output-dir");
    Field dir = out_dirs.empty() ? Literal(".") : *out_dirs.back();
    for (const Field& url : urls) {
      if (url.dynamic || args.Has("J,remote-header-name")) {
        c.Write(dir, "--remote-name");
        continue;
      }
      auto parsed = ParseUrl(url.text);
      std::string path = parsed ? parsed->path : url.text;
      path = path.substr(0, path.find_first_of("?#"));
      std::string name(BaseName(path));
      Field file = dir;
      file.text = name.empty() ? dir.text : dir.text + "/" + name;
      c.Write(file, "--remote-name");
    }
  }
}

void Wget(Call& c) {
  Args args = ParseArgs(
      c.argv, 1,
      {"OoaPiBeUtTwYlADRIXQ",
       "output-document,output-file,append-output,directory-prefix,input-file,base,execute,user-agent,tries,"
       "timeout,wait,level,accept,reject,domains,exclude-domains,include-directories,exclude-directories,quota,"
       "header,post-data,post-file,body-file,body-data,method,user,password,http-user,http-password,"
       "load-cookies,save-cookies,certificate,private-key,ca-certificate,referer,restrict-file-names,"
       "bind-address,limit-rate,proxy-user,proxy-password,config,use-askpass,warc-file,ftp-user,ftp-password",
       false, "", false});
  for (const Field* file : args.Values("O,output-document")) c.Write(*file, "-O");
  for (const Field* file : args.Values("o,output-file,a,append-output,save-cookies,warc-file")) c.Write(*file, "log");
  for (const Field* file : args.Values("post-file,body-file,load-cookies,certificate,private-key,ca-certificate,config")) {
    c.Read(*file, "input");
  }
  for (const Field* file : args.Values("i,input-file")) {
    c.Read(*file, "-i");
    c.Unknown("URLs from file", file->raw);
  }
  if (args.Has("e,execute,use-askpass")) c.Unknown("wget execute option", c.argv[0].raw);
  if (!args.Has("O,output-document,spider")) {
    std::vector<const Field*> dirs = args.Values("P,directory-prefix");
    c.Write(dirs.empty() ? Literal(".") : *dirs.back(), "download");
  }
  for (const Field& url : args.operands) c.Host(url, "http");
}

void Httpie(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"aAopv", "auth,auth-type,output,pretty,style,print,session,session-read-only,verify,cert,cert-key,proxy,timeout,max-redirects,format-options,response-charset,response-mime",
                                    false, "", false});
  for (const Field* file : args.Values("o,output")) c.Write(*file, "--output");
  if (args.Has("d,download") && !args.Has("o,output")) c.Write(Literal("."), "--download");
  std::string_view scheme = c.name == "https" || c.name == "xhs" ? "https" : "http";
  bool have_url = false;
  for (std::size_t i = 0; i < args.operands.size(); ++i) {
    const Field& op = args.operands[i];
    if (!have_url) {
      if (i == 0 && !op.dynamic && !op.text.empty() &&
          op.text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos) {
        continue;  // the method
      }
      have_url = true;
      if (!op.dynamic && StartsWith(op.text, ":")) {
        Field local = op;
        local.text = "localhost" + op.text;
        c.Host(local, scheme);
      } else {
        c.Host(op, scheme);
      }
      continue;
    }
    // Request items: field@file and field=@file read files.
    std::size_t at = op.text.find('@');
    if (at == std::string::npos || op.dynamic) continue;
    std::size_t sep = op.text.find_first_of("=:");
    if (sep == std::string::npos || sep >= at || (sep + 1 == at) || (sep + 2 == at && op.text[sep + 1] == '=')) {
      c.Read(Subfield(op, at + 1), "request item");
    }
  }
}

void Aria2c(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"dioxsjU", "dir,input-file,out,max-connection-per-server,split,max-concurrent-downloads,user-agent,conf-path,log",
                                    false, "", false});
  std::vector<const Field*> dirs = args.Values("d,dir");
  c.Write(dirs.empty() ? Literal(".") : *dirs.back(), "download");
  for (const Field* file : args.Values("i,input-file")) {
    c.Read(*file, "-i");
    c.Unknown("URLs from file", file->raw);
  }
  for (const Field* file : args.Values("l,log")) c.Write(*file, "log");
  for (const Field& url : args.operands) c.Host(url, "http");
}

// -o options of ssh, scp and sftp: the ones that run local commands.
void CheckSshOptions(Call& c, const Args& args, int& port) {
  for (const Field* option : args.Values("o")) {
    std::string lower = Lower(option->text);
    if (StartsWith(lower, "proxycommand") || StartsWith(lower, "localcommand") ||
        StartsWith(lower, "knownhostscommand") || StartsWith(lower, "permitlocalcommand") ||
        StartsWith(lower, "match") || StartsWith(lower, "include") || option->dynamic) {
      c.Unknown("ssh runs a local command", option->raw);
    }
    if (StartsWith(lower, "port")) {
      std::string value = option->text.substr(std::min(option->text.size(), std::size_t{5}));
      port = std::atoi(value.c_str());
    }
    if (StartsWith(lower, "hostname") || StartsWith(lower, "proxyjump")) {
      c.Unknown("ssh host override", option->raw);
    }
  }
  for (const Field* jumps : args.Values("J")) {
    std::string_view list = jumps->text;
    std::size_t pos = 0;
    while (pos <= list.size()) {
      std::size_t end = list.find(',', pos);
      if (end == std::string_view::npos) end = list.size();
      Field jump = *jumps;
      jump.text = std::string(list.substr(pos, end - pos));
      if (auto url = ParseUrl(jump.text)) {
        c.interp.sink().AddUrl(*url, jump.text, c.name);
      } else if (!jump.text.empty()) {
        std::string_view host = jump.text;
        std::size_t at = host.rfind('@');
        if (at != std::string_view::npos) host = host.substr(at + 1);
        if (auto parsed = ParseBareHost(std::string(host) + (host.find('.') == std::string_view::npos ? "." : ""), "ssh")) {
          if (parsed->port == 0) parsed->port = 22;
          c.interp.sink().AddHost(*parsed, c.name);
        }
      }
      pos = end + 1;
    }
  }
  for (const Field* file : args.Values("i,F")) c.Read(*file, "config");
}

void AddSshHost(Call& c, std::string_view destination, const Field& field, int port) {
  if (field.dynamic) {
    c.Unknown("dynamic host", field.raw);
    return;
  }
  if (auto url = ParseUrl(destination)) {
    if (port != 0 && url->port == 22) url->port = port;
    c.interp.sink().AddUrl(*url, destination, c.name);
    return;
  }
  std::string_view host = destination;
  std::size_t at = host.rfind('@');
  if (at != std::string_view::npos) host = host.substr(at + 1);
  ParsedUrl parsed;
  parsed.scheme = "ssh";
  parsed.port = port != 0 ? port : 22;
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  for (char ch : host) {
    if (static_cast<unsigned char>(ch) >= 0x80) parsed.non_ascii_host = true;
    parsed.host += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  while (!parsed.host.empty() && parsed.host.back() == '.') parsed.host.pop_back();
  if (parsed.host.find_first_of("/\\%:@ ") != std::string::npos) parsed.ambiguous = true;
  c.interp.sink().AddHost(parsed, c.name);
}

void Ssh(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"BbcDEeFIiJLlmOoPpQRSWw", "", true, "46AaCfGgKkMNnqsTtVvXxYy", false});
  int port = 0;
  for (const Field* p : args.Values("p")) port = std::atoi(p->text.c_str());
  CheckSshOptions(c, args, port);
  for (const Field* log : args.Values("E")) c.Write(*log, "-E");
  if (args.operands.empty()) return;
  const Field& destination = args.operands[0];
  AddSshHost(c, destination.text, destination, port);  // the rest is the remote command
}

void Scp(Call& c) {
  bool sftp = c.name == "sftp";
  Args args = ParseArgs(c.argv, 1, {sftp ? "BbcDFiJloPRSs" : "cFiJlPSoDX", "", false, "", false});
  int port = 0;
  for (const Field* p : args.Values("P")) port = std::atoi(p->text.c_str());
  CheckSshOptions(c, args, port);
  for (const Field* program : args.Values("S")) c.RunInner({*program}, c.name, c.state);
  for (const Field* batch : args.Values("b")) c.Read(*batch, "-b");
  for (std::size_t i = 0; i < args.operands.size(); ++i) {
    const Field& op = args.operands[i];
    bool last = i + 1 == args.operands.size() && !sftp;
    if (op.dynamic) {
      c.Unknown("dynamic path", op.raw);
      continue;
    }
    auto remote = ParseScpTarget(op.text);
    bool is_url = StartsWith(op.text, "scp://") || StartsWith(op.text, "sftp://");
    if (remote || is_url || sftp) {
      std::string dest = op.text;
      if (remote && !is_url) dest = op.text.substr(0, op.text.size() - remote->path.size() - 1);
      AddSshHost(c, dest, op, port);
      continue;
    }
    if (last) {
      c.Write(op, "destination");
    } else {
      c.Read(op, "source");
    }
  }
}

void Rsync(Call& c) {
  Args args = ParseArgs(
      c.argv, 1,
      {"eBfT", "rsh,exclude,include,exclude-from,include-from,files-from,filter,temp-dir,partial-dir,backup-dir,"
               "log-file,password-file,chmod,chown,port,rsync-path,compare-dest,copy-dest,link-dest,suffix,"
               "block-size,max-size,min-size,timeout,contimeout,bwlimit,write-batch,read-batch,sockopts,outbuf,"
               "usermap,groupmap,iconv,checksum-choice,compress-choice,info,debug,out-format,log-file-format",
       false, "", false});
  for (const Field* rsh : args.Values("e,rsh")) c.RunScript(*rsh, "rsync -e", false);
  for (const Field* path : args.Values("rsync-path")) c.Unknown("rsync remote command", path->raw);
  for (const Field* file : args.Values("exclude-from,include-from,files-from,password-file,read-batch")) {
    c.Read(*file, "input");
  }
  for (const Field* file : args.Values("log-file,write-batch")) c.Write(*file, "output");
  int port = 0;
  for (const Field* p : args.Values("port")) port = std::atoi(p->text.c_str());
  for (std::size_t i = 0; i < args.operands.size(); ++i) {
    const Field& op = args.operands[i];
    bool last = i + 1 == args.operands.size() && args.operands.size() > 1;
    if (op.dynamic) {
      c.Unknown("dynamic path", op.raw);
      continue;
    }
    if (auto url = ParseUrl(op.text)) {
      if (port != 0) url->port = port;
      c.interp.sink().AddUrl(*url, op.text, "rsync");
      continue;
    }
    std::size_t daemon = op.text.find("::");
    if (daemon != std::string::npos && op.text.find('/') > daemon) {
      Field host = op;
      host.text = op.text.substr(0, daemon);
      ParsedUrl parsed;
      if (auto h = ParseScpTarget(host.text + ":x")) parsed = *h;
      parsed.scheme = "rsync";
      parsed.port = port != 0 ? port : 873;
      c.interp.sink().AddHost(parsed, "rsync");
      continue;
    }
    if (auto remote = ParseScpTarget(op.text)) {
      c.interp.sink().AddHost(*remote, "rsync");
      continue;
    }
    if (last) {
      c.Write(op, "destination");
    } else {
      c.Read(op, "source");
    }
  }
}

void Netcat(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"ceipsOPqTVwxXIMm", "exec,sh-exec,lua-exec,proxy,proxy-type,source-port,source,wait,output,hex-dump,append-output,idle-timeout",
                                    false, "", false});
  for (const Field* program : args.Values("e,exec")) c.RunInner({*program}, "nc -e", c.state);
  for (const Field* script : args.Values("c,sh-exec")) c.RunScript(*script, "nc -c", false);
  for (const Field* lua : args.Values("lua-exec")) c.Read(*lua, "--lua-exec");
  for (const Field* file : args.Values("o,output,x,hex-dump")) {
    if (c.name != "nc" && c.name != "netcat") c.Write(*file, "output");
  }
  for (const Field* proxy : args.Values("x,proxy")) {
    if (c.name == "nc" || c.name == "netcat") c.Host(*proxy, "");
  }
  if (args.Has("l,listen")) return;
  if (args.operands.empty()) return;
  const Field& host = args.operands[0];
  int port = 0;
  if (args.operands.size() > 1 && !args.operands[1].dynamic) port = std::atoi(args.operands[1].text.c_str());
  if (host.dynamic) {
    c.Unknown("dynamic host", host.raw);
    return;
  }
  if (auto parsed = ParseBareHost(host.text.find('.') == std::string::npos && host.text.find(':') == std::string::npos
                                      ? host.text + "."
                                      : host.text,
                                  "")) {
    parsed->port = port;
    c.interp.sink().AddHost(*parsed, c.name);
  }
}

void Telnet(Call& c) {
  Args args = ParseArgs(c.argv, 1, {"bellnk", "", false, "", false});
  if (args.operands.empty()) return;
  const Field& host = args.operands[0];
  if (host.dynamic) {
    c.Unknown("dynamic host", host.raw);
    return;
  }
  ParsedUrl parsed;
  parsed.scheme = "telnet";
  parsed.port = args.operands.size() > 1 ? std::atoi(args.operands[1].text.c_str()) : 23;
  parsed.host = Lower(host.text);
  parsed.non_ascii_host = std::any_of(host.text.begin(), host.text.end(),
                                      [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; });
  c.interp.sink().AddHost(parsed, c.name);
}

void Socat(Call& c) {
  for (std::size_t i = 1; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (!field.dynamic && StartsWith(t, "-") && t.size() > 1) {
      if (t == "-b" || t == "-t" || t == "-T" || t == "-lf" || t == "-L" || t == "-W" || t == "-lp") ++i;
      continue;
    }
    if (field.dynamic) {
      c.Unknown("dynamic socat address", field.raw);
      continue;
    }
    std::size_t colon = t.find(':');
    std::string type = Lower(t.substr(0, colon));
    std::string rest = colon == std::string::npos ? "" : t.substr(colon + 1);
    if (type == "exec" || type == "system") {
      Field script = Literal(rest.substr(0, rest.find(',')));
      c.RunScript(script, "socat", false);
    } else if (StartsWith(type, "tcp") || StartsWith(type, "udp") || StartsWith(type, "ssl") ||
               StartsWith(type, "openssl") || StartsWith(type, "sctp") || StartsWith(type, "proxy")) {
      if (type.find("listen") != std::string::npos || type.find("recv") != std::string::npos) continue;
      std::string address = rest.substr(0, rest.find(','));
      std::size_t last_colon = address.rfind(':');
      ParsedUrl parsed;
      parsed.scheme = "";
      parsed.host = Lower(address.substr(0, last_colon));
      if (last_colon != std::string::npos) parsed.port = std::atoi(address.c_str() + last_colon + 1);
      if (!parsed.host.empty() && parsed.host.front() == '[') parsed.host = parsed.host.substr(1, parsed.host.size() - 2);
      c.interp.sink().AddHost(parsed, "socat");
    } else if (type == "open" || type == "create" || type == "gopen" || type == "file" || type == "pipe") {
      Field path = Literal(rest.substr(0, rest.find(',')));
      c.Read(path);
      c.Write(path);
    }
  }
}

void Resolver(Call& c) {
  // ping/dig/nslookup/host/whois/traceroute: names the program asks about.
  Args args = ParseArgs(c.argv, 1,
                        {c.name == "dig" ? "bcfkpqtxy" : (c.name == "whois" ? "hp" : "cwWiIsStQlMpFgmqfz"),
                         "", false, "", false});
  static constexpr std::string_view kRecordTypes =
      "a,aaaa,mx,txt,ns,any,cname,soa,ptr,srv,in,ch,hs,caa,ds,dnskey,axfr,ixfr,naptr,tlsa,https,svcb";
  std::size_t max_hosts = (c.name == "traceroute" || c.name == "tracepath" || c.name == "mtr" ||
                           c.name == "nslookup" || c.name == "host" || c.name == "whois")
                              ? 1
                              : 64;
  std::size_t taken = 0;
  for (const Field* server : args.Values("h")) {
    if (c.name == "whois") c.Host(*server, "whois");
  }
  for (const Field& op : args.operands) {
    if (op.dynamic) {
      c.Unknown("dynamic host", op.raw);
      continue;
    }
    if (StartsWith(op.text, "+")) continue;
    if (StartsWith(op.text, "@")) {
      c.Host(Subfield(op, 1), "dns");
      continue;
    }
    if (InList(kRecordTypes, Lower(op.text))) continue;
    if (taken++ >= max_hosts) {
      if (c.name == "nslookup" || c.name == "host") c.Host(op, "dns");  // the server operand
      continue;
    }
    c.Host(op, "");
  }
}

void Mail(Call& c) {
  bool sendmail = c.name == "sendmail" || c.name == "msmtp";
  bool mutt = c.name == "mutt" || c.name == "neomutt";
  Args args = ParseArgs(c.argv, 1,
                        sendmail ? OptionSpec{"fFoOBCNRVXLhpqr", "", false, "", false}
                                 : OptionSpec{mutt ? "sacbFHiefmQ" : "sacbrqfAS", "subject,attach,cc,bcc,from", false, "", false});
  if (sendmail && args.Has("t")) c.Unknown("recipients from message", c.argv[0].raw);
  for (const Field* file : args.Values(sendmail ? "C" : (mutt ? "a,F,H,i" : "q,A,attach"))) c.Read(*file, "attachment");
  if (!mutt) {
    for (const Field* file : args.Values("a")) {
      if (c.name == "mail" || c.name == "mailx" || c.name == "s-nail") c.Read(*file, "attachment");
    }
  }
  for (const Field* log : args.Values(sendmail ? "X" : "")) c.Write(*log, "log");
  for (const Field* address : args.Values(sendmail ? "" : "c,b,cc,bcc")) {
    std::string_view list = address->text;
    std::size_t pos = 0;
    while (pos <= list.size()) {
      std::size_t end = list.find(',', pos);
      if (end == std::string_view::npos) end = list.size();
      std::string_view one = list.substr(pos, end - pos);
      while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
      if (!one.empty()) c.interp.sink().AddEmail(one);
      pos = end + 1;
    }
  }
  for (const Field& op : args.operands) {
    if (op.dynamic) {
      c.Unknown("dynamic recipient", op.raw);
      continue;
    }
    if (op.text == "--") continue;
    if (mutt && LooksLikePath(op.text)) {
      c.Read(op, "attachment");
      continue;
    }
    c.interp.sink().AddEmail(op.text);
  }
}

// ---- git --------------------------------------------------------------------------------

bool DangerousGitConfig(std::string_view key_value) {
  std::string key = Lower(key_value.substr(0, key_value.find('=')));
  static constexpr std::string_view kDangerous[] = {
      "alias.", "sshcommand", "pager", "editor", "hookspath", "fsmonitor", "askpass", "proxycommand",
      "gitproxy", "credential", "external", "textconv", "program", "filter.", "protocol.", "url.",
      "include", "uploadpack", "receivepack", "mergetool", "difftool", "browser", "sendemail",
      "sshcommand", "core.worktree", "submodule.", "safe.directory", "exec"};
  return std::any_of(std::begin(kDangerous), std::end(kDangerous),
                     [&](std::string_view needle) { return key.find(needle) != std::string::npos; });
}

void GitRemote(Call& c, const Field& remote, std::string_view source) {
  if (remote.dynamic) {
    c.Unknown("dynamic host", remote.raw);
    return;
  }
  const std::string& t = remote.text;
  if (StartsWith(t, "ext::") || StartsWith(t, "fd::")) {
    c.Unknown("git transport runs a command", remote.raw);
    return;
  }
  if (auto url = ParseUrl(t)) {
    c.interp.sink().AddUrl(*url, t, source);
    return;
  }
  if (auto scp = ParseScpTarget(t)) {
    c.interp.sink().AddUrlText(t);
    c.interp.sink().AddHost(*scp, source);
    return;
  }
  if (LooksLikePath(t)) c.Read(remote, "repository");
  // A bare word is a configured remote name: its URL lives in .git/config.
}

void Git(Call& c) {
  // Only -C changes where git runs; everything after it reads the state and
  // never changes it, so the copy is made only when a -C needs one.
  std::optional<ShellState> moved;
  std::size_t i = 1;
  for (; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (field.dynamic || t.empty() || t[0] != '-') break;
    if (t == "-C" && i + 1 < c.argv.size()) {
      if (!moved) moved = c.state;
      c.interp.ChangeDirectory(&c.argv[++i], *moved);
    } else if ((t == "-c" || t == "--config-env") && i + 1 < c.argv.size()) {
      const Field& config = c.argv[++i];
      if (config.dynamic || DangerousGitConfig(config.text)) c.Unknown("git config runs a command", config.raw);
    } else if (StartsWith(t, "--config-env=")) {
      if (DangerousGitConfig(t.substr(13))) c.Unknown("git config runs a command", field.raw);
    } else if (StartsWith(t, "--exec-path=") || StartsWith(t, "--git-dir") || StartsWith(t, "--work-tree")) {
      if (StartsWith(t, "--exec-path=")) c.Unknown("git config runs a command", field.raw);
      if ((t == "--git-dir" || t == "--work-tree" || t == "--namespace") && i + 1 < c.argv.size()) ++i;
    } else if (t == "--namespace" || t == "--super-prefix" || t == "--list-cmds") {
      ++i;
    }
  }
  if (i >= c.argv.size()) return;
  ShellState& git_state = moved ? *moved : c.state;
  const Field& sub_field = c.argv[i];
  if (sub_field.dynamic) {
    c.Unknown("dynamic git command", sub_field.raw);
    return;
  }
  std::string sub = sub_field.text;
  Call at_dir{c.interp, c.argv, git_state, c.ctx, c.name};
  std::string source = "git " + sub;
  if (sub == "clone" || sub == "submodule") {
    std::size_t start = i + 1;
    if (sub == "submodule") {
      if (start >= c.argv.size() || c.argv[start].text != "add") return;
      ++start;
    }
    Args args = ParseArgs(c.argv, start,
                          {"obcujf", "origin,branch,config,upload-pack,template,reference,reference-if-able,"
                                     "separate-git-dir,depth,shallow-since,shallow-exclude,jobs,filter,server-option,"
                                     "bundle-uri,name",
                           false, "", false});
    for (const Field* config : args.Values("c,config")) {
      if (config->dynamic || DangerousGitConfig(config->text)) c.Unknown("git config runs a command", config->raw);
    }
    if (args.Has("u,upload-pack")) c.Unknown("git config runs a command", "--upload-pack");
    for (const Field* dir : args.Values("template,reference,reference-if-able")) at_dir.Read(*dir, "template");
    for (const Field* dir : args.Values("separate-git-dir")) at_dir.Write(*dir, "git dir");
    if (args.operands.empty()) return;
    GitRemote(at_dir, args.operands[0], source);
    if (args.operands.size() > 1) {
      at_dir.Write(args.operands[1], "directory");
    } else if (!args.operands[0].dynamic) {
      std::string repo = args.operands[0].text;
      while (!repo.empty() && repo.back() == '/') repo.pop_back();
      std::string name(BaseName(repo));
      std::size_t colon = name.rfind(':');
      if (colon != std::string::npos) name = name.substr(colon + 1);
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0) name.resize(name.size() - 4);
      if (!name.empty()) at_dir.Write(Literal(name), "directory");
    }
    return;
  }
  if (sub == "fetch" || sub == "pull" || sub == "push" || sub == "ls-remote" || sub == "archive") {
    Args args = ParseArgs(c.argv, i + 1, {"ojo", "upload-pack,receive-pack,exec,remote,output,depth,jobs,server-option,push-option,repo",
                                          false, "", false});
    if (args.Has("upload-pack,receive-pack,exec")) c.Unknown("git config runs a command", sub_field.raw);
    for (const Field* out : args.Values("o,output")) at_dir.Write(*out, "--output");
    for (const Field* remote : args.Values("remote,repo")) GitRemote(at_dir, *remote, source);
    if (!args.operands.empty() && sub != "archive") GitRemote(at_dir, args.operands[0], source);
    return;
  }
  if (sub == "remote") {
    Args args = ParseArgs(c.argv, i + 1, {"tm", "", false, "", false});
    if (args.operands.size() >= 3 && (args.operands[0].text == "add" || args.operands[0].text == "set-url")) {
      GitRemote(at_dir, args.operands.back(), source);
    }
    return;
  }
  if (sub == "config") {
    Args args = ParseArgs(c.argv, i + 1, {"f", "file,blob,default,type,comment", false, "", false});
    for (const Field* file : args.Values("f,file")) at_dir.Write(*file, "config");
    if (args.operands.size() >= 2 && (args.operands[0].dynamic || DangerousGitConfig(args.operands[0].text))) {
      c.Unknown("git config runs a command", args.operands[0].raw);
    }
    return;
  }
  if (sub == "rm" || sub == "mv") {
    Args args = ParseArgs(c.argv, i + 1, {"", "", false, "", false});
    for (const Field& op : args.operands) at_dir.Write(op);
    return;
  }
  if (sub == "apply" || sub == "am") {
    Args args = ParseArgs(c.argv, i + 1, {"p", "directory,exclude,include,whitespace", false, "", false});
    for (const Field& op : args.operands) at_dir.Read(op, "patch");
    return;
  }
  // Other subcommands: the generic scan (path-looking arguments are reads).
  Call scan{c.interp, c.argv, git_state, c.ctx, c.name};
  ScanArguments(scan, i + 1);
}

// ---- interpreters ------------------------------------------------------------------------

void Interpreter(Call& c) {
  std::string_view n = c.name;
  bool python = StartsWith(n, "python") || n == "pypy" || n == "pypy3";
  bool node = n == "node" || n == "nodejs";
  bool perl = n == "perl";
  bool ruby = n == "ruby";
  bool php = StartsWith(n, "php");
  // Options whose value is code, and options that take some other value.
  std::string_view code_opts = python ? "c" : node ? "e,p,eval,print" : perl ? "e,E" : ruby ? "e" : php ? "r,R,B,E" : "e";
  std::string_view value_short = python ? "cmWXQ" : node ? "eprC" : perl ? "eEIMmlxdD" : ruby ? "eIrCEFKTWx" : php ? "rRBEfcdzSt" : "elv";
  std::string_view value_long = node ? "eval,print,require,import,input-type,loader,experimental-loader,conditions,env-file,title,inspect-port,max-old-space-size" : "";
  bool has_code = false;
  bool module = false;
  std::size_t i = 1;
  for (; i < c.argv.size(); ++i) {
    const Field& field = c.argv[i];
    const std::string& t = field.text;
    if (field.dynamic || t.size() < 2 || t[0] != '-') break;
    if (t == "--") {
      ++i;
      break;
    }
    std::string name;
    Field value;
    bool has_value = false;
    if (StartsWith(t, "--")) {
      std::size_t eq = t.find('=');
      name = t.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) {
        value = Subfield(field, eq + 1);
        has_value = true;
      } else if (InList(value_long, name) && i + 1 < c.argv.size()) {
        value = c.argv[++i];
        has_value = true;
      }
    } else {
      for (std::size_t k = 1; k < t.size(); ++k) {
        if (value_short.find(t[k]) != std::string_view::npos) {
          name = std::string(1, t[k]);
          if (k + 1 < t.size()) {
            value = Subfield(field, k + 1);
            has_value = true;
          } else if (i + 1 < c.argv.size()) {
            value = c.argv[++i];
            has_value = true;
          }
          break;
        }
      }
    }
    if (!has_value) continue;
    if (InList(code_opts, name)) {
      has_code = true;
      c.ScanCode(value);
      if (python) {
        ++i;
        break;  // the rest are sys.argv
      }
    } else if (python && name == "m") {
      module = true;
      ++i;
      break;
    } else if ((php && (name == "f" || name == "c")) || (node && (name == "env-file"))) {
      c.Read(value, "-" + name);
    } else if (ruby && name == "C") {
      c.interp.ChangeDirectory(&value, c.state);
    } else if (node && (name == "r" || name == "require" || name == "import")) {
      if (LooksLikePath(value.text)) c.Read(value, "--require");
    }
  }
  if (has_code || module) {
    ScanArguments(c, i);
    return;
  }
  if (i < c.argv.size() && c.argv[i].text != "-") {
    c.Read(c.argv[i], "script");
    ScanArguments(c, i + 1);
    return;
  }
  if (c.ctx.stdin_kind == StdinKind::kHereDoc && c.ctx.stdin_static) {
    c.ScanCode(Literal(c.ctx.stdin_text));
    return;
  }
  c.Unknown("interpreter reads code from stdin", c.name);
}

// ---- dispatch ----------------------------------------------------------------------------

using Handler = void (*)(Call&);

const std::unordered_map<std::string_view, Handler>& Handlers() {
  static const auto* handlers = [] {
    auto* map = new std::unordered_map<std::string_view, Handler>();
    for (std::string_view n : {"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "yash", "fish", "rbash", "pdksh", "tcsh", "csh"}) {
      (*map)[n] = Shell;
    }
    (*map)["eval"] = Eval;
    (*map)["source"] = Source;
    (*map)["."] = Source;
    for (std::string_view n : {"cd", "pushd", "popd", "chdir"}) (*map)[n] = ChangeDir;
    for (std::string_view n : {"export", "declare", "typeset", "local", "readonly"}) (*map)[n] = Declare;
    (*map)["unset"] = Unset;
    for (std::string_view n : {"read", "mapfile", "readarray", "getopts", "printf", "let"}) {
      (*map)[n] = AssigningBuiltin;
    }
    (*map)["alias"] = Alias;
    (*map)["trap"] = Trap;
    (*map)["exec"] = Exec;
    (*map)["command"] = CommandBuiltin;
    for (std::string_view n : {"builtin", "nohup", "setsid", "busybox", "caffeinate", "catchsegv", "coproc"}) {
      (*map)[n] = SimpleWrapper;
    }
    (*map)["time"] = Time;
    (*map)["nice"] = Nice;
    (*map)["timeout"] = Timeout;
    (*map)["gtimeout"] = Timeout;
    (*map)["stdbuf"] = Stdbuf;
    (*map)["ionice"] = Ionice;
    (*map)["chrt"] = PriorityWrapper;
    (*map)["taskset"] = PriorityWrapper;
    (*map)["sudo"] = Sudo;
    (*map)["doas"] = Sudo;
    (*map)["env"] = Env;
    (*map)["xargs"] = Xargs;
    (*map)["chroot"] = Chroot;
    (*map)["flock"] = Flock;
    (*map)["watch"] = Watch;
    (*map)["su"] = Su;
    (*map)["script"] = ScriptCommand;
    (*map)["systemd-run"] = SystemdRun;
    (*map)["at"] = At;
    (*map)["batch"] = At;
    (*map)["parallel"] = Parallel;
    (*map)["runuser"] = Su;
    (*map)["strace"] = Tracer;
    (*map)["ltrace"] = Tracer;
    (*map)["unshare"] = Namespaces;
    (*map)["nsenter"] = Namespaces;
    (*map)["find"] = Find;
    (*map)["chmod"] = Chmod;
    (*map)["chown"] = Chmod;
    (*map)["chgrp"] = Chmod;
    (*map)["cp"] = Copy;
    (*map)["mv"] = Copy;
    (*map)["install"] = Copy;
    (*map)["ln"] = Link;
    (*map)["dd"] = Dd;
    (*map)["tar"] = Tar;
    (*map)["bsdtar"] = Tar;
    (*map)["unzip"] = Unzip;
    (*map)["zip"] = Zip;
    for (std::string_view n : {"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "pcregrep"}) (*map)[n] = Grep;
    (*map)["sed"] = Sed;
    (*map)["gsed"] = Sed;
    for (std::string_view n : {"awk", "gawk", "mawk", "nawk"}) (*map)[n] = Awk;
    (*map)["jq"] = Jq;
    (*map)["curl"] = Curl;
    (*map)["wget"] = Wget;
    for (std::string_view n : {"http", "https", "xh", "xhs"}) (*map)[n] = Httpie;
    (*map)["aria2c"] = Aria2c;
    (*map)["ssh"] = Ssh;
    (*map)["scp"] = Scp;
    (*map)["sftp"] = Scp;
    (*map)["rsync"] = Rsync;
    for (std::string_view n : {"nc", "ncat", "netcat"}) (*map)[n] = Netcat;
    (*map)["telnet"] = Telnet;
    (*map)["socat"] = Socat;
    for (std::string_view n : {"ping", "ping6", "traceroute", "tracepath", "mtr", "nslookup", "dig", "host",
                               "whois", "drill", "arping", "fping"}) {
      (*map)[n] = Resolver;
    }
    for (std::string_view n : {"mail", "mailx", "s-nail", "sendmail", "msmtp", "mutt", "neomutt"}) (*map)[n] = Mail;
    (*map)["git"] = Git;
    for (std::string_view n : {"python", "python2", "python3", "pypy", "pypy3", "node", "nodejs", "perl", "ruby",
                               "php", "lua", "luajit", "Rscript", "osascript"}) {
      (*map)[n] = Interpreter;
    }
    // Programs whose arguments are never paths or hosts.
    for (std::string_view n : {"echo", "true", "false", ":", "sleep", "date", "pwd", "whoami", "id", "uname",
                               "hostname", "set", "shopt", "wait", "jobs", "type", "which", "hash", "return",
                               "exit", "break", "continue", "shift", "umask", "ulimit", "kill", "seq", "yes",
                               "expr", "basename", "dirname"}) {
      (*map)[n] = [](Call&) {};
    }
    return map;
  }();
  return *handlers;
}

}  // namespace

void AnalyzeProgram(ShellInterpreter& interpreter, const std::vector<Field>& argv, ShellState& state,
                    const CommandContext& ctx) {
  if (argv.empty()) return;
  std::string_view program = argv[0].text;
  std::string_view name = BaseName(program);
  Call call{interpreter, argv, state, ctx, name};
  if (name.empty()) {
    ScanArguments(call, 1);
    return;
  }
  const auto& handlers = Handlers();
  auto it = handlers.find(name);
  if (it == handlers.end() && StartsWith(name, "python")) it = handlers.find("python");
  if (it == handlers.end() && StartsWith(name, "php")) it = handlers.find("php");
  if (it != handlers.end()) {
    it->second(call);
    return;
  }
  for (const FileProgram& file_program : kFilePrograms) {
    if (file_program.name == name) {
      FileProgramEffects(call, file_program);
      return;
    }
  }
  ScanArguments(call, 1);
}

}  // namespace toolgate::effects
