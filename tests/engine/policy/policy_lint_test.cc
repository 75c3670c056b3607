#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "toolgate/policy.h"

using namespace toolgate;

namespace {

std::vector<PolicyDiagnostic> Lint(const std::string& text) {
  char name[] = "/tmp/toolgate_lint_testXXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  std::vector<PolicyDiagnostic> out = LintPolicyFile(name);
  std::remove(name);
  for (const auto& d : out) MESSAGE(FormatDiagnostic(d));
  return out;
}

int Count(const std::vector<PolicyDiagnostic>& ds, const std::string& lint, const std::string& json_path = "") {
  int n = 0;
  for (const auto& d : ds) {
    if (d.severity == PolicyDiagnostic::Severity::kWarning && d.lint == lint &&
        (json_path.empty() || d.json_path == json_path)) {
      ++n;
    }
  }
  return n;
}

int Warnings(const std::vector<PolicyDiagnostic>& ds) {
  int n = 0;
  for (const auto& d : ds) n += d.severity == PolicyDiagnostic::Severity::kWarning;
  return n;
}

// One used profile "p" with the given body.
std::string One(const std::string& body) {
  return R"({"toolgate_policy": 1, "settings": {"home": "/home/dev"}, "default_profile": "p", "profiles": {"p": )" +
         body + "}}";
}

}  // namespace

TEST_CASE("a clean policy has no warnings") {
  auto ds = Lint(One(R"({"tools": {"allow": ["Read"], "deny": ["Bash"]},
      "fs": {"read": ["/usr/**"], "write": ["${cwd}/**"], "deny": ["**/.env"]},
      "network": {"allow": ["*.github.com"], "deny": ["10.0.0.0/8"]},
      "exec": {"allow": ["git"], "deny": ["git push ** --force"]}})"));
  CHECK(ds.empty());
}

TEST_CASE("load errors come first and keep their codes") {
  auto ds = Lint(One(R"({"fs": {"read": ["/a/../b"]}, "typo": 1})"));
  REQUIRE(ds.size() >= 2);
  CHECK(ds[0].severity == PolicyDiagnostic::Severity::kError);
  bool pattern = false, schema = false;
  for (const auto& d : ds) {
    pattern = pattern || (d.code == ErrorCode::kPolicyPattern && d.json_path == "/profiles/p/fs/read/0");
    schema = schema || (d.code == ErrorCode::kPolicySchema && d.json_path == "/profiles/p/typo");
  }
  CHECK(pattern);
  CHECK(schema);
  auto io = LintPolicyFile("/nonexistent/policy.json");
  REQUIRE(io.size() == 1);
  CHECK(io[0].code == ErrorCode::kPolicyIo);
}

TEST_CASE("matches_everything") {
  auto ds = Lint(One(R"({"tools": {"allow": ["*"]}, "fs": {"read": ["/**"], "write": ["**"], "ask": ["/x/**"]},
      "network": {"ask": ["*"]}, "exec": {"allow": ["**"], "ask": ["* **"]}})"));
  CHECK(Count(ds, "matches_everything", "/profiles/p/tools/allow/0") == 1);
  CHECK(Count(ds, "matches_everything", "/profiles/p/fs/read/0") == 1);
  CHECK(Count(ds, "matches_everything", "/profiles/p/fs/write/0") == 1);
  CHECK(Count(ds, "matches_everything", "/profiles/p/network/ask/0") == 1);
  CHECK(Count(ds, "matches_everything", "/profiles/p/exec/allow/0") == 1);
  CHECK(Count(ds, "matches_everything", "/profiles/p/exec/ask/0") == 1);
  CHECK(Count(ds, "matches_everything") == 6);
  // Deny lists may match everything; that is not flagged.
  ds = Lint(One(R"({"tools": {"deny": ["*"]}, "fs": {"deny": ["/**"]}})"));
  CHECK(Warnings(ds) == 0);
  // Narrow wildcards are fine.
  ds = Lint(One(R"({"tools": {"allow": ["mcp__*"]}, "network": {"allow": ["*:443"]}, "exec": {"allow": ["* *"]}})"));
  CHECK(Count(ds, "matches_everything") == 0);
}

TEST_CASE("allow_deny_overlap") {
  auto ds = Lint(One(R"({
      "tools": {"allow": ["Bash", "Read"], "deny": ["Bash"]},
      "fs": {"read": ["~/.ssh/config", "/srv/app/.env", "/srv/**"], "write": ["/home/dev/.ssh/config"],
             "deny": ["/home/dev/.ssh/**", "**/.env"]},
      "network": {"allow": ["metadata.google.internal", "10.1.2.3", "api.example.com:443"],
                  "deny": ["*.internal", "10.0.0.0/8", "api.example.com:80"]},
      "exec": {"allow": ["rm -rf /", "/usr/bin/rm -rf /tmp"], "deny": ["rm -rf *"]}})"));
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/tools/allow/0") == 1);
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/tools/allow/1") == 0);
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/fs/read/0") == 1);   // ~ expands to the denied scope
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/fs/read/1") == 1);   // literal under **/.env
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/fs/read/2") == 0);   // a wildcard, only partly denied
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/fs/write/0") == 1);
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/network/allow/0") == 1);
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/network/allow/1") == 1);
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/network/allow/2") == 0);  // different port
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/exec/allow/0") == 1);
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/p/exec/allow/1") == 1);  // trusted dir = bare name
  CHECK(Count(ds, "allow_deny_overlap") == 8);
}

TEST_CASE("unreachable_grant") {
  // A deny that matches everything shadows every allow-ish grant of the category.
  auto ds = Lint(One(R"({"tools": {"allow": ["Read"], "ask": ["Bash"], "deny": ["*"]},
                         "fs": {"read": ["/x"]}, "network": {"allow": ["a.example"], "deny": ["*"]}})"));
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/tools/allow/0") == 1);
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/tools/ask/0") == 1);
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/network/allow/0") == 1);
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/fs/read/0") == 0);
  CHECK(Count(ds, "allow_deny_overlap") == 0);  // reported as unreachable instead

  // Duplicates: the later equal grant, or the weaker one, is unreachable.
  ds = Lint(One(R"({"tools": {"allow": ["Read", "Read"], "ask": ["Bash"]},
                    "exec": {"allow": ["git  status", "npm"], "ask": ["git status"]},
                    "fs": {"read": ["/w/**", "/r"], "write": ["//w/./**"], "ask": ["/r"]}})"));
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/tools/allow/0") == 0);
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/tools/allow/1") == 1);
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/exec/allow/0") == 1);  // ask beats allow
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/exec/ask/0") == 0);
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/fs/read/0") == 1);     // write implies read
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/fs/write/0") == 0);
  CHECK(Count(ds, "unreachable_grant", "/profiles/p/fs/read/1") == 1);     // ask beats read
  CHECK(Count(ds, "unreachable_grant") == 4);
}

TEST_CASE("inherited grants are reported once") {
  auto ds = Lint(R"({"toolgate_policy": 1, "agents": {"a": {"profile": "c1"}, "b": {"profile": "c2"}},
      "profiles": {"base": {"tools": {"allow": ["Read", "Read"]}},
                   "c1": {"extends": "base"}, "c2": {"extends": "base", "tools": {"deny": ["Read"]}}}})");
  CHECK(Count(ds, "unreachable_grant", "/profiles/base/tools/allow/1") == 1);
  // Through c2 the grant also overlaps a deny: that is a different finding.
  CHECK(Count(ds, "allow_deny_overlap", "/profiles/base/tools/allow/0") == 1);
  CHECK(Count(ds, "unused_profile") == 0);
}

TEST_CASE("unused_profile") {
  auto ds = Lint(R"({"toolgate_policy": 1, "default_profile": "d", "agents": {"a": {"profile": "p"}},
      "profiles": {"d": {}, "p": {"extends": "base"}, "base": {}, "orphan": {}, "orphan2": {"extends": "base"}}})");
  CHECK(Count(ds, "unused_profile") == 2);
  CHECK(Count(ds, "unused_profile", "/profiles/orphan") == 1);
  CHECK(Count(ds, "unused_profile", "/profiles/orphan2") == 1);
}

TEST_CASE("lint output is deterministic") {
  const std::string text = One(R"({"tools": {"allow": ["*", "Read", "Read"], "deny": ["Read"]}})");
  auto a = Lint(text);
  auto b = Lint(text);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].lint == b[i].lint);
    CHECK(a[i].json_path == b[i].json_path);
    CHECK(a[i].message == b[i].message);
  }
}
