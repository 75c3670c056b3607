#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "grants/compiled_profile.h"
#include "toolgate/policy.h"
#include "util/sha256.h"

using namespace toolgate;

namespace {

PolicyLoadResult LoadText(const std::string& text) {
  PolicyLoadOptions options;
  options.home = "/home/dev";
  return LoadPolicyText(text, "p.json", options);
}

bool HasError(const PolicyLoadResult& r, ErrorCode code, const std::string& json_path) {
  for (const PolicyDiagnostic& d : r.diagnostics) {
    if (d.severity == PolicyDiagnostic::Severity::kError && d.code == code && d.json_path == json_path) return true;
  }
  return false;
}

void Dump(const PolicyLoadResult& r) {
  for (const PolicyDiagnostic& d : r.diagnostics) MESSAGE(FormatDiagnostic(d));
}

// Loads text, which must fail with exactly this error among its diagnostics.
void ExpectError(const std::string& text, ErrorCode code, const std::string& json_path) {
  PolicyLoadResult r = LoadText(text);
  CHECK_FALSE(r.ok());
  CHECK(r.policy == nullptr);
  const bool found = HasError(r, code, json_path);
  if (!found) Dump(r);
  CHECK_MESSAGE(found, ErrorCodeName(code) << " at '" << json_path << "' for " << text);
}

std::string WithProfile(const std::string& profile_body) {
  return R"({"toolgate_policy": 1, "default_profile": "p", "profiles": {"p": )" + profile_body + "}}";
}

std::string TempFile(const std::string& contents) {
  char name[] = "/tmp/toolgate_policy_testXXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  close(fd);
  return name;
}

}  // namespace

TEST_CASE("a minimal policy loads") {
  PolicyLoadResult r = LoadText(R"({"toolgate_policy": 1})");
  Dump(r);
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  CHECK(r.policy->ProfileNames().empty());
  CHECK(r.policy->source() == "p.json");
  CHECK(r.policy->ProfileFor("x", nullptr) == nullptr);
}

TEST_CASE("a full policy loads with every key") {
  const std::string text = R"({
    "toolgate_policy": 1,
    "description": "all keys",
    "settings": {"home": "/home/x/", "resolve_symlinks": false, "trusted_bin_dirs": ["/usr/bin/", "/opt//bin"],
                 "max_input_bytes": 2048, "max_json_depth": 10, "max_shell_depth": 3},
    "default_profile": "p",
    "agents": {"a/b~c": {"profile": "p", "description": "odd id"}},
    "profiles": {"p": {"description": "d", "extends": [], "default": "ask", "unknown_effects": "allow",
      "tools": {"allow": ["Read"], "ask": ["Bash"], "deny": ["X"]},
      "fs": {"read": ["/r"], "write": ["/w"], "ask": ["/a"], "deny": ["/d"]},
      "network": {"allow": ["a.example"], "ask": ["b.example"], "deny": ["c.example"]},
      "exec": {"allow": ["git"], "ask": ["npm"], "deny": ["rm"]}}}
  })";
  PolicyLoadResult r = LoadPolicyText(text, "full.json");
  Dump(r);
  REQUIRE(r.ok());
  const PolicySettings& s = r.policy->settings();
  CHECK(s.home == "/home/x");
  CHECK_FALSE(s.resolve_symlinks);
  CHECK(s.trusted_bin_dirs == std::vector<std::string>{"/usr/bin", "/opt/bin"});
  CHECK(s.max_input_bytes == 2048);
  CHECK(s.max_json_depth == 10);
  CHECK(s.max_shell_depth == 3);
  CHECK(r.policy->digest() == "sha256:" + Sha256Hex(text));
  std::string name;
  CHECK(r.policy->ProfileFor("a/b~c", &name) != nullptr);
  CHECK(r.policy->ProfileNamed("p")->default_verdict() == Verdict::kAsk);
  // settings.home anchors '~' unless the load options override it.
  PolicyLoadResult r2 = LoadPolicyText(
      R"({"toolgate_policy": 1, "settings": {"home": "/home/x"}, "profiles": {"p": {"fs": {"read": ["~/f"]}}}})",
      "h.json");
  REQUIRE(r2.ok());
  PathEffect pe;
  pe.path = "/home/x/f";
  CHECK(r2.policy->ProfileNamed("p")->CheckPath(pe, "").verdict == Verdict::kAllow);
  PolicyLoadResult r3 = LoadText(
      R"({"toolgate_policy": 1, "settings": {"home": "/home/x"}, "profiles": {"p": {"fs": {"read": ["~/f"]}}}})");
  REQUIRE(r3.ok());
  CHECK(r3.policy->settings().home == "/home/dev");
  CHECK(r3.policy->ProfileNamed("p")->CheckPath(pe, "").verdict == Verdict::kDeny);
}

TEST_CASE("version key") {
  ExpectError(R"({})", ErrorCode::kPolicySchema, "/toolgate_policy");
  ExpectError(R"({"toolgate_policy": 2})", ErrorCode::kPolicySchema, "/toolgate_policy");
  ExpectError(R"({"toolgate_policy": "1"})", ErrorCode::kPolicySchema, "/toolgate_policy");
  ExpectError(R"({"toolgate_policy": 1.0})", ErrorCode::kPolicySchema, "/toolgate_policy");
}

TEST_CASE("unknown keys anywhere are errors") {
  ExpectError(R"({"toolgate_policy": 1, "profile": {}})", ErrorCode::kPolicySchema, "/profile");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"hmoe": "/x"}})", ErrorCode::kPolicySchema, "/settings/hmoe");
  ExpectError(R"({"toolgate_policy": 1, "agents": {"a": {"profile": "p", "x": 1}}, "profiles": {"p": {}}})",
              ErrorCode::kPolicySchema, "/agents/a/x");
  ExpectError(WithProfile(R"({"extend": "x"})"), ErrorCode::kPolicySchema, "/profiles/p/extend");
  ExpectError(WithProfile(R"({"fs": {"reads": ["/x"]}})"), ErrorCode::kPolicySchema, "/profiles/p/fs/reads");
  ExpectError(WithProfile(R"({"tools": {"read": ["x"]}})"), ErrorCode::kPolicySchema, "/profiles/p/tools/read");
  ExpectError(WithProfile(R"({"network": {"write": ["x"]}})"), ErrorCode::kPolicySchema,
              "/profiles/p/network/write");
  ExpectError(WithProfile(R"({"exec": {"allowed": ["x"]}})"), ErrorCode::kPolicySchema, "/profiles/p/exec/allowed");
  ExpectError(WithProfile(R"({"credentials": {}})"), ErrorCode::kPolicySchema, "/profiles/p/credentials");
}

TEST_CASE("wrong types and values") {
  ExpectError(R"([])", ErrorCode::kPolicySchema, "");
  ExpectError(R"("policy")", ErrorCode::kPolicySchema, "");
  ExpectError(R"({"toolgate_policy": 1, "description": 5})", ErrorCode::kPolicySchema, "/description");
  ExpectError(R"({"toolgate_policy": 1, "settings": []})", ErrorCode::kPolicySchema, "/settings");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"home": "rel/path"}})", ErrorCode::kPolicySchema,
              "/settings/home");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"home": "/a/../b"}})", ErrorCode::kPolicySchema,
              "/settings/home");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"resolve_symlinks": "yes"}})", ErrorCode::kPolicySchema,
              "/settings/resolve_symlinks");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"trusted_bin_dirs": "/usr/bin"}})", ErrorCode::kPolicySchema,
              "/settings/trusted_bin_dirs");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"trusted_bin_dirs": ["/usr/bin", "bin"]}})",
              ErrorCode::kPolicySchema, "/settings/trusted_bin_dirs/1");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"max_input_bytes": 0}})", ErrorCode::kPolicySchema,
              "/settings/max_input_bytes");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"max_input_bytes": -5}})", ErrorCode::kPolicySchema,
              "/settings/max_input_bytes");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"max_input_bytes": 18446744073709551615}})",
              ErrorCode::kPolicySchema, "/settings/max_input_bytes");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"max_json_depth": 2.5}})", ErrorCode::kPolicySchema,
              "/settings/max_json_depth");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"max_shell_depth": 100}})", ErrorCode::kPolicySchema,
              "/settings/max_shell_depth");
  ExpectError(R"({"toolgate_policy": 1, "default_profile": ""})", ErrorCode::kPolicySchema, "/default_profile");
  ExpectError(R"({"toolgate_policy": 1, "agents": []})", ErrorCode::kPolicySchema, "/agents");
  ExpectError(R"({"toolgate_policy": 1, "agents": {"a": "p"}})", ErrorCode::kPolicySchema, "/agents/a");
  ExpectError(R"({"toolgate_policy": 1, "agents": {"a": {}}})", ErrorCode::kPolicySchema, "/agents/a/profile");
  ExpectError(R"({"toolgate_policy": 1, "agents": {"": {"profile": "p"}}, "profiles": {"p": {}}})",
              ErrorCode::kPolicySchema, "/agents/");
  ExpectError(R"({"toolgate_policy": 1, "profiles": []})", ErrorCode::kPolicySchema, "/profiles");
  ExpectError(R"({"toolgate_policy": 1, "profiles": {"p": 1}})", ErrorCode::kPolicySchema, "/profiles/p");
  ExpectError(R"({"toolgate_policy": 1, "profiles": {"a.b": {}}})", ErrorCode::kPolicySchema, "/profiles/a.b");
  ExpectError(R"({"toolgate_policy": 1, "profiles": {"a/b": {}}})", ErrorCode::kPolicySchema, "/profiles/a~1b");
  ExpectError(WithProfile(R"({"default": "permit"})"), ErrorCode::kPolicySchema, "/profiles/p/default");
  ExpectError(WithProfile(R"({"default": "Allow"})"), ErrorCode::kPolicySchema, "/profiles/p/default");
  ExpectError(WithProfile(R"({"unknown_effects": true})"), ErrorCode::kPolicySchema, "/profiles/p/unknown_effects");
  ExpectError(WithProfile(R"({"extends": 3})"), ErrorCode::kPolicySchema, "/profiles/p/extends");
  ExpectError(WithProfile(R"({"extends": ["p", 3]})"), ErrorCode::kPolicySchema, "/profiles/p/extends/1");
  ExpectError(WithProfile(R"({"tools": ["Read"]})"), ErrorCode::kPolicySchema, "/profiles/p/tools");
  ExpectError(WithProfile(R"({"tools": {"allow": "Read"}})"), ErrorCode::kPolicySchema, "/profiles/p/tools/allow");
  ExpectError(WithProfile(R"({"tools": {"allow": ["Read", 7]}})"), ErrorCode::kPolicySchema,
              "/profiles/p/tools/allow/1");
  ExpectError(WithProfile(R"({"fs": {"read": [""]}})"), ErrorCode::kPolicySchema, "/profiles/p/fs/read/0");
  ExpectError(WithProfile(R"({"exec": {"deny": [null]}})"), ErrorCode::kPolicySchema, "/profiles/p/exec/deny/0");
}

TEST_CASE("bad patterns are located") {
  ExpectError(WithProfile(R"({"tools": {"allow": ["Read", "[oops"]}})"), ErrorCode::kPolicyPattern,
              "/profiles/p/tools/allow/1");
  ExpectError(WithProfile(R"({"fs": {"write": ["/a/../b"]}})"), ErrorCode::kPolicyPattern, "/profiles/p/fs/write/0");
  ExpectError(WithProfile(R"({"fs": {"deny": ["/x", "{a"]}})"), ErrorCode::kPolicyPattern, "/profiles/p/fs/deny/1");
  ExpectError(WithProfile(R"({"network": {"allow": ["exa mple.com"]}})"), ErrorCode::kPolicyPattern,
              "/profiles/p/network/allow/0");
  ExpectError(WithProfile(R"({"network": {"deny": ["b\u00fccher.de"]}})"), ErrorCode::kPolicyPattern,
              "/profiles/p/network/deny/0");
  ExpectError(WithProfile(R"({"network": {"ask": ["a.*.com"]}})"), ErrorCode::kPolicyPattern,
              "/profiles/p/network/ask/0");
  ExpectError(WithProfile(R"({"exec": {"allow": ["echo 'x"]}})"), ErrorCode::kPolicyPattern,
              "/profiles/p/exec/allow/0");
  ExpectError(WithProfile(R"({"exec": {"allow": ["./run.sh"]}})"), ErrorCode::kPolicyPattern,
              "/profiles/p/exec/allow/0");
  ExpectError(WithProfile(R"({"fs": {"read": [")" + std::string(5000, 'a') + R"("]}})"),
              ErrorCode::kPolicyPattern, "/profiles/p/fs/read/0");
}

TEST_CASE("references to missing profiles") {
  ExpectError(R"({"toolgate_policy": 1, "default_profile": "nope", "profiles": {"p": {}}})",
              ErrorCode::kPolicyReference, "/default_profile");
  ExpectError(R"({"toolgate_policy": 1, "agents": {"a": {"profile": "nope"}}, "profiles": {"p": {}}})",
              ErrorCode::kPolicyReference, "/agents/a/profile");
  ExpectError(R"({"toolgate_policy": 1, "profiles": {"p": {"extends": "nope"}}})", ErrorCode::kPolicyReference,
              "/profiles/p/extends");
  ExpectError(R"({"toolgate_policy": 1, "profiles": {"p": {"extends": ["p2", "nope"]}, "p2": {}}})",
              ErrorCode::kPolicyReference, "/profiles/p/extends/1");
}

TEST_CASE("inheritance cycles") {
  ExpectError(R"({"toolgate_policy": 1, "profiles": {"p": {"extends": "p"}}})", ErrorCode::kPolicyCycle,
              "/profiles/p/extends");
  ExpectError(R"({"toolgate_policy": 1, "profiles": {"a": {"extends": "b"}, "b": {"extends": ["a"]}}})",
              ErrorCode::kPolicyCycle, "/profiles/b/extends/0");
  PolicyLoadResult r = LoadText(R"({"toolgate_policy": 1, "profiles": {
      "a": {"extends": "b"}, "b": {"extends": "c"}, "c": {"extends": "a"}, "d": {"extends": "a"},
      "x": {"extends": "x"}}})");
  CHECK_FALSE(r.ok());
  int cycles = 0;
  for (const auto& d : r.diagnostics) cycles += d.code == ErrorCode::kPolicyCycle;
  CHECK(cycles == 2);
  CHECK(HasError(r, ErrorCode::kPolicyCycle, "/profiles/c/extends"));
  CHECK(HasError(r, ErrorCode::kPolicyCycle, "/profiles/x/extends"));
}

TEST_CASE("all errors are reported at once") {
  PolicyLoadResult r = LoadText(R"({
    "toolgate_policy": 2,
    "bogus": true,
    "default_profile": "missing",
    "agents": {"a": {"profile": "also_missing"}},
    "profiles": {
      "p": {"default": "maybe", "tools": {"allow": ["[x"]}, "fs": {"read": ["/a/../b", 3]}},
      "q": {"extends": "q", "network": {"allow": ["a b"]}}
    }})");
  Dump(r);
  CHECK_FALSE(r.ok());
  CHECK(HasError(r, ErrorCode::kPolicySchema, "/toolgate_policy"));
  CHECK(HasError(r, ErrorCode::kPolicySchema, "/bogus"));
  CHECK(HasError(r, ErrorCode::kPolicyReference, "/default_profile"));
  CHECK(HasError(r, ErrorCode::kPolicyReference, "/agents/a/profile"));
  CHECK(HasError(r, ErrorCode::kPolicySchema, "/profiles/p/default"));
  CHECK(HasError(r, ErrorCode::kPolicyPattern, "/profiles/p/tools/allow/0"));
  CHECK(HasError(r, ErrorCode::kPolicyPattern, "/profiles/p/fs/read/0"));
  CHECK(HasError(r, ErrorCode::kPolicySchema, "/profiles/p/fs/read/1"));
  CHECK(HasError(r, ErrorCode::kPolicyCycle, "/profiles/q/extends"));
  CHECK(HasError(r, ErrorCode::kPolicyPattern, "/profiles/q/network/allow/0"));
  CHECK(r.diagnostics.size() == 10);
  for (const auto& d : r.diagnostics) {
    CHECK(d.file == "p.json");
    CHECK_FALSE(d.message.empty());
  }
}

TEST_CASE("broken JSON gets a clean, located error") {
  const std::string good = R"({"toolgate_policy": 1, "profiles": {"p": {"tools": {"allow": ["Read"]}}}})";
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    PolicyLoadResult r = LoadText(good.substr(0, cut));
    CHECK_FALSE(r.ok());
    REQUIRE_FALSE(r.diagnostics.empty());
    CHECK(r.diagnostics[0].code == ErrorCode::kPolicySchema);
  }
  PolicyLoadResult r = LoadText("{\n  \"toolgate_policy\": 1,\n  oops\n}");
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == ErrorCode::kPolicySchema);
  CHECK(r.diagnostics[0].json_path.empty());
  CHECK(r.diagnostics[0].message.find("line 3") != std::string::npos);
  ExpectError(good + "x", ErrorCode::kPolicySchema, "");
  ExpectError(R"({"toolgate_policy": 1} // comment)", ErrorCode::kPolicySchema, "");
  ExpectError("", ErrorCode::kPolicySchema, "");
}

TEST_CASE("duplicate keys are errors") {
  ExpectError(R"({"toolgate_policy": 1, "toolgate_policy": 1})", ErrorCode::kPolicySchema, "/toolgate_policy");
  ExpectError(WithProfile(R"({"fs": {"deny": ["/etc/**"], "read": ["/x"], "deny": []}})"),
              ErrorCode::kPolicySchema, "/profiles/p/fs/deny");
  ExpectError(R"({"toolgate_policy": 1, "settings": {"trusted_bin_dirs": [{"a": 1, "a": 2}]}})",
              ErrorCode::kPolicySchema, "/settings/trusted_bin_dirs/0/a");
}

TEST_CASE("hostile text: huge, deeply nested, invalid UTF-8, NUL bytes") {
  std::string huge = R"({"toolgate_policy": 1, "description": ")" + std::string(10u << 20, 'x') + R"("})";
  PolicyLoadResult r = LoadText(huge);
  CHECK_FALSE(r.ok());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == ErrorCode::kPolicySchema);

  std::string deep = R"({"toolgate_policy": 1, "description": )" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  r = LoadText(deep);
  CHECK_FALSE(r.ok());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == ErrorCode::kPolicySchema);
  CHECK(r.diagnostics[0].message.find("nested") != std::string::npos);
  // Brackets inside strings do not count as nesting.
  r = LoadText(R"({"toolgate_policy": 1, "description": ")" + std::string(1000, '[') + R"("})");
  CHECK(r.ok());

  r = LoadText("{\"toolgate_policy\": 1, \"description\": \"\xff\xfe\"}");
  CHECK_FALSE(r.ok());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == ErrorCode::kPolicySchema);
  r = LoadText(std::string("{\"toolgate_policy\": 1,") + std::string(1, '\0') + " \"x\": 1}");
  CHECK_FALSE(r.ok());
  // A NUL escaped inside a JSON string is data; in a pattern it is a control byte.
  ExpectError(WithProfile(R"({"fs": {"deny": ["/etc/\u0000"]}})"), ErrorCode::kPolicyPattern,
              "/profiles/p/fs/deny/0");
  // Unicode escapes that decode to lone surrogates are rejected by the parser.
  ExpectError(R"({"toolgate_policy": 1, "description": "\ud800"})", ErrorCode::kPolicySchema, "");
}

TEST_CASE("profile and pattern count limits") {
  std::string many = R"({"toolgate_policy": 1, "profiles": {)";
  for (int i = 0; i < 300; ++i) many += (i ? "," : "") + std::string("\"p") + std::to_string(i) + "\": {}";
  many += "}}";
  ExpectError(many, ErrorCode::kPolicySchema, "/profiles");
  std::string patterns = R"({"toolgate_policy": 1, "profiles": {"p": {"tools": {"allow": [)";
  for (int i = 0; i < 10001; ++i) patterns += (i ? ",\"T" : "\"T") + std::to_string(i) + "\"";
  patterns += "]}}}}";
  ExpectError(patterns, ErrorCode::kPolicySchema, "/profiles");
}

TEST_CASE("a large valid policy loads and evaluates") {
  std::string text = R"({"toolgate_policy": 1, "profiles": {"p": {"fs": {"read": [)";
  for (int i = 0; i < 2000; ++i) text += (i ? "," : "") + std::string("\"/data/") + std::to_string(i) + "/**\"";
  text += R"(], "deny": ["/data/1999/secret"]}, "exec": {"allow": [)";
  for (int i = 0; i < 2000; ++i) text += (i ? "," : "") + std::string("\"tool") + std::to_string(i) + " run *\"";
  text += "]}}}}";
  PolicyLoadResult r = LoadText(text);
  Dump(r);
  REQUIRE(r.ok());
  const CompiledProfile* p = r.policy->ProfileNamed("p");
  PathEffect pe;
  pe.path = "/data/1234/x";
  GrantMatch m = p->CheckPath(pe, "");
  CHECK(m.verdict == Verdict::kAllow);
  CHECK(m.grant->id == "p.fs.read[1234]");
  pe.path = "/data/1999/secret";
  CHECK(p->CheckPath(pe, "").verdict == Verdict::kDeny);
  ExecEffect e;
  e.program = "tool1500";
  e.argv = {"tool1500", "run", "x"};
  CHECK(p->CheckExec(e).grant->id == "p.exec.allow[1500]");
}

TEST_CASE("patterns too large for RE2 fail the load at their profile; table-form patterns never reach RE2") {
  // 40 exec patterns of 4,000 '?' each: RE2 cannot build their set.
  std::string text = R"({"toolgate_policy": 1, "default_profile": "p", "profiles": {"p": {"exec": {"deny": [)";
  for (int i = 0; i < 40; ++i) text += (i ? ",\"p" : "\"p") + std::to_string(i) + " " + std::string(4000, '?') + "\"";
  text += "]}}}}";
  ExpectError(text, ErrorCode::kPolicyPattern, "/profiles/p");
  // Just as many patterns of the same length that the program table answers
  // (plain words) load, and match without RE2.
  text = R"({"toolgate_policy": 1, "default_profile": "p", "profiles": {"p": {"exec": {"deny": [)";
  for (int i = 0; i < 40; ++i) text += (i ? ",\"p" : "\"p") + std::to_string(i) + " " + std::string(4000, 'a') + "\"";
  text += "]}}}}";
  PolicyLoadResult r = LoadText(text);
  Dump(r);
  REQUIRE(r.ok());
  ExecEffect e;
  e.program = "p7";
  e.argv = {"p7", std::string(4000, 'a'), "x"};
  CHECK(r.policy->ProfileNamed("p")->CheckExec(e).grant->id == "p.exec.deny[7]");
  e.argv = {"p7", std::string(3999, 'a')};
  CHECK(r.policy->ProfileNamed("p")->CheckExec(e).grant == nullptr);
}

TEST_CASE("LoadPolicyFile") {
  const std::string text = R"({"toolgate_policy": 1, "profiles": {"p": {}}})";
  const std::string path = TempFile(text);
  PolicyLoadResult r = LoadPolicyFile(path);
  REQUIRE(r.ok());
  CHECK(r.policy->source() == path);
  CHECK(r.policy->digest() == "sha256:" + Sha256Hex(text));
  std::remove(path.c_str());

  r = LoadPolicyFile("/nonexistent/toolgate/policy.json");
  CHECK_FALSE(r.ok());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == ErrorCode::kPolicyIo);
  CHECK(r.diagnostics[0].file == "/nonexistent/toolgate/policy.json");
  r = LoadPolicyFile("/tmp");
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == ErrorCode::kPolicyIo);

  const std::string bad = TempFile(R"({"toolgate_policy": 1, "profiles": {"p": {"fs": {"read": ["/a/../b"]}}}})");
  r = LoadPolicyFile(bad);
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].file == bad);
  CHECK(r.diagnostics[0].json_path == "/profiles/p/fs/read/0");
  std::remove(bad.c_str());
}

TEST_CASE("FormatDiagnostic") {
  PolicyDiagnostic d;
  d.code = ErrorCode::kPolicyPattern;
  d.file = "policy.json";
  d.json_path = "/profiles/dev/fs/read/2";
  d.message = "bad";
  CHECK(FormatDiagnostic(d) == "policy.json:/profiles/dev/fs/read/2: error[policy_pattern]: bad");
  d.severity = PolicyDiagnostic::Severity::kWarning;
  d.lint = "unused_profile";
  d.json_path = "/profiles/x";
  CHECK(FormatDiagnostic(d) == "policy.json:/profiles/x: warning[unused_profile]: bad");
  d.severity = PolicyDiagnostic::Severity::kError;
  d.code = ErrorCode::kPolicySchema;
  d.json_path = "";
  d.message = "line 1, column 2: \xff";
  CHECK(FormatDiagnostic(d) == "policy.json: error[policy_schema]: line 1, column 2: \xef\xbf\xbd");
}
