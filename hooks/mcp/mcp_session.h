// McpSession: the MCP proxy's protocol logic with no I/O, one line in and the
// lines to send out, so every rule below is testable without processes.
//
// Client -> server:
//   * tools/call (a request, a notification, or an element of a batch) is
//     judged as tool mcp__<server>__<name> with params.arguments as its input.
//     Allowed: the line goes on byte for byte. Denied (and ask, since a stdio
//     session has no one to ask): the client gets a tool result with
//     isError:true and the reason as text, and the server never sees the call.
//   * every other message goes on unchanged; requests are remembered by id.
//   * unparsable JSON gets a parse error (-32700, id null); a repeated key, a
//     message that is no object or array, or an over-long line gets an
//     invalid-request error (-32600, id null). Nothing unparsed is forwarded.
//   * a batch is judged element by element: allowed elements go on (the
//     original line when nothing was withheld), the answers toolgate gives
//     itself come back as one array.
// Server -> client:
//   * responses to the client's tools/list drop the tools the agent's profile
//     may never call (McpJudge::HidesTool); everything else goes on unchanged.
//   * a line that does not parse is dropped with a diagnostic: the client
//     never receives bytes toolgate could not read.
// When the server is gone, every request still pending gets an error reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/tool_call.h"

namespace toolgate::mcp {

struct McpJudgement {
  bool allowed = false;
  std::string reason;  // for the model; shown as the denied call's result text
};

// The policy side of the proxy; hooks/mcp/mcp_judge.h has the real one.
class McpJudge {
 public:
  virtual ~McpJudge() = default;
  // Judges (and logs) one call. Must not throw: a failure is a denial.
  virtual McpJudgement Judge(const ToolCall& call) = 0;
  // True when the agent's profile denies this tool (mcp__server__tool) by its
  // tool grants alone, so no call to it could ever be allowed.
  virtual bool HidesTool(const std::string& tool_name) = 0;
};

struct McpSessionOptions {
  std::string server_name;  // the <server> in mcp__<server>__<tool>
  std::string agent_id;     // "" = the policy's default profile
  std::string session_id;
  std::string cwd;          // the proxy's working directory, the server's too
  std::size_t max_line_bytes = std::size_t{8} << 20;
  int max_depth = 128;      // JSON nesting of one message
  std::size_t max_pending = 4096;  // client requests awaiting a server reply
};

class McpSession {
 public:
  McpSession(McpSessionOptions options, McpJudge* judge);

  struct Output {
    std::vector<std::string> to_server;    // lines without '\n'
    std::vector<std::string> to_client;    // lines without '\n'
    std::vector<std::string> diagnostics;  // for stderr
  };

  // One line from the client (without its '\n').
  void FromClient(std::string_view line, Output* out);
  // A client line went over max_line_bytes and was dropped.
  void ClientLineTooLong(Output* out);
  // One line from the server (without its '\n').
  void FromServer(std::string_view line, Output* out);
  // A server line went over max_line_bytes and was dropped.
  void ServerLineTooLong(Output* out);
  // The server cannot answer any more (why: "exited with status 1", ...):
  // every pending request gets an error reply, and so does every later one.
  void ServerGone(const std::string& why, Output* out);

  std::size_t pending() const { return pending_.size(); }
  const std::string& server_name() const { return options_.server_name; }

  // "mcp__<server>__<tool>"
  std::string QualifiedToolName(const std::string& tool) const;

 private:
  enum class Step { kForward, kReplied, kDropped };
  Step ClientMessage(const nlohmann::json& msg, std::vector<nlohmann::json>* replies, Output* out);
  Step JudgeToolCall(const nlohmann::json& msg, bool has_id, std::vector<nlohmann::json>* replies, Output* out);
  bool ServerMessage(nlohmann::json* msg, Output* out);  // true when msg was changed
  bool FilterToolList(nlohmann::json* result, Output* out);

  McpSessionOptions options_;
  McpJudge* judge_;
  std::map<std::string, std::pair<nlohmann::json, std::string>> pending_;  // IdKey -> (id, method)
  bool server_gone_ = false;
  std::string gone_why_;
  std::uint64_t calls_judged_ = 0;
};

// The server name for a command when --server-name is not given: the
// basename of argv[0], sanitized to [A-Za-z0-9_-] with no "__" (the separator
// in mcp__<server>__<tool>); "server" when nothing is left.
std::string ServerNameFromCommand(const std::string& argv0);
// True when a name given with --server-name can be used as it is.
bool IsValidServerName(std::string_view name);

}  // namespace toolgate::mcp
