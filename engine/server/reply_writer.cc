#include "server/reply_writer.h"

#include "audit/record_writer.h"

namespace toolgate::server {
namespace {

using audit::AppendJsonString;

bool Key(std::string* out, const char* key) {
  out->push_back('"');
  out->append(key);
  out->append("\":");
  return true;
}

bool StringMember(std::string* out, const char* key, std::string_view value) {
  Key(out, key);
  return AppendJsonString(out, value);
}

bool AppendFinding(std::string* out, const Finding& f) {
  out->push_back('{');
  Key(out, "grant");
  if (f.grant == nullptr) {
    out->append("null");
  } else {
    out->push_back('{');
    if (!StringMember(out, "file", f.grant->file)) return false;
    out->push_back(',');
    if (!StringMember(out, "id", f.grant->id)) return false;
    out->push_back(',');
    if (!StringMember(out, "json_path", f.grant->json_path)) return false;
    out->push_back(',');
    if (!StringMember(out, "pattern", f.grant->pattern)) return false;
    out->push_back(',');
    if (!StringMember(out, "profile", f.grant->profile)) return false;
    out->push_back('}');
  }
  if (!f.note.empty()) {
    out->push_back(',');
    if (!StringMember(out, "note", f.note)) return false;
  }
  if (f.rule != nullptr) {
    out->append(",\"rule\":{");
    if (!StringMember(out, "file", f.rule->file)) return false;
    out->push_back(',');
    if (!StringMember(out, "id", f.rule->id)) return false;
    out->append(",\"line\":");
    out->append(std::to_string(f.rule->line));
    out->push_back(',');
    if (!StringMember(out, "pack", f.rule->pack)) return false;
    out->append(",\"verdict_line\":");
    out->append(std::to_string(f.line > 0 ? f.line : f.rule->line));
    out->push_back('}');
  }
  out->push_back(',');
  if (!StringMember(out, "subject", SubjectName(f.subject))) return false;
  out->push_back(',');
  if (!StringMember(out, "target", f.target)) return false;
  out->push_back(',');
  if (!StringMember(out, "verdict", VerdictName(f.verdict))) return false;
  out->push_back('}');
  return true;
}

}  // namespace

bool AppendDecisionJson(std::string* out, const Decision& d, const std::string* message) {
  out->push_back('{');
  if (!StringMember(out, "agent_id", d.agent_id)) return false;
  if (d.error) {
    out->append(",\"error\":{");
    if (!StringMember(out, "code", ErrorCodeName(d.error->code))) return false;
    out->push_back(',');
    if (!StringMember(out, "location", d.error->location)) return false;
    out->push_back(',');
    if (!StringMember(out, "message", d.error->message)) return false;
    out->push_back('}');
  }
  out->append(",\"latency_ns\":");
  out->append(std::to_string(d.latency.count()));
  out->push_back(',');
  if (!StringMember(out, "message", message != nullptr ? *message : d.MessageForModel())) return false;
  if (d.policy_verdict) {
    out->append(",\"mode\":\"learn\"");
  }
  out->push_back(',');
  if (!StringMember(out, "policy_digest", d.policy_digest)) return false;
  if (d.policy_verdict) {
    out->push_back(',');
    if (!StringMember(out, "policy_verdict", VerdictName(*d.policy_verdict))) return false;
  }
  out->push_back(',');
  if (!StringMember(out, "profile", d.profile)) return false;
  out->append(",\"reasons\":[");
  bool first = true;
  for (const Finding* f : d.Reasons()) {
    if (!first) out->push_back(',');
    first = false;
    if (!AppendFinding(out, *f)) return false;
  }
  out->append("],");
  if (!StringMember(out, "verdict", VerdictName(d.verdict))) return false;
  out->push_back('}');
  return true;
}

}  // namespace toolgate::server
