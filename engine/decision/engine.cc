#include "toolgate/engine.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <new>
#include <span>
#include <string>

#include "grants/compiled_profile.h"
#include "lua/rule_set.h"
#include "policy/raw_policy.h"
#include "session/temporary_grant.h"
#include "toolgate/state_store.h"

namespace toolgate {
namespace {

// The argv as one text: each argument after a space once the text is not
// empty (leading empty arguments add nothing). Sized in one pass, then the
// string starts as all spaces and each argument is copied to its place.
std::string JoinArgv(const std::vector<std::string>& argv) {
  std::size_t size = 0;
  bool started = false;
  for (const std::string& a : argv) {
    size += a.size() + (started ? 1 : 0);
    started = started || !a.empty();
  }
  std::string out(size, ' ');
  std::size_t at = 0;
  started = false;
  for (const std::string& a : argv) {
    if (started) ++at;
    if (!a.empty()) std::memcpy(out.data() + at, a.data(), a.size());
    at += a.size();
    started = started || !a.empty();
  }
  return out;
}

std::string HostTarget(const HostEffect& h) {
  const bool v6 = h.host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + h.host + "]" : h.host;
  if (h.port != 0) out += ":" + std::to_string(h.port);
  return out;
}

void Add(Decision* d, const GrantMatch& m, Subject subject, std::string target, std::string note = {}) {
  d->verdict = MostSevere(d->verdict, m.verdict);
  d->findings.push_back(Finding{m.verdict, subject, std::move(target), m.grant, std::move(note)});
}

// Add for a target and note that are copied (a path and its source): the
// finding is built in place, with no string moved after it is copied. The
// texts are appended to its empty strings: assign() goes through the general
// _M_replace (overlap checks) and costs twice as much for short texts.
void Add(Decision* d, const GrantMatch& m, Subject subject, std::string_view target, std::string_view note) {
  d->verdict = MostSevere(d->verdict, m.verdict);
  Finding& f = d->findings.emplace_back();
  f.verdict = m.verdict;
  f.subject = subject;
  f.target.append(target);
  f.grant = m.grant;
  f.note.append(note);
}

void DenyWithError(Decision* d, Error error, std::string note) {
  d->verdict = Verdict::kDeny;
  d->findings.push_back(Finding{Verdict::kDeny, Subject::kCall, {}, nullptr, std::move(note)});
  d->error = std::move(error);
}

// A temporary grant widens only what the profile's default decided (no
// policy grant matched): an explicit deny or ask in the policy always wins.
GrantMatch Widen(GrantMatch m, const GrantInfo* temporary) {
  if (m.grant == nullptr && m.verdict != Verdict::kAllow && temporary != nullptr) return GrantMatch{Verdict::kAllow, temporary};
  return m;
}

bool Undecided(const GrantMatch& m) { return m.grant == nullptr && m.verdict != Verdict::kAllow; }

constexpr std::size_t kPathChunk = 32;  // paths checked per CompiledProfile::CheckPaths

void Judge(const Policy& policy, const EffectsContext& context, StateStore* state, const ToolCall& call,
           const TemporaryGrants* grants, Decision* d) {
  const CompiledProfile* base = policy.ProfileFor(call.agent_id, &d->profile);
  if (base == nullptr) {
    d->verdict = Verdict::kDeny;
    d->findings.push_back(Finding{Verdict::kDeny, Subject::kCall, call.agent_id, nullptr,
                                  "no profile for agent '" + call.agent_id + "' and no default_profile"});
    return;
  }
  // A phase the profile does not declare is a deny (fail closed): falling
  // back to the profile itself would hide a typo or a stale phase.
  const CompiledProfile* profile = base;
  if (!call.phase.empty()) {
    profile = policy.ProfileInPhase(d->profile, call.phase);
    if (profile == nullptr) {
      std::string known;
      for (const std::string& p : policy.PhasesOf(d->profile)) known += (known.empty() ? "" : ", ") + p;
      d->verdict = Verdict::kDeny;
      d->findings.push_back(Finding{Verdict::kDeny, Subject::kCall, call.phase, nullptr,
                                    "profile '" + d->profile + "' has no phase '" + call.phase + "'" +
                                        (known.empty() ? " (it declares none)" : " (it declares: " + known + ")")});
      return;
    }
  }
  const std::string& agent = call.agent_id;
  // Start from allow: every check below can only raise the verdict.
  d->verdict = Verdict::kAllow;
  // Room for a typical call's findings up front, so the tool's finding is not
  // moved again when the exact count is reserved below.
  d->findings.reserve(d->findings.size() + 8);
  {
    GrantMatch m = profile->CheckTool(call.tool_name);
    if (grants != nullptr && Undecided(m)) m = Widen(m, grants->Tool(agent, call.tool_name));
    Add(d, m, Subject::kTool, call.tool_name);
  }

  d->effects = ExtractEffects(call, context);
  const Effects& e = d->effects;
  d->findings.reserve(d->findings.size() + e.execs.size() + e.paths.size() + e.hosts.size() + e.unknowns.size() + 1);
  for (const ExecEffect& x : e.execs) {
    GrantMatch m = profile->CheckExec(x);
    if (grants != nullptr && Undecided(m)) m = Widen(m, grants->Exec(agent, x));
    Add(d, m, Subject::kExec, JoinArgv(x.argv), x.source);
  }
  // The paths in chunks, so their answers fit on the stack: the profile
  // prepares the call's cwd once per chunk, not once per path.
  for (std::size_t first = 0; first < e.paths.size(); first += kPathChunk) {
    GrantMatch path_matches[kPathChunk];
    const std::span<const PathEffect> chunk =
        std::span(e.paths).subspan(first, std::min(kPathChunk, e.paths.size() - first));
    profile->CheckPaths(chunk, call.cwd, path_matches);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const PathEffect& p = chunk[i];
      const Subject s = p.access == PathAccess::kWrite ? Subject::kPathWrite : Subject::kPathRead;
      GrantMatch m = path_matches[i];
      if (grants != nullptr && Undecided(m)) m = Widen(m, grants->Path(agent, p, call.cwd));
      Add(d, m, s, std::string_view(p.path), std::string_view(p.source));
    }
  }
  for (const HostEffect& h : e.hosts) {
    GrantMatch m = profile->CheckHost(h);
    if (grants != nullptr && Undecided(m)) m = Widen(m, grants->Host(agent, h));
    Add(d, m, Subject::kHost, HostTarget(h), h.source);
  }
  for (const UnknownEffect& u : e.unknowns) {
    Add(d, profile->CheckUnknown(u), Subject::kUnknown, u.what + ": " + u.detail);
  }
  // Rules judge what the grants let through; a call the grants deny is
  // already decided and no rule can make it less severe. In a phase, the
  // phase's rules (its view's) run.
  if (d->verdict != Verdict::kDeny && policy.rules() != nullptr) {
    if (call.phase.empty()) {
      policy.rules()->Evaluate(call, e, d->profile, state, d);
    } else {
      policy.rules()->Evaluate(call, e, PhaseViewName(d->profile, call.phase), state, d);
    }
  }
}

}  // namespace

Engine::Engine(std::shared_ptr<const Policy> policy, std::shared_ptr<StateStore> state)
    : policy_(std::move(policy)), state_(state ? std::move(state) : std::shared_ptr<StateStore>(StateStore::InMemory())) {
  const PolicySettings& s = policy_->settings();
  effects_context_.home = s.home;
  effects_context_.resolve_symlinks = s.resolve_symlinks;
  effects_context_.max_shell_depth = s.max_shell_depth;
  input_limits_.max_bytes = s.max_input_bytes;
  input_limits_.max_depth = s.max_json_depth;
}

Decision Engine::Decide(const ToolCall& call) const { return Decide(call, nullptr); }

Decision Engine::Decide(const ToolCall& call, const TemporaryGrants* grants) const {
  const auto start = std::chrono::steady_clock::now();
  Decision d;
  d.agent_id = call.agent_id;
  d.phase = call.phase;
  d.policy_digest = policy_->digest();
  if (grants != nullptr) d.keepalive = grants->weak_from_this().lock();
  // Fail closed: whatever goes wrong inside judgment is a deny, never an allow.
  try {
    Judge(*policy_, effects_context_, state_.get(), call, grants, &d);
  } catch (const std::bad_alloc&) {
    DenyWithError(&d, Error{ErrorCode::kInternal, "out of memory while judging the call", {}},
                  "internal error: out of memory");
  } catch (const std::exception& ex) {
    DenyWithError(&d, Error{ErrorCode::kInternal, ex.what(), {}}, "internal error while judging the call");
  } catch (...) {
    DenyWithError(&d, Error{ErrorCode::kInternal, "unknown exception", {}}, "internal error while judging the call");
  }
  d.latency = std::chrono::steady_clock::now() - start;
  return d;
}

Decision Engine::DecideText(std::string_view text) const {
  const auto start = std::chrono::steady_clock::now();
  Result<ToolCall> call = [&]() -> Result<ToolCall> {
    try {
      return ParseToolCall(text, input_limits_);
    } catch (const std::exception& ex) {
      return Error{ErrorCode::kInternal, ex.what(), {}};
    }
  }();
  if (call) {
    Decision d = Decide(*call);
    d.latency = std::chrono::steady_clock::now() - start;
    return d;
  }
  Decision d;
  d.policy_digest = policy_->digest();
  DenyWithError(&d, call.error(),
                std::string("the tool call could not be parsed (") + ErrorCodeName(call.error().code) + ")");
  d.latency = std::chrono::steady_clock::now() - start;
  return d;
}

}  // namespace toolgate
