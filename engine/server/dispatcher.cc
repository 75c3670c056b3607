#include "server/dispatcher.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include "sandbox/forward.h"
#include "session/session_json.h"
#include "server/hook_op.h"
#include "server/request.h"
#include "toolgate/ask_fallback.h"

namespace toolgate::server {
namespace {

// One call judged: a decide request's, or one of a hook request's.
struct Judged {
  std::shared_ptr<const TemporaryGrants> grants;  // the session's grants the decision may point into
  std::optional<ToolCall> call;  // parsed call; empty when it never parsed
  std::string raw_call;          // the call's JSON text when it never parsed (for the log)
  Decision decision;
  std::string model_message;     // decision.MessageForModel(): made once, for the log and the reply
  bool shell_sandboxed = false;  // an allowed shell call the policy runs inside `toolgate run`
};

// One request of a batch and what it earned.
struct Slot {
  enum class Kind { kError, kPong, kDecision, kObject, kHook } kind = Kind::kError;
  nlohmann::json body;  // kObject: the session op's reply members
  std::string id;
  ProtocolError error = ProtocolError::kInternal;
  std::string message;
  std::vector<Judged> judged;  // kDecision: one; kHook: one per call of the hook input
  std::optional<HookJob> hook;  // kHook
};

// The same fail-closed answer `toolgate check --log` gives when the record
// cannot be written: what cannot be logged is not allowed. The message for
// the model is made again from the deny, and nothing is forwarded.
void DenyUnlogged(Judged* j, const Error& failure) {
  Decision* d = &j->decision;
  LeaveLearnMode(d);  // a learning-mode allow needs its record as much as any other
  d->verdict = Verdict::kDeny;
  d->error = Error{ErrorCode::kInternal, "the decision could not be written to the audit log: " + failure.message,
                   failure.location};
  Finding f;
  f.verdict = Verdict::kDeny;
  f.subject = Subject::kCall;
  f.note = "the audit log is unavailable, so nothing is allowed";
  d->findings.push_back(std::move(f));
  d->context.clear();  // only what the log holds reaches the model
  j->model_message = d->MessageForModel();
  j->shell_sandboxed = false;
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
    case Op::kPing:
    case Op::kHook: break;
  }
  fail(ProtocolError::kInternal, "not a session op");
}

// Judges a call that parsed: the session's phase and grants, the decision,
// the ask fallback and learning mode before the log records it. The call is
// moved into *j first and judged there, not moved again after.
void JudgeParsed(const Engine& engine, ToolCall&& parsed, bool headless, SessionRegistry* sessions, bool learn_mode,
                 Judged* j) {
  ToolCall& call = j->call.emplace(std::move(parsed));
  if (sessions != nullptr) {
    SessionSnapshot session = sessions->Snapshot(call.session_id);
    call.phase = std::move(session.phase);
    j->grants = std::move(session.grants);
  }
  j->decision = engine.Decide(call, j->grants.get());
  if (headless) ApplyAskFallback(engine.policy(), &j->decision);  // before the log records it
  if (learn_mode) ApplyLearnMode(&j->decision);
  // A rule asked to move the session on: its next call sees the new phase.
  if (sessions != nullptr && j->decision.requested_phase && !call.session_id.empty()) {
    if (auto e = sessions->SetPhase(call.session_id, *j->decision.requested_phase, "rule")) {
      spdlog::warn("toolgate serve: a rule's phase request was refused: {}", e->message);
    }
  }
  // Only an allowed shell call is forwarded; the profile lookup is skipped for the rest.
  j->shell_sandboxed = j->decision.verdict == Verdict::kAllow && call.tool_name == "Bash" &&
                       sandbox::ProfileRunsShellSandboxed(engine.policy(), call.agent_id);
}

void JudgeCall(const Engine& engine, nlohmann::json request_call, bool headless, bool too_big,
               SessionRegistry* sessions, bool learn_mode, Judged* j) {
  // The input moves into the ToolCall instead of being copied: the parser
  // sees an empty object in its place, which it judges the same way.
  nlohmann::json input;
  const auto in = request_call.find("tool_input");
  const bool moved = !too_big && in != request_call.end() && in->is_object();
  if (moved) input = std::exchange(*in, nlohmann::json::object());
  Result<ToolCall> call = ToolCallFromRequest(request_call);
  if (moved) {
    if (call) {
      call->tool_input = std::move(input);
    } else {
      request_call["tool_input"] = std::move(input);
    }
  }
  if (call && !too_big) {
    JudgeParsed(engine, std::move(*call), headless, sessions, learn_mode, j);
  } else {
    // The same located deny DecideText gives for the same text.
    j->raw_call = request_call.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    j->decision = engine.DecideText(j->raw_call);
    if (learn_mode) ApplyLearnMode(&j->decision);  // stays a deny: it could not be judged
  }
}

int Depth(const nlohmann::json& v) {
  int deepest = 0;
  if (v.is_object() || v.is_array()) {
    for (const auto& child : v) deepest = std::max(deepest, Depth(child));
    return deepest + 1;
  }
  return 0;
}

// The refusal the decide requests `toolgate hook` sends for these calls
// would earn (a line over the daemon's limit, a call nested deeper than the
// policy allows), or nullopt when none would be refused.
// sizes: each call's JSON text size.
std::optional<std::pair<ProtocolError, std::string>> CheckHookCalls(const HookJob& job,
                                                                     const std::vector<std::size_t>& sizes,
                                                                     std::size_t max_message_bytes,
                                                                     const PolicySettings& settings) {
  for (std::size_t i = 0; i < job.calls.size(); ++i) {
    const nlohmann::json& call = job.calls[i];
    // {"call":<call>,"headless":true,"id":N,"op":"decide","v":1}
    const std::size_t line = sizes[i] +
                             std::string_view(R"({"call":,"id":,"op":"decide","v":1})").size() +
                             (job.headless ? std::string_view(R"(,"headless":true)").size() : 0) +
                             std::to_string(i + 1).size();
    if (line > max_message_bytes) {
      return std::pair{ProtocolError::kInputTooLarge,
                       "the hook input's call " + std::to_string(i + 1) + " passes this daemon's request line limit of " +
                           std::to_string(max_message_bytes) + " bytes"};
    }
    if (Depth(call) > settings.max_json_depth) {
      return std::pair{ProtocolError::kNestingTooDeep,
                       "the hook input's call " + std::to_string(i + 1) + " is nested deeper than " +
                           std::to_string(settings.max_json_depth) + " levels"};
    }
  }
  return std::nullopt;
}

// A hook request's reply: the hook's output from the slot's decisions.
void AppendHook(std::string* out, const Slot& s) {
  try {
    std::vector<const Decision*> decisions;
    std::vector<bool> sandboxed;
    decisions.reserve(s.judged.size());
    for (const Judged& j : s.judged) {
      decisions.push_back(&j.decision);
      sandboxed.push_back(j.shell_sandboxed);
    }
    AppendHookReply(out, s.id, AnswerHookJob(*s.hook, decisions, sandboxed));
  } catch (const std::exception& e) {
    spdlog::error("toolgate serve: internal error while answering a hook request: {}", e.what());
    AppendErrorReply(out, s.id, ProtocolError::kInternal, "internal error while answering the hook request");
  }
}

}  // namespace

struct JudgedBatch::State {
  std::shared_ptr<const Engine> engine;  // what the decisions were made with (and point into)
  const PeerInfo* peer = nullptr;
  std::vector<Slot> slots;
  std::vector<SessionEvent> events;  // taken after the batch was judged; logged before its decisions
  bool finished = true;
};

JudgedBatch::JudgedBatch() : s_(std::make_unique<State>()) {}
JudgedBatch::~JudgedBatch() = default;
JudgedBatch::JudgedBatch(JudgedBatch&&) noexcept = default;
JudgedBatch& JudgedBatch::operator=(JudgedBatch&&) noexcept = default;

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
  thread_local JudgedBatch batch;  // its slots' room is kept batch after batch
  Judge(lines, peer, &batch);
  const std::uint64_t sync_seq = Finish(&batch, out);
  // An idle worker keeps no replaced policy alive; the calls and decisions
  // are freed by the next Judge, after this batch's replies are sent.
  batch.s_->engine.reset();
  return sync_seq;
}

void Dispatcher::Judge(std::span<const std::string_view> lines, const PeerInfo& peer, JudgedBatch* batch) const {
  JudgedBatch::State& b = *batch->s_;
  b.engine = engines_->Current();
  b.peer = &peer;
  b.events.clear();
  std::vector<Slot>& slots = b.slots;
  slots.clear();  // the last batch's calls and decisions (freed by the thread that judged them)
  b.finished = false;
  if (lines.empty()) return;
  const Engine* const engine = b.engine.get();
  const PolicySettings& settings = engine->policy().settings();
  // The envelope holds the call one level down; the call itself gets the
  // policy's own depth limit, as `toolgate check` gives it.
  const InputLimits line_limits{max_message_bytes_, settings.max_json_depth + 1};

  slots.resize(lines.size());
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
          s.judged.resize(1);
          JudgeParsed(*engine, std::move(fast->call), fast->headless, sessions_, learn_mode_, &s.judged[0]);
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
      if (req.op == Op::kHook) {
        s.kind = Slot::Kind::kHook;
        s.hook = ReadHookJob(std::move(req.hook));
        thread_local std::vector<std::size_t> sizes;
        sizes.clear();
        // A single call's JSON text is at most 4.5 times the input it came
        // from (a number like 9e15 is written out in full) plus a few fixed
        // members: a small one cannot reach a limit, and is not written out.
        const bool small = s.hook->calls.size() == 1 &&
                           lines[i].size() * 8 + 4096 <= std::min(max_message_bytes_, settings.max_input_bytes);
        for (const nlohmann::json& c : s.hook->calls) {
          sizes.push_back(small ? 0 : c.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size());
        }
        if (auto refused = CheckHookCalls(*s.hook, sizes, max_message_bytes_, settings)) {
          // What the decide requests of `toolgate hook` would be refused
          // with: the shim runs `toolgate hook`, which gets the same refusal.
          s.kind = Slot::Kind::kError;
          s.error = refused->first;
          s.message = std::move(refused->second);
          continue;
        }
        s.judged.resize(s.hook->calls.size());
        for (std::size_t c = 0; c < s.hook->calls.size(); ++c) {
          JudgeCall(*engine, std::move(s.hook->calls[c]), s.hook->headless, sizes[c] > settings.max_input_bytes,
                    sessions_, learn_mode_, &s.judged[c]);
        }
        continue;
      }
      if (req.op != Op::kDecide) {
        HandleSessionOp(req, *engine, peer, sessions_, &s);
        continue;
      }
      s.kind = Slot::Kind::kDecision;
      // A call bigger than the policy's own input limit is judged as the
      // in-process engine judges it: a located input_too_large deny.
      const bool too_big = lines[i].size() > settings.max_input_bytes &&
                           req.call.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size() >
                               settings.max_input_bytes;
      s.judged.resize(1);
      JudgeCall(*engine, std::move(req.call), req.headless, too_big, sessions_, learn_mode_, &s.judged[0]);
    } catch (const std::exception& e) {
      spdlog::error("toolgate serve: internal error while handling a request: {}", e.what());
      s.judged.clear();  // nothing of this request is logged or answered but the error
      s.kind = Slot::Kind::kError;
      s.error = ProtocolError::kInternal;
      s.message = "internal error while handling the request";
    }
  }

  // Session events (phase changes, grants created, revoked, expired) are
  // taken now, in the order the batch made them, and logged by Finish
  // before the batch's decisions.
  if (sessions_ != nullptr) {
    sessions_->ExpireLapsed();
    b.events = sessions_->TakeEvents();
  }
}

std::uint64_t Dispatcher::Finish(JudgedBatch* batch, std::string* out) const {
  JudgedBatch::State& b = *batch->s_;
  std::vector<Slot>& slots = b.slots;
  if (b.finished || slots.empty()) return 0;
  b.finished = true;
  const Engine* const engine = b.engine.get();
  const PeerInfo& peer = *b.peer;

  // The message for the model goes into both the record and the reply: made once.
  std::size_t decisions = 0;
  for (Slot& s : slots) {
    decisions += s.judged.size();
    for (Judged& j : s.judged) j.model_message = j.decision.MessageForModel();
  }

  // What cannot be logged is not allowed: a failure to log the session
  // events denies the batch's decisions.
  if (sessions_ != nullptr) {
    const std::optional<Error> events_failed = LogSessionEvents(b.events, log_);
    b.events.clear();
    if (events_failed) {
      spdlog::error("toolgate serve: audit log: session events: {}", events_failed->message);
      for (Slot& s : slots) {
        for (Judged& j : s.judged) {
          DenyUnlogged(&j, *events_failed);
        }
      }
    }
  }

  std::uint64_t sync_seq = 0;
  if (log_ != nullptr && decisions > 0) {
    thread_local std::vector<AuditEntry> entries;
    entries.clear();
    for (const Slot& s : slots) {
      for (const Judged& j : s.judged) entries.push_back(AuditEntry{j.call ? &*j.call : nullptr, j.raw_call, &j.decision, &peer, &j.model_message});
    }
    Result<AppendReceipt> r = log_->AppendBatch(entries, !defer_sync_);
    if (r && r->sync_pending) sync_seq = r->seq;
    if (!r) {
      spdlog::error("toolgate serve: audit log: {}{}; denying {} decision(s)", r.error().message,
                    r.error().location.empty() ? "" : " (" + r.error().location + ")", decisions);
      for (Slot& s : slots) {
        for (Judged& j : s.judged) {
          DenyUnlogged(&j, r.error());
        }
      }
    }
  }

  for (const Slot& s : slots) {
    switch (s.kind) {
      case Slot::Kind::kError: AppendErrorReply(out, s.id, s.error, s.message); break;
      case Slot::Kind::kPong: AppendPongReply(out, s.id, engine->policy().digest()); break;
      case Slot::Kind::kDecision:
        AppendDecisionReply(out, s.id, s.judged[0].decision, s.judged[0].shell_sandboxed, &s.judged[0].model_message);
        break;
      case Slot::Kind::kObject: AppendObjectReply(out, s.id, s.body); break;
      case Slot::Kind::kHook: AppendHook(out, s); break;
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
