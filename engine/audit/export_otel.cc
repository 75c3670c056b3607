#include "audit/export_otel.h"

#include "audit/log_reader.h"
#include "audit/record.h"

namespace toolgate::audit {
namespace {

using nlohmann::json;

json StrAttr(const char* key, const std::string& v) { return json{{"key", key}, {"value", {{"stringValue", v}}}}; }
json IntAttr(const char* key, std::int64_t v) {
  return json{{"key", key}, {"value", {{"intValue", std::to_string(v)}}}};  // OTLP/JSON: int64 as a string
}

}  // namespace

json ToOtelLogRecord(const json& rec) {
  if (Str(rec, "type") != "decision") return nullptr;
  const std::string verdict = Str(rec, "verdict");
  const json call = rec.contains("call") && rec["call"].is_object() ? rec["call"] : json::object();
  const json agent = rec.contains("agent") && rec["agent"].is_object() ? rec["agent"] : json::object();
  const auto t = ParseTime(Str(rec, "time"));
  const std::string ns = std::to_string(t ? *t : 0);

  json lr;
  lr["timeUnixNano"] = ns;
  lr["observedTimeUnixNano"] = ns;
  // SeverityNumber: INFO 9, INFO2 10, WARN 13.
  if (verdict == "allow") {
    lr["severityNumber"] = 9;
    lr["severityText"] = "INFO";
  } else if (verdict == "ask") {
    lr["severityNumber"] = 10;
    lr["severityText"] = "INFO2";
  } else {
    lr["severityNumber"] = 13;
    lr["severityText"] = "WARN";
  }
  lr["eventName"] = "policy.decision";
  lr["body"] = json{{"stringValue", Str(rec, "message")}};

  json attrs = json::array();
  attrs.push_back(StrAttr("event.name", "policy.decision"));
  attrs.push_back(StrAttr("toolgate.verdict", verdict));
  attrs.push_back(StrAttr("toolgate.agent.id", Str(agent, "id")));
  attrs.push_back(StrAttr("toolgate.agent.profile", Str(agent, "profile")));
  attrs.push_back(StrAttr("gen_ai.tool.name", Str(call, "tool_name")));
  if (!Str(call, "call_id").empty()) attrs.push_back(StrAttr("gen_ai.tool.call.id", Str(call, "call_id")));
  if (!Str(call, "session_id").empty()) attrs.push_back(StrAttr("session.id", Str(call, "session_id")));
  attrs.push_back(StrAttr("toolgate.client", Str(call, "client")));
  attrs.push_back(StrAttr("toolgate.call.summary", CallSummary(rec, 200)));
  json rules = json::array();
  if (rec.contains("rules") && rec["rules"].is_array()) {
    for (const json& r : rec["rules"]) {
      if (r.is_string()) rules.push_back(json{{"stringValue", r}});
    }
  }
  attrs.push_back(json{{"key", "toolgate.rule.ids"}, {"value", {{"arrayValue", {{"values", rules}}}}}});
  attrs.push_back(StrAttr("toolgate.policy.digest", Str(rec, "policy_digest")));
  if (rec.contains("seq") && rec["seq"].is_number_unsigned()) {
    attrs.push_back(IntAttr("toolgate.seq", rec["seq"].get<std::int64_t>()));
  }
  attrs.push_back(StrAttr("toolgate.record.hash", Str(rec, "hash")));
  attrs.push_back(StrAttr("toolgate.input.sha256", Str(rec, "input_sha256")));
  if (rec.contains("latency_ns") && rec["latency_ns"].is_number_integer()) {
    attrs.push_back(IntAttr("toolgate.latency_ns", rec["latency_ns"].get<std::int64_t>()));
  }
  if (agent.contains("pid") && agent["pid"].is_number_integer()) {
    attrs.push_back(IntAttr("process.pid", agent["pid"].get<std::int64_t>()));
  }
  if (agent.contains("uid") && agent["uid"].is_number_integer()) {
    attrs.push_back(StrAttr("user.id", std::to_string(agent["uid"].get<std::int64_t>())));
  }
  lr["attributes"] = std::move(attrs);
  return lr;
}

json OtelExportRequest(const std::string& host, json log_records) {
  json resource{{"attributes", json::array({StrAttr("service.name", "toolgate"), StrAttr("host.name", host)})}};
  json scope{{"name", "toolgate.audit"}, {"version", "0.1.0"}};
  return json{{"resourceLogs",
               json::array({json{{"resource", std::move(resource)},
                                 {"scopeLogs", json::array({json{{"scope", std::move(scope)},
                                                                 {"logRecords", std::move(log_records)}}})}}})}};
}

}  // namespace toolgate::audit
