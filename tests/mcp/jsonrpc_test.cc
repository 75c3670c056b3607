// The JSON-RPC helpers: untrusted parsing refuses repeated keys, ids keep
// their type, and the replies toolgate writes are single lines.
#include <doctest/doctest.h>

#include <string>

#include "hooks/mcp/jsonrpc.h"

using nlohmann::json;
using namespace toolgate::mcp;

TEST_CASE("a repeated key anywhere in a message is refused") {
  CHECK_FALSE(HasDuplicateKey(R"({"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]})"));
  CHECK(HasDuplicateKey(R"({"method":"ping","method":"tools/call"})"));
  CHECK(HasDuplicateKey(R"({"params":{"name":"read","name":"write"}})"));
  CHECK(HasDuplicateKey(R"([{"x":1},{"y":{"z":1,"z":2}}])"));
  // Escapes name the same key after decoding.
  CHECK(HasDuplicateKey(R"({"method":"a","meth\u006fd":"b"})"));
  const auto r = ParseMessage(R"({"method":"ping","method":"tools/call"})", 1024, 16);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == toolgate::ErrorCode::kUnsupportedFormat);
}

TEST_CASE("parsing checks size, UTF-8 and depth first") {
  CHECK(ParseMessage(R"({"a":1})", 1024, 16));
  CHECK(ParseMessage(std::string(2000, ' '), 1024, 16).error().code == toolgate::ErrorCode::kInputTooLarge);
  CHECK(ParseMessage("{\"a\":\"\xff\"}", 1024, 16).error().code == toolgate::ErrorCode::kInvalidUtf8);
  CHECK(ParseMessage(std::string(40, '[') + std::string(40, ']'), 1024, 16).error().code ==
        toolgate::ErrorCode::kNestingTooDeep);
  CHECK(ParseMessage("{\"a\":", 1024, 16).error().code == toolgate::ErrorCode::kMalformedJson);
  CHECK(ParseMessage(R"({"a":"\ud800"})", 1024, 16).error().code == toolgate::ErrorCode::kMalformedJson);
}

TEST_CASE("ids: strings and numbers are different keys, 7 and 7.0 the same") {
  CHECK(IsValidId(json(7)));
  CHECK(IsValidId(json("7")));
  CHECK_FALSE(IsValidId(json(nullptr)));
  CHECK_FALSE(IsValidId(json::object()));
  CHECK(IdKey(json(7)) != IdKey(json("7")));
  CHECK(IdKey(json(7)) == IdKey(json(7.0)));
  CHECK(IdKey(json(-3)) == IdKey(json::parse("-3")));
  CHECK(IdKey(json(1.5)) != IdKey(json(1)));
}

TEST_CASE("replies keep the id's type and are one line") {
  CHECK(Serialize(ErrorReply(nullptr, kParseError, "x")) ==
        R"({"error":{"code":-32700,"message":"x"},"id":null,"jsonrpc":"2.0"})");
  const json r = ToolErrorReply(json("abc"), "toolgate: no\nnewline");
  CHECK(r["id"] == "abc");
  CHECK(r["result"]["isError"] == true);
  CHECK(r["result"]["content"][0]["type"] == "text");
  const std::string line = Serialize(ToolErrorReply(json(12), "a\nb"));
  CHECK(line.find('\n') == std::string::npos);
  CHECK(json::parse(line)["id"] == 12);
  CHECK(Serialize(json("\xff")).find('\xff') == std::string::npos);  // invalid UTF-8 is replaced, not passed
}
