// Finds URLs, absolute (or ~) paths and email addresses in free text: the
// string values of MCP and unknown tools' input, and inline code (python -c,
// awk programs) whose meaning the extractor cannot otherwise know.
#pragma once

#include <string_view>

#include "effects/effects_sink.h"

namespace toolgate::effects {

struct TextScanOptions {
  std::string_view source;     // PathEffect / HostEffect source ("mcp argument", "inline code")
  std::string_view home;       // what a leading ~ means
  PathAccess path_access = PathAccess::kRead;
  bool resolve_symlinks = false;
};

// Adds every URL (urls + hosts), path (paths) and email (emails) in `text`.
// Linear in the text; stops early when the sink's budget is spent.
void ScanText(std::string_view text, const TextScanOptions& options, EffectsSink& sink);

}  // namespace toolgate::effects
