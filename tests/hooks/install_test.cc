// toolgate install / uninstall on temporary directories: merging keeps every
// unrelated key, running twice changes nothing, uninstall removes only
// toolgate's entries, and each client gets its own layout and timeout unit.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "hooks/install.h"

using nlohmann::json;
using toolgate::Client;
using namespace toolgate::hooks;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/toolgate-install-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string path;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& text) {
  std::system(("mkdir -p \"$(dirname '" + path + "')\"").c_str());
  std::ofstream(path, std::ios::binary) << text;
}

InstallOptions Options(Client client, const std::string& dir) {
  InstallOptions o;
  o.client = client;
  o.dir = dir;
  o.toolgate_path = "/opt/toolgate/bin/toolgate";
  o.policy_path = "/etc/toolgate/policy.json";
  o.agent = "claude-dev";
  o.timeout_seconds = 10;
  return o;
}

}  // namespace

TEST_CASE("Claude: merge into existing settings, idempotent, backup, clean uninstall") {
  TempDir d;
  const std::string path = d.path + "/.claude/settings.json";
  const json original = json::parse(R"J({
    "permissions": {"allow": ["Bash(npm test)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bar"},
    "hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --check"}]}],
              "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}})J");
  Spit(path, original.dump(2));
  const auto r = InstallHooks(Options(Client::kClaude, d.path));
  REQUIRE(r.ok());
  CHECK(r->changed);
  CHECK(r->config_path == path);
  CHECK(json::parse(Slurp(path + ".toolgate-backup")) == original);
  const json after = json::parse(Slurp(path));
  CHECK(after["permissions"] == original["permissions"]);
  CHECK(after["env"] == original["env"]);
  CHECK(after["hooks"]["Stop"] == original["hooks"]["Stop"]);
  REQUIRE(after["hooks"]["PreToolUse"].size() == 2);
  CHECK(after["hooks"]["PreToolUse"][0] == original["hooks"]["PreToolUse"][0]);
  const json& ours = after["hooks"]["PreToolUse"][1];
  CHECK(ours["matcher"] == "*");
  CHECK(ours["hooks"][0]["type"] == "command");
  CHECK(ours["hooks"][0]["timeout"] == 10);
  const std::string cmd = ours["hooks"][0]["command"].get<std::string>();
  CHECK(cmd.find("/opt/toolgate/bin/toolgate hook --client claude --policy /etc/toolgate/policy.json --agent claude-dev") == 0);
  CHECK(after["hooks"]["PostToolUse"][0]["hooks"][0]["command"] == cmd);
  CHECK_FALSE(r->notes.empty());

  const std::string bytes = Slurp(path);
  const auto again = InstallHooks(Options(Client::kClaude, d.path));
  REQUIRE(again.ok());
  CHECK_FALSE(again->changed);
  CHECK(Slurp(path) == bytes);

  const auto un = UninstallHooks(Options(Client::kClaude, d.path));
  REQUIRE(un.ok());
  CHECK(un->changed);
  CHECK(json::parse(Slurp(path)) == original);
  const auto un2 = UninstallHooks(Options(Client::kClaude, d.path));
  REQUIRE(un2.ok());
  CHECK_FALSE(un2->changed);
}

TEST_CASE("every client's layout and timeout unit") {
  TempDir d;
  REQUIRE(InstallHooks(Options(Client::kCopilot, d.path)).ok());
  const json copilot = json::parse(Slurp(d.path + "/.github/hooks/toolgate.json"));
  CHECK(copilot["version"] == 1);
  CHECK(copilot["hooks"]["preToolUse"][0]["type"] == "command");
  CHECK(copilot["hooks"]["preToolUse"][0]["timeoutSec"] == 10);
  CHECK(copilot["hooks"]["preToolUse"][0]["bash"].get<std::string>().find("hook --client copilot") != std::string::npos);
  CHECK(copilot["hooks"].contains("postToolUse"));

  REQUIRE(InstallHooks(Options(Client::kCodex, d.path)).ok());
  const json codex = json::parse(Slurp(d.path + "/.codex/hooks.json"));
  CHECK(codex["hooks"]["PreToolUse"][0]["matcher"] == "*");
  CHECK(codex["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] == 10);

  Spit(d.path + "/.gemini/settings.json", R"({"theme": "Dracula", "general": {"vimMode": true}})");
  REQUIRE(InstallHooks(Options(Client::kGemini, d.path)).ok());
  const json gemini = json::parse(Slurp(d.path + "/.gemini/settings.json"));
  CHECK(gemini["theme"] == "Dracula");
  CHECK(gemini["general"]["vimMode"] == true);
  CHECK(gemini["hooks"]["BeforeTool"][0]["hooks"][0]["timeout"] == 10000);  // milliseconds
  CHECK(gemini["hooks"].contains("AfterTool"));

  REQUIRE(InstallHooks(Options(Client::kCursor, d.path)).ok());
  const json cursor = json::parse(Slurp(d.path + "/.cursor/hooks.json"));
  CHECK(cursor["version"] == 1);
  for (const char* e : {"beforeShellExecution", "beforeMCPExecution", "beforeReadFile", "preToolUse"}) {
    CAPTURE(e);
    CHECK(cursor["hooks"][e][0]["failClosed"] == true);
  }

  // Copilot's file is toolgate's own: uninstall removes it.
  const auto un = UninstallHooks(Options(Client::kCopilot, d.path));
  REQUIRE(un.ok());
  CHECK(::access((d.path + "/.github/hooks/toolgate.json").c_str(), F_OK) != 0);
}

TEST_CASE("user scope paths; a file that is not JSON is left alone") {
  TempDir d;
  InstallOptions o = Options(Client::kCodex, d.path);
  o.scope = InstallScope::kUser;
  CHECK(*ConfigPath(o) == d.path + "/.codex/hooks.json");
  o.client = Client::kCopilot;
  CHECK(*ConfigPath(o) == d.path + "/.copilot/hooks/toolgate.json");

  Spit(d.path + "/.claude/settings.json", "{ \"hooks\": [ oops");
  const auto r = InstallHooks(Options(Client::kClaude, d.path));
  REQUIRE_FALSE(r.ok());
  CHECK(Slurp(d.path + "/.claude/settings.json") == "{ \"hooks\": [ oops");
}

TEST_CASE("the command quotes paths with spaces and quotes") {
  InstallOptions o = Options(Client::kClaude, "/tmp");
  o.toolgate_path = "/opt/my tools/toolgate";
  o.agent = "it's-me";
  const std::string cmd = HookCommand(o);
  CHECK(cmd.find("'/opt/my tools/toolgate' hook --client claude") == 0);
  CHECK(cmd.find("--agent 'it'\\''s-me'") != std::string::npos);
}

TEST_CASE("Codex trust hashes match what Codex 0.169 accepted") {
  // Recorded from a run where Codex executed the hook with these entries.
  CHECK(CodexTrustHash("pre_tool_use", std::string("*"), "/work/wt-clients-a/build/ca-tmp/x-tr/hook.sh", 3) ==
        "sha256:ca9ab9f163883edb4913f611fcc00c238beceaabe01b95036d65ff100c69b120");
  CHECK(CodexTrustHash("post_tool_use", std::string("*"), "/work/wt-clients-a/build/ca-tmp/x-tr/hook.sh", 3) ==
        "sha256:40ab48c3a391e773f908cad3c391be253d25f34da3d527f93921c9c6c93ce160");
}

TEST_CASE("Codex: install records each toolgate entry's trust in config.toml, keeps the rest, uninstall removes it") {
  TempDir d;
  const std::string home = d.path + "/codexhome";
  const std::string config = home + "/config.toml";
  const std::string original = "model = \"mock-model\"\n\n[model_providers.mock]\nname = \"mock\"\n";
  Spit(config, original);
  InstallOptions o = Options(Client::kCodex, home);
  o.scope = InstallScope::kUser;
  o.dir.clear();
  ::setenv("CODEX_HOME", home.c_str(), 1);
  const auto r = InstallHooks(o);
  ::unsetenv("CODEX_HOME");
  REQUIRE(r.ok());
  CHECK(r->config_path == home + "/hooks.json");
  const std::string toml = Slurp(config);
  CHECK(toml.find(original) == 0);
  const std::string cmd = HookCommand(o);
  const std::string pre = "[hooks.state.\"" + home + "/hooks.json:pre_tool_use:0:0\"]\ntrusted_hash = \"" +
                          CodexTrustHash("pre_tool_use", std::string("*"), cmd, 10) + "\"";
  CHECK(toml.find(pre) != std::string::npos);
  CHECK(toml.find(":post_tool_use:0:0\"]") != std::string::npos);
  ::setenv("CODEX_HOME", home.c_str(), 1);
  const auto again = InstallHooks(o);
  REQUIRE(again.ok());
  CHECK_FALSE(again->changed);
  CHECK(Slurp(config) == toml);
  const auto un = UninstallHooks(o);
  ::unsetenv("CODEX_HOME");
  REQUIRE(un.ok());
  CHECK(Slurp(config) == original);
}
