#include "hooks/mcp/mcp_session.h"

#include <chrono>
#include <utility>

#include "hooks/mcp/jsonrpc.h"

namespace toolgate::mcp {
namespace {

using nlohmann::json;

std::string_view WithoutCarriageReturn(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r") == std::string_view::npos;
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ForModel(const std::string& reason) {
  if (reason.rfind("toolgate", 0) == 0) return reason;
  return "toolgate: " + reason;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

McpSession::McpSession(McpSessionOptions options, McpJudge* judge) : options_(std::move(options)), judge_(judge) {}

std::string McpSession::QualifiedToolName(const std::string& tool) const {
  return "mcp__" + options_.server_name + "__" + tool;
}

void McpSession::FromClient(std::string_view line, Output* out) {
  const std::string_view text = WithoutCarriageReturn(line);
  if (IsBlank(text)) return;
  Result<json> doc = ParseMessage(text, options_.max_line_bytes, options_.max_depth);
  if (!doc) {
    const ErrorCode code = doc.error().code;
    const bool syntax = code == ErrorCode::kMalformedJson || code == ErrorCode::kInvalidUtf8;
    const std::string why = doc.error().message + " (" + doc.error().location + ")";
    out->to_client.push_back(Serialize(ErrorReply(nullptr, syntax ? kParseError : kInvalidRequest,
                                                  "toolgate: the message was not forwarded: " + why)));
    out->diagnostics.push_back("refused a client message: " + why);
    return;
  }
  std::vector<json> replies;
  if (doc->is_array()) {
    if (doc->empty()) {
      out->to_client.push_back(Serialize(ErrorReply(nullptr, kInvalidRequest, "toolgate: an empty batch")));
      return;
    }
    json forwarded = json::array();
    bool withheld = false;
    for (const json& element : *doc) {
      if (ClientMessage(element, &replies, out) == Step::kForward) {
        forwarded.push_back(element);
      } else {
        withheld = true;
      }
    }
    if (!forwarded.empty()) out->to_server.push_back(withheld ? Serialize(forwarded) : std::string(line));
    if (!replies.empty()) out->to_client.push_back(Serialize(json(std::move(replies))));
    return;
  }
  if (ClientMessage(*doc, &replies, out) == Step::kForward) out->to_server.push_back(std::string(line));
  for (const json& r : replies) out->to_client.push_back(Serialize(r));
}

McpSession::Step McpSession::ClientMessage(const json& msg, std::vector<json>* replies, Output* out) {
  if (!msg.is_object()) {
    replies->push_back(ErrorReply(nullptr, kInvalidRequest, "toolgate: a JSON-RPC message must be an object"));
    return Step::kReplied;
  }
  const auto method = msg.find("method");
  const auto id = msg.find("id");
  const bool has_id = id != msg.end();
  if (has_id && !IsValidId(*id)) {
    replies->push_back(ErrorReply(nullptr, kInvalidRequest, "toolgate: a request id must be a string or a number"));
    return Step::kReplied;
  }
  // No method: a response to one of the server's requests.
  if (method == msg.end()) return Step::kForward;
  const json reply_id = has_id ? *id : json(nullptr);
  if (!method->is_string()) {
    replies->push_back(ErrorReply(reply_id, kInvalidRequest, "toolgate: \"method\" must be a string"));
    return Step::kReplied;
  }
  if (server_gone_) {
    if (!has_id) return Step::kDropped;
    replies->push_back(ErrorReply(reply_id, kServerUnavailable, "toolgate: the MCP server " + gone_why_));
    return Step::kReplied;
  }
  const std::string& name = method->get_ref<const std::string&>();
  if (has_id && pending_.size() >= options_.max_pending) {
    replies->push_back(ErrorReply(reply_id, kServerUnavailable,
                                  "toolgate: " + std::to_string(pending_.size()) +
                                      " requests are already waiting for the MCP server"));
    return Step::kReplied;
  }
  if (name == "tools/call") return JudgeToolCall(msg, has_id, replies, out);
  if (name == "notifications/cancelled") {
    // The server may never answer a cancelled request: stop waiting for it.
    const auto params = msg.find("params");
    if (params != msg.end() && params->is_object()) {
      const auto rid = params->find("requestId");
      if (rid != params->end() && IsValidId(*rid)) pending_.erase(IdKey(*rid));
    }
  }
  if (has_id) pending_[IdKey(*id)] = {*id, name};
  return Step::kForward;
}

McpSession::Step McpSession::JudgeToolCall(const json& msg, bool has_id, std::vector<json>* replies, Output* out) {
  const json id = has_id ? msg.at("id") : json(nullptr);
  const auto invalid = [&](const std::string& what) {
    out->diagnostics.push_back("refused a tools/call: " + what);
    if (!has_id) return Step::kDropped;
    replies->push_back(ErrorReply(id, kInvalidParams, "toolgate: the call was not forwarded: " + what));
    return Step::kReplied;
  };
  const auto params = msg.find("params");
  if (params == msg.end() || !params->is_object()) return invalid("tools/call needs a params object");
  const auto name = params->find("name");
  if (name == params->end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return invalid("tools/call needs params.name, a non-empty string");
  }
  ToolCall call;
  if (const auto args = params->find("arguments"); args != params->end()) {
    if (!args->is_object()) return invalid("params.arguments must be an object");
    call.tool_input = *args;
  }
  const std::string& tool = name->get_ref<const std::string&>();
  call.agent_id = options_.agent_id;
  call.session_id = options_.session_id;
  call.client = Client::kMcp;
  call.hook_event = "tools/call";
  call.tool_name = QualifiedToolName(tool);
  call.client_tool_name = tool;
  call.cwd = options_.cwd;
  call.timestamp_ms = NowMs();
  if (has_id) call.call_id = id.is_string() ? id.get<std::string>() : id.dump();
  const McpJudgement judgement = judge_->Judge(call);
  ++calls_judged_;
  if (judgement.allowed) {
    if (has_id) pending_[IdKey(id)] = {id, "tools/call"};
    return Step::kForward;
  }
  const std::string text = ForModel(judgement.reason);
  out->diagnostics.push_back("denied " + call.tool_name + ": " + text);
  if (!has_id) return Step::kDropped;
  replies->push_back(ToolErrorReply(id, text));
  return Step::kReplied;
}

void McpSession::ClientLineTooLong(Output* out) {
  const std::string why = "a message over " + std::to_string(options_.max_line_bytes) + " bytes was dropped";
  out->to_client.push_back(Serialize(ErrorReply(nullptr, kInvalidRequest, "toolgate: " + why)));
  out->diagnostics.push_back("client: " + why);
}

void McpSession::FromServer(std::string_view line, Output* out) {
  const std::string_view text = WithoutCarriageReturn(line);
  if (IsBlank(text)) return;
  Result<json> doc = ParseMessage(text, options_.max_line_bytes, options_.max_depth);
  if (!doc || !(doc->is_object() || doc->is_array())) {
    out->diagnostics.push_back("dropped a line from the server that is no JSON-RPC message" +
                               (doc ? std::string() : ": " + doc.error().message + " (" + doc.error().location + ")"));
    return;
  }
  bool changed = false;
  if (doc->is_array()) {
    for (json& element : *doc) changed = ServerMessage(&element, out) || changed;
  } else {
    changed = ServerMessage(&*doc, out);
  }
  out->to_client.push_back(changed ? Serialize(*doc) : std::string(line));
}

bool McpSession::ServerMessage(json* msg, Output* out) {
  if (!msg->is_object() || msg->contains("method")) return false;  // the server's own requests pass as they are
  const auto id = msg->find("id");
  if (id == msg->end() || !IsValidId(*id)) return false;
  const auto it = pending_.find(IdKey(*id));
  if (it == pending_.end()) return false;
  const std::string method = std::move(it->second.second);
  pending_.erase(it);
  if (method != "tools/list") return false;
  const auto result = msg->find("result");
  return result != msg->end() && result->is_object() && FilterToolList(&*result, out);
}

bool McpSession::FilterToolList(json* result, Output* out) {
  const auto tools = result->find("tools");
  if (tools == result->end() || !tools->is_array()) return false;
  json kept = json::array();
  std::string hidden;
  for (json& tool : *tools) {
    const auto name = tool.is_object() ? tool.find("name") : tool.end();
    if (tool.is_object() && name != tool.end() && name->is_string()) {
      const std::string qualified = QualifiedToolName(name->get<std::string>());
      if (judge_->HidesTool(qualified)) {
        hidden += (hidden.empty() ? "" : ", ") + qualified;
        continue;
      }
    }
    kept.push_back(std::move(tool));
  }
  if (hidden.empty()) return false;
  *tools = std::move(kept);
  out->diagnostics.push_back("tools/list hides what the profile denies: " + hidden);
  return true;
}

void McpSession::ServerLineTooLong(Output* out) {
  out->diagnostics.push_back("dropped a line from the server over " + std::to_string(options_.max_line_bytes) +
                             " bytes");
}

void McpSession::ServerGone(const std::string& why, Output* out) {
  server_gone_ = true;
  gone_why_ = why;
  for (const auto& [key, entry] : pending_) {
    out->to_client.push_back(Serialize(ErrorReply(
        entry.first, kServerUnavailable, "toolgate: the MCP server " + why + " before answering " + entry.second)));
  }
  pending_.clear();
}

std::string ServerNameFromCommand(const std::string& argv0) {
  const std::size_t slash = argv0.rfind('/');
  const std::string base = slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
  std::string out;
  for (const char c : base) {
    const char k = IsNameChar(c) ? c : '_';
    if (k == '_' && !out.empty() && out.back() == '_') continue;  // "__" separates server and tool
    out += k;
  }
  if (out.size() > 64) out.resize(64);
  if (out.empty() || out == "_") return "server";
  return out;
}

bool IsValidServerName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.find("__") != std::string_view::npos) return false;
  for (const char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

}  // namespace toolgate::mcp
