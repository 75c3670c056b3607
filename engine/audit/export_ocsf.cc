#include "audit/export_ocsf.h"

#include "audit/log_reader.h"
#include "audit/record.h"

namespace toolgate::audit {
namespace {

using nlohmann::json;

// What the call did, in API Activity terms: running a program is "Other";
// writing a file an update; reading or fetching a read.
std::pair<int, const char*> ActivityOf(const json& rec) {
  const json* effects = rec.contains("effects") && rec["effects"].is_object() ? &rec["effects"] : nullptr;
  if (effects != nullptr) {
    if (effects->contains("execs") && (*effects)["execs"].is_array() && !(*effects)["execs"].empty()) {
      return {99, "Other"};
    }
    bool reads = false;
    if (effects->contains("paths") && (*effects)["paths"].is_array()) {
      for (const json& p : (*effects)["paths"]) {
        if (Str(p, "access") == "write") return {3, "Update"};
        reads = true;
      }
    }
    if (reads || (effects->contains("hosts") && (*effects)["hosts"].is_array() && !(*effects)["hosts"].empty())) {
      return {2, "Read"};
    }
  }
  return {0, "Unknown"};
}

json Resources(const json& rec) {
  json out = json::array();
  const json* e = rec.contains("effects") && rec["effects"].is_object() ? &rec["effects"] : nullptr;
  if (e == nullptr) return out;
  constexpr std::size_t kMax = 20;
  const auto add = [&](const char* type, const std::string& name, const char* role) {
    if (out.size() < kMax && !name.empty()) out.push_back(json{{"type", type}, {"name", name}, {"role", role}});
  };
  if (e->contains("execs") && (*e)["execs"].is_array()) {
    for (const json& x : (*e)["execs"]) add("process", Str(x, "program"), "exec");
  }
  if (e->contains("paths") && (*e)["paths"].is_array()) {
    for (const json& p : (*e)["paths"]) add("file", Str(p, "path"), Str(p, "access") == "write" ? "write" : "read");
  }
  if (e->contains("hosts") && (*e)["hosts"].is_array()) {
    for (const json& h : (*e)["hosts"]) add("host", Str(h, "host"), "connect");
  }
  return out;
}

}  // namespace

json ToOcsf(const json& rec) {
  if (Str(rec, "type") != "decision") return nullptr;
  const std::string verdict = Str(rec, "verdict");
  const json call = rec.contains("call") && rec["call"].is_object() ? rec["call"] : json::object();
  const json agent = rec.contains("agent") && rec["agent"].is_object() ? rec["agent"] : json::object();
  const auto [activity_id, activity_name] = ActivityOf(rec);

  json e;
  e["class_uid"] = kOcsfApiActivityClass;
  e["class_name"] = "API Activity";
  e["category_uid"] = 6;
  e["category_name"] = "Application Activity";
  e["activity_id"] = activity_id;
  e["activity_name"] = activity_name;
  e["type_uid"] = kOcsfApiActivityClass * 100 + activity_id;
  e["type_name"] = std::string("API Activity: ") + activity_name;
  const auto t = ParseTime(Str(rec, "time"));
  e["time"] = t ? *t / 1000000 : 0;  // OCSF timestamp_t: epoch milliseconds
  e["message"] = Str(rec, "message");

  // Security Control profile.
  if (verdict == "allow") {
    e["action_id"] = 1;
    e["action"] = "Allowed";
    e["disposition_id"] = 1;
    e["disposition"] = "Allowed";
    e["severity_id"] = 1;
    e["severity"] = "Informational";
  } else if (verdict == "ask") {
    // Held for a human: not allowed to run on its own.
    e["action_id"] = 2;
    e["action"] = "Denied";
    e["disposition_id"] = 99;
    e["disposition"] = "Confirmation Required";
    e["severity_id"] = 2;
    e["severity"] = "Low";
  } else {
    e["action_id"] = 2;
    e["action"] = "Denied";
    e["disposition_id"] = 2;
    e["disposition"] = "Blocked";
    e["severity_id"] = 3;
    e["severity"] = "Medium";
  }
  e["is_alert"] = verdict == "deny";
  json rules = rec.contains("rules") && rec["rules"].is_array() ? rec["rules"] : json::array();
  std::string rule_text;
  for (const json& r : rules) {
    if (!r.is_string()) continue;
    if (!rule_text.empty()) rule_text += ", ";
    rule_text += r.get<std::string>();
  }
  e["policy"] = json{{"name", Str(agent, "profile")},
                     {"uid", Str(rec, "policy_digest")},
                     {"desc", rule_text.empty() ? std::string("profile default") : "decided by " + rule_text},
                     {"is_applied", true}};

  json actor = json::object();
  actor["app_name"] = Str(call, "client");
  actor["app_uid"] = Str(agent, "id");
  if (agent.contains("uid") && agent["uid"].is_number_integer()) {
    actor["user"] = json{{"uid", std::to_string(agent["uid"].get<std::int64_t>())}};
  }
  if (agent.contains("pid") && agent["pid"].is_number_integer()) actor["process"] = json{{"pid", agent["pid"]}};
  if (!Str(call, "session_id").empty()) actor["session"] = json{{"uid", Str(call, "session_id")}};
  e["actor"] = std::move(actor);

  const std::string tool = Str(call, "tool_name");
  json api{{"operation", tool.empty() ? std::string("(unparsed)") : tool}};
  // mcp__server__tool: the MCP server is the service.
  if (tool.rfind("mcp__", 0) == 0) {
    const std::size_t sep = tool.find("__", 5);
    api["service"] = json{{"name", tool.substr(5, sep == std::string::npos ? std::string::npos : sep - 5)}};
  } else {
    api["service"] = json{{"name", Str(call, "client").empty() ? std::string("unknown") : Str(call, "client")}};
  }
  if (!Str(call, "call_id").empty()) api["request"] = json{{"uid", Str(call, "call_id")}};
  e["api"] = std::move(api);
  e["src_endpoint"] = json{{"hostname", Str(rec, "host")}};
  e["resources"] = Resources(rec);

  json meta{{"version", kOcsfVersion},
            {"product", {{"name", "toolgate"}, {"vendor_name", "toolgate"}, {"version", "0.1.0"}}},
            {"profiles", json::array({"security_control"})},
            {"uid", Str(rec, "hash")},
            {"log_name", "toolgate decision log"},
            {"original_time", Str(rec, "time")}};
  if (rec.contains("seq") && rec["seq"].is_number_unsigned()) meta["sequence"] = rec["seq"];
  e["metadata"] = std::move(meta);

  json tg{{"verdict", verdict},
          {"rules", rules},
          {"summary", CallSummary(rec, 200)},
          {"input_sha256", Str(rec, "input_sha256")},
          {"prev_hash", Str(rec, "prev_hash")}};
  if (rec.contains("latency_ns")) tg["latency_ns"] = rec["latency_ns"];
  if (rec.contains("reasons")) tg["reasons"] = rec["reasons"];
  if (rec.contains("error")) tg["error"] = rec["error"];
  e["unmapped"] = json{{"toolgate", std::move(tg)}};
  return e;
}

}  // namespace toolgate::audit
