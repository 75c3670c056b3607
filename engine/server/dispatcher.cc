#include "server/dispatcher.h"

#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include "sandbox/forward.h"
#include "session/session_json.h"
#include "server/request.h"
#include "toolgate/ask_fallback.h"

namespace toolgate::server {
namespace {

// One request of a batch and what it earned.
struct Slot {
  enum class Kind { kError, kPong, kDecision, kObject } kind = Kind::kError;
  nlohmann::json body;  // kObject: the session op's reply members
  std::shared_ptr<const TemporaryGrants> grants;  // the session's grants the decision may point into
  std::string id;
  ProtocolError error = ProtocolError::kInternal;
  std::string message;
  std::optional<ToolCall> call;  // parsed call (decisions); empty when it never parsed
  std::string raw_call;          // the call's JSON text when it never parsed (for the log)
  Decision decision;
  std::string model_message;     // decision.MessageForModel(): made once, for the log and the reply
  bool shell_sandboxed = false;  // an allowed shell call the policy runs inside `toolgate run`
};

// The same fail-closed answer `toolgate check --log` gives when the record
// cannot be written: what cannot be logged is not allowed.
void DenyUnlogged(Decision* d, const Error& failure) {
  LeaveLearnMode(d);  // a learning-mode allow needs its record as much as any other
  d->verdict = Verdict::kDeny;
  d->error = Error{ErrorCode::kInternal, "the decision could not be written to the audit log: " + failure.message,
                   failure.location};
  Finding f;
  f.verdict = Verdict::kDeny;
  f.subject = Subject::kCall;
  f.note = "the audit log is unavailable, so nothing is allowed";
  d->findings.push_back(std::move(f));
}

// Who may change sessions: root and the daemon's own user. Agents connect
// as other users (the socket's group lets them in), so an agent can never
// widen its own grants or switch its own phase.
bool MayGovern(const PeerInfo& peer) {
  if (!peer.uid) return false;
  return *peer.uid == 0 || *peer.uid == static_cast<std::int64_t>(::geteuid());
}

std::string OperatorName(const PeerInfo& peer) {
  return "operator uid " + (peer.uid ? std::to_string(*peer.uid) : std::string("?")) +
         (peer.pid ? " pid " + std::to_string(*peer.pid) : std::string());
}

// Runs one session op; fills the slot's reply or error.
void HandleSessionOp(const Request& req, const Engine& engine, const PeerInfo& peer, SessionRegistry* sessions,
                     Slot* s) {
  const auto fail = [s](ProtocolError code, std::string message) {
    s->kind = Slot::Kind::kError;
    s->error = code;
    s->message = std::move(message);
  };
  if (sessions == nullptr) return fail(ProtocolError::kInvalidArgument, "this daemon keeps no session state");
  if (IsPrivilegedOp(req.op) && !MayGovern(peer)) {
    return fail(ProtocolError::kForbidden,
                "only root or the daemon's own user may change a session's phase or grants");
  }
  const std::string by = OperatorName(peer);
  s->kind = Slot::Kind::kObject;
  switch (req.op) {
    case Op::kPhaseSet: {
      if (auto e = ValidatePhase(engine.policy(), req.agent, req.phase)) return fail(ProtocolError::kInvalidArgument, e->message);
      const std::string previous = sessions->Phase(req.session);
      if (auto e = sessions->SetPhase(req.session, req.phase, by)) return fail(ProtocolError::kInvalidArgument, e->message);
      s->body = {{"session", req.session}, {"phase", req.phase}, {"previous_phase", previous}};
      return;
    }
    case Op::kPhaseGet:
      s->body = {{"session", req.session}, {"phase", sessions->Phase(req.session)}};
      return;
    case Op::kGrant: {
      Result<TemporaryGrantInfo> g = sessions->AddGrant(req.session, req.agent, req.grant,
                                                        std::chrono::seconds(req.for_s), engine.policy(), by);
      if (!g) return fail(ProtocolError::kInvalidArgument, g.error().message);
      s->body = {{"grant", ToJson(*g)}};
      return;
    }
    case Op::kGrants: {
      nlohmann::json list = nlohmann::json::array();
      for (const TemporaryGrantInfo& g : sessions->Grants(req.session)) list.push_back(ToJson(g));
      s->body = {{"session", req.session}, {"grants", std::move(list)}};
      return;
    }
    case Op::kRevoke:
      if (!sessions->Revoke(req.session, req.grant_id, by)) {
        return fail(ProtocolError::kNotFound, "session has no live grant '" + req.grant_id + "'");
      }
      s->body = {{"session", req.session}, {"revoked", req.grant_id}};
      return;
    case Op::kDecide:
    case Op::kPing: break;
  }
  fail(ProtocolError::kInternal, "not a session op");
}

}  // namespace

Dispatcher::Dispatcher(const EngineHolder* engines, AuditLog* log, std::size_t max_message_bytes, bool defer_sync,
                       bool learn_mode)
    : engines_(engines),
      log_(log),
      max_message_bytes_(max_message_bytes),
      defer_sync_(defer_sync),
      learn_mode_(learn_mode) {}

std::uint64_t Dispatcher::HandleLines(std::span<const std::string_view> lines, const PeerInfo& peer,
                                      std::string* out) const {
  if (lines.empty()) return 0;
  const std::shared_ptr<const Engine> engine = engines_->Current();
  const PolicySettings& settings = engine->policy().settings();
  // The envelope holds the call one level down; the call itself gets the
  // policy's own depth limit, as `toolgate check` gives it.
  const InputLimits line_limits{max_message_bytes_, settings.max_json_depth + 1};

  // Judges a call that parsed: the session's phase and grants, the decision,
  // the ask fallback and learning mode before the log records it.
  const auto judge = [&](ToolCall call, bool headless, Slot* s) {
    if (sessions_ != nullptr) {
      SessionSnapshot session = sessions_->Snapshot(call.session_id);
      call.phase = std::move(session.phase);
      s->grants = std::move(session.grants);
    }
    s->decision = engine->Decide(call, s->grants.get());
    if (headless) ApplyAskFallback(engine->policy(), &s->decision);  // before the log records it
    if (learn_mode_) ApplyLearnMode(&s->decision);
    // A rule asked to move the session on: its next call sees the new phase.
    if (sessions_ != nullptr && s->decision.requested_phase && !call.session_id.empty()) {
      if (auto e = sessions_->SetPhase(call.session_id, *s->decision.requested_phase, "rule")) {
        spdlog::warn("toolgate serve: a rule's phase request was refused: {}", e->message);
      }
    }
    // Only an allowed shell call is forwarded; the profile lookup is skipped for the rest.
    s->shell_sandboxed = s->decision.verdict == Verdict::kAllow && call.tool_name == "Bash" &&
                         sandbox::ProfileRunsShellSandboxed(engine->policy(), call.agent_id);
    s->call = std::move(call);
  };

  thread_local std::vector<Slot> slots;
  slots.clear();
  slots.resize(lines.size());
  std::size_t decisions = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Slot& s = slots[i];
    try {
      // The common request, a well-formed decide whose call converts, is
      // read in one pass; anything else takes the reference path below.
      if (lines[i].size() <= settings.max_input_bytes) {
        std::optional<DecideRequest> fast;
        try {
          fast = ReadDecideRequest(lines[i], line_limits);
        } catch (const std::exception&) {  // out of memory: the reference path answers as it always has
          fast.reset();
        }
        if (fast) {
          s.id = std::move(fast->id);
          s.kind = Slot::Kind::kDecision;
          ++decisions;
          judge(std::move(fast->call), fast->headless, &s);
          continue;
        }
      }
      auto parsed = ParseRequest(lines[i], line_limits);
      if (auto* err = std::get_if<RequestError>(&parsed)) {
        s.id = std::move(err->id);
        s.error = err->code;
        s.message = std::move(err->message);
        continue;
      }
      Request& req = std::get<Request>(parsed);
      s.id = std::move(req.id);
      if (req.op == Op::kPing) {
        s.kind = Slot::Kind::kPong;
        continue;
      }
      if (req.op != Op::kDecide) {
        HandleSessionOp(req, *engine, peer, sessions_, &s);
        continue;
      }
      s.kind = Slot::Kind::kDecision;
      ++decisions;
      // A call bigger than the policy's own input limit is judged as the
      // in-process engine judges it: a located input_too_large deny.
      const bool too_big = lines[i].size() > settings.max_input_bytes &&
                           req.call.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size() >
                               settings.max_input_bytes;
      // The input moves into the ToolCall instead of being copied: the parser
      // sees an empty object in its place, which it judges the same way.
      nlohmann::json input;
      const auto in = req.call.find("tool_input");
      const bool moved = !too_big && in != req.call.end() && in->is_object();
      if (moved) input = std::exchange(*in, nlohmann::json::object());
      Result<ToolCall> call = ToolCallFromRequest(req.call);
      if (moved) {
        if (call) {
          call->tool_input = std::move(input);
        } else {
          req.call["tool_input"] = std::move(input);
        }
      }
      if (call && !too_big) {
        judge(std::move(*call), req.headless, &s);
      } else {
        // The same located deny DecideText gives for the same text.
        s.raw_call = req.call.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        s.decision = engine->DecideText(s.raw_call);
        if (learn_mode_) ApplyLearnMode(&s.decision);  // stays a deny: it could not be judged
      }
    } catch (const std::exception& e) {
      spdlog::error("toolgate serve: internal error while handling a request: {}", e.what());
      if (s.kind == Slot::Kind::kDecision) --decisions;
      s.kind = Slot::Kind::kError;
      s.error = ProtocolError::kInternal;
      s.message = "internal error while handling the request";
    }
  }

  // The message for the model goes into both the record and the reply: made once.
  for (Slot& s : slots) {
    if (s.kind == Slot::Kind::kDecision) s.model_message = s.decision.MessageForModel();
  }

  // Session events (phase changes, grants created, revoked, expired) go to
  // the log before the batch's decisions. What cannot be logged is not
  // allowed: a failure denies the batch's decisions.
  std::optional<Error> events_failed;
  if (sessions_ != nullptr) {
    sessions_->ExpireLapsed();
    events_failed = LogSessionEvents(sessions_, log_);
    if (events_failed) {
      spdlog::error("toolgate serve: audit log: session events: {}", events_failed->message);
      for (Slot& s : slots) {
        if (s.kind == Slot::Kind::kDecision) {
          DenyUnlogged(&s.decision, *events_failed);
          s.model_message = s.decision.MessageForModel();
          s.shell_sandboxed = false;
        }
      }
    }
  }

  std::uint64_t sync_seq = 0;
  if (log_ != nullptr && decisions > 0) {
    thread_local std::vector<AuditEntry> entries;
    entries.clear();
    for (const Slot& s : slots) {
      if (s.kind != Slot::Kind::kDecision) continue;
      entries.push_back(AuditEntry{s.call ? &*s.call : nullptr, s.raw_call, &s.decision, &peer, &s.model_message});
    }
    Result<AppendReceipt> r = log_->AppendBatch(entries, !defer_sync_);
    if (r && r->sync_pending) sync_seq = r->seq;
    if (!r) {
      spdlog::error("toolgate serve: audit log: {}{}; denying {} decision(s)", r.error().message,
                    r.error().location.empty() ? "" : " (" + r.error().location + ")", decisions);
      for (Slot& s : slots) {
        if (s.kind == Slot::Kind::kDecision) {
          DenyUnlogged(&s.decision, r.error());
          s.model_message = s.decision.MessageForModel();
          s.shell_sandboxed = false;
        }
      }
    }
  }

  for (const Slot& s : slots) {
    switch (s.kind) {
      case Slot::Kind::kError: AppendErrorReply(out, s.id, s.error, s.message); break;
      case Slot::Kind::kPong: AppendPongReply(out, s.id, engine->policy().digest()); break;
      case Slot::Kind::kDecision: AppendDecisionReply(out, s.id, s.decision, s.shell_sandboxed, &s.model_message); break;
      case Slot::Kind::kObject: AppendObjectReply(out, s.id, s.body); break;
    }
  }
  return sync_seq;
}

void Dispatcher::AppendOversizedReply(std::string* out) const {
  AppendErrorReply(out, "null", ProtocolError::kInputTooLarge,
                   "a request line is longer than " + std::to_string(max_message_bytes_) +
                       " bytes; closing the connection");
}

}  // namespace toolgate::server
