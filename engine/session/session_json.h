// JSON forms of session governance: a temporary grant as the daemon lists it,
// and the members of a "session" record in the decision log.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/audit.h"
#include "toolgate/session.h"

namespace toolgate {

// Record type of session events in the decision log.
inline constexpr std::string_view kSessionRecordType = "session";

// {"id","session","agent","grant","created","expires","uses"} (times RFC 3339 UTC).
nlohmann::json ToJson(const TemporaryGrantInfo& grant);

// {"v":1,"event":"grant_created"|...,"session","by","phase"?,"previous_phase"?,"grant"?}
nlohmann::json SessionEventMembers(const SessionEvent& event);

// Takes the registry's pending events and appends one "session" record each,
// in order. log may be null (events are then dropped). The first failure is
// returned; the events after it are not written.
std::optional<Error> LogSessionEvents(SessionRegistry* sessions, AuditLog* log);

// The same for events already taken (SessionRegistry::TakeEvents).
std::optional<Error> LogSessionEvents(const std::vector<SessionEvent>& events, AuditLog* log);

}  // namespace toolgate
