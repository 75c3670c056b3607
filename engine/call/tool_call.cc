#include "toolgate/tool_call.h"

#include <chrono>
#include <optional>
#include <string>

#include "call/json_reader.h"
#include "util/utf8.h"

namespace toolgate {
namespace {

using nlohmann::json;

// Deepest nesting of arrays/objects, counted without parsing so a hostile
// 100,000-deep document is refused before any parser recursion can start.
int MaxNestingDepth(std::string_view text, int limit, std::size_t* where) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        max_depth = depth;
        if (max_depth > limit) {
          *where = i;
          return max_depth;
        }
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

Error MakeError(ErrorCode code, std::string message, std::string location = {}) {
  return Error{code, std::move(message), std::move(location)};
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads an optional string key; a present key of another type is an error
// (a hostile client must not be able to smuggle a number where a path goes).
std::optional<Error> OptionalString(const json& obj, const char* key, std::string* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    return MakeError(ErrorCode::kWrongType, std::string(key) + " must be a string", std::string("/") + key);
  }
  *out = it->get<std::string>();
  return std::nullopt;
}

std::optional<Error> RequiredToolFields(const json& obj, ToolCall* call) {
  const auto name = obj.find("tool_name");
  if (name == obj.end()) return MakeError(ErrorCode::kMissingField, "tool_name is missing", "/tool_name");
  if (!name->is_string()) return MakeError(ErrorCode::kWrongType, "tool_name must be a string", "/tool_name");
  call->tool_name = name->get<std::string>();
  if (call->tool_name.empty()) {
    return MakeError(ErrorCode::kMissingField, "tool_name is empty", "/tool_name");
  }
  const auto input = obj.find("tool_input");
  if (input == obj.end() || input->is_null()) {
    call->tool_input = json::object();
  } else if (!input->is_object()) {
    return MakeError(ErrorCode::kWrongType, "tool_input must be an object", "/tool_input");
  } else {
    call->tool_input = *input;
  }
  if (const auto response = obj.find("tool_response"); response != obj.end() && !response->is_null()) {
    call->tool_response = *response;
  }
  return std::nullopt;
}

}  // namespace

const char* ClientName(Client client) {
  switch (client) {
    case Client::kCanonical: return "canonical";
    case Client::kClaude: return "claude";
    case Client::kCopilot: return "copilot";
    case Client::kCodex: return "codex";
    case Client::kGemini: return "gemini";
    case Client::kCursor: return "cursor";
    case Client::kMcp: return "mcp";
    case Client::kUnknown: break;
  }
  return "unknown";
}

Client ClientFromName(std::string_view name) {
  for (Client c : {Client::kCanonical, Client::kClaude, Client::kCopilot, Client::kCodex, Client::kGemini,
                   Client::kCursor, Client::kMcp}) {
    if (name == ClientName(c)) return c;
  }
  return Client::kUnknown;
}

bool IsPostEvent(const ToolCall& call) {
  if (call.tool_response) return true;
  const std::string_view e = call.hook_event;
  return e == "PostToolUse" || e == "postToolUse" || e == "AfterTool" || e.rfind("after", 0) == 0;
}

Result<json> ParseUntrustedJson(std::string_view text, const InputLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return MakeError(ErrorCode::kInputTooLarge,
                     "input is " + std::to_string(text.size()) + " bytes; the limit is " +
                         std::to_string(limits.max_bytes),
                     "byte " + std::to_string(limits.max_bytes));
  }
  if (const std::size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidUtf8, "input is not valid UTF-8", "byte " + std::to_string(bad));
  }
  std::size_t where = 0;
  if (MaxNestingDepth(text, limits.max_depth, &where) > limits.max_depth) {
    return MakeError(ErrorCode::kNestingTooDeep,
                     "JSON nesting exceeds " + std::to_string(limits.max_depth) + " levels",
                     "byte " + std::to_string(where));
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return MakeError(ErrorCode::kMalformedJson, "malformed JSON", "byte " + std::to_string(e.byte));
  } catch (const json::out_of_range&) {
    // A number past a double's range (1e999) is nlohmann's out_of_range.406, not a parse_error.
    return MakeError(ErrorCode::kMalformedJson, "malformed JSON: a number is out of range", "number");
  }
}

Result<ToolCall> ToolCallFromClaudeHook(const json& input) {
  if (!input.is_object()) return MakeError(ErrorCode::kWrongType, "hook input must be a JSON object", "/");
  ToolCall call;
  call.client = Client::kClaude;
  if (auto e = RequiredToolFields(input, &call)) return *e;
  for (const auto& [key, field] : {std::pair{"session_id", &call.session_id}, std::pair{"cwd", &call.cwd},
                                   std::pair{"hook_event_name", &call.hook_event},
                                   std::pair{"permission_mode", &call.permission_mode},
                                   std::pair{"tool_use_id", &call.call_id}, std::pair{"agent_id", &call.agent_id}}) {
    if (auto e = OptionalString(input, key, field)) return *e;
  }
  call.timestamp_ms = NowMs();
  return call;
}

Result<ToolCall> ToolCallFromCanonical(const json& input) {
  if (!input.is_object()) return MakeError(ErrorCode::kWrongType, "tool call must be a JSON object", "/");
  ToolCall call;
  call.client = Client::kCanonical;
  if (auto e = RequiredToolFields(input, &call)) return *e;
  std::string client;
  for (const auto& [key, field] :
       {std::pair{"agent_id", &call.agent_id}, std::pair{"session_id", &call.session_id},
        std::pair{"hook_event", &call.hook_event}, std::pair{"cwd", &call.cwd}, std::pair{"phase", &call.phase},
        std::pair{"permission_mode", &call.permission_mode}, std::pair{"call_id", &call.call_id},
        std::pair{"client", &client}, std::pair{"client_tool_name", &call.client_tool_name}}) {
    if (auto e = OptionalString(input, key, field)) return *e;
  }
  if (!client.empty()) {
    call.client = ClientFromName(client);
    if (call.client == Client::kUnknown) {
      return MakeError(ErrorCode::kWrongType, "client names no known client", "/client");
    }
  }
  if (const auto ts = input.find("timestamp_ms"); ts != input.end() && !ts->is_null()) {
    if (!ts->is_number_integer()) {
      return MakeError(ErrorCode::kWrongType, "timestamp_ms must be an integer", "/timestamp_ms");
    }
    call.timestamp_ms = ts->get<std::int64_t>();
  } else {
    call.timestamp_ms = NowMs();
  }
  return call;
}

namespace {

// The envelope keys of both call forms, read straight from the text by
// ParseToolCall (no DOM of the envelope). Only tool_input becomes a json.
enum EnvelopeKey {
  kToolName, kToolInput, kAgentId, kSessionId, kHookEventName, kHookEvent, kCwd, kPhase, kPermissionMode,
  kToolUseId, kCallId, kClient, kClientToolName, kTimestampMs, kToolResponse, kEnvelopeKeys
};

int EnvelopeKeyIndex(std::string_view key) {
  static constexpr std::pair<std::string_view, EnvelopeKey> kKeys[] = {
      {"tool_name", kToolName}, {"tool_input", kToolInput}, {"agent_id", kAgentId},
      {"session_id", kSessionId}, {"hook_event_name", kHookEventName}, {"hook_event", kHookEvent},
      {"cwd", kCwd}, {"phase", kPhase}, {"permission_mode", kPermissionMode}, {"tool_use_id", kToolUseId},
      {"call_id", kCallId}, {"client", kClient}, {"client_tool_name", kClientToolName},
      {"timestamp_ms", kTimestampMs}, {"tool_response", kToolResponse}};
  for (const auto& [name, index] : kKeys) {
    if (key == name) return index;
  }
  return -1;
}

// One envelope key as found: strings are kept as strings, anything else as
// the json value json::parse would have built (its type decides the error).
struct EnvelopeField {
  bool present = false;
  bool is_string = false;
  std::string text;
  json value;

  bool IsNull() const { return present && !is_string && value.is_null(); }
};

constexpr const char* kEnvelopeNames[kEnvelopeKeys] = {
    "tool_name", "tool_input", "agent_id", "session_id", "hook_event_name", "hook_event", "cwd",
    "phase", "permission_mode", "tool_use_id", "call_id", "client", "client_tool_name", "timestamp_ms",
    "tool_response"};

// OptionalString over a found field: absent or null leaves *out alone.
std::optional<Error> TakeOptionalString(EnvelopeField* f, EnvelopeKey key, std::string* out) {
  if (!f->present || f->IsNull()) return std::nullopt;
  if (!f->is_string) {
    return MakeError(ErrorCode::kWrongType, std::string(kEnvelopeNames[key]) + " must be a string",
                     std::string("/") + kEnvelopeNames[key]);
  }
  *out = std::move(f->text);
  return std::nullopt;
}

// RequiredToolFields over found fields, with the same checks in the same order.
std::optional<Error> TakeToolFields(EnvelopeField* fields, ToolCall* call) {
  EnvelopeField& name = fields[kToolName];
  if (!name.present) return MakeError(ErrorCode::kMissingField, "tool_name is missing", "/tool_name");
  if (!name.is_string) return MakeError(ErrorCode::kWrongType, "tool_name must be a string", "/tool_name");
  call->tool_name = std::move(name.text);
  if (call->tool_name.empty()) return MakeError(ErrorCode::kMissingField, "tool_name is empty", "/tool_name");
  EnvelopeField& input = fields[kToolInput];
  if (!input.present || input.IsNull()) {
    call->tool_input = json::object();
  } else if (input.is_string || !input.value.is_object()) {
    return MakeError(ErrorCode::kWrongType, "tool_input must be an object", "/tool_input");
  } else {
    call->tool_input = std::move(input.value);
  }
  // Any JSON value: a string stays a string (the envelope keeps strings apart).
  if (EnvelopeField& response = fields[kToolResponse]; response.present && !response.IsNull()) {
    call->tool_response = response.is_string ? json(std::move(response.text)) : std::move(response.value);
  }
  return std::nullopt;
}

Result<ToolCall> CallFromEnvelope(EnvelopeField* fields) {
  ToolCall call;
  if (fields[kHookEventName].present || fields[kToolUseId].present) {
    call.client = Client::kClaude;
    if (auto e = TakeToolFields(fields, &call)) return *e;
    for (const auto& [key, field] : {std::pair{kSessionId, &call.session_id}, std::pair{kCwd, &call.cwd},
                                     std::pair{kHookEventName, &call.hook_event},
                                     std::pair{kPermissionMode, &call.permission_mode},
                                     std::pair{kToolUseId, &call.call_id}, std::pair{kAgentId, &call.agent_id}}) {
      if (auto e = TakeOptionalString(&fields[key], key, field)) return *e;
    }
    call.timestamp_ms = NowMs();
    return call;
  }
  if (!fields[kToolName].present) {
    return MakeError(ErrorCode::kUnsupportedFormat, "input is in no known tool call format (no tool_name)", "/");
  }
  call.client = Client::kCanonical;
  if (auto e = TakeToolFields(fields, &call)) return *e;
  std::string client;
  for (const auto& [key, field] :
       {std::pair{kAgentId, &call.agent_id}, std::pair{kSessionId, &call.session_id},
        std::pair{kHookEvent, &call.hook_event}, std::pair{kCwd, &call.cwd}, std::pair{kPhase, &call.phase},
        std::pair{kPermissionMode, &call.permission_mode}, std::pair{kCallId, &call.call_id},
        std::pair{kClient, &client}, std::pair{kClientToolName, &call.client_tool_name}}) {
    if (auto e = TakeOptionalString(&fields[key], key, field)) return *e;
  }
  if (!client.empty()) {
    call.client = ClientFromName(client);
    if (call.client == Client::kUnknown) {
      return MakeError(ErrorCode::kWrongType, "client names no known client", "/client");
    }
  }
  const EnvelopeField& ts = fields[kTimestampMs];
  if (ts.present && !ts.IsNull()) {
    if (ts.is_string || !ts.value.is_number_integer()) {
      return MakeError(ErrorCode::kWrongType, "timestamp_ms must be an integer", "/timestamp_ms");
    }
    call.timestamp_ms = ts.value.get<std::int64_t>();
  } else {
    call.timestamp_ms = NowMs();
  }
  return call;
}

// The members of the call object at the reader's position, nested at depth:
// envelope keys into fields, the rest validated. False when the JSON is not
// well formed (the reader's failure says how).
bool ReadEnvelope(JsonReader* reader, int depth, EnvelopeField* fields) {
  std::string scratch;
  std::string_view key;
  if (reader->BeginObject(depth)) {
    while (reader->NextKey(&key, &scratch)) {
      const int index = EnvelopeKeyIndex(key);
      if (index < 0) {
        if (!reader->SkipValue(depth + 1, &scratch)) break;
        continue;
      }
      EnvelopeField& f = fields[index];
      // A repeated key keeps its last value, as in json::parse.
      f.present = true;
      f.text.clear();
      f.is_string = reader->Peek() == '"';
      if (f.is_string ? !reader->ReadString(&f.text) : !reader->ReadValue(&f.value, depth + 1)) break;
    }
  }
  return reader->failure() == JsonReader::Failure::kNone;
}

}  // namespace

Result<ToolCall> ReadToolCallObject(JsonReader* reader, int depth) {
  EnvelopeField fields[kEnvelopeKeys];
  if (!ReadEnvelope(reader, depth, fields)) return MakeError(ErrorCode::kMalformedJson, "malformed JSON");
  return CallFromEnvelope(fields);
}

// One pass over the text: the envelope keys are read into strings, tool_input
// into a json, other keys only validated. The result, and the error for a bad
// input, are those of ParseUntrustedJson followed by ToolCallFromClaudeHook or
// ToolCallFromCanonical (the tests hold the two paths to each other).
Result<ToolCall> ParseToolCall(std::string_view text, const InputLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return MakeError(ErrorCode::kInputTooLarge,
                     "input is " + std::to_string(text.size()) + " bytes; the limit is " +
                         std::to_string(limits.max_bytes),
                     "byte " + std::to_string(limits.max_bytes));
  }
  if (const std::size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidUtf8, "input is not valid UTF-8", "byte " + std::to_string(bad));
  }
  JsonReader reader(text, limits.max_depth);
  reader.Begin();
  EnvelopeField fields[kEnvelopeKeys];
  bool is_object = false;
  bool read = false;
  if (reader.Peek() == '{') {
    is_object = true;
    read = ReadEnvelope(&reader, 0, fields);
  } else {
    json ignored;
    read = reader.ReadValue(&ignored, 0);
  }
  if (read && !reader.AtEnd()) read = false;
  if (!read) {
    // ParseUntrustedJson refuses deep nesting before parsing, so that error
    // comes first whatever else is wrong with the text.
    std::size_t where = 0;
    if (MaxNestingDepth(text, limits.max_depth, &where) > limits.max_depth) {
      return MakeError(ErrorCode::kNestingTooDeep,
                       "JSON nesting exceeds " + std::to_string(limits.max_depth) + " levels",
                       "byte " + std::to_string(where));
    }
    if (reader.failure() == JsonReader::Failure::kNumberOutOfRange) {
      return MakeError(ErrorCode::kMalformedJson, "malformed JSON: a number is out of range", "number");
    }
    return MakeError(ErrorCode::kMalformedJson, "malformed JSON", "byte " + std::to_string(reader.position() + 1));
  }
  if (!is_object) return MakeError(ErrorCode::kWrongType, "tool call must be a JSON object", "/");
  return CallFromEnvelope(fields);
}

json ToJson(const ToolCall& call) {
  json out = json::object();
  out["agent_id"] = call.agent_id;
  out["session_id"] = call.session_id;
  out["client"] = ClientName(call.client);
  out["hook_event"] = call.hook_event;
  out["tool_name"] = call.tool_name;
  out["tool_input"] = call.tool_input;
  out["cwd"] = call.cwd;
  out["phase"] = call.phase;
  out["permission_mode"] = call.permission_mode;
  out["timestamp_ms"] = call.timestamp_ms;
  out["call_id"] = call.call_id;
  if (!call.client_tool_name.empty()) out["client_tool_name"] = call.client_tool_name;
  if (call.tool_response) out["tool_response"] = *call.tool_response;
  return out;
}

}  // namespace toolgate
