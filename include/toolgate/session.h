// Session governance: the task phase each session is in, and the temporary
// grants an operator gave it. Owned by whoever calls the engine (the daemon,
// a C API handle, an embedding program), never by the Engine, which stays
// stateless: before each call the owner takes a SessionSnapshot and hands it
// to Engine::Decide, so one call sees one phase and one set of grants even
// while an operator changes them.
//
// Thread-safe: every method may be called from many threads at once.
// Bounded: sessions, grants per session, pending events and a grant's
// duration all have limits; past them a change is refused with an error.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toolgate/result.h"

namespace toolgate {

class Policy;
class TemporaryGrants;  // engine/session/temporary_grant.h: one session's live grants, compiled

using WallClock = std::chrono::system_clock;

// What a session looks like to one call.
struct SessionSnapshot {
  std::string phase;                               // "" = no phase: the profile itself
  std::shared_ptr<const TemporaryGrants> grants;   // null when the session has none
};

// A temporary grant as an operator sees it (`toolgate grant list`).
struct TemporaryGrantInfo {
  std::string id;       // "tg-7": unique within the registry
  std::string session;
  std::string agent;    // "" = any agent of the session
  std::string text;     // as given: "fs.write:/srv/blog/**"
  WallClock::time_point created;
  WallClock::time_point expires;
  std::uint64_t uses = 0;  // calls it widened so far
};

// Something the owner must put in the decision log.
struct SessionEvent {
  enum class Kind { kPhaseSet, kGrantCreated, kGrantExpired, kGrantRevoked };
  Kind kind = Kind::kPhaseSet;
  WallClock::time_point time;
  std::string session;
  std::string phase;           // kPhaseSet: the new phase ("" = cleared)
  std::string previous_phase;  // kPhaseSet
  std::string by;              // who: "operator uid 1000", "rule dev-guard.x", "capi"
  TemporaryGrantInfo grant;    // the grant events
};
const char* SessionEventName(SessionEvent::Kind kind);  // "phase_set", "grant_created", ...

struct SessionLimits {
  std::size_t max_sessions = 4096;           // sessions with a phase or a grant
  std::size_t max_grants_per_session = 64;
  std::chrono::seconds max_grant_duration{24 * 3600};
  std::size_t max_pending_events = 4096;     // events not yet taken by the owner
};

class SessionRegistry {
 public:
  using Clock = std::function<WallClock::time_point()>;
  // clock: WallClock::now when empty; tests inject their own.
  explicit SessionRegistry(Clock clock = {}, SessionLimits limits = {});
  ~SessionRegistry();
  SessionRegistry(const SessionRegistry&) = delete;
  SessionRegistry& operator=(const SessionRegistry&) = delete;

  // Sets (phase "" clears) the session's phase for every later call. The
  // caller checks the name against the policy (ValidatePhase); `by` is
  // recorded in the event. An error for a malformed name or a full registry.
  std::optional<Error> SetPhase(std::string_view session, std::string_view phase, std::string_view by);
  std::string Phase(std::string_view session) const;
  // Whether the session's phase was ever set (and not cleared).
  bool HasPhase(std::string_view session) const;

  // One call's view of the session. Grants that lapsed are dropped first
  // (and their kGrantExpired events queued).
  SessionSnapshot Snapshot(std::string_view session);

  // Adds a temporary grant. text: "tool:GLOB", "fs.read:SCOPE",
  // "fs.write:SCOPE", "host:PATTERN", "exec:ARGV-PATTERN"; patterns compile
  // with the policy's settings (home, trusted bin dirs) exactly as in a policy.
  // duration: 1 s up to limits.max_grant_duration.
  Result<TemporaryGrantInfo> AddGrant(std::string_view session, std::string_view agent, std::string_view text,
                                      std::chrono::seconds duration, const Policy& policy, std::string_view by);
  // false when the session has no live grant with that id.
  bool Revoke(std::string_view session, std::string_view id, std::string_view by);
  std::vector<TemporaryGrantInfo> Grants(std::string_view session);

  // Queues kGrantExpired for every lapsed grant of every session. Cheap when
  // nothing is due (one comparison).
  void ExpireLapsed();

  // Events since the last call, oldest first.
  std::vector<SessionEvent> TakeEvents();

  WallClock::time_point Now() const;

  struct State;  // session_registry.cc

 private:
  std::unique_ptr<State> s_;
};

// Checks a phase name against the policy: with an agent, its profile must
// declare the phase; without one, some profile must. "" is always valid.
std::optional<Error> ValidatePhase(const Policy& policy, std::string_view agent, std::string_view phase);

// Parses "15m", "90s", "2h", "1h30m", "900" (seconds). nullopt when malformed.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace toolgate
