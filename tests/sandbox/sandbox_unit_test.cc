#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "sandbox/doctor.h"
#include "sandbox/forward.h"
#include "sandbox/landlock.h"
#include "sandbox/launcher.h"
#include "sandbox/seccomp.h"
#include "toolgate/policy.h"

using namespace toolgate;
using namespace toolgate::sandbox;

namespace {

PolicyLoadResult Load(const std::string& profiles) {
  PolicyLoadOptions options;
  options.home = "/home/dev";
  return LoadPolicyText(R"({"toolgate_policy": 1, "profiles": )" + profiles + "}", "p.json", options);
}

bool HasErrorAt(const PolicyLoadResult& r, const std::string& json_path) {
  for (const PolicyDiagnostic& d : r.diagnostics) {
    if (d.severity == PolicyDiagnostic::Severity::kError && d.json_path == json_path) return true;
  }
  return false;
}

// What a real bash makes of a command line: its words, NUL-separated.
std::vector<std::string> BashWords(const std::string& line) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    const std::string script = "set -- " + line + "\nprintf '%s\\0' \"$@\"";
    ::execl("/bin/bash", "bash", "--noprofile", "--norc", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::vector<std::string> words;
  std::size_t start = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\0') {
      words.push_back(out.substr(start, i - start));
      start = i + 1;
    }
  }
  return words;
}

}  // namespace

TEST_CASE("a profile's sandbox object is read, inherited per key, and carries the fs grants") {
  PolicyLoadResult r = Load(R"({
    "base": {"fs": {"read": ["/usr/**"], "write": ["${cwd}/**"], "deny": ["~/.ssh/**"], "ask": ["/etc/**"]},
             "sandbox": {"tier": "namespace", "network": "none", "timeout_s": 30,
                         "limits": {"processes": 10}, "env": ["PATH"],
                         "credentials": {"GH_TOKEN": {"from_env": "GITHUB_TOKEN"}}}},
    "child": {"extends": "base", "sandbox": {"shell": "sandboxed", "limits": {"memory_mb": 512}}},
    "plain": {}
  })");
  for (const PolicyDiagnostic& d : r.diagnostics) MESSAGE(FormatDiagnostic(d));
  REQUIRE(r.ok());
  const SandboxProfile* child = r.policy->SandboxFor("child");
  REQUIRE(child != nullptr);
  CHECK(child->tier == SandboxTier::kNamespace);
  CHECK(child->shell_sandboxed);
  CHECK(child->timeout_s == 30);
  CHECK(child->limits.memory_mb == 512);
  CHECK(child->limits.processes == 10);  // each limit is inherited on its own
  CHECK(child->env == std::vector<std::string>{"PATH"});
  REQUIRE(child->credentials.count("GH_TOKEN") == 1);
  CHECK(child->credentials.at("GH_TOKEN").from_env == "GITHUB_TOKEN");
  CHECK(child->fs_read == std::vector<std::string>{"/usr/**"});
  CHECK(child->fs_write == std::vector<std::string>{"${cwd}/**"});
  CHECK(child->fs_deny == std::vector<std::string>{"/home/dev/.ssh/**"});
  const SandboxProfile* plain = r.policy->SandboxFor("plain");
  REQUIRE(plain != nullptr);
  CHECK(plain->tier == SandboxTier::kAuto);
  CHECK_FALSE(plain->shell_sandboxed);
  CHECK(plain->network == SandboxNetwork::kNone);
  CHECK(r.policy->SandboxFor("missing") == nullptr);
}

TEST_CASE("bad sandbox objects are located errors") {
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"tier": "vm"}}})"), "/profiles/p/sandbox/tier"));
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"netwrok": "none"}}})"), "/profiles/p/sandbox/netwrok"));
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"timeout_s": 0}}})"), "/profiles/p/sandbox/timeout_s"));
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"limits": {"cpu": 1}}}})"), "/profiles/p/sandbox/limits/cpu"));
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"env": ["A=B"]}}})"), "/profiles/p/sandbox/env/0"));
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"credentials": {"T": {"from_env": "X", "from_file": "/f"}}}}})"),
                   "/profiles/p/sandbox/credentials/T"));
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"credentials": {"T": {"from_file": "rel"}}}}})"),
                   "/profiles/p/sandbox/credentials/T/from_file"));
  CHECK(HasErrorAt(Load(R"({"p": {"sandbox": {"credentials": {"BAD-NAME": {"from_env": "X"}}}}})"),
                   "/profiles/p/sandbox/credentials/BAD-NAME"));
}

TEST_CASE("Landlock paths: a glob widens to its literal directory prefix, never to /") {
  CHECK(LandlockPathForScope("/usr/**", "/w") == "/usr");
  CHECK(LandlockPathForScope("/usr/lib/*.so", "/w") == "/usr/lib");
  CHECK(LandlockPathForScope("/etc/shadow*", "/w") == "/etc");
  CHECK(LandlockPathForScope("/dev/null", "/w") == "/dev/null");
  CHECK(LandlockPathForScope("${cwd}/**", "/home/dev/p") == "/home/dev/p");
  CHECK(LandlockPathForScope("${cwd}/src/**", "/home/dev/p") == "/home/dev/p/src");
  CHECK(LandlockPathForScope("${cwd}/**", "") == "");
  CHECK(LandlockPathForScope("/**/.env", "/w") == "");
  CHECK(LandlockPathForScope("/*", "/w") == "");
  CHECK(LandlockPathForScope("/**", "/w") == "/");
}

TEST_CASE("tier choice never downgrades") {
  HostSupport all;
  all.process_tier = all.namespace_tier = true;
  HostSupport process_only;
  process_only.process_tier = true;
  process_only.namespace_missing = "user namespaces (unshare: Operation not permitted)";
  HostSupport none;
  none.process_missing = none.namespace_missing = "Landlock";
  CHECK(*ChooseTier(SandboxTier::kAuto, SandboxTier::kAuto, all) == SandboxTier::kNamespace);
  CHECK(*ChooseTier(SandboxTier::kAuto, SandboxTier::kAuto, process_only) == SandboxTier::kProcess);
  CHECK(*ChooseTier(SandboxTier::kProcess, SandboxTier::kNamespace, all) == SandboxTier::kNamespace);
  const Result<SandboxTier> weaker = ChooseTier(SandboxTier::kNamespace, SandboxTier::kProcess, all);
  REQUIRE_FALSE(weaker.ok());
  const Result<SandboxTier> missing = ChooseTier(SandboxTier::kNamespace, SandboxTier::kAuto, process_only);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("user namespaces") != std::string::npos);
  CHECK_FALSE(ChooseTier(SandboxTier::kAuto, SandboxTier::kAuto, none).ok());
}

TEST_CASE("the seccomp program builds") {
  for (const bool inet : {false, true}) {
    SeccompOptions o;
    o.deny_inet_sockets = inet;
    o.deny_non_stream_inet = !inet;
    Result<SeccompProgram> p = BuildSeccompProgram(o);
    REQUIRE(p.ok());
    CHECK(p->instructions.size() > 20);
  }
}

TEST_CASE("SharedSeccompProgram builds each option set once and keeps the options apart") {
  SeccompOptions none;
  none.deny_inet_sockets = true;
  none.deny_unix_sockets = true;
  SeccompOptions proxy;
  proxy.deny_non_stream_inet = true;
  proxy.deny_unix_sockets = true;
  auto a = SharedSeccompProgram(none);
  auto b = SharedSeccompProgram(none);
  auto c = SharedSeccompProgram(proxy);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->get() == b->get());  // built once
  CHECK(a->get() != c->get());  // another option set, another program
  // The shared program is exactly what a fresh build gives.
  Result<SeccompProgram> fresh = BuildSeccompProgram(none);
  REQUIRE(fresh.ok());
  REQUIRE(fresh->instructions.size() == (*a)->instructions.size());
  bool same = true;
  for (std::size_t i = 0; i < fresh->instructions.size(); ++i) {
    const sock_filter& x = fresh->instructions[i];
    const sock_filter& y = (*a)->instructions[i];
    same = same && x.code == y.code && x.jt == y.jt && x.jf == y.jf && x.k == y.k;
  }
  CHECK(same);
}

TEST_CASE("WrapCommandForSandbox quotes every hostile command into one word") {
  ForwardOptions o;
  o.toolgate_path = "/usr/local/bin/toolgate";
  o.policy_path = "/etc/toolgate/policy.json";
  o.agent_id = "claude-dev";
  const std::vector<std::string> hostile = {
      "echo hi",
      "echo 'single' \"double\" `backtick` $(id) ${HOME} $HOME",
      "a'b''c'''",
      "'; rm -rf / #",
      "line1\nline2\n'\n",
      "echo \\' \\\\ \\n",
      "*; ?; [a]; {a,b}; ~root",
      "x' ; touch /tmp/pwned ; echo '",
      "$'\\x27' && echo",
      "",
      "ünïcödé ✓",
      "-c",
      "--",
  };
  for (const std::string& cmd : hostile) {
    const std::string wrapped = WrapCommandForSandbox(cmd, o);
    REQUIRE_FALSE(wrapped.empty());
    const std::vector<std::string> words = BashWords(wrapped);
    const std::vector<std::string> expected = {"/usr/local/bin/toolgate", "run", "--policy", "/etc/toolgate/policy.json",
                                               "--agent", "claude-dev", "--", "/bin/bash", "-c", cmd};
    CHECK(words == expected);
  }
  // Options are quoted too.
  o.agent_id = "a'; id; '";
  CHECK(BashWords(WrapCommandForSandbox("true", o))[5] == "a'; id; '");
}

TEST_CASE("WrapCommandForSandbox refuses what cannot be passed safely") {
  ForwardOptions o;
  o.toolgate_path = "/usr/bin/toolgate";
  o.profile = "developer";
  CHECK(WrapCommandForSandbox(std::string("echo a\0b", 8), o).empty());  // NUL: bash would truncate
  CHECK(WrapCommandForSandbox("echo \xff\xfe", o).empty());              // invalid UTF-8
  ForwardOptions relative = o;
  relative.toolgate_path = "toolgate";
  CHECK(WrapCommandForSandbox("true", relative).empty());
  ForwardOptions nobody = o;
  nobody.profile = "";
  CHECK(WrapCommandForSandbox("true", nobody).empty());
  CHECK(BashWords(WrapCommandForSandbox("true", o)) ==
        std::vector<std::string>{"/usr/bin/toolgate", "run", "--profile", "developer", "--", "/bin/bash", "-c", "true"});
}

TEST_CASE("ProfileRunsShellSandboxed follows the agent's profile") {
  PolicyLoadOptions options;
  PolicyLoadResult r = LoadPolicyText(R"({"toolgate_policy": 1, "default_profile": "ro",
    "agents": {"dev": {"profile": "dev"}},
    "profiles": {"dev": {"sandbox": {"shell": "sandboxed"}}, "ro": {}}})", "p.json", options);
  REQUIRE(r.ok());
  CHECK(ProfileRunsShellSandboxed(*r.policy, "dev"));
  CHECK_FALSE(ProfileRunsShellSandboxed(*r.policy, "someone-else"));
}

TEST_CASE("lint warns about sandbox settings that cannot work as written") {
  char path[] = "/tmp/tg-lint-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path) << R"({"toolgate_policy": 1, "default_profile": "p",
    "profiles": {"p": {"fs": {"read": ["**/*.md", "/usr/**"]}, "sandbox": {"shell": "sandboxed", "network": "proxy"}}}})";
  const std::vector<PolicyDiagnostic> d = LintPolicyFile(path);
  ::unlink(path);
  const auto has = [&](const std::string& lint, const std::string& json_path) {
    for (const PolicyDiagnostic& x : d) {
      if (x.lint == lint && x.json_path == json_path) return true;
    }
    return false;
  };
  CHECK(has("sandbox_proxy_without_hosts", "/profiles/p/sandbox"));
  CHECK(has("sandbox_scope_not_granted", "/profiles/p/fs/read/0"));
  CHECK_FALSE(has("sandbox_scope_not_granted", "/profiles/p/fs/read/1"));
}

namespace {

// A stand-in for the egress proxy: answers one line per connection with
// "PONG <line>", on a Unix socket or a loopback TCP port.
class StubProxy {
 public:
  explicit StubProxy(const ProxyStartRequest& request) {
    if (!request.unix_socket_path.empty()) {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", request.unix_socket_path.c_str());
      ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    } else {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      socklen_t len = sizeof addr;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
      address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    }
    ok_ = ok_ && ::listen(fd_, 8) == 0;
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[256];
        const ssize_t n = ::read(c, buf, sizeof buf - 1);
        if (n > 0) {
          const std::string reply = "PONG " + std::string(buf, static_cast<std::size_t>(n));
          (void)!::write(c, reply.data(), reply.size());
        }
        ::close(c);
      }
    });
  }
  ~StubProxy() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  bool ok() const { return ok_; }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string address_;
  std::thread thread_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("network proxy: the sandbox reaches the proxy and nothing else") {
  const HostSupport host = ProbeHost();
  char dir[] = "/tmp/tg-proxy-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  SandboxProfile sb;
  sb.network = SandboxNetwork::kProxy;
  sb.fs_read = {"/usr/**", "/etc/**"};
  sb.fs_write = {"${cwd}/**"};
  sb.timeout_s = 20;
  std::unique_ptr<StubProxy> stub;
  std::string asked_socket;
  char path_env[] = "PATH=/usr/bin:/bin";
  char* env[] = {path_env, nullptr};
  // Connects to the proxy URL it was given, then (process tier) to another
  // loopback port, which Landlock must refuse.
  const std::string script =
      "u=${HTTP_PROXY#http://}; h=${u%:*}; p=${u##*:};"
      "{ exec 3<>/dev/tcp/$h/$p && echo hello >&3 && read -r line <&3 && echo \"$line\"; } > out.txt 2>&1;"
      "{ exec 4<>/dev/tcp/127.0.0.1/9; } 2>/dev/null && echo direct-ok >> out.txt || echo direct-refused >> out.txt";
  for (const SandboxTier tier : {SandboxTier::kProcess, SandboxTier::kNamespace}) {
    if (tier == SandboxTier::kNamespace && !host.namespace_tier) continue;
    CAPTURE(SandboxTierName(tier));
    LaunchOptions o;
    o.tier = tier;
    o.sandbox = &sb;
    o.cwd = dir;
    o.argv = {"/bin/bash", "-c", script};
    o.environ = env;
    o.proxy_starter = [&](const ProxyStartRequest& request) -> Result<ProxyEndpoint> {
      asked_socket = request.unix_socket_path;
      stub = std::make_unique<StubProxy>(request);
      if (!stub->ok()) return Error{ErrorCode::kInternal, "stub proxy did not start", ""};
      ProxyEndpoint endpoint;
      endpoint.tcp_address = stub->address();
      endpoint.stop = [&stub] { stub.reset(); };
      return endpoint;
    };
    Result<int> rc = RunSandboxed(o);
    REQUIRE(rc.ok());
    CHECK(*rc == 0);
    const std::string out = ReadFile(std::string(dir) + "/out.txt");
    CHECK(out == "PONG hello\ndirect-refused\n");
    CHECK(stub == nullptr);  // stopped with the sandbox
    if (tier == SandboxTier::kNamespace) CHECK(::access(asked_socket.c_str(), F_OK) != 0);  // cleaned up
  }
  std::remove((std::string(dir) + "/out.txt").c_str());
  ::rmdir(dir);
}

TEST_CASE("SandboxedToolInput rewrites only the command") {
  ForwardOptions o;
  o.toolgate_path = "/usr/bin/toolgate";
  o.policy_path = "/etc/toolgate.json";
  o.agent_id = "codex";
  const nlohmann::json input = {{"command", "ls -la; echo 'x'"}, {"description", "list"}, {"timeout", 5}};
  const std::optional<nlohmann::json> out = SandboxedToolInput(input, o);
  REQUIRE(out.has_value());
  CHECK((*out)["description"] == "list");
  CHECK((*out)["timeout"] == 5);
  CHECK(BashWords((*out)["command"].get<std::string>()).back() == "ls -la; echo 'x'");
  const nlohmann::json argv_input = {{"command", {"bash", "-lc", "echo $HOME"}}, {"workdir", "/w"}};
  const std::optional<nlohmann::json> argv_out = SandboxedToolInput(argv_input, o);
  REQUIRE(argv_out.has_value());
  CHECK((*argv_out)["command"] == nlohmann::json({"/usr/bin/toolgate", "run", "--policy", "/etc/toolgate.json", "--agent",
                                                  "codex", "--", "bash", "-lc", "echo $HOME"}));
  CHECK((*argv_out)["workdir"] == "/w");
  CHECK_FALSE(SandboxedToolInput({{"cmd", "ls"}}, o).has_value());
  CHECK_FALSE(SandboxedToolInput({{"command", 5}}, o).has_value());
  CHECK_FALSE(SandboxedToolInput({{"command", {"bash", 1}}}, o).has_value());
  CHECK_FALSE(SandboxedToolInput({{"command", std::string("a\0b", 3)}}, o).has_value());
}

TEST_CASE("repeated launches: each command runs in a pids cgroup of its own, removed afterwards") {
  const bool v1 = ::access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == 0;
  if (!v1) {
    MESSAGE("no writable v1 pids hierarchy here: skipped");
    return;
  }
  const HostSupport host = ProbeHost();
  char dir[] = "/tmp/tg-cgroup-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  SandboxProfile sb;
  sb.fs_read = {"/usr/**", "/etc/**", "/proc/**"};
  sb.fs_write = {"${cwd}/**"};
  sb.timeout_s = 20;
  char path_env[] = "PATH=/usr/bin:/bin";
  char* env[] = {path_env, nullptr};
  const std::string prefix = "toolgate-" + std::to_string(::getpid()) + "-";
  std::vector<std::string> seen;
  // From the second launch on, cgroups are made ahead and removed on a background thread.
  for (int i = 0; i < 4; ++i) {
    for (const SandboxTier tier : {SandboxTier::kProcess, SandboxTier::kNamespace}) {
      if (tier == SandboxTier::kNamespace && !host.namespace_tier) continue;
      CAPTURE(SandboxTierName(tier));
      CAPTURE(i);
      LaunchOptions o;
      o.tier = tier;
      o.sandbox = &sb;
      o.cwd = dir;
      o.argv = {"/bin/sh", "-c", "grep :pids: /proc/self/cgroup > cg.txt"};
      o.environ = env;
      Result<int> rc = RunSandboxed(o);
      REQUIRE(rc.ok());
      CHECK(*rc == 0);
      std::string line = ReadFile(std::string(dir) + "/cg.txt");
      const std::size_t at = line.find(prefix);
      REQUIRE_MESSAGE(at != std::string::npos, line);
      const std::string name = line.substr(at, line.find_first_of("\n", at) - at);
      CHECK(std::find(seen.begin(), seen.end(), name) == seen.end());  // never shared with an earlier launch
      seen.push_back(name);
      // Gone once the launch's cleanup ran (inline, or on the background thread soon after).
      const std::string cg = "/sys/fs/cgroup/pids/" + name;
      for (int wait = 0; wait < 200 && ::access(cg.c_str(), F_OK) == 0; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      CHECK_MESSAGE(::access(cg.c_str(), F_OK) != 0, cg);
    }
  }
  std::remove((std::string(dir) + "/cg.txt").c_str());
  ::rmdir(dir);
}
