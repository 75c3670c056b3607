#include "audit/decision_record.h"

#include <algorithm>

#include "audit/record.h"
#include "util/sha256.h"
#include "util/utf8.h"

namespace toolgate::audit {
namespace {

using nlohmann::json;

constexpr std::size_t kRawPrefixBytes = 1024;

std::string Clean(std::string_view s, bool* changed) {
  if (FindInvalidUtf8(s) == std::string_view::npos) return std::string(s);
  if (changed != nullptr) *changed = true;
  return SanitizeUtf8(s);
}

json AgentMembers(const Decision& decision, const ToolCall* call, const PeerInfo& peer) {
  json agent = json::object();
  std::string id = decision.agent_id;
  if (id.empty() && call != nullptr) id = call->agent_id;
  agent["id"] = Clean(id, nullptr);
  agent["profile"] = Clean(decision.profile, nullptr);
  if (peer.uid) agent["uid"] = *peer.uid;
  if (peer.gid) agent["gid"] = *peer.gid;
  if (peer.pid) agent["pid"] = *peer.pid;
  if (!peer.transport.empty()) agent["via"] = Clean(peer.transport, nullptr);
  return agent;
}

// Decision members shared by both record kinds, redacted.
void AddDecision(json* out, const Decision& decision, const SecretRedactor& redactor,
                 std::vector<Redaction>* redactions) {
  json d = ToJson(decision, false);
  json& o = *out;
  // The policy's verdict; in learning mode, what the caller was answered too.
  o["verdict"] = VerdictName(decision.PolicyVerdict());
  if (decision.policy_verdict) {
    o["mode"] = "learn";
    o["enforced"] = VerdictName(decision.verdict);
  }
  o["message"] = d.contains("message") ? std::move(d["message"]) : json("");
  o["reasons"] = d.contains("reasons") ? std::move(d["reasons"]) : json::array();
  if (d.contains("error")) o["error"] = std::move(d["error"]);
  // Text rules added for the model (tg.context); absent when none, so records
  // without it keep their form.
  if (d.contains("context")) o["context"] = std::move(d["context"]);
  o["policy_digest"] = decision.policy_digest;
  o["latency_ns"] = decision.latency.count();
  o["effects"] = ToJson(decision.effects);
  SanitizeInPlace(&o["effects"], nullptr);

  // Who decided: grant ids (with file and JSON pointer) and Lua rule ids (with
  // file and line), once each, in the order the engine reported them.
  json rules = json::array();
  json deciders = json::array();
  for (const Finding* f : decision.Reasons()) {
    json entry;
    if (f->grant != nullptr) {
      entry = json{{"kind", "grant"}, {"id", f->grant->id}, {"file", f->grant->file}, {"json_path", f->grant->json_path}};
    } else if (f->rule != nullptr) {
      entry = json{{"kind", "rule"}, {"id", f->rule->id}, {"file", f->rule->file},
                   {"line", f->line > 0 ? f->line : f->rule->line}};
    } else {
      continue;
    }
    json id = entry["id"];
    if (std::find(rules.begin(), rules.end(), id) != rules.end()) continue;
    rules.push_back(std::move(id));
    deciders.push_back(SanitizedJson(entry, nullptr));
  }
  o["deciders"] = std::move(deciders);
  o["rules"] = std::move(rules);

  for (const char* key : {"message", "reasons", "error", "effects", "context"}) {
    if (o.contains(key)) redactor.RedactJson(&o[key], std::string("/") + key, redactions);
  }
}

void AddRedactions(json* out, std::vector<Redaction> redactions) {
  if (redactions.empty()) return;
  json list = json::array();
  for (std::size_t i = 0; i < redactions.size() && i < kMaxRedactionsListed; ++i) {
    list.push_back(json{{"kind", redactions[i].kind}, {"pointer", Clean(redactions[i].pointer, nullptr)}});
  }
  (*out)["redactions"] = std::move(list);
  if (redactions.size() > kMaxRedactionsListed) (*out)["redactions_total"] = redactions.size();
}

}  // namespace

void SanitizeInPlace(json* value, bool* changed) {
  if (value->is_string()) {
    const std::string& s = value->get_ref<const std::string&>();
    if (FindInvalidUtf8(s) != std::string::npos) {
      *value = SanitizeUtf8(s);
      if (changed != nullptr) *changed = true;
    }
    return;
  }
  if (value->is_array()) {
    for (json& v : *value) SanitizeInPlace(&v, changed);
    return;
  }
  if (!value->is_object()) return;
  bool bad_key = false;
  for (auto it = value->begin(); it != value->end(); ++it) {
    bad_key |= FindInvalidUtf8(it.key()) != std::string::npos;
    SanitizeInPlace(&it.value(), changed);
  }
  if (bad_key) *value = SanitizedJson(*value, changed);  // keys cannot be renamed in place
}

json SanitizedJson(const json& value, bool* changed) {
  if (value.is_string()) return Clean(value.get_ref<const std::string&>(), changed);
  if (value.is_array()) {
    json out = json::array();
    for (const json& v : value) out.push_back(SanitizedJson(v, changed));
    return out;
  }
  if (value.is_object()) {
    json out = json::object();
    for (auto it = value.begin(); it != value.end(); ++it) out[Clean(it.key(), changed)] = SanitizedJson(it.value(), changed);
    return out;
  }
  return value;
}

json DecisionMembers(const ToolCall& call, const Decision& decision, const PeerInfo& peer,
                     const SecretRedactor& redactor, const std::string& host) {
  json out = json::object();
  out["v"] = kRecordVersion;
  out["host"] = Clean(host, nullptr);
  out["agent"] = AgentMembers(decision, &call, peer);

  bool invalid_utf8 = false;
  json c = ToJson(call);
  c.erase("tool_response");  // what a tool returned is not logged: only the call and its decision
  SanitizeInPlace(&c, &invalid_utf8);
  // The digest of the input as the engine saw it, before redaction: lets an
  // investigator holding the original prove which input this record was.
  out["input_sha256"] = Sha256Hex(CanonicalJson(c["tool_input"]));
  if (invalid_utf8) out["input_invalid_utf8"] = true;

  std::vector<Redaction> redactions;
  redactor.RedactJson(&c["tool_input"], "/call/tool_input", &redactions);
  out["call"] = std::move(c);
  AddDecision(&out, decision, redactor, &redactions);
  AddRedactions(&out, std::move(redactions));
  return out;
}

json UnparsedMembers(std::string_view raw_input, const Decision& decision, const PeerInfo& peer,
                     const SecretRedactor& redactor, const std::string& host) {
  json out = json::object();
  out["v"] = kRecordVersion;
  out["host"] = Clean(host, nullptr);
  out["agent"] = AgentMembers(decision, nullptr, peer);
  out["call"] = nullptr;
  out["input_sha256"] = Sha256Hex(raw_input);
  bool invalid_utf8 = false;
  std::string prefix = Clean(raw_input.substr(0, kRawPrefixBytes), &invalid_utf8);
  if (invalid_utf8) out["input_invalid_utf8"] = true;
  std::vector<Redaction> redactions;
  std::vector<std::string> kinds;
  if (redactor.RedactText(&prefix, &kinds)) {
    for (auto& k : kinds) redactions.push_back(Redaction{std::move(k), "/raw_input/prefix"});
  }
  out["raw_input"] = json{{"bytes", raw_input.size()}, {"prefix", std::move(prefix)}};
  AddDecision(&out, decision, redactor, &redactions);
  AddRedactions(&out, std::move(redactions));
  return out;
}

}  // namespace toolgate::audit
