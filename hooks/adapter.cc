#include "hooks/adapter.h"

#include "toolgate/result.h"

namespace toolgate::hooks {

using nlohmann::json;

std::optional<Error> ReadString(const json& obj, std::string_view key, std::string* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    return Error{ErrorCode::kWrongType, std::string(key) + " must be a string", "/" + std::string(key)};
  }
  *out = it->get<std::string>();
  return std::nullopt;
}

void RenameKeys(json* input, const std::vector<std::pair<std::string, std::string>>& renames,
                std::vector<std::pair<std::string, std::string>>* done) {
  if (!input->is_object()) return;
  for (const auto& [from, to] : renames) {
    const auto it = input->find(from);
    if (it == input->end() || input->contains(to)) continue;
    json value = std::move(*it);
    input->erase(from);
    (*input)[to] = std::move(value);
    done->emplace_back(from, to);
  }
}

json RenameBack(const json& input, const std::vector<std::pair<std::string, std::string>>& done) {
  if (!input.is_object()) return input;
  json out = input;
  for (const auto& [from, to] : done) {
    const auto it = out.find(to);
    if (it == out.end() || out.contains(from)) continue;
    json value = std::move(*it);
    out.erase(to);
    out[from] = std::move(value);
  }
  return out;
}

Result<json> ArgumentsObject(const json& value, std::string_view pointer) {
  if (value.is_null()) return json::object();
  if (value.is_object()) return value;
  if (!value.is_string()) {
    return Error{ErrorCode::kWrongType, "tool arguments must be an object or a JSON string", std::string(pointer)};
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty()) return json::object();
  // The outer document passed the size, UTF-8 and depth checks; the embedded
  // text is part of it, so it is bounded too. Depth is checked again.
  Result<json> inner = ParseUntrustedJson(text);
  if (!inner) {
    return Error{inner.error().code, "tool arguments string: " + inner.error().message, std::string(pointer)};
  }
  if (!inner->is_object()) {
    return Error{ErrorCode::kWrongType, "tool arguments string must hold a JSON object", std::string(pointer)};
  }
  return std::move(inner).value();
}

void MapTool(const std::vector<ToolMapping>& table, ToolCall* call, HookContext* context) {
  context->client_tool = call->tool_name;
  for (const ToolMapping& m : table) {
    if (m.client_tool != call->tool_name) continue;
    if (m.toolgate_tool != call->tool_name) {
      call->client_tool_name = call->tool_name;
      call->tool_name = std::string(m.toolgate_tool);
    }
    RenameKeys(&call->tool_input, m.renames, &context->renamed_keys);
    return;
  }
}

std::string FailureReason(const Error& error) {
  std::string out = "toolgate could not judge this call, so it is blocked: ";
  out += error.message;
  out += " (";
  out += ErrorCodeName(error.code);
  if (!error.location.empty()) out += " at " + error.location;
  out += ")";
  return out;
}

std::string JsonLine(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

const Adapter* AdapterFor(Client client) {
  switch (client) {
    case Client::kClaude: return &ClaudeAdapter();
    case Client::kCopilot: return &CopilotAdapter();
    case Client::kCodex: return &CodexAdapter();
    case Client::kGemini: return &GeminiAdapter();
    case Client::kCursor: return &CursorAdapter();
    case Client::kUnknown:
    case Client::kCanonical:
    case Client::kMcp: break;
  }
  return nullptr;
}

}  // namespace toolgate::hooks
