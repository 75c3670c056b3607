// HookJudge in-process under tests/mcp/policy.json: the same decisions, log
// records and reasons as `toolgate hook`, with an ask counted as a denial.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "hooks/mcp/mcp_judge.h"
#include "toolgate/policy.h"
#include "tests/temp_dir.h"

using nlohmann::json;
using toolgate::mcp::HookJudge;

namespace {

std::string PolicyPath() {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  return std::string(root != nullptr ? root : ".") + "/tests/mcp/policy.json";
}

toolgate::hooks::HookOptions InProcess(const std::string& agent, const std::string& log_path = "") {
  toolgate::hooks::HookOptions o;
  o.agent = agent;
  o.use_daemon = false;
  o.log_path = log_path;
  o.log_transport = "mcp-stdio";
  o.load_policy = [](std::string* error) {
    auto r = toolgate::LoadPolicyFile(PolicyPath());
    if (!r.ok()) *error = PolicyPath();
    return r.policy;
  };
  return o;
}

toolgate::ToolCall Call(const std::string& agent, const std::string& tool, json input) {
  toolgate::ToolCall c;
  c.agent_id = agent;
  c.client = toolgate::Client::kMcp;
  c.tool_name = "mcp__fs__" + tool;
  c.client_tool_name = tool;
  c.tool_input = std::move(input);
  c.cwd = "/work/project";
  return c;
}

}  // namespace

TEST_CASE("tools/call decisions under the test policy") {
  HookJudge judge(InProcess("fs-agent"));
  std::string why;
  REQUIRE(judge.Preload(&why));
  CHECK(judge.Judge(Call("fs-agent", "read_text_file", {{"path", "/work/project/a.txt"}})).allowed);
  CHECK(judge.Judge(Call("fs-agent", "write_file", {{"path", "/work/project/b.txt"}, {"content", "x"}})).allowed);

  const auto blocked = judge.Judge(Call("fs-agent", "write_file", {{"path", "/work/project/blocked/c.txt"}}));
  CHECK_FALSE(blocked.allowed);
  CHECK(blocked.reason.find("/work/project/blocked/c.txt") != std::string::npos);

  const auto outside = judge.Judge(Call("fs-agent", "read_text_file", {{"path", "/etc/hostname"}}));
  CHECK_FALSE(outside.allowed);

  const auto moved = judge.Judge(Call("fs-agent", "move_file", json::object()));
  CHECK_FALSE(moved.allowed);
  CHECK(moved.reason.find("mcp__fs__move_file") != std::string::npos);

  const auto asked = judge.Judge(Call("fs-agent", "create_directory", {{"path", "/work/project/d"}}));
  CHECK_FALSE(asked.allowed);
  CHECK(asked.reason.find("ask_fallback") != std::string::npos);
}

TEST_CASE("tools/list hides what the profile's tool grants never allow") {
  HookJudge judge(InProcess("fs-agent"));
  CHECK(judge.HidesTool("mcp__fs__move_file"));         // deny
  CHECK(judge.HidesTool("mcp__fs__create_directory"));  // ask: never allowed over stdio
  CHECK(judge.HidesTool("mcp__github__create_issue"));  // the profile's default
  CHECK_FALSE(judge.HidesTool("mcp__fs__write_file"));  // allowed by tool; paths decide per call

  HookJudge reader(InProcess("reader"));
  CHECK(reader.HidesTool("mcp__fs__write_file"));
  CHECK_FALSE(reader.HidesTool("mcp__fs__read_text_file"));
  CHECK_FALSE(reader.HidesTool("mcp__fs__list_directory"));
}

TEST_CASE("an unknown agent with no default profile would be denied everything: all hidden") {
  toolgate::hooks::HookOptions o = InProcess("nobody");
  o.load_policy = [](std::string*) {
    return toolgate::LoadPolicyText(R"({"toolgate_policy":1,"profiles":{"p":{"default":"allow"}}})", "inline").policy;
  };
  HookJudge judge(std::move(o));
  CHECK(judge.HidesTool("mcp__fs__read_text_file"));
  CHECK_FALSE(judge.Judge(Call("nobody", "read_text_file", json::object())).allowed);
}

TEST_CASE("a policy that does not load denies every call and hides nothing") {
  toolgate::hooks::HookOptions o = InProcess("fs-agent");
  o.load_policy = [](std::string* error) -> std::shared_ptr<const toolgate::Policy> {
    *error = "broken.json";
    return nullptr;
  };
  HookJudge judge(std::move(o));
  std::string why;
  CHECK_FALSE(judge.Preload(&why));
  const auto j = judge.Judge(Call("fs-agent", "read_text_file", json::object()));
  CHECK_FALSE(j.allowed);
  CHECK(j.reason.find("broken.json") != std::string::npos);
  CHECK_FALSE(judge.HidesTool("mcp__fs__read_text_file"));
}

TEST_CASE("every judged call is logged as an mcp call before the answer") {
  toolgate::testing::TempDir dir("tg-mcp");
  HookJudge judge(InProcess("fs-agent", dir.path()));
  CHECK(judge.Judge(Call("fs-agent", "read_text_file", {{"path", "/work/project/a.txt"}})).allowed);
  CHECK_FALSE(judge.Judge(Call("fs-agent", "move_file", json::object())).allowed);
  std::ifstream in(dir / "decisions.jsonl");
  std::vector<json> records;
  for (std::string line; std::getline(in, line);) {
    const json r = json::parse(line);
    if (r.value("type", "") == "decision") records.push_back(r);
  }
  REQUIRE(records.size() == 2);
  CHECK(records[0]["call"]["client"] == "mcp");
  CHECK(records[0]["call"]["tool_name"] == "mcp__fs__read_text_file");
  CHECK(records[1]["call"]["tool_name"] == "mcp__fs__move_file");
  CHECK(records[1].dump().find("mcp-stdio") != std::string::npos);
}

TEST_CASE("a log that cannot be written turns an allowed call into a denial") {
  HookJudge judge(InProcess("fs-agent", "/proc/no-such-dir/decisions.jsonl"));
  const auto j = judge.Judge(Call("fs-agent", "read_text_file", {{"path", "/work/project/a.txt"}}));
  CHECK_FALSE(j.allowed);
  CHECK(j.reason.find("audit log") != std::string::npos);
}
