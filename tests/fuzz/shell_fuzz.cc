// Fuzz target: a shell command, as the effects extractor reads a Bash call:
// the shell parser alone on the raw bytes (its own size and nesting limits),
// then the whole extraction (the abstract interpreter, program knowledge such
// as cp/curl/sed/xargs, sed scripts, nested bash -c / eval / $( )) on a Bash
// call carrying the command. The first byte picks the parser's depth limit.
// Invariants: parsing and extraction never throw; the effects serialize as
// strict JSON (valid UTF-8: they go into log records and replies).
#include <string>

#include "effects/shell_parser.h"
#include "fuzz_support.h"
#include "toolgate/effects.h"
#include "toolgate/tool_call.h"
#include "util/utf8.h"

namespace {

using namespace toolgate;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::QuietLogs();
  fuzz::ByteReader in(data, size);
  const int depth = in.U8() % 12;
  const std::string_view text = in.Rest();

  shell::ParseOptions options;
  options.max_depth = depth;
  (void)shell::Parse(text, options);

  // A tool call's strings are valid UTF-8 (ParseUntrustedJson checks).
  if (FindInvalidUtf8(text) != std::string_view::npos) return 0;
  ToolCall call;
  call.tool_name = "Bash";
  call.cwd = "/home/dev/project";
  call.tool_input = {{"command", std::string(text)}};
  EffectsContext context;
  context.home = "/home/dev";
  context.resolve_symlinks = false;
  context.max_shell_depth = depth;
  const Effects effects = ExtractEffects(call, context);
  (void)ToJson(effects).dump();
  return 0;
}
