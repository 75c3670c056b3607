#include "server/reply_writer.h"

#include <charconv>
#include <string_view>

#include "audit/record_writer.h"

namespace toolgate::server {
namespace {

using audit::AppendJsonString;

// A member's key, written with its quotes and colon: "\"key\":".
bool Key(std::string* out, std::string_view quoted_key) {
  out->append(quoted_key);
  return true;
}

bool StringMember(std::string* out, std::string_view quoted_key, std::string_view value) {
  Key(out, quoted_key);
  return AppendJsonString(out, value);
}

template <class Int>
void AppendInt(std::string* out, Int v) {
  char buf[24];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

bool AppendFinding(std::string* out, const Finding& f) {
  out->push_back('{');
  Key(out, "\"grant\":");
  if (f.grant == nullptr) {
    out->append("null");
  } else {
    out->push_back('{');
    if (!StringMember(out, "\"file\":", f.grant->file)) return false;
    out->push_back(',');
    if (!StringMember(out, "\"id\":", f.grant->id)) return false;
    out->push_back(',');
    if (!StringMember(out, "\"json_path\":", f.grant->json_path)) return false;
    out->push_back(',');
    if (!StringMember(out, "\"pattern\":", f.grant->pattern)) return false;
    out->push_back(',');
    if (!StringMember(out, "\"profile\":", f.grant->profile)) return false;
    out->push_back('}');
  }
  if (!f.note.empty()) {
    out->push_back(',');
    if (!StringMember(out, "\"note\":", f.note)) return false;
  }
  if (f.rule != nullptr) {
    out->append(",\"rule\":{");
    if (!StringMember(out, "\"file\":", f.rule->file)) return false;
    out->push_back(',');
    if (!StringMember(out, "\"id\":", f.rule->id)) return false;
    out->append(",\"line\":");
    AppendInt(out, f.rule->line);
    out->push_back(',');
    if (!StringMember(out, "\"pack\":", f.rule->pack)) return false;
    out->append(",\"verdict_line\":");
    AppendInt(out, f.line > 0 ? f.line : f.rule->line);
    out->push_back('}');
  }
  out->push_back(',');
  if (!StringMember(out, "\"subject\":", SubjectName(f.subject))) return false;
  out->push_back(',');
  if (!StringMember(out, "\"target\":", f.target)) return false;
  out->push_back(',');
  if (!StringMember(out, "\"verdict\":", VerdictName(f.verdict))) return false;
  out->push_back('}');
  return true;
}

}  // namespace

bool AppendDecisionJson(std::string* out, const Decision& d, const std::string* message) {
  out->push_back('{');
  if (!StringMember(out, "\"agent_id\":", d.agent_id)) return false;
  if (!d.context.empty()) {
    out->append(",\"context\":[");
    for (std::size_t i = 0; i < d.context.size(); ++i) {
      if (i > 0) out->push_back(',');
      if (!StringMember(out, "{\"rule\":", d.context[i].rule)) return false;
      if (!StringMember(out, ",\"text\":", d.context[i].text)) return false;
      out->push_back('}');
    }
    out->push_back(']');
  }
  if (d.error) {
    out->append(",\"error\":{");
    if (!StringMember(out, "\"code\":", ErrorCodeName(d.error->code))) return false;
    out->push_back(',');
    if (!StringMember(out, "\"location\":", d.error->location)) return false;
    out->push_back(',');
    if (!StringMember(out, "\"message\":", d.error->message)) return false;
    out->push_back('}');
  }
  out->append(",\"latency_ns\":");
  AppendInt(out, d.latency.count());
  out->push_back(',');
  std::string made;
  if (!StringMember(out, "\"message\":", message != nullptr ? *message : (made = d.MessageForModel()))) return false;
  if (d.policy_verdict) {
    out->append(",\"mode\":\"learn\"");
  }
  out->push_back(',');
  if (!StringMember(out, "\"policy_digest\":", d.policy_digest)) return false;
  if (d.policy_verdict) {
    out->push_back(',');
    if (!StringMember(out, "\"policy_verdict\":", VerdictName(*d.policy_verdict))) return false;
  }
  out->push_back(',');
  if (!StringMember(out, "\"profile\":", d.profile)) return false;
  out->append(",\"reasons\":[");
  bool first = true;
  const Verdict decided = d.PolicyVerdict();
  for (const Finding& f : d.findings) {
    if (f.verdict != decided) continue;  // as Decision::Reasons(), without its vector
    if (!first) out->push_back(',');
    first = false;
    if (!AppendFinding(out, f)) return false;
  }
  out->append("],");
  if (!StringMember(out, "\"verdict\":", VerdictName(d.verdict))) return false;
  out->push_back('}');
  return true;
}

}  // namespace toolgate::server
