// One line of the daemon protocol (include/toolgate/daemon_protocol.h): the
// request it carries, or the protocol error it earns, and the reply lines.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "toolgate/decision.h"
#include "toolgate/tool_call.h"

namespace toolgate::server {

// The error codes of the protocol; stable names, never message text.
enum class ProtocolError {
  kMalformedJson,
  kInvalidUtf8,
  kInputTooLarge,
  kNestingTooDeep,
  kUnsupportedVersion,  // "v" missing or not 1
  kUnknownOp,
  kBadRequest,          // missing or wrong-typed keys
  kInternal,
};
const char* ProtocolErrorName(ProtocolError code);  // "malformed_json", ...

enum class Op { kDecide, kPing };

struct Request {
  std::string id;       // the request's id as JSON text, echoed verbatim in the reply
  Op op = Op::kPing;
  nlohmann::json call;  // for decide: the call object, as sent
  // "headless": true: the caller cannot ask a human, so an ask follows the
  // policy's ask_fallback (include/toolgate/ask_fallback.h) before it is logged.
  bool headless = false;
};

struct RequestError {
  std::string id = "null";  // the id when it could be read, else null
  ProtocolError code = ProtocolError::kBadRequest;
  std::string message;
};

// Parses one line (without its '\n'). limits bound the whole line: its size,
// its UTF-8 and its nesting (the call sits one level below the envelope).
std::variant<Request, RequestError> ParseRequest(std::string_view line, const InputLimits& limits);

// The call object of a decide request as the engine's ToolCall, picking the
// form from its shape exactly as ParseToolCall does for `toolgate check`
// (Claude hook keys, else canonical), so both judge the same call.
Result<ToolCall> ToolCallFromRequest(const nlohmann::json& call);

// Reply lines, each appended with its '\n'.
// shell_sandboxed adds "shell_sandboxed":true beside the decision: the
// policy runs this call's shell commands inside `toolgate run`, and the hook
// forwards an allowed shell call there without loading the policy itself.
void AppendDecisionReply(std::string* out, std::string_view id, const Decision& decision,
                         bool shell_sandboxed = false);
void AppendPongReply(std::string* out, std::string_view id, std::string_view policy_digest);
void AppendErrorReply(std::string* out, std::string_view id, ProtocolError code, std::string_view message);

}  // namespace toolgate::server
