// SessionRegistry: one mutex over a map of sessions. A call holds the lock
// only to copy a phase string and a shared_ptr, so a phase switch or a new
// grant never waits for a decision, and a decision sees the session as it was
// at one instant (no torn phase, no half-built grant list).
#include <algorithm>
#include <charconv>

#include "session/temporary_grant.h"
#include "toolgate/policy.h"
#include "toolgate/session.h"

namespace toolgate {

const char* SessionEventName(SessionEvent::Kind kind) {
  switch (kind) {
    case SessionEvent::Kind::kPhaseSet: return "phase_set";
    case SessionEvent::Kind::kGrantCreated: return "grant_created";
    case SessionEvent::Kind::kGrantExpired: return "grant_expired";
    case SessionEvent::Kind::kGrantRevoked: return "grant_revoked";
  }
  return "unknown";
}

namespace {

constexpr std::size_t kMaxSessionBytes = 256;
constexpr std::size_t kMaxAgentBytes = 1024;

struct Session {
  std::string phase;
  bool phase_set = false;
  std::vector<std::shared_ptr<const TemporaryGrant>> grants;
  std::shared_ptr<const TemporaryGrants> snapshot;  // rebuilt whenever grants change
};

bool IsPhaseNameText(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<Error> CheckSession(std::string_view session) {
  if (session.empty()) return Error{ErrorCode::kMissingField, "a session id is required", "session"};
  if (session.size() > kMaxSessionBytes) return Error{ErrorCode::kInputTooLarge, "session id longer than 256 bytes", "session"};
  return std::nullopt;
}

}  // namespace

struct SessionRegistry::State {
  Clock clock;
  SessionLimits limits;
  mutable std::mutex mu;
  std::map<std::string, Session, std::less<>> sessions;
  std::deque<SessionEvent> events;
  std::uint64_t next_id = 1;
  WallClock::time_point next_expiry = WallClock::time_point::max();

  void Event(SessionEvent e) {
    // Bounded: the owner takes events after every operation; if it cannot
    // keep up, the oldest are dropped rather than memory growing without end.
    if (events.size() >= limits.max_pending_events) events.pop_front();
    events.push_back(std::move(e));
  }

  static void Rebuild(Session* s) {
    s->snapshot = s->grants.empty() ? nullptr : std::make_shared<const TemporaryGrants>(s->grants);
  }

  TemporaryGrantInfo InfoOf(const TemporaryGrant& g) const {
    TemporaryGrantInfo info = g.info();
    info.uses = g.uses();
    return info;
  }

  // Drops the session's lapsed grants; queues their expiry events.
  void ExpireSession(const std::string& name, Session* s, WallClock::time_point now) {
    bool changed = false;
    for (auto it = s->grants.begin(); it != s->grants.end();) {
      if ((*it)->info().expires <= now) {
        SessionEvent e;
        e.kind = SessionEvent::Kind::kGrantExpired;
        e.time = now;
        e.session = name;
        e.by = "expiry";
        e.grant = InfoOf(**it);
        Event(std::move(e));
        it = s->grants.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (changed) Rebuild(s);
  }

  void ExpireAll(WallClock::time_point now) {
    if (now < next_expiry) return;
    next_expiry = WallClock::time_point::max();
    for (auto it = sessions.begin(); it != sessions.end();) {
      ExpireSession(it->first, &it->second, now);
      for (const auto& g : it->second.grants) next_expiry = std::min(next_expiry, g->info().expires);
      if (it->second.grants.empty() && !it->second.phase_set) {
        it = sessions.erase(it);
      } else {
        ++it;
      }
    }
  }

  Session* Find(std::string_view session) {
    const auto it = sessions.find(session);
    return it == sessions.end() ? nullptr : &it->second;
  }

  Result<Session*> FindOrAdd(std::string_view session) {
    if (Session* s = Find(session)) return s;
    if (sessions.size() >= limits.max_sessions) {
      return Error{ErrorCode::kInputTooLarge,
                   "the registry already tracks " + std::to_string(limits.max_sessions) + " sessions", "session"};
    }
    return &sessions.emplace(std::string(session), Session{}).first->second;
  }
};

SessionRegistry::SessionRegistry(Clock clock, SessionLimits limits) : s_(std::make_unique<State>()) {
  s_->clock = clock ? std::move(clock) : Clock([] { return WallClock::now(); });
  s_->limits = limits;
}

SessionRegistry::~SessionRegistry() = default;

WallClock::time_point SessionRegistry::Now() const { return s_->clock(); }

std::optional<Error> SessionRegistry::SetPhase(std::string_view session, std::string_view phase, std::string_view by) {
  if (auto e = CheckSession(session)) return e;
  if (!phase.empty() && !IsPhaseNameText(phase)) {
    return Error{ErrorCode::kWrongType, "phase names are 1-64 characters of A-Z a-z 0-9 _ -", "phase"};
  }
  const auto now = s_->clock();
  std::lock_guard lock(s_->mu);
  Session* s = nullptr;
  if (phase.empty()) {
    s = s_->Find(session);
    if (s == nullptr) return std::nullopt;  // nothing to clear
  } else {
    Result<Session*> found = s_->FindOrAdd(session);
    if (!found) return found.error();
    s = *found;
  }
  SessionEvent e;
  e.kind = SessionEvent::Kind::kPhaseSet;
  e.time = now;
  e.session = std::string(session);
  e.previous_phase = s->phase;
  e.phase = std::string(phase);
  e.by = std::string(by);
  s->phase = std::string(phase);
  s->phase_set = !phase.empty();
  s_->Event(std::move(e));
  return std::nullopt;
}

std::string SessionRegistry::Phase(std::string_view session) const {
  std::lock_guard lock(s_->mu);
  const auto it = s_->sessions.find(session);
  return it == s_->sessions.end() ? std::string() : it->second.phase;
}

bool SessionRegistry::HasPhase(std::string_view session) const {
  std::lock_guard lock(s_->mu);
  const auto it = s_->sessions.find(session);
  return it != s_->sessions.end() && it->second.phase_set;
}

SessionSnapshot SessionRegistry::Snapshot(std::string_view session) {
  const auto now = s_->clock();
  std::lock_guard lock(s_->mu);
  s_->ExpireAll(now);
  SessionSnapshot out;
  if (const Session* s = s_->Find(session)) {
    out.phase = s->phase;
    out.grants = s->snapshot;
  }
  return out;
}

Result<TemporaryGrantInfo> SessionRegistry::AddGrant(std::string_view session, std::string_view agent,
                                                     std::string_view text, std::chrono::seconds duration,
                                                     const Policy& policy, std::string_view by) {
  if (auto e = CheckSession(session)) return *e;
  if (agent.size() > kMaxAgentBytes) return Error{ErrorCode::kInputTooLarge, "agent id longer than 1024 bytes", "agent"};
  if (duration < std::chrono::seconds(1) || duration > s_->limits.max_grant_duration) {
    return Error{ErrorCode::kWrongType,
                 "a temporary grant lasts from 1 s to " + std::to_string(s_->limits.max_grant_duration.count()) + " s",
                 "for"};
  }
  Result<TemporaryGrantSpec> spec = ParseTemporaryGrant(text);
  if (!spec) return spec.error();
  const auto now = s_->clock();
  TemporaryGrantInfo info;
  info.session = std::string(session);
  info.agent = std::string(agent);
  info.text = std::string(text);
  info.created = now;
  info.expires = now + duration;
  {
    std::lock_guard lock(s_->mu);
    info.id = "tg-" + std::to_string(s_->next_id++);
  }
  // Compiled outside the lock: RE2 compilation must not hold up decisions.
  Result<std::shared_ptr<TemporaryGrant>> grant = TemporaryGrant::Compile(info, *spec, policy.settings());
  if (!grant) return grant.error();
  std::lock_guard lock(s_->mu);
  s_->ExpireAll(now);
  Result<Session*> found = s_->FindOrAdd(session);
  if (!found) return found.error();
  Session* s = *found;
  if (s->grants.size() >= s_->limits.max_grants_per_session) {
    return Error{ErrorCode::kInputTooLarge,
                 "session already has " + std::to_string(s_->limits.max_grants_per_session) + " temporary grants",
                 "grant"};
  }
  s->grants.push_back(*grant);
  State::Rebuild(s);
  s_->next_expiry = std::min(s_->next_expiry, info.expires);
  SessionEvent e;
  e.kind = SessionEvent::Kind::kGrantCreated;
  e.time = now;
  e.session = info.session;
  e.by = std::string(by);
  e.grant = info;
  s_->Event(std::move(e));
  return info;
}

bool SessionRegistry::Revoke(std::string_view session, std::string_view id, std::string_view by) {
  const auto now = s_->clock();
  std::lock_guard lock(s_->mu);
  s_->ExpireAll(now);
  Session* s = s_->Find(session);
  if (s == nullptr) return false;
  const auto it = std::find_if(s->grants.begin(), s->grants.end(), [&](const auto& g) { return g->info().id == id; });
  if (it == s->grants.end()) return false;
  SessionEvent e;
  e.kind = SessionEvent::Kind::kGrantRevoked;
  e.time = now;
  e.session = std::string(session);
  e.by = std::string(by);
  e.grant = s_->InfoOf(**it);
  s_->Event(std::move(e));
  s->grants.erase(it);
  State::Rebuild(s);
  return true;
}

std::vector<TemporaryGrantInfo> SessionRegistry::Grants(std::string_view session) {
  const auto now = s_->clock();
  std::lock_guard lock(s_->mu);
  s_->ExpireAll(now);
  std::vector<TemporaryGrantInfo> out;
  if (const Session* s = s_->Find(session)) {
    for (const auto& g : s->grants) out.push_back(s_->InfoOf(*g));
  }
  return out;
}

void SessionRegistry::ExpireLapsed() {
  const auto now = s_->clock();
  std::lock_guard lock(s_->mu);
  s_->ExpireAll(now);
}

std::vector<SessionEvent> SessionRegistry::TakeEvents() {
  std::lock_guard lock(s_->mu);
  std::vector<SessionEvent> out(std::make_move_iterator(s_->events.begin()), std::make_move_iterator(s_->events.end()));
  s_->events.clear();
  return out;
}

std::optional<Error> ValidatePhase(const Policy& policy, std::string_view agent, std::string_view phase) {
  if (phase.empty()) return std::nullopt;
  if (!IsPhaseNameText(phase)) {
    return Error{ErrorCode::kWrongType, "phase names are 1-64 characters of A-Z a-z 0-9 _ -", "phase"};
  }
  if (!agent.empty()) {
    std::string profile;
    if (policy.ProfileFor(agent, &profile) == nullptr) {
      return Error{ErrorCode::kPolicyReference, "agent '" + std::string(agent) + "' has no profile", "agent"};
    }
    if (policy.HasPhase(profile, phase)) return std::nullopt;
    std::string known;
    for (const std::string& p : policy.PhasesOf(profile)) known += (known.empty() ? "" : ", ") + p;
    return Error{ErrorCode::kPolicyReference,
                 "profile '" + profile + "' has no phase '" + std::string(phase) + "'" +
                     (known.empty() ? " (it declares none)" : "; it declares: " + known),
                 "phase"};
  }
  for (const std::string& profile : policy.ProfileNames()) {
    if (policy.HasPhase(profile, phase)) return std::nullopt;
  }
  return Error{ErrorCode::kPolicyReference, "no profile of the policy declares phase '" + std::string(phase) + "'",
               "phase"};
}

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  long long total = 0;
  std::size_t i = 0;
  bool any_unit = false;
  while (i < text.size()) {
    long long n = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data() + i || n < 0 || n > 10'000'000) return std::nullopt;
    i = static_cast<std::size_t>(end - text.data());
    long long unit = 1;
    if (i < text.size()) {
      switch (text[i]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return std::nullopt;
      }
      ++i;
      any_unit = true;
    } else if (any_unit) {
      return std::nullopt;  // "1h30": the unit of 30 is missing
    }
    total += n * unit;
    if (total > 10'000'000'000LL) return std::nullopt;
  }
  return std::chrono::seconds(total);
}

}  // namespace toolgate
