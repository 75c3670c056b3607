// Fuzz target: the MCP stdio proxy's protocol logic (hooks/mcp/), the bytes a
// client and a server send `toolgate mcp`, with no processes: each side's
// stream through its own LineReader (the proxy's framing), complete lines into
// McpSession, tools/call judged by the real HookJudge in-process under
// tests/mcp/policy.json (no daemon, no log). The first byte picks the line
// limit, the pending-request limit and the agent; then each step is one op
// byte and its bytes: a chunk from the client, a chunk from the server, end
// of either stream, or the server going away.
// Invariants: every line out is one line of valid JSON (no raw newline, strict
// UTF-8); every reply toolgate writes itself is a JSON-RPC 2.0 response that
// echoes the request's id (null when the id could not be read); a tools/call
// reaches the server exactly when the judge allowed it, and a tools/list
// response toolgate rewrote lists no tool the profile hides; a client line
// gets either forwarded or answered unless it was a notification; when the
// server goes, every pending request is answered with its id and none is
// left; the line readers never buffer more than their limit.
#include <set>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "hooks/mcp/jsonrpc.h"
#include "hooks/mcp/line_reader.h"
#include "hooks/mcp/mcp_judge.h"
#include "hooks/mcp/mcp_session.h"
#include "toolgate/policy.h"
#include "toolgate/tool_call.h"

namespace {

using nlohmann::json;
using namespace toolgate;
using namespace toolgate::mcp;

std::string PolicyPath() { return fuzz::SourceRoot() + "/tests/mcp/policy.json"; }

// The policy, loaded once per process (HookJudge keeps the one it loads).
std::shared_ptr<const Policy> McpPolicy() {
  static const std::shared_ptr<const Policy> policy = [] {
    PolicyLoadResult r = LoadPolicyFile(PolicyPath());
    if (!r.ok()) {
      std::fprintf(stderr, "mcp_fuzz: %s does not load\n", PolicyPath().c_str());
      std::abort();
    }
    return r.policy;
  }();
  return policy;
}

hooks::HookOptions InProcess(const std::string& agent) {
  hooks::HookOptions o;
  o.agent = agent;
  o.use_daemon = false;
  o.log_transport = "mcp-stdio";
  o.load_policy = [](std::string*) { return McpPolicy(); };
  return o;
}

// The real judge, with what it said recorded for the invariants.
class RecordingJudge : public McpJudge {
 public:
  explicit RecordingJudge(const std::string& agent) : judge_(InProcess(agent)) {}
  struct Judged {
    std::string tool_name;
    json input;
    bool allowed;
  };
  std::vector<Judged> judged;  // since the last clear()
  std::set<std::string> hidden;

  McpJudgement Judge(const ToolCall& call) override {
    McpJudgement j = judge_.Judge(call);
    judged.push_back({call.tool_name, call.tool_input, j.allowed});
    if (!j.allowed) FUZZ_CHECK(!j.reason.empty());
    return j;
  }
  bool HidesTool(const std::string& tool_name) override {
    const bool h = judge_.HidesTool(tool_name);
    if (h) hidden.insert(tool_name);
    return h;
  }

 private:
  HookJudge judge_;
};

json ParseOut(const std::string& line) {
  FUZZ_CHECK(line.find('\n') == std::string::npos);
  Result<json> doc = ParseUntrustedJson(line, {std::size_t{64} << 20, 1024});
  FUZZ_CHECK(doc.ok());
  return std::move(*doc);
}

// A response toolgate wrote: {"jsonrpc":"2.0","id":...,"error"|"result":...}.
void CheckOwnReply(const json& r) {
  FUZZ_CHECK(r.is_object());
  FUZZ_CHECK(r.value("jsonrpc", json()) == json("2.0"));
  FUZZ_CHECK(r.contains("id"));
  FUZZ_CHECK(r["id"].is_null() || IsValidId(r["id"]));
  FUZZ_CHECK(r.contains("error") != r.contains("result"));
  if (r.contains("error")) {
    FUZZ_CHECK(r["error"].is_object() && r["error"].contains("code") && r["error"]["code"].is_number_integer());
    FUZZ_CHECK(r["error"].contains("message") && r["error"]["message"].is_string());
  } else {
    FUZZ_CHECK(r["result"].value("isError", json()) == json(true));
  }
}

bool IsToolsCall(const json& m) {
  return m.is_object() && m.contains("method") && m["method"] == json("tools/call");
}

// The tools/call messages of one forwarded line, in order.
void CollectCalls(const json& doc, std::vector<json>* calls) {
  if (doc.is_array()) {
    for (const json& e : doc) {
      if (IsToolsCall(e)) calls->push_back(e);
    }
  } else if (IsToolsCall(doc)) {
    calls->push_back(doc);
  }
}

struct Harness {
  RecordingJudge judge;
  McpSession session;
  std::size_t max_line;
  std::size_t max_pending;
  LineReader client_reader;
  LineReader server_reader;
  bool server_gone = false;

  Harness(const std::string& agent, std::size_t line_limit, std::size_t pending_limit)
      : judge(agent),
        session(Options(agent, line_limit, pending_limit), &judge),
        max_line(line_limit),
        max_pending(pending_limit),
        client_reader(line_limit),
        server_reader(line_limit) {}

  static McpSessionOptions Options(const std::string& agent, std::size_t line_limit, std::size_t pending_limit) {
    McpSessionOptions o;
    o.server_name = "fs";
    o.agent_id = agent;
    o.session_id = "fuzz";
    o.cwd = "/work/project";
    o.max_line_bytes = line_limit;
    o.max_depth = 64;
    o.max_pending = pending_limit;
    return o;
  }

  void CheckCommon(const McpSession::Output& out) {
    for (const std::string& l : out.to_server) ParseOut(l);
    for (const std::string& l : out.to_client) ParseOut(l);
    FUZZ_CHECK(session.pending() <= max_pending);
  }

  void ClientLine(const std::string& line) {
    judge.judged.clear();
    McpSession::Output out;
    session.FromClient(line, &out);
    CheckCommon(out);
    FUZZ_CHECK(out.to_server.size() <= 1);
    FUZZ_CHECK(out.to_client.size() <= 1);
    if (server_gone) FUZZ_CHECK(judge.judged.empty());  // nothing is judged for a server that is gone

    // Exactly the allowed calls reach the server, in order, as they were judged.
    std::vector<json> forwarded_calls;
    for (const std::string& l : out.to_server) CollectCalls(ParseOut(l), &forwarded_calls);
    std::vector<const RecordingJudge::Judged*> allowed;
    for (const auto& j : judge.judged) {
      if (j.allowed) allowed.push_back(&j);
    }
    FUZZ_CHECK(forwarded_calls.size() == allowed.size());
    for (std::size_t i = 0; i < allowed.size(); ++i) {
      const json& params = forwarded_calls[i]["params"];
      FUZZ_CHECK(params.is_object() && params.contains("name") && params["name"].is_string());
      FUZZ_CHECK(session.QualifiedToolName(params["name"].get<std::string>()) == allowed[i]->tool_name);
      FUZZ_CHECK(params.contains("arguments") ? params["arguments"] == allowed[i]->input
                                              : allowed[i]->input == json::object());
    }

    // What toolgate answered itself.
    std::vector<json> replies;
    for (const std::string& l : out.to_client) {
      json doc = ParseOut(l);
      if (doc.is_array()) {
        FUZZ_CHECK(!doc.empty());
        for (json& r : doc) replies.push_back(std::move(r));
      } else {
        replies.push_back(std::move(doc));
      }
    }
    for (const json& r : replies) CheckOwnReply(r);

    // Replies echo ids: a single request toolgate did not forward is answered
    // with its own id (or null when that id is not a valid one).
    const std::string_view text =
        !line.empty() && line.back() == '\r' ? std::string_view(line).substr(0, line.size() - 1) : std::string_view(line);
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) {
      FUZZ_CHECK(out.to_server.empty() && out.to_client.empty());
      return;
    }
    Result<json> req = ParseMessage(text, max_line, 64);
    if (!req) {
      FUZZ_CHECK(out.to_server.empty());
      FUZZ_CHECK(replies.size() == 1 && replies[0]["id"].is_null() && replies[0].contains("error"));
      return;
    }
    if (req->is_object()) {
      const bool has_id = req->contains("id");
      if (!out.to_server.empty()) {
        FUZZ_CHECK(out.to_server[0] == line);  // forwarded byte for byte
        FUZZ_CHECK(replies.empty());
      } else if (has_id) {
        FUZZ_CHECK(replies.size() == 1);
        const json& id = (*req)["id"];
        FUZZ_CHECK(IsValidId(id) ? IdKey(replies[0]["id"]) == IdKey(id) : replies[0]["id"].is_null());
      } else if (req->contains("method")) {
        // A notification toolgate did not forward: dropped silently, unless its method was unreadable.
        FUZZ_CHECK(replies.size() <= 1);
      }
    } else if (req->is_array()) {
      if (req->empty()) {
        FUZZ_CHECK(out.to_server.empty() && replies.size() == 1);
        return;
      }
      // Every element is forwarded or answered (or, a notification, dropped);
      // the answers carry the ids of elements that had one.
      std::size_t forwarded = 0;
      if (!out.to_server.empty()) {
        const json sent = ParseOut(out.to_server[0]);
        FUZZ_CHECK(sent.is_array() && !sent.empty());
        forwarded = sent.size();
        if (forwarded == req->size()) FUZZ_CHECK(out.to_server[0] == line);
      }
      FUZZ_CHECK(forwarded + replies.size() <= req->size());
      std::multiset<std::string> reply_ids;
      for (const json& r : replies) {
        if (!r["id"].is_null()) reply_ids.insert(IdKey(r["id"]));
      }
      for (const json& e : *req) {
        if (e.is_object() && e.contains("id") && IsValidId(e["id"]) && e.contains("method") &&
            e["method"].is_string() && reply_ids.count(IdKey(e["id"])) == 0) {
          // Not answered by toolgate: then it went to the server.
          FUZZ_CHECK(forwarded > 0);
        }
      }
    } else {
      FUZZ_CHECK(out.to_server.empty() && replies.size() == 1 && replies[0]["id"].is_null());
    }
  }

  void ServerLine(const std::string& line) {
    judge.hidden.clear();
    McpSession::Output out;
    session.FromServer(line, &out);
    CheckCommon(out);
    FUZZ_CHECK(out.to_server.empty());
    FUZZ_CHECK(out.to_client.size() <= 1);
    if (out.to_client.empty() || out.to_client[0] == line) return;
    // Rewritten: only a tools/list result, with no hidden tool left in it.
    const json doc = ParseOut(out.to_client[0]);
    FUZZ_CHECK(!judge.hidden.empty());
    const auto check = [&](const json& m) {
      if (!m.is_object() || !m.contains("result") || !m["result"].is_object()) return;
      const json tools = m["result"].value("tools", json());
      if (!tools.is_array()) return;
      for (const json& t : tools) {
        if (t.is_object() && t.contains("name") && t["name"].is_string()) {
          FUZZ_CHECK(!judge.hidden.count(session.QualifiedToolName(t["name"].get<std::string>())));
        }
      }
    };
    if (doc.is_array()) {
      for (const json& m : doc) check(m);
    } else {
      check(doc);
    }
  }

  void Events(std::vector<LineEvent>* events, bool from_client) {
    for (LineEvent& e : *events) {
      if (e.kind == LineEvent::Kind::kOversized) {
        McpSession::Output out;
        if (from_client) {
          session.ClientLineTooLong(&out);
          CheckCommon(out);
          FUZZ_CHECK(out.to_client.size() == 1 && out.to_server.empty());
        } else {
          session.ServerLineTooLong(&out);
          FUZZ_CHECK(out.to_client.empty() && out.to_server.empty());
        }
        continue;
      }
      FUZZ_CHECK(e.text.size() <= max_line);
      FUZZ_CHECK(e.text.find('\n') == std::string::npos);
      if (from_client) {
        ClientLine(e.text);
      } else {
        ServerLine(e.text);
      }
    }
    events->clear();
  }

  void Feed(LineReader* reader, std::string_view bytes, bool from_client) {
    std::vector<LineEvent> events;
    reader->Feed(bytes, &events);
    FUZZ_CHECK(reader->buffered() <= max_line);
    Events(&events, from_client);
  }

  void Finish(LineReader* reader, bool from_client) {
    std::vector<LineEvent> events;
    reader->Finish(&events);
    FUZZ_CHECK(reader->buffered() == 0);
    Events(&events, from_client);
  }

  void Gone() {
    // Every pending request is answered with its own id, and none is left.
    const std::size_t pending = session.pending();
    McpSession::Output out;
    session.ServerGone("exited with status 1", &out);
    CheckCommon(out);
    FUZZ_CHECK(out.to_client.size() == pending);
    std::set<std::string> ids;
    for (const std::string& l : out.to_client) {
      const json r = ParseOut(l);
      CheckOwnReply(r);
      FUZZ_CHECK(IsValidId(r["id"]));
      FUZZ_CHECK(r["error"]["code"] == json(kServerUnavailable));
      ids.insert(IdKey(r["id"]));
    }
    FUZZ_CHECK(ids.size() == pending);
    FUZZ_CHECK(session.pending() == 0);
    server_gone = true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::QuietLogs();
  fuzz::ByteReader in(data, size);
  const std::uint8_t setup = in.U8();
  const std::size_t line_limit = (setup & 1) != 0 ? 256 : std::size_t{1} << 20;
  const std::size_t pending_limit = (setup & 2) != 0 ? 4 : 4096;
  const std::string agent = (setup & 4) != 0 ? "reader" : "fs-agent";
  Harness h(agent, line_limit, pending_limit);
  // Without op bytes the rest is one client stream; the seeds are such streams.
  if ((setup & 8) == 0) {
    h.Feed(&h.client_reader, in.Rest(), true);
    h.Finish(&h.client_reader, true);
    return 0;
  }
  for (int step = 0; step < 64 && !in.empty(); ++step) {
    switch (in.U8() % 5) {
      case 0: h.Feed(&h.client_reader, in.Bytes(8192), true); break;
      case 1: h.Feed(&h.server_reader, in.Bytes(8192), false); break;
      case 2: h.Finish(&h.client_reader, true); break;
      case 3: h.Finish(&h.server_reader, false); break;
      case 4: if (!h.server_gone) h.Gone(); break;
    }
  }
  h.Finish(&h.client_reader, true);
  h.Finish(&h.server_reader, false);
  if (!h.server_gone) h.Gone();
  return 0;
}
