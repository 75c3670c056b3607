// JSON-RPC 2.0 pieces the MCP proxy needs: reading one framed message as
// untrusted input, request ids as map keys, and the replies it writes itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "toolgate/result.h"

namespace toolgate::mcp {

inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kServerUnavailable = -32000;  // implementation-defined range: the server cannot answer

// Parses one message line: size, UTF-8 and nesting are checked first
// (ParseUntrustedJson), and no object may name a key twice. Two parsers that
// resolve a repeated "method" or "name" differently would let toolgate judge
// one call while the server runs another, so a repeated key is refused
// (ErrorCode::kUnsupportedFormat).
Result<nlohmann::json> ParseMessage(std::string_view line, std::size_t max_bytes, int max_depth);

// True when some object in the (well-formed) text names a key twice.
bool HasDuplicateKey(std::string_view text);

// A request id as JSON-RPC allows it: a string or a number (null is not used by MCP).
bool IsValidId(const nlohmann::json& id);
// A map key that tells ids of different types apart ("s:7" vs "n:7") and
// reads 7 and 7.0 alike, as a peer that re-serializes numbers would echo them.
std::string IdKey(const nlohmann::json& id);

// {"jsonrpc":"2.0","id":id,"error":{"code":code,"message":message}}
nlohmann::json ErrorReply(const nlohmann::json& id, int code, const std::string& message);
// A tools/call result the model reads: {"content":[{"type":"text","text":text}],"isError":true}.
nlohmann::json ToolErrorReply(const nlohmann::json& id, const std::string& text);

// One line of output: compact JSON, invalid UTF-8 replaced, never a raw newline.
std::string Serialize(const nlohmann::json& message);

}  // namespace toolgate::mcp
