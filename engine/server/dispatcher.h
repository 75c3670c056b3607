// Judges the requests of one batch (every complete line one read brought in)
// and writes their replies. The decisions of a batch go to the decision log
// together (AuditLog::AppendBatch: one write, one fdatasync when needed)
// before any reply of the batch exists, so no answer ever leaves without its
// record; if the log refuses them, every decision of the batch becomes a deny.
// A hook request (server/hook_op.h) is judged as one decide request per call
// of its input, logged alike, and answered in its client's dialect.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "server/engine_holder.h"
#include "toolgate/audit.h"
#include "toolgate/session.h"

namespace toolgate::server {

// A batch judged but not yet logged or answered (Dispatcher::Judge, then
// Dispatcher::Finish). Holds its calls and decisions, and what they point
// into (the engine, the sessions' grants), until it is judged again (which
// frees them, in the judging thread) or destroyed.
class JudgedBatch {
 public:
  JudgedBatch();
  ~JudgedBatch();
  JudgedBatch(JudgedBatch&&) noexcept;
  JudgedBatch& operator=(JudgedBatch&&) noexcept;

  struct State;  // dispatcher.cc

 private:
  friend class Dispatcher;
  std::unique_ptr<State> s_;
};

class Dispatcher {
 public:
  // log may be null: decisions are then answered without being recorded.
  // With defer_sync, HandleLines returns once the batch is written and leaves
  // waiting for its fdatasync to the caller (see HandleLines). With
  // learn_mode every decision goes through ApplyLearnMode before it is
  // logged and answered (`toolgate serve --mode learn`).
  Dispatcher(const EngineHolder* engines, AuditLog* log, std::size_t max_message_bytes, bool defer_sync = false,
             bool learn_mode = false);

  // Appends one reply line to *out per request line, in order. peer is who
  // sent them (SO_PEERCRED), recorded with each decision. Returns 0, or with
  // defer_sync the log seq that must be synced (AuditLog::WaitSynced) before
  // these replies may be sent: a verdict the log syncs is never answered
  // before its record is on disk.
  std::uint64_t HandleLines(std::span<const std::string_view> lines, const PeerInfo& peer, std::string* out) const;

  // HandleLines in two steps, for a caller that overlaps them (the server
  // logs and answers one batch of a connection while it judges the next).
  // Judge makes the batch's decisions in request order, moving the session
  // state as HandleLines does, and takes the session events pending by then.
  // Finish logs those events, then the decisions (denying them all if the
  // log refuses), and appends the replies: nothing is answered before its
  // record is written. A connection's batches must be finished in the order
  // they were judged, each once; peer must outlive Finish.
  void Judge(std::span<const std::string_view> lines, const PeerInfo& peer, JudgedBatch* batch) const;
  std::uint64_t Finish(JudgedBatch* batch, std::string* out) const;

  AuditLog* log() const { return log_; }

  // The sessions' phases and temporary grants (include/toolgate/session.h).
  // With a registry, every decide takes the session's phase from it (the
  // phase a request's call carries is replaced: a call is written by the
  // agent's side, and an agent must not pick its own phase) and its live
  // temporary grants; the session ops (phase_set, phase_get, grant, grants,
  // revoke) are answered, and each batch's session events (phase changes,
  // grants created, revoked and expired) are logged as "session" records
  // before its decisions. Without one, session ops get unknown_op's sibling
  // error invalid_argument and calls keep their own phase. Set before use.
  void set_sessions(SessionRegistry* sessions) { sessions_ = sessions; }
  SessionRegistry* sessions() const { return sessions_; }

  // The reply to a line over max_message_bytes (the connection closes after it).
  void AppendOversizedReply(std::string* out) const;

  std::size_t max_message_bytes() const { return max_message_bytes_; }

 private:
  const EngineHolder* engines_;
  AuditLog* log_;
  std::size_t max_message_bytes_;
  bool defer_sync_;
  SessionRegistry* sessions_ = nullptr;
  bool learn_mode_;
};

}  // namespace toolgate::server
