// toolgate hook-bench: the hook round trip as an agent client sees it, in one
// run on this host: spawn the hook command, write a Claude PreToolUse input on
// its stdin, read its answer, wait for it. Measured for the floor (a static
// program that only prints an allow), the fast shim toolgate-hook and
// `toolgate hook`, each with a daemon (`toolgate serve` on a temporary socket,
// started here) and without one, and for a Python and a Node hook that only
// parse the input and print an allow. The commands take turns, so a change in
// the machine's load hits them alike. Prints median and p90 per command and
// the ratio of the median to the floor's. Not a test: nothing is asserted.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli_io.h"
#include "commands.h"

extern char** environ;

namespace toolgate::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: toolgate hook-bench [--iterations N] [--shim PATH] [--floor PATH] [--compare-shim PATH]\n"
    "                           [--python-hook FILE] [--node-hook FILE]\n"
    "  Spawns each hook command N times (default 100) with a Claude PreToolUse input and reads its answer.\n"
    "  --shim / --floor: toolgate-hook and toolgate-hook-floor (default: beside this binary, or in the\n"
    "  build tree's tools/toolgate-hook/).\n"
    "  --compare-shim: another toolgate-hook build (an older one, say), measured with the daemon in the same turns.\n"
    "  --python-hook / --node-hook: run this script with python3 / node instead of the built-in hook that only\n"
    "  parses the input and prints an allow (it must answer the input, an allowed `git status`, with an allow).\n";

// The input every command gets: an allowed shell call, as Claude Code sends it.
constexpr const char* kInput =
    R"({"session_id":"b3c1e52f-7a1d-4c8e-b2a4-1d2e3f405162","transcript_path":"/tmp/t.jsonl","cwd":"/home/dev/project",)"
    R"("hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git status","description":"Show status"},)"
    R"("tool_use_id":"toolu_01"})";

constexpr const char* kPythonHook =
    "import json, sys\n"
    "json.load(sys.stdin)\n"
    "print(json.dumps({'hookSpecificOutput': {'hookEventName': 'PreToolUse', 'permissionDecision': 'allow'}},\n"
    "                 separators=(',', ':')))\n";

constexpr const char* kNodeHook =
    "let d = ''; process.stdin.on('data', c => d += c).on('end', () => { JSON.parse(d); "
    "console.log(JSON.stringify({hookSpecificOutput: {hookEventName: 'PreToolUse', permissionDecision: 'allow'}})); });";

struct Case {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // NAME=VALUE added to this environment
  std::vector<double> ms;
  std::string failure;  // "" while every answer was an allow
};

bool Executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

std::string Dirname(const std::string& path) { return path.substr(0, path.rfind('/') + 1); }

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string all = path;
  std::size_t start = 0;
  while (start <= all.size()) {
    const std::size_t end = std::min(all.find(':', start), all.size());
    const std::string candidate = all.substr(start, end - start) + "/" + name;
    if (end > start && Executable(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

// The interpreter python3 runs as (not a version manager's wrapper script in
// front of it, whose own start-up would be measured too); "" when none.
std::string PythonInterpreter() {
  if (FindInPath("python3").empty()) return "";
  FILE* p = ::popen("python3 -c 'import sys; print(sys.executable)' 2>/dev/null", "r");
  if (p == nullptr) return "";
  char buf[4096] = {};
  const bool read = std::fgets(buf, sizeof buf, p) != nullptr;
  ::pclose(p);
  std::string path = read ? std::string(buf) : std::string();
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  return Executable(path) && path[0] == '/' ? path : "";
}

// Beside this binary (installed), else the build tree's tools/toolgate-hook/.
std::string FindSibling(const std::string& self, const std::string& name) {
  const std::string dir = Dirname(self);
  for (const std::string& c : {dir + name, dir + "../toolgate-hook/" + name}) {
    if (Executable(c)) return c;
  }
  return "";
}

// One round trip: spawn, write the input, read the answer to EOF, reap. The
// time is wall clock from spawn to reap; the answer must be an allow.
std::optional<double> RoundTrip(Case* c, char** envp) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return std::nullopt;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return std::nullopt;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  // This process ignores SIGPIPE (the floor exits without reading its
  // input); the hook gets the default back, as a client would start it.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &pipe_only);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (std::string& a : c->argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  const Clock::time_point start = Clock::now();
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    c->failure = std::string("cannot start: ") + std::strerror(rc);
    return std::nullopt;
  }
  const std::string input = kInput;
  // The input fits a pipe buffer; a command that exits without reading it
  // (the floor) only makes this write fail with EPIPE, which is fine.
  [[maybe_unused]] const ssize_t w = ::write(in[1], input.data(), input.size());
  ::close(in[1]);
  std::string answer;
  char buf[4096];
  const Clock::time_point limit = start + std::chrono::seconds(30);
  for (;;) {
    pollfd p{out[0], POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      if (errno == EINTR) continue;
      ::kill(pid, SIGKILL);
      c->failure = "no answer within 30 s";
      break;
    }
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (answer.size() < 65536) answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!c->failure.empty()) return std::nullopt;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || answer.find("\"permissionDecision\":\"allow\"") == std::string::npos) {
    c->failure = "answer was not an allow: " + answer.substr(0, 200);
    return std::nullopt;
  }
  return ms;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Connects and pings until the daemon answers, for up to 10 s.
bool WaitForDaemon(const std::string& socket_path) {
  const Clock::time_point limit = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < limit) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path.c_str(), std::min(socket_path.size() + 1, sizeof addr.sun_path - 1));
    bool up = false;
    if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      const std::string ping = "{\"v\":1,\"id\":1,\"op\":\"ping\"}\n";
      char buf[512];
      pollfd p{fd, POLLIN, 0};
      up = ::write(fd, ping.data(), ping.size()) == static_cast<ssize_t>(ping.size()) && ::poll(&p, 1, 1000) == 1 &&
           ::read(fd, buf, sizeof buf) > 0;
    }
    if (fd >= 0) ::close(fd);
    if (up) return true;
    ::usleep(50 * 1000);
  }
  return false;
}

}  // namespace

int RunHookBench(const std::vector<std::string>& argv) {
  if (argv.size() == 1 && (argv[0] == "--help" || argv[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  Args args(argv, {"--iterations", "--shim", "--floor", "--compare-shim", "--python-hook", "--node-hook"}, {});
  if (!args.ok() || !args.positional().empty()) {
    std::cerr << "toolgate hook-bench: " << (args.ok() ? "unexpected argument " + args.positional()[0] : args.error())
              << "\n" << kUsage;
    return kExitUsage;
  }
  int iterations = 100;
  if (const auto n = args.value("--iterations")) {
    char* end = nullptr;
    const long v = std::strtol(n->c_str(), &end, 10);
    if (end == n->c_str() || *end != '\0' || v < 1 || v > 100000) {
      std::cerr << "toolgate hook-bench: --iterations needs a number from 1 to 100000\n" << kUsage;
      return kExitUsage;
    }
    iterations = static_cast<int>(v);
  }
  const std::string self = SelfExePath();
  const std::string shim = args.value("--shim").value_or(FindSibling(self, "toolgate-hook"));
  const std::string floor = args.value("--floor").value_or(FindSibling(self, "toolgate-hook-floor"));
  if (!Executable(floor)) {
    std::cerr << "toolgate hook-bench: the floor program toolgate-hook-floor was not found; give --floor PATH\n";
    return kExitFailure;
  }

  char tmpl[] = "/tmp/toolgate-hook-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::cerr << "toolgate hook-bench: mkdtemp: " << std::strerror(errno) << "\n";
    return kExitFailure;
  }
  const std::string dir = tmpl;
  const std::string sock = dir + "/toolgate.sock";
  const std::string no_sock = dir + "/nobody.sock";
  ::signal(SIGPIPE, SIG_IGN);
  const std::string py = PythonInterpreter();
  const std::string node = FindInPath("node");

  std::vector<Case> cases;
  cases.push_back({"floor (static, prints allow)", {floor}, {}, {}, ""});
  if (Executable(shim)) {
    // The shim execs the toolgate beside it; in the build tree that is this one.
    const std::vector<std::string> env = {"TOOLGATE_BIN=" + self};
    cases.push_back({"toolgate-hook, daemon", {shim, "--agent", "claude-dev", "--socket", sock}, env, {}, ""});
    cases.push_back({"toolgate-hook, no daemon", {shim, "--agent", "claude-dev", "--socket", no_sock}, env, {}, ""});
  }
  if (const auto other = args.value("--compare-shim")) {
    const std::vector<std::string> env = {"TOOLGATE_BIN=" + self};
    cases.push_back({"compared shim, daemon", {*other, "--agent", "claude-dev", "--socket", sock}, env, {}, ""});
  }
  cases.push_back({"toolgate hook, daemon", {self, "hook", "--agent", "claude-dev", "--socket", sock}, {}, {}, ""});
  cases.push_back({"toolgate hook, no daemon", {self, "hook", "--agent", "claude-dev", "--socket", no_sock}, {}, {}, ""});
  if (!py.empty()) {
    const auto script = args.value("--python-hook");
    cases.push_back(script ? Case{"python3 " + Basename(*script), {py, *script}, {}, {}, ""}
                           : Case{"python3 hook (prints allow)", {py, "-c", kPythonHook}, {}, {}, ""});
  }
  if (!node.empty()) {
    const auto script = args.value("--node-hook");
    cases.push_back(script ? Case{"node " + Basename(*script), {node, *script}, {}, {}, ""}
                           : Case{"node hook (prints allow)", {node, "-e", kNodeHook}, {}, {}, ""});
  }

  // The daemon, judging with the embedded default policy, decisions not logged.
  pid_t daemon = -1;
  {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> dargv = {self, "serve", "--socket", sock};
    std::vector<char*> a;
    for (std::string& s : dargv) a.push_back(s.data());
    a.push_back(nullptr);
    const int rc = ::posix_spawn(&daemon, a[0], &fa, nullptr, a.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0 || !WaitForDaemon(sock)) {
      std::cerr << "toolgate hook-bench: the daemon did not start\n";
      if (rc == 0) {
        ::kill(daemon, SIGTERM);
        ::waitpid(daemon, nullptr, 0);
      }
      ::rmdir(dir.c_str());
      return kExitFailure;
    }
  }

  std::vector<std::vector<std::string>> env_store(cases.size());
  std::vector<std::vector<char*>> envps(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    for (char** e = environ; *e != nullptr; ++e) {
      bool replaced = false;
      for (const std::string& x : cases[i].extra_env) {
        replaced = replaced || std::strncmp(*e, x.c_str(), x.find('=') + 1) == 0;
      }
      if (!replaced) env_store[i].push_back(*e);
    }
    for (const std::string& x : cases[i].extra_env) env_store[i].push_back(x);
    for (std::string& s : env_store[i]) envps[i].push_back(s.data());
    envps[i].push_back(nullptr);
  }

  const std::string load_before = LoadAverage();
  // Two warm-up rounds (page cache, the daemon's first connections), then turns.
  for (int round = -2; round < iterations; ++round) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (!cases[i].failure.empty()) continue;
      const std::optional<double> ms = RoundTrip(&cases[i], envps[i].data());
      if (ms && round >= 0) cases[i].ms.push_back(*ms);
    }
  }
  const std::string load_after = LoadAverage();
  ::kill(daemon, SIGTERM);
  ::waitpid(daemon, nullptr, 0);
  ::unlink(sock.c_str());
  ::rmdir(dir.c_str());

  const double floor_median = Percentile(cases[0].ms, 0.5);
  std::printf("hook round trip (spawn, Claude PreToolUse input on stdin, read the answer, reap), %d runs each\n",
              iterations);
  std::printf("load average before: %s, after: %s; %ld CPUs online\n", load_before.c_str(), load_after.c_str(),
              ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%-30s %10s %10s %12s\n", "command", "median ms", "p90 ms", "x floor");
  for (const Case& c : cases) {
    if (!c.failure.empty()) {
      std::printf("%-30s %s\n", c.name.c_str(), ("failed: " + c.failure).c_str());
      continue;
    }
    const double median = Percentile(c.ms, 0.5);
    std::printf("%-30s %10.3f %10.3f %11.2fx\n", c.name.c_str(), median, Percentile(c.ms, 0.9),
                floor_median > 0 ? median / floor_median : 0.0);
  }
  if (!Executable(shim)) std::printf("toolgate-hook not found (give --shim PATH): its rows are missing\n");
  if (py.empty()) std::printf("python3 not found in PATH: its row is missing\n");
  if (node.empty()) std::printf("node not found in PATH: its row is missing\n");
  return 0;
}

}  // namespace toolgate::cli
