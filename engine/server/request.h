// One line of the daemon protocol (include/toolgate/daemon_protocol.h): the
// request it carries, or the protocol error it earns, and the reply lines.
#pragma once

#include <optional>
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
  kForbidden,           // a session op from a peer that is neither root nor the daemon's own user
  kInvalidArgument,     // a session op's value is refused (unknown phase, bad grant, duration out of range)
  kNotFound,            // revoke: no such live grant
};
const char* ProtocolErrorName(ProtocolError code);  // "malformed_json", ...

enum class Op { kDecide, kPing, kPhaseSet, kPhaseGet, kGrant, kGrants, kRevoke, kHook };

// A "hook" request: a hook client's raw input and the shim's options that
// change the answer. The daemon answers with exactly what `toolgate hook`
// would print (engine/server/hook_op.h), so the shim only pumps bytes.
struct HookRequest {
  std::string input;                   // the client's stdin text, as read
  Client client = Client::kUnknown;    // kUnknown: detect from the input's shape
  std::optional<std::string> agent;    // --agent / $TOOLGATE_AGENT, when the shim has one
  std::optional<std::string> session;  // --session
  std::string toolgate_path;           // the full toolgate binary, for a call forwarded into the sandbox
  std::string policy_path;             // --policy, absolute; "" = the embedded default
};

struct Request {
  std::string id;       // the request's id as JSON text, echoed verbatim in the reply
  Op op = Op::kPing;
  nlohmann::json call;  // for decide: the call object, as sent
  // Session ops (phase_set, phase_get, grant, grants, revoke).
  std::string session;
  std::string phase;     // phase_set ("" clears)
  std::string agent;     // phase_set: check the phase against this agent's profile; grant: only this agent
  std::string grant;     // grant: "fs.write:/srv/blog/**"
  long long for_s = 0;   // grant: seconds
  std::string grant_id;  // revoke
  // "headless": true: the caller cannot ask a human, so an ask follows the
  // policy's ask_fallback (include/toolgate/ask_fallback.h) before it is logged.
  bool headless = false;
  HookRequest hook;  // for hook
};

// Whether op changes a session (phase_set, grant, revoke): only root or the
// daemon's own user may send it, never the agents it judges.
bool IsPrivilegedOp(Op op);

struct RequestError {
  std::string id = "null";  // the id when it could be read, else null
  ProtocolError code = ProtocolError::kBadRequest;
  std::string message;
};

// Parses one line (without its '\n'). limits bound the whole line: its size,
// its UTF-8 and its nesting (the call sits one level below the envelope).
std::variant<Request, RequestError> ParseRequest(std::string_view line, const InputLimits& limits);

// A decide request read in one pass, without a DOM of the line.
struct DecideRequest {
  std::string id;  // as Request::id
  ToolCall call;   // what ToolCallFromRequest makes of the request's call
  bool headless = false;
};

// The daemon's common request, read straight from the text: a well-formed
// decide line whose call converts to a ToolCall. Anything else (another op,
// any protocol error, a repeated envelope key, a call that does not convert)
// is nullopt, and the caller takes ParseRequest and ToolCallFromRequest, whose
// answer for such a line this never has to reproduce. For a line it reads, it
// gives what they give (the tests hold the two to each other).
std::optional<DecideRequest> ReadDecideRequest(std::string_view line, const InputLimits& limits);

// The call object of a decide request as the engine's ToolCall, picking the
// form from its shape exactly as ParseToolCall does for `toolgate check`
// (Claude hook keys, else canonical), so both judge the same call.
Result<ToolCall> ToolCallFromRequest(const nlohmann::json& call);

// Reply lines, each appended with its '\n'.
// shell_sandboxed adds "shell_sandboxed":true beside the decision: the
// policy runs this call's shell commands inside `toolgate run`, and the hook
// forwards an allowed shell call there without loading the policy itself.
// message, when not null, is decision.MessageForModel() made beforehand.
void AppendDecisionReply(std::string* out, std::string_view id, const Decision& decision,
                         bool shell_sandboxed = false, const std::string* message = nullptr);
void AppendPongReply(std::string* out, std::string_view id, std::string_view policy_digest);
void AppendErrorReply(std::string* out, std::string_view id, ProtocolError code, std::string_view message);
// {"v":1,"id":<id>,"ok":true,<members of body>}: the reply of a session op.
void AppendObjectReply(std::string* out, std::string_view id, const nlohmann::json& body);

}  // namespace toolgate::server
