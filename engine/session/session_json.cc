#include "session/session_json.h"

#include "audit/record.h"

namespace toolgate {
namespace {

std::string Time(WallClock::time_point t) {
  return audit::FormatTime(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

}  // namespace

nlohmann::json ToJson(const TemporaryGrantInfo& grant) {
  return nlohmann::json{{"id", grant.id},           {"session", grant.session}, {"agent", grant.agent},
                        {"grant", grant.text},      {"created", Time(grant.created)},
                        {"expires", Time(grant.expires)}, {"uses", grant.uses}};
}

nlohmann::json SessionEventMembers(const SessionEvent& event) {
  nlohmann::json out{{"v", 1}, {"event", SessionEventName(event.kind)}, {"session", event.session}, {"by", event.by}};
  if (event.kind == SessionEvent::Kind::kPhaseSet) {
    out["phase"] = event.phase;
    out["previous_phase"] = event.previous_phase;
  } else {
    out["grant"] = ToJson(event.grant);
  }
  return out;
}

std::optional<Error> LogSessionEvents(SessionRegistry* sessions, AuditLog* log) {
  if (sessions == nullptr) return std::nullopt;
  return LogSessionEvents(sessions->TakeEvents(), log);
}

std::optional<Error> LogSessionEvents(const std::vector<SessionEvent>& events, AuditLog* log) {
  if (log == nullptr) return std::nullopt;
  for (const SessionEvent& e : events) {
    Result<AppendReceipt> r = log->AppendEvent(kSessionRecordType, SessionEventMembers(e));
    if (!r) return r.error();
  }
  return std::nullopt;
}

}  // namespace toolgate
