// The HTML report for security teams: one self-contained file (no scripts, no
// external assets, a Content-Security-Policy that forbids both), charts as
// inline SVG. Every string from the log is attacker-influenced text (an agent
// chooses its commands) and is HTML-escaped before it is written.
#pragma once

#include <string>
#include <vector>

#include "audit/log_stats.h"

namespace toolgate::audit {

struct ReportContext {
  std::string title = "toolgate decision log";
  std::vector<std::string> sources;  // the log files read
  std::string generated_at;          // RFC 3339
  bool integrity_checked = false;
  bool integrity_ok = false;
  std::string integrity_text;        // "chain verified: 1234 records, 3 signed checkpoints" or the first problem
};

std::string RenderHtmlReport(LogStats& stats, const ReportContext& context);

// &, <, >, " and ' escaped; control characters dropped; invalid UTF-8 replaced.
std::string HtmlEscape(std::string_view text);

}  // namespace toolgate::audit
