#include "hooks/mcp/jsonrpc.h"

#include <cmath>
#include <set>
#include <vector>

#include "toolgate/tool_call.h"

namespace toolgate::mcp {
namespace {

using nlohmann::json;

// SAX pass that only tracks the keys of each open object.
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
 public:
  bool found() const { return found_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second) {
      found_ = true;
      return false;  // stop: one repeat is enough
    }
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  std::vector<std::set<std::string, std::less<>>> keys_;
  bool found_ = false;
};

}  // namespace

bool HasDuplicateKey(std::string_view text) {
  DuplicateKeyFinder finder;
  json::sax_parse(text.begin(), text.end(), &finder, nlohmann::detail::input_format_t::json, false);
  return finder.found();
}

Result<json> ParseMessage(std::string_view line, std::size_t max_bytes, int max_depth) {
  Result<json> doc = ParseUntrustedJson(line, {max_bytes, max_depth});
  if (!doc) return doc;
  if (HasDuplicateKey(line)) return Error{ErrorCode::kUnsupportedFormat, "an object names the same key twice", "/"};
  return doc;
}

bool IsValidId(const json& id) { return id.is_string() || id.is_number(); }

std::string IdKey(const json& id) {
  if (id.is_string()) return "s:" + id.get<std::string>();
  if (id.is_number_integer()) return "n:" + id.dump();
  if (id.is_number_float()) {
    const double d = id.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return "n:" + std::to_string(static_cast<long long>(d));
    }
    return "n:" + id.dump();
  }
  return "?:" + id.dump();
}

json ErrorReply(const json& id, int code, const std::string& message) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", json{{"code", code}, {"message", message}}}};
}

json ToolErrorReply(const json& id, const std::string& text) {
  json content = json::array();
  content.push_back(json{{"type", "text"}, {"text", text}});
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", json{{"content", std::move(content)}, {"isError", true}}}};
}

std::string Serialize(const json& message) {
  // dump escapes control characters, so the line holds no raw newline.
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace toolgate::mcp
