// Fuzz target: a tool call as `toolgate check` and the daemon read it
// (ParseToolCall: Claude's hook form or the canonical form), judged by the
// example policy. Invariants: a parsed call survives the canonical round trip
// the hook shim uses to send it to the daemon (ToJson, then
// ToolCallFromCanonical) and is valid UTF-8; a decision serializes the way
// replies and records dump it; a call that does not parse is a deny carrying
// the error; and ParseToolCall, which reads the call in one pass, agrees with
// the DOM path (ParseUntrustedJson, then the form's reader) on every input.
#include <string>

#include "fuzz_support.h"
#include "toolgate/engine.h"
#include "toolgate/tool_call.h"

namespace {

using namespace toolgate;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::QuietLogs();
  static const Engine engine(fuzz::ExamplePolicy());
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  Result<ToolCall> call = ParseToolCall(text);
  {
    Result<ToolCall> dom = [&]() -> Result<ToolCall> {
      auto doc = ParseUntrustedJson(text);
      if (!doc) return doc.error();
      if (!doc->is_object()) return Error{ErrorCode::kWrongType, "not an object", "/"};
      if (doc->contains("hook_event_name") || doc->contains("tool_use_id")) return ToolCallFromClaudeHook(*doc);
      if (doc->contains("tool_name")) return ToolCallFromCanonical(*doc);
      return Error{ErrorCode::kUnsupportedFormat, "no tool_name", "/"};
    }();
    FUZZ_CHECK(call.ok() == dom.ok());
    if (call.ok()) {
      nlohmann::json a = ToJson(*call);
      nlohmann::json b = ToJson(*dom);
      a.erase("timestamp_ms");  // a call without one is stamped with the time of reading
      b.erase("timestamp_ms");
      FUZZ_CHECK(a.dump() == b.dump());
    } else {
      FUZZ_CHECK(call.error().code == dom.error().code);
    }
  }
  if (call) {
    const nlohmann::json canonical = ToJson(*call);
    // The call came from checked UTF-8: its canonical form dumps strictly.
    (void)canonical.dump();
    Result<ToolCall> again = ToolCallFromCanonical(canonical);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(ToJson(*again) == canonical);
  }

  const Decision d = engine.DecideText(text);
  if (!call) {
    FUZZ_CHECK(d.verdict == Verdict::kDeny);
    FUZZ_CHECK(d.error.has_value());
  }
  (void)ToJson(d, true).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  (void)d.MessageForModel();
  (void)d.MessageForHuman();
  return 0;
}
