// Fuzz target: URL and host parsing (engine/effects/url.cc: URLs, bare hosts,
// scp targets, email addresses), the free-text scanner that finds URLs, paths
// and emails in MCP arguments and inline code (engine/effects/text_scan.cc),
// and date parsing (engine/lua/tg_date.cc) through tg.date.parse / find and
// tg.url.parse / extract as rules call them.
// Invariants: a parsed host is lower-case ASCII unless flagged non-ASCII, a
// port is 0..65535; the scanner's effects serialize as strict JSON.
#include <cctype>
#include <string>

#include "effects/effects_sink.h"
#include "effects/text_scan.h"
#include "effects/url.h"
#include "fuzz_support.h"
#include "lua_harness.h"
#include "toolgate/effects.h"
#include "util/utf8.h"

namespace {

using namespace toolgate;
using namespace toolgate::effects;

void CheckUrl(const std::optional<ParsedUrl>& u) {
  if (!u) return;
  FUZZ_CHECK(u->port >= 0 && u->port <= 65535);
  if (!u->non_ascii_host) {
    for (const char c : u->host) {
      FUZZ_CHECK(static_cast<unsigned char>(c) < 0x80);
      FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::QuietLogs();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  CheckUrl(ParseUrl(text));
  CheckUrl(ParseBareHost(text, "https"));
  CheckUrl(ParseScpTarget(text));
  (void)LooksLikeEmail(text);

  if (FindInvalidUtf8(text) == std::string_view::npos) {  // tool input strings are valid UTF-8
    Effects effects;
    EffectsSink sink(effects);
    TextScanOptions options;
    options.source = "fuzz";
    options.home = "/home/dev";
    ScanText(text, options, sink);
    (void)ToJson(effects).dump();
  }

  static fuzz::LuaHarness harness;
  static const std::size_t date_parse = harness.Index("date.parse");
  static const std::size_t date_find = harness.Index("date.find");
  static const std::size_t url_parse = harness.Index("url.parse");
  static const std::size_t url_extract = harness.Index("url.extract");
  const auto with_text = [&](const char* second) {
    return [&text, second](lua_State* L) {
      lua_pushlstring(L, text.data(), text.size());
      if (second == nullptr) return 1;
      lua_pushstring(L, second);
      return 2;
    };
  };
  harness.Call(date_parse, with_text(nullptr));
  harness.Call(date_parse, with_text("dmy"));
  harness.Call(date_find, with_text(nullptr));
  harness.Call(url_parse, with_text(nullptr));
  harness.Call(url_extract, with_text(nullptr));
  return 0;
}
