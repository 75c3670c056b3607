#include "server/request.h"

#include <charconv>
#include <utility>

#include "audit/record_writer.h"
#include "call/json_reader.h"
#include "server/reply_writer.h"
#include "toolgate/daemon_protocol.h"
#include "util/utf8.h"

namespace toolgate::server {
namespace {

using nlohmann::json;

constexpr std::string_view kVersion = "0.1.0";

ProtocolError FromParseError(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInputTooLarge: return ProtocolError::kInputTooLarge;
    case ErrorCode::kInvalidUtf8: return ProtocolError::kInvalidUtf8;
    case ErrorCode::kNestingTooDeep: return ProtocolError::kNestingTooDeep;
    case ErrorCode::kMalformedJson: return ProtocolError::kMalformedJson;
    default: return ProtocolError::kInternal;
  }
}

std::string Located(const Error& e) {
  return e.location.empty() ? e.message : e.message + " at " + e.location;
}

// A JSON string for message text we wrote ourselves or validated UTF-8.
void AppendString(std::string* out, std::string_view s) {
  *out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// The id as json::dump writes it (the line is valid UTF-8): strings and
// integers directly, the rare float through dump's own formatting.
void AppendId(std::string* out, const json& id) {
  if (id.is_string() && audit::AppendJsonString(out, id.get_ref<const std::string&>())) return;
  char buf[24];
  if (id.is_number_unsigned()) {
    out->append(buf, std::to_chars(buf, buf + sizeof buf, id.get<std::uint64_t>()).ptr);
  } else if (id.is_number_integer()) {
    out->append(buf, std::to_chars(buf, buf + sizeof buf, id.get<std::int64_t>()).ptr);
  } else {
    out->clear();
    *out += id.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

}  // namespace

const char* ProtocolErrorName(ProtocolError code) {
  switch (code) {
    case ProtocolError::kMalformedJson: return "malformed_json";
    case ProtocolError::kInvalidUtf8: return "invalid_utf8";
    case ProtocolError::kInputTooLarge: return "input_too_large";
    case ProtocolError::kNestingTooDeep: return "nesting_too_deep";
    case ProtocolError::kUnsupportedVersion: return "unsupported_version";
    case ProtocolError::kUnknownOp: return "unknown_op";
    case ProtocolError::kBadRequest: return "bad_request";
    case ProtocolError::kInternal: return "internal";
    case ProtocolError::kForbidden: return "forbidden";
    case ProtocolError::kInvalidArgument: return "invalid_argument";
    case ProtocolError::kNotFound: return "not_found";
  }
  return "internal";
}

std::variant<Request, RequestError> ParseRequest(std::string_view line, const InputLimits& limits) {
  Result<json> parsed = [&]() -> Result<json> {
    try {
      return ParseUntrustedJson(line, limits);
    } catch (const std::exception& e) {  // bad_alloc and friends: this request fails, the daemon does not
      return Error{ErrorCode::kInternal, e.what(), {}};
    }
  }();
  if (!parsed) return RequestError{"null", FromParseError(parsed.error().code), Located(parsed.error())};
  json& doc = *parsed;
  if (!doc.is_object()) return RequestError{"null", ProtocolError::kBadRequest, "a request must be a JSON object"};

  // The id first, so every later error can be matched to its request.
  RequestError err;
  const auto id = doc.find("id");
  if (id == doc.end()) return RequestError{"null", ProtocolError::kBadRequest, "missing \"id\""};
  if (!id->is_string() && !id->is_number()) {
    return RequestError{"null", ProtocolError::kBadRequest, "\"id\" must be a string or a number"};
  }
  err.id = id->dump(-1, ' ', false, json::error_handler_t::replace);

  const auto v = doc.find("v");
  if (v == doc.end() || !v->is_number_integer() || v->get<std::int64_t>() != kDaemonProtocolVersion) {
    err.code = ProtocolError::kUnsupportedVersion;
    err.message = v == doc.end() ? "missing \"v\"; this daemon speaks protocol version 1"
                                 : "protocol version " + v->dump() + " is not supported; this daemon speaks version 1";
    return err;
  }
  const auto op = doc.find("op");
  if (op == doc.end() || !op->is_string()) {
    err.code = ProtocolError::kBadRequest;
    err.message = "\"op\" must be a string";
    return err;
  }
  Request req;
  req.id = err.id;
  const std::string& name = op->get_ref<const std::string&>();
  if (name == "ping") {
    req.op = Op::kPing;
    return req;
  }
  static constexpr std::pair<std::string_view, Op> kSessionOps[] = {
      {"phase_set", Op::kPhaseSet}, {"phase_get", Op::kPhaseGet}, {"grant", Op::kGrant},
      {"grants", Op::kGrants},      {"revoke", Op::kRevoke},
  };
  for (const auto& [op_name, op_value] : kSessionOps) {
    if (name != op_name) continue;
    req.op = op_value;
    const auto text = [&](const char* key, bool required, std::string* into) -> bool {
      const auto it = doc.find(key);
      if (it == doc.end()) {
        if (!required) return true;
        err.code = ProtocolError::kBadRequest;
        err.message = std::string("missing \"") + key + "\"";
        return false;
      }
      if (!it->is_string()) {
        err.code = ProtocolError::kBadRequest;
        err.message = std::string("\"") + key + "\" must be a string";
        return false;
      }
      *into = it->get<std::string>();
      return true;
    };
    if (!text("session", true, &req.session)) return err;
    if (req.session.empty()) {
      err.code = ProtocolError::kBadRequest;
      err.message = "\"session\" must not be empty";
      return err;
    }
    if (!text("agent", false, &req.agent)) return err;
    if (req.op == Op::kPhaseSet && !text("phase", true, &req.phase)) return err;
    if (req.op == Op::kRevoke && !text("grant_id", true, &req.grant_id)) return err;
    if (req.op == Op::kGrant) {
      if (!text("grant", true, &req.grant)) return err;
      const auto f = doc.find("for_s");
      if (f == doc.end() || !f->is_number_integer()) {
        err.code = ProtocolError::kBadRequest;
        err.message = "\"for_s\" must be an integer number of seconds";
        return err;
      }
      req.for_s = f->is_number_unsigned() && f->get<unsigned long long>() > (1ULL << 40) ? (1LL << 40)
                                                                                         : f->get<long long>();
    }
    return req;
  }
  if (name == "hook") {
    req.op = Op::kHook;
    // Optional strings; a present member of another type is a bad request.
    const auto text = [&](const char* key, std::optional<std::string>* into) -> bool {
      const auto it = doc.find(key);
      if (it == doc.end()) return true;
      if (!it->is_string()) {
        err.code = ProtocolError::kBadRequest;
        err.message = std::string("\"") + key + "\" must be a string";
        return false;
      }
      *into = std::move(it->get_ref<std::string&>());
      return true;
    };
    std::optional<std::string> input, client, toolgate, policy;
    if (!text("input", &input) || !text("client", &client) || !text("agent", &req.hook.agent) ||
        !text("session", &req.hook.session) || !text("toolgate", &toolgate) || !text("policy", &policy)) {
      return err;
    }
    if (!input) {
      err.code = ProtocolError::kBadRequest;
      err.message = "missing \"input\" (the hook client's stdin text)";
      return err;
    }
    if (client && !client->empty()) {
      req.hook.client = ClientFromName(*client);
      if (req.hook.client == Client::kUnknown || req.hook.client == Client::kCanonical ||
          req.hook.client == Client::kMcp) {
        err.code = ProtocolError::kBadRequest;
        err.message = "\"client\" must be claude, copilot, codex, gemini, cursor or \"\" (detect)";
        return err;
      }
    }
    req.hook.input = std::move(*input);
    req.hook.toolgate_path = toolgate.value_or("");
    req.hook.policy_path = policy.value_or("");
    return req;
  }
  if (name != "decide") {
    err.code = ProtocolError::kUnknownOp;
    err.message =
        "unknown op \"" + name + "\"; known: decide, hook, ping, phase_set, phase_get, grant, grants, revoke";
    return err;
  }
  req.op = Op::kDecide;
  const auto call = doc.find("call");
  if (call == doc.end() || !call->is_object()) {
    err.code = ProtocolError::kBadRequest;
    err.message = "\"call\" must be a JSON object (a tool call)";
    return err;
  }
  if (const auto headless = doc.find("headless"); headless != doc.end()) {
    if (!headless->is_boolean()) {
      err.code = ProtocolError::kBadRequest;
      err.message = "\"headless\" must be true or false";
      return err;
    }
    req.headless = headless->get<bool>();
  }
  req.call = std::move(*call);
  return req;
}

std::optional<DecideRequest> ReadDecideRequest(std::string_view line, const InputLimits& limits) {
  if (line.size() > limits.max_bytes || FindInvalidUtf8(line) != std::string_view::npos) return std::nullopt;
  JsonReader reader(line, limits.max_depth);
  reader.Begin();
  if (reader.Peek() != '{' || !reader.BeginObject(0)) return std::nullopt;
  DecideRequest req;
  bool seen_v = false;
  bool seen_id = false;
  bool seen_op = false;
  bool seen_headless = false;
  std::optional<Result<ToolCall>> call;
  std::string scratch;
  std::string op;
  std::string_view key;
  json value;
  // A repeated envelope key (json::parse keeps the last) is left to ParseRequest.
  const auto first = [](bool* seen) { return !std::exchange(*seen, true); };
  while (reader.NextKey(&key, &scratch)) {
    if (key == "v") {
      if (!first(&seen_v) || !reader.ReadValue(&value, 1) || !value.is_number_integer() ||
          value.get<std::int64_t>() != kDaemonProtocolVersion) {
        return std::nullopt;
      }
    } else if (key == "id") {
      if (!first(&seen_id) || !reader.ReadValue(&value, 1) || !(value.is_string() || value.is_number())) {
        return std::nullopt;
      }
      AppendId(&req.id, value);
    } else if (key == "op") {
      if (!first(&seen_op) || reader.Peek() != '"' || !reader.ReadString(&op) || op != "decide") return std::nullopt;
    } else if (key == "call") {
      if (call || reader.Peek() != '{') return std::nullopt;
      call.emplace(ReadToolCallObject(&reader, 1));
      if (reader.failure() != JsonReader::Failure::kNone) return std::nullopt;
    } else if (key == "headless") {
      if (!first(&seen_headless) || !reader.ReadValue(&value, 1) || !value.is_boolean()) return std::nullopt;
      req.headless = value.get<bool>();
    } else if (!reader.SkipValue(1, &scratch)) {
      return std::nullopt;
    }
  }
  if (reader.failure() != JsonReader::Failure::kNone || !reader.AtEnd()) return std::nullopt;
  if (!seen_v || !seen_id || !seen_op || !call || !call->ok()) return std::nullopt;
  req.call = std::move(**call);
  return req;
}

Result<ToolCall> ToolCallFromRequest(const json& call) {
  if (!call.is_object()) return Error{ErrorCode::kWrongType, "tool call must be a JSON object", "/"};
  if (call.contains("hook_event_name") || call.contains("tool_use_id")) return ToolCallFromClaudeHook(call);
  if (call.contains("tool_name")) return ToolCallFromCanonical(call);
  return Error{ErrorCode::kUnsupportedFormat, "input is in no known tool call format (no tool_name)", "/"};
}

void AppendDecisionReply(std::string* out, std::string_view id, const Decision& decision, bool shell_sandboxed,
                         const std::string* message) {
  *out += "{\"v\":1,\"id\":";
  *out += id;
  *out += ",\"ok\":true,\"decision\":";
  const std::size_t mark = out->size();
  if (!AppendDecisionJson(out, decision, message)) {
    out->resize(mark);  // a string that is not valid UTF-8: the reference path replaces it
    *out += ToJson(decision, false).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (shell_sandboxed) *out += ",\"shell_sandboxed\":true";
  *out += "}\n";
}

void AppendPongReply(std::string* out, std::string_view id, std::string_view policy_digest) {
  *out += "{\"v\":1,\"id\":";
  *out += id;
  *out += ",\"ok\":true,\"pong\":true,\"policy_digest\":";
  AppendString(out, policy_digest);
  *out += ",\"version\":";
  AppendString(out, kVersion);
  *out += "}\n";
}

bool IsPrivilegedOp(Op op) { return op == Op::kPhaseSet || op == Op::kGrant || op == Op::kRevoke; }

void AppendObjectReply(std::string* out, std::string_view id, const json& body) {
  *out += "{\"v\":1,\"id\":";
  *out += id;
  *out += ",\"ok\":true";
  for (const auto& [key, value] : body.items()) {
    *out += ',';
    AppendString(out, key);
    *out += ':';
    *out += value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  *out += "}\n";
}

void AppendErrorReply(std::string* out, std::string_view id, ProtocolError code, std::string_view message) {
  *out += "{\"v\":1,\"id\":";
  *out += id;
  *out += ",\"ok\":false,\"error\":{\"code\":\"";
  *out += ProtocolErrorName(code);
  *out += "\",\"message\":";
  AppendString(out, message);
  *out += "}}\n";
}

}  // namespace toolgate::server
