// McpSession: what reaches the server and what the client gets back, line by
// line, with a judge that allows or denies by tool name.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "hooks/mcp/mcp_session.h"

using nlohmann::json;
using namespace toolgate::mcp;

namespace {

class FakeJudge : public McpJudge {
 public:
  std::set<std::string> denied;
  std::set<std::string> hidden;
  std::vector<toolgate::ToolCall> calls;

  McpJudgement Judge(const toolgate::ToolCall& call) override {
    calls.push_back(call);
    if (denied.count(call.tool_name) != 0) return {false, "toolgate: this call was blocked by policy: " + call.tool_name};
    return {true, ""};
  }
  bool HidesTool(const std::string& name) override { return hidden.count(name) != 0; }
};

struct Fixture {
  FakeJudge judge;
  McpSession session;
  Fixture() : session(Options(), &judge) { judge.denied = {"mcp__fs__write_file"}; }
  static McpSessionOptions Options() {
    McpSessionOptions o;
    o.server_name = "fs";
    o.agent_id = "agent-1";
    o.session_id = "s-1";
    o.cwd = "/work";
    o.max_line_bytes = 4096;
    return o;
  }
  McpSession::Output Client(const std::string& line) {
    McpSession::Output out;
    session.FromClient(line, &out);
    return out;
  }
  McpSession::Output Server(const std::string& line) {
    McpSession::Output out;
    session.FromServer(line, &out);
    return out;
  }
};

std::string Call(const std::string& id_json, const std::string& tool, const std::string& args = R"({"path":"/work/a"})") {
  return R"({"jsonrpc":"2.0","id":)" + id_json + R"(,"method":"tools/call","params":{"name":")" + tool +
         R"(","arguments":)" + args + "}}";
}

}  // namespace

TEST_CASE("an allowed tools/call goes to the server byte for byte, judged as mcp__<server>__<tool>") {
  Fixture f;
  const std::string line = Call("1", "read_file", R"({ "path" : "/work/a" })");
  const auto out = f.Client(line);
  REQUIRE(out.to_server.size() == 1);
  CHECK(out.to_server[0] == line);
  CHECK(out.to_client.empty());
  REQUIRE(f.judge.calls.size() == 1);
  const toolgate::ToolCall& c = f.judge.calls[0];
  CHECK(c.tool_name == "mcp__fs__read_file");
  CHECK(c.client_tool_name == "read_file");
  CHECK(c.client == toolgate::Client::kMcp);
  CHECK(c.tool_input == json{{"path", "/work/a"}});
  CHECK(c.agent_id == "agent-1");
  CHECK(c.session_id == "s-1");
  CHECK(c.cwd == "/work");
  CHECK(c.call_id == "1");
  CHECK(f.session.pending() == 1);
  // The server's answer goes back unchanged and ends the wait.
  const std::string answer = R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}})";
  const auto back = f.Server(answer);
  REQUIRE(back.to_client.size() == 1);
  CHECK(back.to_client[0] == answer);
  CHECK(f.session.pending() == 0);
}

TEST_CASE("a denied tools/call is answered as a tool error with the reason and never reaches the server") {
  for (const std::string id : {"7", "\"req-7\"", "-2", "1.5"}) {
    Fixture f;
    const auto out = f.Client(Call(id, "write_file"));
    CHECK(out.to_server.empty());
    REQUIRE(out.to_client.size() == 1);
    const json reply = json::parse(out.to_client[0]);
    CHECK(reply["jsonrpc"] == "2.0");
    CHECK(reply["id"] == json::parse(id));  // same value, same type
    CHECK(reply["id"].type() == json::parse(id).type());
    CHECK(reply["result"]["isError"] == true);
    const std::string text = reply["result"]["content"][0]["text"].get<std::string>();
    CHECK(text.rfind("toolgate: ", 0) == 0);
    CHECK(text.find("mcp__fs__write_file") != std::string::npos);
    CHECK(f.session.pending() == 0);
  }
}

TEST_CASE("a tools/call notification is judged too; denied, it is dropped") {
  Fixture f;
  const auto denied = f.Client(R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"write_file"}})");
  CHECK(denied.to_server.empty());
  CHECK(denied.to_client.empty());
  CHECK(f.judge.calls.size() == 1);
  CHECK(f.judge.calls[0].tool_input == json::object());
  const auto allowed = f.Client(R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"read_file"}})");
  CHECK(allowed.to_server.size() == 1);
  CHECK(f.session.pending() == 0);
}

TEST_CASE("malformed tools/call params are refused, not forwarded") {
  Fixture f;
  for (const std::string line : {
           R"({"jsonrpc":"2.0","id":3,"method":"tools/call"})",
           R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":[]})",
           R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":""}})",
           R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":5}})",
           R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file","arguments":"x"}})",
       }) {
    const auto out = f.Client(line);
    CHECK(out.to_server.empty());
    REQUIRE(out.to_client.size() == 1);
    const json reply = json::parse(out.to_client[0]);
    CHECK(reply["id"] == 3);
    CHECK(reply["error"]["code"] == -32602);
  }
  CHECK(f.judge.calls.empty());
}

TEST_CASE("everything else passes unchanged both ways") {
  Fixture f;
  const std::string init =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}})";
  const std::string note = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";
  const std::string client_answer = R"({"jsonrpc":"2.0","id":"srv-1","result":{"roots":[]}})";
  for (const std::string& line : {init, note, client_answer}) {
    const auto out = f.Client(line);
    REQUIRE(out.to_server.size() == 1);
    CHECK(out.to_server[0] == line);
    CHECK(out.to_client.empty());
  }
  CHECK(f.session.pending() == 1);  // initialize waits for its answer
  // The server's own requests and notifications go to the client as they are.
  const std::string server_request = R"({"jsonrpc":"2.0","id":"srv-1","method":"roots/list"})";
  const std::string server_note = R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})";
  for (const std::string& line : {server_request, server_note}) {
    const auto out = f.Server(line);
    REQUIRE(out.to_client.size() == 1);
    CHECK(out.to_client[0] == line);
  }
  CHECK(f.judge.calls.empty());
}

TEST_CASE("ids of both types are kept apart when answers come back") {
  Fixture f;
  f.Client(R"({"jsonrpc":"2.0","id":5,"method":"tools/list"})");
  f.Client(R"({"jsonrpc":"2.0","id":"5","method":"ping"})");
  CHECK(f.session.pending() == 2);
  f.Server(R"({"jsonrpc":"2.0","id":"5","result":{}})");
  CHECK(f.session.pending() == 1);
  McpSession::Output out;
  f.session.ServerGone("exited with status 1", &out);
  REQUIRE(out.to_client.size() == 1);
  const json reply = json::parse(out.to_client[0]);
  CHECK(reply["id"] == 5);
  CHECK(reply["id"].is_number());
  CHECK(reply["error"]["code"] == -32000);
  CHECK(reply["error"]["message"].get<std::string>().find("exited with status 1") != std::string::npos);
}

TEST_CASE("tools/list answers hide the tools the profile denies; pagination passes") {
  Fixture f;
  f.judge.hidden = {"mcp__fs__write_file", "mcp__fs__move_file"};
  f.Client(R"({"jsonrpc":"2.0","id":"list-1","method":"tools/list"})");
  const auto out = f.Server(
      R"({"jsonrpc":"2.0","id":"list-1","result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}},)"
      R"({"name":"write_file"},{"name":"move_file"},{"name":"list_directory"}],"nextCursor":"page-2"}})");
  REQUIRE(out.to_client.size() == 1);
  const json reply = json::parse(out.to_client[0]);
  CHECK(reply["id"] == "list-1");
  REQUIRE(reply["result"]["tools"].size() == 2);
  CHECK(reply["result"]["tools"][0]["name"] == "read_file");
  CHECK(reply["result"]["tools"][1]["name"] == "list_directory");
  CHECK(reply["result"]["nextCursor"] == "page-2");
  // A list answer nothing is hidden from goes on byte for byte.
  f.Client(R"({"jsonrpc":"2.0","id":"list-2","method":"tools/list","params":{"cursor":"page-2"}})");
  const std::string page2 = R"({"jsonrpc":"2.0","id":"list-2","result":{"tools":[{"name":"search_files"}]}})";
  CHECK(f.Server(page2).to_client.at(0) == page2);
  // An answer to another method with a "tools" key is left alone.
  f.Client(R"({"jsonrpc":"2.0","id":9,"method":"resources/list"})");
  const std::string other = R"({"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"write_file"}]}})";
  CHECK(f.Server(other).to_client.at(0) == other);
}

TEST_CASE("malformed and oversized client lines get errors and go nowhere") {
  Fixture f;
  auto out = f.Client("{\"jsonrpc\":\"2.0\",\"id\":1,");
  CHECK(out.to_server.empty());
  REQUIRE(out.to_client.size() == 1);
  json reply = json::parse(out.to_client[0]);
  CHECK(reply["id"].is_null());
  CHECK(reply["error"]["code"] == -32700);

  out = f.Client("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"\xc3\x28\"}");
  CHECK(out.to_server.empty());
  CHECK(json::parse(out.to_client.at(0))["error"]["code"] == -32700);

  // A repeated key could make the server see another method than toolgate judged.
  out = f.Client(R"({"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"write_file"}})");
  CHECK(out.to_server.empty());
  CHECK(json::parse(out.to_client.at(0))["error"]["code"] == -32600);

  for (const std::string line : {"42", "\"x\"", "null", R"({"jsonrpc":"2.0","id":{},"method":"ping"})",
                                 R"({"jsonrpc":"2.0","id":1,"method":7})"}) {
    out = f.Client(line);
    CHECK(out.to_server.empty());
    CHECK(json::parse(out.to_client.at(0))["error"]["code"] == -32600);
  }

  out = McpSession::Output{};
  f.session.ClientLineTooLong(&out);
  CHECK(json::parse(out.to_client.at(0))["error"]["code"] == -32600);
  CHECK(f.Client("   ").to_client.empty());  // a blank line is no message
  CHECK(f.judge.calls.empty());
}

TEST_CASE("a '\\r' before the newline is tolerated and kept") {
  Fixture f;
  const std::string line = R"({"jsonrpc":"2.0","id":1,"method":"ping"})" "\r";
  CHECK(f.Client(line).to_server.at(0) == line);
}

TEST_CASE("batches: every tools/call in them is judged") {
  Fixture f;
  const std::string all_allowed = "[" + Call("1", "read_file") + "," + R"({"jsonrpc":"2.0","method":"notifications/x"})" + "]";
  auto out = f.Client(all_allowed);
  REQUIRE(out.to_server.size() == 1);
  CHECK(out.to_server[0] == all_allowed);  // nothing withheld: the line as sent
  CHECK(out.to_client.empty());

  const std::string mixed = "[" + Call("2", "read_file") + "," + Call("\"3\"", "write_file") + ",5]";
  out = f.Client(mixed);
  REQUIRE(out.to_server.size() == 1);
  const json forwarded = json::parse(out.to_server[0]);
  REQUIRE(forwarded.is_array());
  REQUIRE(forwarded.size() == 1);
  CHECK(forwarded[0]["id"] == 2);
  REQUIRE(out.to_client.size() == 1);
  const json replies = json::parse(out.to_client[0]);
  REQUIRE(replies.is_array());
  REQUIRE(replies.size() == 2);
  CHECK(replies[0]["id"] == "3");
  CHECK(replies[0]["result"]["isError"] == true);
  CHECK(replies[1]["error"]["code"] == -32600);

  out = f.Client("[" + Call("4", "write_file") + "]");
  CHECK(out.to_server.empty());
  CHECK(json::parse(out.to_client.at(0)).at(0)["id"] == 4);

  out = f.Client("[]");
  CHECK(out.to_server.empty());
  CHECK(json::parse(out.to_client.at(0))["error"]["code"] == -32600);
  CHECK(f.judge.calls.size() == 4);
}

TEST_CASE("server batches of answers are matched and filtered element by element") {
  Fixture f;
  f.judge.hidden = {"mcp__fs__write_file"};
  f.Client(R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"ping"}])");
  CHECK(f.session.pending() == 2);
  const auto out = f.Server(
      R"([{"jsonrpc":"2.0","id":2,"result":{}},{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"write_file"}]}}])");
  const json back = json::parse(out.to_client.at(0));
  CHECK(back[1]["result"]["tools"].empty());
  CHECK(f.session.pending() == 0);
}

TEST_CASE("garbage from the server is dropped with a diagnostic") {
  Fixture f;
  for (const std::string line : {"not json", "{\"id\":1,", "17", "{\"a\":\"\xff\"}"}) {
    const auto out = f.Server(line);
    CHECK(out.to_client.empty());
    CHECK(out.diagnostics.size() == 1);
  }
  McpSession::Output out;
  f.session.ServerLineTooLong(&out);
  CHECK(out.to_client.empty());
  CHECK(out.diagnostics.size() == 1);
}

TEST_CASE("once the server is gone, every pending and later request gets an error") {
  Fixture f;
  f.Client(Call("1", "read_file"));
  f.Client(R"({"jsonrpc":"2.0","id":"two","method":"resources/read","params":{"uri":"file:///x"}})");
  McpSession::Output gone;
  f.session.ServerGone("exited with status 3", &gone);
  CHECK(gone.to_client.size() == 2);
  CHECK(f.session.pending() == 0);
  const auto later = f.Client(R"({"jsonrpc":"2.0","id":8,"method":"ping"})");
  CHECK(later.to_server.empty());
  CHECK(json::parse(later.to_client.at(0))["error"]["code"] == -32000);
  CHECK(f.Client(R"({"jsonrpc":"2.0","method":"notifications/x"})").to_client.empty());
}

TEST_CASE("a cancelled request is no longer waited for; the pending table is bounded") {
  McpSessionOptions o = Fixture::Options();
  o.max_pending = 2;
  FakeJudge judge;
  McpSession s(o, &judge);
  McpSession::Output out;
  s.FromClient(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", &out);
  s.FromClient(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})", &out);
  CHECK(s.pending() == 0);
  s.FromClient(R"({"jsonrpc":"2.0","id":2,"method":"ping"})", &out);
  s.FromClient(R"({"jsonrpc":"2.0","id":3,"method":"ping"})", &out);
  out = McpSession::Output{};
  s.FromClient(R"({"jsonrpc":"2.0","id":4,"method":"ping"})", &out);
  CHECK(out.to_server.empty());
  CHECK(json::parse(out.to_client.at(0))["error"]["code"] == -32000);
  CHECK(s.pending() == 2);
}

TEST_CASE("server names") {
  CHECK(ServerNameFromCommand("/usr/bin/mcp-server-git") == "mcp-server-git");
  CHECK(ServerNameFromCommand("node") == "node");
  CHECK(ServerNameFromCommand("./my server.py") == "my_server_py");
  CHECK(ServerNameFromCommand("a__b") == "a_b");
  CHECK(ServerNameFromCommand("/") == "server");
  CHECK(IsValidServerName("fs"));
  CHECK(IsValidServerName("git-hub_2"));
  CHECK_FALSE(IsValidServerName(""));
  CHECK_FALSE(IsValidServerName("a__b"));
  CHECK_FALSE(IsValidServerName("a*"));
  CHECK_FALSE(IsValidServerName(std::string(65, 'a')));
}
