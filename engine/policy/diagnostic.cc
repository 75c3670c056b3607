#include "toolgate/policy.h"
#include "util/utf8.h"

namespace toolgate {

std::string FormatDiagnostic(const PolicyDiagnostic& d) {
  // An empty JSON pointer is the whole document (e.g. malformed JSON, whose
  // line and column lead the message).
  std::string out = SanitizeUtf8(d.file);
  if (d.line > 0) out += ":" + std::to_string(d.line);
  if (!d.json_path.empty()) out += ":" + SanitizeUtf8(d.json_path);
  if (d.severity == PolicyDiagnostic::Severity::kError) {
    out += ": error[";
    out += ErrorCodeName(d.code);
  } else {
    out += ": warning[";
    out += d.lint;
  }
  out += "]: ";
  if (!d.rule.empty()) out += "rule " + SanitizeUtf8(d.rule) + ": ";
  out += SanitizeUtf8(d.message);
  return out;
}

}  // namespace toolgate
