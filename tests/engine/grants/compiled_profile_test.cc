// CompiledProfile semantics through a loaded policy: severity order, write
// implies read, defaults, inheritance order, grant provenance.
#include "grants/compiled_profile.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/cpu_time.h"
#include "toolgate/policy.h"

using namespace toolgate;

namespace {

std::shared_ptr<const Policy> Load(const std::string& text) {
  PolicyLoadOptions options;
  options.home = "/home/dev";
  PolicyLoadResult r = LoadPolicyText(text, "test.json", options);
  for (const auto& d : r.diagnostics) MESSAGE(FormatDiagnostic(d));
  REQUIRE(r.ok());
  return r.policy;
}

PathEffect Path(std::string path, PathAccess access) {
  PathEffect p;
  p.path = std::move(path);
  p.access = access;
  return p;
}

ExecEffect Exec(std::vector<std::string> argv) {
  ExecEffect e;
  e.program = argv[0];
  if (e.program[0] == '/') e.resolved = e.program;
  e.argv = std::move(argv);
  return e;
}

HostEffect Host(std::string host, int port = 443) {
  HostEffect h;
  h.host = std::move(host);
  h.port = port;
  return h;
}

constexpr const char* kPolicy = R"({
  "toolgate_policy": 1,
  "settings": {"trusted_bin_dirs": ["/usr/bin", "/bin"]},
  "default_profile": "dev",
  "agents": {"claude": {"profile": "dev"}, "ro": {"profile": "readonly"}},
  "profiles": {
    "base": {
      "default": "deny",
      "tools": {"allow": ["Read", "Grep"], "deny": ["mcp__danger__*"]},
      "fs": {"read": ["/usr/**"], "deny": ["**/.env", "~/.ssh/**"]},
      "network": {"deny": ["169.254.169.254", "10.0.0.0/8"]},
      "exec": {"deny": ["rm -rf /", "git push ** --force"]}
    },
    "readonly": {"extends": "base", "unknown_effects": "ask"},
    "dev": {
      "extends": ["base"],
      "tools": {"allow": ["*"], "ask": ["Bash"]},
      "fs": {"read": ["/etc/hosts"], "write": ["${cwd}/**", "/tmp/**"], "ask": ["/tmp/ask/**"]},
      "network": {"allow": ["*.github.com:443", "pypi.org", "*.corp.example"], "ask": ["*.github.com:80", "*.corp.example"]},
      "exec": {"allow": ["git", "ls", "/opt/tools/*"], "ask": ["git push"]}
    }
  }
})";

}  // namespace

TEST_CASE("profile selection") {
  auto policy = Load(kPolicy);
  std::string name;
  CHECK(policy->ProfileFor("claude", &name) == policy->ProfileNamed("dev"));
  CHECK(name == "dev");
  CHECK(policy->ProfileFor("ro", &name)->name() == "readonly");
  CHECK(policy->ProfileFor("someone-else", &name)->name() == "dev");
  CHECK(policy->ProfileNamed("nope") == nullptr);
  CHECK(policy->ProfileNames() == std::vector<std::string>{"base", "dev", "readonly"});
  CHECK(policy->digest().rfind("sha256:", 0) == 0);
  CHECK(policy->digest().size() == 7 + 64);
  CHECK(policy->settings().home == "/home/dev");
  CHECK(policy->settings().trusted_bin_dirs == std::vector<std::string>{"/usr/bin", "/bin"});
}

TEST_CASE("no default_profile: unknown agents get no profile") {
  auto policy = Load(R"({"toolgate_policy": 1, "agents": {"a": {"profile": "p"}}, "profiles": {"p": {}}})");
  std::string name = "x";
  CHECK(policy->ProfileFor("b", &name) == nullptr);
  CHECK(name.empty());
  CHECK(policy->ProfileFor("a", &name) != nullptr);
}

TEST_CASE("tools: deny > ask > allow > default") {
  auto policy = Load(kPolicy);
  const CompiledProfile* dev = policy->ProfileNamed("dev");
  GrantMatch m = dev->CheckTool("Read");
  CHECK(m.verdict == Verdict::kAllow);
  REQUIRE(m.grant != nullptr);
  CHECK(m.grant->id == "base.tools.allow[0]");  // first declared among equals (inherited first)
  CHECK(m.grant->profile == "base");
  CHECK(m.grant->json_path == "/profiles/base/tools/allow/0");
  CHECK(m.grant->file == "test.json");
  CHECK(m.grant->pattern == "Read");
  m = dev->CheckTool("Bash");
  CHECK(m.verdict == Verdict::kAsk);
  CHECK(m.grant->id == "dev.tools.ask[0]");
  m = dev->CheckTool("mcp__danger__wipe");
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant->id == "base.tools.deny[0]");
  const CompiledProfile* ro = policy->ProfileNamed("readonly");
  m = ro->CheckTool("Write");
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant == nullptr);
  CHECK(ro->default_verdict() == Verdict::kDeny);
}

TEST_CASE("paths: deny, ask, write implies read, defaults") {
  auto policy = Load(kPolicy);
  const CompiledProfile* dev = policy->ProfileNamed("dev");
  const std::string cwd = "/home/dev/proj";
  GrantMatch m = dev->CheckPath(Path("/home/dev/proj/src/a.c", PathAccess::kWrite), cwd);
  CHECK(m.verdict == Verdict::kAllow);
  CHECK(m.grant->id == "dev.fs.write[0]");
  m = dev->CheckPath(Path("/home/dev/proj/src/a.c", PathAccess::kRead), cwd);
  CHECK(m.verdict == Verdict::kAllow);  // write implies read
  m = dev->CheckPath(Path("/home/dev/proj/.env", PathAccess::kRead), cwd);
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant->id == "base.fs.deny[0]");
  m = dev->CheckPath(Path("/home/dev/.ssh/id_rsa", PathAccess::kRead), cwd);
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant->id == "base.fs.deny[1]");
  m = dev->CheckPath(Path("/usr/lib/x", PathAccess::kRead), cwd);
  CHECK(m.verdict == Verdict::kAllow);
  m = dev->CheckPath(Path("/usr/lib/x", PathAccess::kWrite), cwd);  // read grant never allows a write
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant == nullptr);
  m = dev->CheckPath(Path("/tmp/ask/x", PathAccess::kWrite), cwd);
  CHECK(m.verdict == Verdict::kAsk);
  CHECK(m.grant->id == "dev.fs.ask[0]");
  m = dev->CheckPath(Path("/tmp/other", PathAccess::kWrite), cwd);
  CHECK(m.verdict == Verdict::kAllow);
  // No cwd: the cwd scope matches nothing.
  m = dev->CheckPath(Path("/home/dev/proj/src/a.c", PathAccess::kWrite), "");
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant == nullptr);
  // Invalid UTF-8 below a deny scope is still denied.
  m = dev->CheckPath(Path("/home/dev/.ssh/\xff", PathAccess::kRead), cwd);
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant->id == "base.fs.deny[1]");
  // Paths that are not absolute and normalized fail closed.
  for (const char* bad : {"", "relative", "/home/dev/proj/../.ssh/id", "/a//b", "/a/./b", "/a/"}) {
    m = dev->CheckPath(Path(bad, PathAccess::kRead), cwd);
    CHECK(m.verdict == Verdict::kDeny);
    REQUIRE(m.grant != nullptr);
    CHECK(m.grant->id == "dev.fail_closed");
  }
}

TEST_CASE("exec: deny > ask > allow; identity") {
  auto policy = Load(kPolicy);
  const CompiledProfile* dev = policy->ProfileNamed("dev");
  CHECK(dev->CheckExec(Exec({"git", "status"})).verdict == Verdict::kAllow);
  CHECK(dev->CheckExec(Exec({"/usr/bin/git", "status"})).verdict == Verdict::kAllow);
  GrantMatch m = dev->CheckExec(Exec({"/tmp/git", "status"}));
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant == nullptr);
  m = dev->CheckExec(Exec({"git", "push", "origin"}));
  CHECK(m.verdict == Verdict::kAsk);
  CHECK(m.grant->id == "dev.exec.ask[0]");
  m = dev->CheckExec(Exec({"git", "push", "origin", "main", "--force"}));
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant->id == "base.exec.deny[1]");
  CHECK(dev->CheckExec(Exec({"/opt/tools/fmt"})).verdict == Verdict::kAllow);
  CHECK(dev->CheckExec(Exec({"rm", "-rf", "/"})).verdict == Verdict::kDeny);
  // A NUL inside an element cannot split it into "push" + "--force".
  m = dev->CheckExec(Exec({"git", std::string("push\0--force", 12)}));
  CHECK(m.verdict == Verdict::kAllow);  // "git" prefix; neither "git push" nor the deny applies to this argv
  m = dev->CheckExec(Exec({"git", "push", std::string("x\0--force", 9), "--force"}));
  CHECK(m.verdict == Verdict::kDeny);
}

TEST_CASE("network: deny > ask > allow; ports") {
  auto policy = Load(kPolicy);
  const CompiledProfile* dev = policy->ProfileNamed("dev");
  GrantMatch m = dev->CheckHost(Host("api.github.com", 443));
  CHECK(m.verdict == Verdict::kAllow);
  CHECK(m.grant->id == "dev.network.allow[0]");
  CHECK(dev->CheckHost(Host("api.github.com", 80)).verdict == Verdict::kAsk);
  CHECK(dev->CheckHost(Host("api.github.com", 0)).verdict == Verdict::kDeny);  // unknown port: no port pattern
  m = dev->CheckHost(Host("github.com", 443));  // the apex is not a subdomain
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant == nullptr);
  m = dev->CheckHost(Host("db.corp.example", 5432));  // ask beats allow
  CHECK(m.verdict == Verdict::kAsk);
  CHECK(m.grant->id == "dev.network.ask[1]");
  CHECK(dev->CheckHost(Host("pypi.org", 0)).verdict == Verdict::kAllow);
  m = dev->CheckHost(Host("169.254.169.254", 80));
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant->id == "base.network.deny[0]");
  CHECK(dev->CheckHost(Host("10.1.2.3", 0)).verdict == Verdict::kDeny);
  CHECK(dev->CheckHost(Host("167772161", 0)).verdict == Verdict::kDeny);  // 10.0.0.1
  CHECK(dev->CheckHost(Host("::ffff:10.0.0.1", 0)).verdict == Verdict::kDeny);
}

TEST_CASE("a malformed host is never allowed by a grant") {
  auto policy = Load(R"({"toolgate_policy": 1, "profiles": {"p": {
      "network": {"allow": ["*", "*.example.com"]}}}})");
  const CompiledProfile* p = policy->ProfileNamed("p");
  CHECK(p->CheckHost(Host("ok.example.com")).verdict == Verdict::kAllow);
  GrantMatch m = p->CheckHost(Host("bad host.example.com"));
  CHECK(m.verdict == Verdict::kDeny);
  CHECK(m.grant == nullptr);
}

TEST_CASE("unknown effects") {
  auto policy = Load(kPolicy);
  UnknownEffect u{"dynamic program name", "$X"};
  GrantMatch m = policy->ProfileNamed("dev")->CheckUnknown(u);
  CHECK(m.verdict == Verdict::kDeny);
  REQUIRE(m.grant != nullptr);
  CHECK(m.grant->id == "dev.unknown_effects");
  CHECK(m.grant->json_path == "/profiles/dev");
  m = policy->ProfileNamed("readonly")->CheckUnknown(u);
  CHECK(m.verdict == Verdict::kAsk);
  CHECK(m.grant->id == "readonly.unknown_effects");
  CHECK(m.grant->json_path == "/profiles/readonly/unknown_effects");
  CHECK(policy->ProfileNamed("readonly")->unknown_effects_verdict() == Verdict::kAsk);
}

TEST_CASE("inheritance: parents in order, most derived scalar wins, diamonds once") {
  auto policy = Load(R"({"toolgate_policy": 1, "profiles": {
    "a": {"default": "allow", "unknown_effects": "allow", "tools": {"ask": ["X"]}},
    "b": {"default": "ask", "tools": {"ask": ["X"]}},
    "root": {"default": "deny", "tools": {"allow": ["R"]}},
    "mid1": {"extends": "root"},
    "mid2": {"extends": "root"},
    "ab": {"extends": ["a", "b"]},
    "ba": {"extends": ["b", "a"]},
    "child": {"extends": ["ab"], "default": "deny"},
    "diamond": {"extends": ["mid1", "mid2"], "tools": {"allow": ["R"]}}
  }})");
  CHECK(policy->ProfileNamed("ab")->default_verdict() == Verdict::kAsk);
  CHECK(policy->ProfileNamed("ba")->default_verdict() == Verdict::kAllow);
  CHECK(policy->ProfileNamed("ab")->unknown_effects_verdict() == Verdict::kAllow);
  CHECK(policy->ProfileNamed("ab")->CheckUnknown({}).grant->id == "a.unknown_effects");
  CHECK(policy->ProfileNamed("child")->default_verdict() == Verdict::kDeny);
  CHECK(policy->ProfileNamed("ab")->CheckTool("X").grant->id == "a.tools.ask[0]");
  CHECK(policy->ProfileNamed("ba")->CheckTool("X").grant->id == "b.tools.ask[0]");
  GrantMatch m = policy->ProfileNamed("diamond")->CheckTool("R");
  CHECK(m.grant->id == "root.tools.allow[0]");
  CHECK(policy->ProfileNamed("diamond")->default_verdict() == Verdict::kDeny);
  CHECK(policy->ProfileNamed("child")->CheckTool("Other").verdict == Verdict::kDeny);
  CHECK(policy->ProfileNamed("ab")->CheckTool("Other").verdict == Verdict::kAsk);
}

TEST_CASE("grant pointers stay valid for the policy's lifetime") {
  auto policy = Load(kPolicy);
  const GrantInfo* g = policy->ProfileNamed("dev")->CheckTool("Read").grant;
  for (int i = 0; i < 100; ++i) (void)policy->ProfileNamed("dev")->CheckTool("Bash");
  CHECK(g == policy->ProfileNamed("dev")->CheckTool("Read").grant);
  CHECK(g->id == "base.tools.allow[0]");
}

TEST_CASE("checks are cheap") {
  auto policy = Load(kPolicy);
  const CompiledProfile* dev = policy->ProfileNamed("dev");
  const PathEffect path = Path("/home/dev/proj/src/main.cc", PathAccess::kWrite);
  const ExecEffect exec = Exec({"git", "push", "origin", "main"});
  const HostEffect host = Host("api.github.com", 443);
  constexpr int kRounds = 2000;
  const toolgate::testing::CpuTimer start;
  for (int i = 0; i < kRounds; ++i) {
    (void)dev->CheckTool("Bash");
    (void)dev->CheckPath(path, "/home/dev/proj");
    (void)dev->CheckExec(exec);
    (void)dev->CheckHost(host);
  }
  const auto per_round = start.elapsed() / kRounds;
  MESSAGE("tool+path+exec+host checks: " << std::chrono::duration_cast<std::chrono::nanoseconds>(per_round).count()
                                         << " ns per round");
  CHECK(per_round < toolgate::testing::Bound(std::chrono::microseconds(50)));  // generous: slow CI
}

TEST_CASE("tools: common names answered from the load-time table match the set, patterns and all") {
  // Bash, Read and Write are in the table Finish fills; Bashful and WriteX
  // are not, so they go through the RE2 set: both paths must agree.
  auto policy = Load(R"({"toolgate_policy": 1, "default_profile": "p", "profiles": {"p": {
    "default": "ask",
    "tools": {"allow": ["*"], "deny": ["Bash*", "mcp__*"], "ask": ["Writ?"]}}}})");
  const CompiledProfile* p = policy->ProfileNamed("p");
  for (const char* name : {"Bash", "Bashful"}) {
    const GrantMatch m = p->CheckTool(name);
    CHECK(m.verdict == Verdict::kDeny);
    REQUIRE(m.grant != nullptr);
    CHECK(m.grant->id == "p.tools.deny[0]");
  }
  GrantMatch m = p->CheckTool("Write");
  CHECK(m.verdict == Verdict::kAsk);
  CHECK(m.grant->id == "p.tools.ask[0]");
  m = p->CheckTool("WriteX");
  CHECK(m.verdict == Verdict::kAllow);
  CHECK(m.grant->id == "p.tools.allow[0]");
  m = p->CheckTool("Read");
  CHECK(m.verdict == Verdict::kAllow);
  CHECK(p->CheckTool("bash").verdict == Verdict::kAllow);  // tool names are case-sensitive
}

TEST_CASE("paths checked together get the answers they get one by one") {
  auto policy = Load(kPolicy);
  const CompiledProfile* dev = policy->ProfileNamed("dev");
  std::vector<PathEffect> paths;
  for (const char* p : {"/home/dev/proj/src/a.c", "/home/dev/proj/.env", "/home/dev/.ssh/id_rsa", "/usr/lib/x",
                        "/tmp/ask/x", "/tmp/other", "/", "/home/dev/proj", "relative", "/a//b", "/a/"}) {
    paths.push_back(Path(p, PathAccess::kRead));
    paths.push_back(Path(p, PathAccess::kWrite));
  }
  // The cwd as written (normalized or not, the root, none, relative) is
  // prepared once for the batch.
  for (const char* cwd : {"/home/dev/proj", "/home/dev/proj/", "//home/dev/./proj", "/home/dev/x/../proj", "/", "",
                          "home/dev/proj"}) {
    CAPTURE(cwd);
    std::vector<GrantMatch> together(paths.size());
    dev->CheckPaths(paths, cwd, together.data());
    for (std::size_t i = 0; i < paths.size(); ++i) {
      CAPTURE(paths[i].path);
      const GrantMatch alone = dev->CheckPath(paths[i], cwd);
      CHECK(together[i].verdict == alone.verdict);
      CHECK(together[i].grant == alone.grant);
    }
  }
  // An unnormalized cwd anchors the same scopes as its normal form.
  const GrantMatch normal = dev->CheckPath(Path("/home/dev/proj/src/a.c", PathAccess::kWrite), "/home/dev/proj");
  const GrantMatch written = dev->CheckPath(Path("/home/dev/proj/src/a.c", PathAccess::kWrite), "/home/dev//proj/.");
  CHECK(normal.grant == written.grant);
  CHECK(normal.grant != nullptr);
}
