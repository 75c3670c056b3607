// toolgate-hook: the fast hook shim. Same options and answers as
// `toolgate hook`, in a small static binary that starts in a fraction of the
// time: it reads the client's input, asks the daemon (`toolgate serve`) and
// answers in the client's dialect. When no daemon is there, it execs the full
// `toolgate hook` (beside it, or $TOOLGATE_BIN) with the input it already read
// on stdin, so in-process judging is exactly that of `toolgate hook`. Anything
// it does not understand itself (usage errors, --help, --no-daemon) goes to
// the full binary too, which answers it the way it always does.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "hooks/adapter.h"
#include "hooks/hook_front.h"
#include "util/fd_io.h"

namespace {

using toolgate::Client;
using toolgate::WriteAll;
namespace hooks = toolgate::hooks;

int Emit(const hooks::HookOutput& out) {
  WriteAll(STDOUT_FILENO, out.stdout_text);
  if (!out.stderr_text.empty()) WriteAll(STDERR_FILENO, out.stderr_text);
  return out.exit_code;
}

std::string Absolute(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
}

// The full toolgate binary: $TOOLGATE_BIN, else `toolgate` in this binary's directory.
std::string FullToolgatePath() {
  if (const char* env = std::getenv("TOOLGATE_BIN"); env != nullptr && *env != '\0') return Absolute(env);
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string self(buf, static_cast<std::size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "toolgate";
}

// Puts `input` on stdin (a memory file, so a large input never blocks on a
// pipe) and replaces this process with `toolgate hook ARGS...`. Returns only
// on failure, with the reason.
std::string ExecFullHook(const std::string& toolgate, const std::vector<std::string>& args,
                         const std::optional<std::string>& input) {
  if (toolgate.empty()) return "the full toolgate binary cannot be located";
  if (input) {
    const int fd = ::memfd_create("toolgate-hook-input", 0);
    if (fd < 0) return std::string("memfd_create: ") + std::strerror(errno);
    std::size_t done = 0;
    while (done < input->size()) {
      const ssize_t n = ::write(fd, input->data() + done, input->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return std::string("writing the input for the full toolgate: ") + std::strerror(errno);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::lseek(fd, 0, SEEK_SET) != 0 || ::dup2(fd, STDIN_FILENO) < 0) {
      ::close(fd);
      return std::string("handing the input to the full toolgate: ") + std::strerror(errno);
    }
    ::close(fd);
  }
  std::vector<char*> argv;
  std::string arg0 = toolgate;
  std::string hook = "hook";
  argv.push_back(arg0.data());
  argv.push_back(hook.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(toolgate.c_str(), argv.data());
  return toolgate + " cannot be run: " + std::strerror(errno);
}

// Options the shim handles itself; nullopt: leave the whole invocation to the
// full binary (an unknown or repeated option, --help, --no-daemon, a bad value).
std::optional<hooks::HookOptions> ParseOptions(const std::vector<std::string>& args) {
  hooks::HookOptions o;
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    static const char* const kValued[] = {"--client", "--policy", "--agent", "--socket", "--log", "--log-key",
                                          "--timeout-ms"};
    bool known = false;
    for (const char* k : kValued) known = known || flag == k;
    if (!known) return std::nullopt;
    for (const std::string& s : seen) {
      if (s == flag) return std::nullopt;
    }
    seen.push_back(flag);
    if (!value) {
      if (i + 1 >= args.size()) return std::nullopt;
      value = args[++i];
    }
    if (flag == "--client") {
      o.client = toolgate::ClientFromName(*value);
      if (hooks::AdapterFor(o.client) == nullptr) return std::nullopt;
    } else if (flag == "--policy") {
      o.policy_path = value->empty() ? "" : Absolute(*value);
    } else if (flag == "--agent") {
      o.agent = *value;
    } else if (flag == "--socket") {
      o.socket_path = *value;
    } else if (flag == "--log") {
      o.log_path = *value;
    } else if (flag == "--log-key") {
      o.log_key_path = *value;
    } else {
      char* end = nullptr;
      const long ms = std::strtol(value->c_str(), &end, 10);
      if (end == value->c_str() || *end != '\0' || ms < 1 || ms > 600000) return std::nullopt;
      o.daemon_timeout = std::chrono::milliseconds(ms);
    }
  }
  if (!o.agent) {
    if (const char* env = std::getenv("TOOLGATE_AGENT"); env != nullptr && *env != '\0') o.agent = env;
  }
  return o;
}

int Run(const std::vector<std::string>& args) {
  const std::string toolgate = FullToolgatePath();
  std::optional<hooks::HookOptions> options = ParseOptions(args);
  if (!options) {
    // Not read yet: the full binary reads stdin (or reports the usage error) itself.
    const std::string why = ExecFullHook(toolgate, args, std::nullopt);
    return Emit(hooks::FailedRun(Client::kUnknown, "toolgate's hook could not run, so every call is blocked: " + why)
                    .output);
  }
  options->toolgate_path = toolgate;

  const std::string input = toolgate::ReadBounded(STDIN_FILENO, hooks::kMaxHookInputBytes);
  hooks::ReadHook read = hooks::ReadHookInput(input, *options);
  if (read.adapter == nullptr) return Emit(read.failed.output);
  if (std::optional<hooks::HookAnswer> answer = hooks::AnswerViaDaemon(*options, read.parsed.calls, !read.parsed.context.can_ask)) {
    return Emit(read.adapter->Render(read.parsed.context, *answer));
  }
  // No daemon: the full binary judges in-process, from the same input.
  const std::string why = ExecFullHook(toolgate, args, input);
  return Emit(hooks::FailedRun(read.client, "toolgate could not judge this call, so it is blocked: no toolgate daemon "
                                            "is running and " + why)
                  .output);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return Run(args);
  } catch (const std::exception& e) {
    return Emit(hooks::FailedRun(Client::kUnknown,
                                 std::string("toolgate could not judge this call, so it is blocked: internal error: ") +
                                     e.what())
                    .output);
  } catch (...) {
    return Emit(
        hooks::FailedRun(Client::kUnknown, "toolgate could not judge this call, so it is blocked: internal error").output);
  }
}
