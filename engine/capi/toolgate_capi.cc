// The C ABI (include/toolgate/toolgate.h) over the C++ Engine. Every entry
// point checks its arguments and catches everything: no exception reaches C,
// and whatever fails during an evaluation is a deny that says what failed.
#include "toolgate/toolgate.h"
#include "toolgate/session.h"
#include "session/session_json.h"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "toolgate/ask_fallback.h"
#include "toolgate/audit.h"
#include "toolgate/default_policy.h"
#include "toolgate/engine.h"
#include "toolgate/state_store.h"
#include "util/utf8.h"

struct toolgate_options {
  std::optional<std::string> log_dir;
  std::optional<std::string> log_key;
  std::optional<std::string> home;
  std::optional<std::string> state_dir;
};

namespace toolgate::capi {
// What judging with one policy needs; a reload replaces it whole, so an
// evaluation in flight keeps the state it started with.
struct EngineState {
  EngineState(std::shared_ptr<const Policy> p, std::shared_ptr<StateStore> state)
      : policy(p), engine(std::move(p), std::move(state)) {}
  std::shared_ptr<const Policy> policy;
  Engine engine;
};
}  // namespace toolgate::capi

struct toolgate_engine {
  std::atomic<std::shared_ptr<const toolgate::capi::EngineState>> state;
  toolgate::PolicyLoadOptions load_options;  // the open's (home), for reloads
  std::shared_ptr<toolgate::StateStore> state_store;  // tg.state, shared by every policy it judges with
  std::unique_ptr<toolgate::AuditLog> log;   // null when no log directory was set
  toolgate::PeerInfo peer;
  // Sessions' task phases set with toolgate_set_phase (or by a rule).
  toolgate::SessionRegistry sessions;
};

// The decision is kept whole and its texts are rendered on first request:
// JSON serialisation costs more than judging a typical call, and a caller that
// only reads the verdict or the message should not pay for it. call_once makes
// the rendering safe when several threads read one decision.
struct toolgate_decision {
  toolgate_verdict verdict = TOOLGATE_DENY;
  toolgate::Decision decision;
  std::shared_ptr<const toolgate::Policy> policy;  // owns the grants and rules the findings point to
  bool explain = false;
  const char* error_code_override = nullptr;       // static text, for argument errors

  mutable std::once_flag json_once, message_once, explanation_once;
  mutable std::string json, message, explanation;
};

namespace toolgate::capi {
namespace {

constexpr unsigned int kKnownFlags = TOOLGATE_EVALUATE_EXPLAIN | TOOLGATE_EVALUATE_HEADLESS;
constexpr const char* kLogFileName = "decisions.jsonl";

// A string the caller frees with toolgate_string_free (free): malloc'd, so
// the C side never depends on which C++ allocator the library uses.
char* CopyToC(std::string_view text) noexcept {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return out;
}

// Error text may quote what the caller passed: never hand back invalid UTF-8.
void SetError(char** error_out, std::string_view message) noexcept {
  if (error_out == nullptr) return;
  try {
    *error_out = CopyToC(SanitizeUtf8(message));
  } catch (...) {
    *error_out = nullptr;
  }
}

toolgate_status Fail(char** error_out, toolgate_status status, std::string_view message) noexcept {
  SetError(error_out, message);
  return status;
}

// For catch blocks, where another exception would end the process: the
// message is "FUNCTION: WHAT[DETAIL]", built with malloc only when building
// it the usual way fails too (DETAIL is then left out: it may need sanitizing).
toolgate_status FailInCatch(char** error_out, toolgate_status status, const char* function, const char* what,
                            const char* detail = "") noexcept {
  if (error_out == nullptr) return status;
  try {
    return Fail(error_out, status, std::string(function) + ": " + what + detail);
  } catch (...) {
  }
  const std::size_t a = std::strlen(function);
  const std::size_t b = std::strlen(what);
  char* out = static_cast<char*>(std::malloc(a + 2 + b + 1));
  if (out != nullptr) {
    std::memcpy(out, function, a);
    std::memcpy(out + a, ": ", 2);
    std::memcpy(out + a + 2, what, b + 1);
  }
  *error_out = out;
  return status;
}

// Checks a NUL-terminated argument without reading past max_bytes + 1 bytes.
// Returns "" when it is fine, else what is wrong with it.
std::string CheckCString(const char* value, std::size_t max_bytes, bool must_be_utf8) {
  if (value == nullptr) return "is NULL";
  const std::size_t length = ::strnlen(value, max_bytes + 1);
  if (length > max_bytes) return "is longer than " + std::to_string(max_bytes) + " bytes";
  if (must_be_utf8) {
    const std::size_t bad = FindInvalidUtf8(std::string_view(value, length));
    if (bad != std::string_view::npos) return "is not valid UTF-8 (byte " + std::to_string(bad) + ")";
  }
  return {};
}

std::string ArgumentError(const char* function, const char* argument, const std::string& problem) {
  return std::string(function) + ": argument " + argument + " " + problem;
}

toolgate_status SetOption(const char* function, toolgate_options* options, const char* value, bool absolute,
                          std::optional<std::string> toolgate_options::*field, char** error_out) noexcept {
  if (error_out != nullptr) *error_out = nullptr;
  try {
    if (options == nullptr) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(function, "options", "is NULL"));
    }
    if (value == nullptr) {
      (options->*field).reset();
      return TOOLGATE_OK;
    }
    std::string problem = CheckCString(value, TOOLGATE_MAX_PATH_BYTES, false);
    if (problem.empty() && value[0] == '\0') problem = "is empty";
    if (problem.empty() && absolute && value[0] != '/') problem = "is not an absolute path";
    if (!problem.empty()) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(function, "value", problem));
    }
    options->*field = std::string(value);
    return TOOLGATE_OK;
  } catch (const std::bad_alloc&) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, function, "out of memory");
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, function, "internal error");
  }
}

std::string JoinDiagnostics(const std::vector<PolicyDiagnostic>& diagnostics) {
  std::string out;
  for (const PolicyDiagnostic& d : diagnostics) {
    if (d.severity != PolicyDiagnostic::Severity::kError) continue;
    if (!out.empty()) out += '\n';
    out += FormatDiagnostic(d);
  }
  return out.empty() ? "the policy did not load" : out;
}

// The decision log directory: created (0700: the log records what agents
// tried) when missing; its parent must exist.
std::optional<std::string> PrepareLogDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create the decision log directory " + dir + ": " + std::strerror(errno);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return "the decision log directory " + dir + " is not a directory";
  }
  return std::nullopt;
}

// How a policy is loaded: from a file, from text, or the embedded default.
using PolicyLoader = PolicyLoadResult (*)(const void* source, const PolicyLoadOptions& options);

struct PolicyText {
  std::string_view text;
  std::string name;
};

PolicyLoadResult LoadFromFile(const void* path, const PolicyLoadOptions& o) {
  return LoadPolicyFile(*static_cast<const std::string*>(path), o);
}
PolicyLoadResult LoadFromText(const void* text, const PolicyLoadOptions& o) {
  const auto* t = static_cast<const PolicyText*>(text);
  return LoadPolicyText(t->text, t->name, o);
}
PolicyLoadResult LoadDefault(const void* /*unused*/, const PolicyLoadOptions& o) { return LoadDefaultPolicy(o); }

toolgate_status Open(const char* function, PolicyLoader load, const void* source, const toolgate_options* options,
                     toolgate_engine** engine_out, char** error_out) noexcept {
  try {
    PolicyLoadOptions load_options;
    if (options != nullptr && options->home) load_options.home = *options->home;
    PolicyLoadResult loaded = load(source, load_options);
    if (!loaded.ok()) {
      return Fail(error_out, TOOLGATE_ERROR_POLICY, JoinDiagnostics(loaded.diagnostics));
    }
    auto engine = std::make_unique<toolgate_engine>();
    StateStoreOptions state_options;
    if (options != nullptr && options->state_dir) state_options.dir = *options->state_dir;
    Result<std::unique_ptr<StateStore>> state = StateStore::Open(state_options);
    if (!state) {
      return Fail(error_out, TOOLGATE_ERROR_STATE,
                  std::string(function) + ": state " + state.error().location + ": " + state.error().message);
    }
    engine->state_store = std::move(*state);
    engine->state.store(std::make_shared<const EngineState>(std::move(loaded.policy), engine->state_store));
    engine->load_options = load_options;
    engine->peer = PeerInfo::CurrentProcess("in-process");
    if (options != nullptr && options->log_dir) {
      if (auto problem = PrepareLogDir(*options->log_dir)) {
        return Fail(error_out, TOOLGATE_ERROR_LOG, std::string(function) + ": " + *problem);
      }
      AuditLogOptions log_options;
      log_options.path = *options->log_dir + "/" + kLogFileName;
      if (options->log_key) log_options.signing_key_path = *options->log_key;
      Result<std::unique_ptr<AuditLog>> log = AuditLog::Open(log_options);
      if (!log) {
        std::string message = std::string(function) + ": decision log " + log_options.path + ": " + log.error().message;
        if (!log.error().location.empty()) message += " (" + log.error().location + ")";
        return Fail(error_out, TOOLGATE_ERROR_LOG, message);
      }
      engine->log = std::move(*log);
    }
    *engine_out = engine.release();
    return TOOLGATE_OK;
  } catch (const std::bad_alloc&) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, function, "out of memory");
  } catch (const std::exception& e) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, function, "internal error: ", e.what());
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, function, "internal error");
  }
}

// Loads the new policy first; only a policy that loads replaces the old one.
toolgate_status Reload(const char* function, toolgate_engine* engine, PolicyLoader load, const void* source,
                       char** error_out) noexcept {
  try {
    PolicyLoadResult loaded = load(source, engine->load_options);
    if (!loaded.ok()) {
      return Fail(error_out, TOOLGATE_ERROR_POLICY, JoinDiagnostics(loaded.diagnostics));
    }
    engine->state.store(std::make_shared<const EngineState>(std::move(loaded.policy), engine->state_store));
    return TOOLGATE_OK;
  } catch (const std::bad_alloc&) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, function, "out of memory");
  } catch (const std::exception& e) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, function, "internal error: ", e.what());
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, function, "internal error");
  }
}

// The argument checks shared by toolgate_open_json and toolgate_reload_json;
// an empty string when they pass, with *source set.
std::string CheckPolicyText(const char* function, const char* policy_json, std::size_t policy_len,
                            const char* source_name, PolicyText* source) {
  if (policy_json == nullptr) return ArgumentError(function, "policy_json", "is NULL");
  if (policy_len > TOOLGATE_MAX_POLICY_BYTES) {
    return ArgumentError(function, "policy_len",
                         "is larger than " + std::to_string(TOOLGATE_MAX_POLICY_BYTES) + " bytes");
  }
  source->name = "<memory>";
  if (source_name != nullptr) {
    std::string problem = CheckCString(source_name, TOOLGATE_MAX_PATH_BYTES, true);
    if (problem.empty() && source_name[0] == '\0') problem = "is empty";
    if (!problem.empty()) return ArgumentError(function, "source_name", problem);
    source->name = source_name;
  }
  source->text = std::string_view(policy_json, policy_len);
  return {};
}

// Clears the out arguments first, so a caller never sees stale pointers
// whatever happens next. False when engine_out itself is NULL.
bool StartOpen(const char* function, toolgate_engine** engine_out, char** error_out) noexcept {
  if (error_out != nullptr) *error_out = nullptr;
  if (engine_out == nullptr) {
    try {
      SetError(error_out, ArgumentError(function, "engine_out", "is NULL"));
    } catch (...) {
    }
    return false;
  }
  *engine_out = nullptr;
  return true;
}

void DenyWith(Decision* d, Error error, std::string note) {
  d->verdict = Verdict::kDeny;
  d->findings.push_back(Finding{Verdict::kDeny, Subject::kCall, {}, nullptr, std::move(note)});
  d->error = std::move(error);
}

// Same as `toolgate check --log`: the record is written before the answer,
// and a decision that cannot be logged is a deny.
void RecordOrDeny(toolgate_engine* engine, std::string_view text, const Result<ToolCall>& call, Decision* d) {
  Result<AppendReceipt> receipt = call ? engine->log->Append(*call, *d, engine->peer)
                                       : engine->log->AppendUnparsed(text, *d, engine->peer);
  if (receipt) return;
  DenyWith(d,
           Error{ErrorCode::kInternal, "the decision could not be written to the decision log: " + receipt.error().message,
                 engine->log->current_file()},
           "the decision log is unavailable, so nothing is allowed");
}

toolgate_verdict CVerdict(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllow: return TOOLGATE_ALLOW;
    case Verdict::kAsk: return TOOLGATE_ASK;
    case Verdict::kDeny: return TOOLGATE_DENY;
  }
  return TOOLGATE_DENY;
}

// Hands the decision to the caller. The returned verdict is always the one
// in the decision the caller gets, or a deny when there is none.
toolgate_verdict Deliver(std::shared_ptr<const Policy> policy, Decision d, bool explain,
                         const char* error_code_override, toolgate_decision** decision_out) {
  const toolgate_verdict verdict = CVerdict(d.verdict);
  if (decision_out == nullptr) return verdict;
  auto out = std::unique_ptr<toolgate_decision>(new (std::nothrow) toolgate_decision);
  if (out == nullptr) return TOOLGATE_DENY;
  out->verdict = verdict;
  out->decision = std::move(d);
  out->policy = std::move(policy);
  out->explain = explain;
  out->error_code_override = error_code_override;
  *decision_out = out.release();
  return verdict;
}

// What a decision's JSON says when it cannot be rendered (out of memory): the
// same verdict, and why there are no details.
const char* FallbackJson(toolgate_verdict verdict) {
  switch (verdict) {
    case TOOLGATE_ALLOW:
      return R"({"verdict":"allow","error":{"code":"internal","message":"the decision could not be rendered","location":""}})";
    case TOOLGATE_ASK:
      return R"({"verdict":"ask","error":{"code":"internal","message":"the decision could not be rendered","location":""}})";
    case TOOLGATE_DENY:
      break;
  }
  return R"({"verdict":"deny","error":{"code":"internal","message":"the decision could not be rendered","location":""}})";
}

// Renders one text of a decision once; "" or the fallback when that fails.
template <typename Render>
const char* RenderOnce(std::once_flag& once, std::string& text, const char* fallback, Render render) noexcept {
  try {
    std::call_once(once, [&] { text = render(); });
    return text.c_str();
  } catch (...) {
    return fallback;
  }
}

// state may be null (no engine).
toolgate_verdict DenyArgument(const std::shared_ptr<const EngineState>& state, const char* function,
                              const char* argument, const std::string& problem, toolgate_decision** decision_out) {
  Decision d;
  if (state != nullptr) d.policy_digest = state->policy->digest();
  DenyWith(&d, Error{ErrorCode::kInternal, "argument " + std::string(argument) + " " + problem, function},
           "the call was not judged: invalid argument " + std::string(argument));
  Deliver(state != nullptr ? state->policy : nullptr, std::move(d), false, "invalid_argument", decision_out);
  return TOOLGATE_DENY;
}

// Last resort after an exception: a deny decision if one can still be built.
toolgate_verdict DenyInternal(const std::shared_ptr<const EngineState>& state, const char* what,
                              toolgate_decision** decision_out) noexcept {
  if (decision_out == nullptr) return TOOLGATE_DENY;
  if (*decision_out != nullptr) {  // built before the failure: it must not say allow
    delete *decision_out;
    *decision_out = nullptr;
  }
  try {
    Decision d;
    if (state != nullptr) d.policy_digest = state->policy->digest();
    DenyWith(&d, Error{ErrorCode::kInternal, what, "toolgate_evaluate"}, "internal error while judging the call");
    Deliver(state != nullptr ? state->policy : nullptr, std::move(d), false, nullptr, decision_out);
  } catch (...) {
    delete *decision_out;
    *decision_out = nullptr;
  }
  return TOOLGATE_DENY;
}

toolgate_verdict Evaluate(const char* function, toolgate_engine* engine, const char* agent_id, const char* call_json,
                          std::size_t call_len, unsigned int flags, toolgate_decision** decision_out) noexcept {
  if (decision_out != nullptr) *decision_out = nullptr;
  // One policy for the whole call, even if a reload swaps it meanwhile.
  const std::shared_ptr<const EngineState> state = engine != nullptr ? engine->state.load() : nullptr;
  try {
    if (engine == nullptr) return DenyArgument(state, function, "engine", "is NULL", decision_out);
    if (call_json == nullptr) return DenyArgument(state, function, "call_json", "is NULL", decision_out);
    if ((flags & ~kKnownFlags) != 0) {
      return DenyArgument(state, function, "flags", "has unknown bits " + std::to_string(flags & ~kKnownFlags),
                          decision_out);
    }
    std::optional<std::string> agent;
    if (agent_id != nullptr) {
      const std::string problem = CheckCString(agent_id, TOOLGATE_MAX_AGENT_ID_BYTES, true);
      if (!problem.empty()) return DenyArgument(state, function, "agent_id", problem, decision_out);
      agent = agent_id;
    }

    const auto start = std::chrono::steady_clock::now();
    const PolicySettings& settings = state->policy->settings();
    // The size limit is checked before anything reads the text (ParseUntrustedJson).
    const std::string_view text(call_json, call_len);
    Result<ToolCall> call = ParseToolCall(text, InputLimits{settings.max_input_bytes, settings.max_json_depth});
    Decision d;
    if (call) {
      if (agent) call->agent_id = *agent;
      // A phase set for the session (toolgate_set_phase) overrides the call's
      // own: the embedding program, not the model, decides where a session is.
      if (!call->session_id.empty() && engine->sessions.HasPhase(call->session_id)) {
        call->phase = engine->sessions.Phase(call->session_id);
      }
      d = state->engine.Decide(*call);
      if ((flags & TOOLGATE_EVALUATE_HEADLESS) != 0) ApplyAskFallback(*state->policy, &d);
      if (d.requested_phase && !call->session_id.empty()) {
        (void)engine->sessions.SetPhase(call->session_id, *d.requested_phase, "rule");
      }
    } else {
      d = state->engine.DecideText(text);  // re-parses only to produce the same located deny
      if (agent) d.agent_id = *agent;
    }
    // Parse and judgment, as Engine::DecideText counts it; the log and the
    // caller see the same figure.
    d.latency = std::chrono::steady_clock::now() - start;
    if (auto e = LogSessionEvents(&engine->sessions, engine->log.get())) {
      DenyWith(&d, Error{ErrorCode::kInternal, "a session event could not be written to the decision log: " + e->message,
                         engine->log->current_file()},
               "the decision log is unavailable, so nothing is allowed");
    }
    if (engine->log != nullptr) RecordOrDeny(engine, text, call, &d);
    return Deliver(state->policy, std::move(d), (flags & TOOLGATE_EVALUATE_EXPLAIN) != 0, nullptr, decision_out);
  } catch (const std::bad_alloc&) {
    return DenyInternal(state, "out of memory while judging the call", decision_out);
  } catch (const std::exception& e) {
    return DenyInternal(state, e.what(), decision_out);
  } catch (...) {
    return DenyInternal(state, "unknown exception", decision_out);
  }
}

}  // namespace
// A C caller may pass any int where the header says enum (C allows it); in
// C++ reading an enum object that holds a value outside its enumerators' range
// is undefined. The bits are taken as the underlying integer instead.
template <typename Enum>
std::underlying_type_t<Enum> EnumBits(const Enum& value) noexcept {
  std::underlying_type_t<Enum> bits;
  static_assert(sizeof bits == sizeof value);
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

}  // namespace toolgate::capi

using namespace toolgate::capi;  // NOLINT: the C entry points below are thin

extern "C" {

unsigned int toolgate_version(void) noexcept { return TOOLGATE_VERSION; }

const char* toolgate_version_string(void) noexcept { return TOOLGATE_VERSION_STRING; }

const char* toolgate_verdict_name(toolgate_verdict verdict) noexcept {
  switch (EnumBits(verdict)) {
    case TOOLGATE_ALLOW: return "allow";
    case TOOLGATE_ASK: return "ask";
    case TOOLGATE_DENY: return "deny";
  }
  return "deny";  // a corrupted value is read as the safe one
}

const char* toolgate_status_name(toolgate_status status) noexcept {
  switch (EnumBits(status)) {
    case TOOLGATE_OK: return "ok";
    case TOOLGATE_ERROR_INVALID_ARGUMENT: return "invalid_argument";
    case TOOLGATE_ERROR_POLICY: return "policy";
    case TOOLGATE_ERROR_LOG: return "log";
    case TOOLGATE_ERROR_NO_MEMORY: return "no_memory";
    case TOOLGATE_ERROR_INTERNAL: return "internal";
    case TOOLGATE_ERROR_STATE: return "state";
  }
  return "unknown";
}

toolgate_options* toolgate_options_new(void) noexcept { return new (std::nothrow) toolgate_options; }

void toolgate_options_free(toolgate_options* options) noexcept { delete options; }

toolgate_status toolgate_options_set_log_dir(toolgate_options* options, const char* dir, char** error_out) noexcept {
  return SetOption("toolgate_options_set_log_dir", options, dir, false, &toolgate_options::log_dir, error_out);
}

toolgate_status toolgate_options_set_log_key(toolgate_options* options, const char* key_path, char** error_out) noexcept {
  return SetOption("toolgate_options_set_log_key", options, key_path, false, &toolgate_options::log_key, error_out);
}

toolgate_status toolgate_options_set_state_dir(toolgate_options* options, const char* dir, char** error_out) noexcept {
  return SetOption("toolgate_options_set_state_dir", options, dir, false, &toolgate_options::state_dir, error_out);
}

toolgate_status toolgate_options_set_home(toolgate_options* options, const char* home, char** error_out) noexcept {
  return SetOption("toolgate_options_set_home", options, home, true, &toolgate_options::home, error_out);
}

toolgate_status toolgate_open_file(const char* policy_path, const toolgate_options* options,
                                   toolgate_engine** engine_out, char** error_out) noexcept {
  constexpr const char* kFunction = "toolgate_open_file";
  if (!StartOpen(kFunction, engine_out, error_out)) return TOOLGATE_ERROR_INVALID_ARGUMENT;
  try {
    const std::string problem = CheckCString(policy_path, TOOLGATE_MAX_PATH_BYTES, false);
    if (!problem.empty()) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "policy_path", problem));
    }
    const std::string path(policy_path);
    return Open(kFunction, LoadFromFile, &path, options, engine_out, error_out);
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, kFunction, "out of memory");
  }
}

toolgate_status toolgate_open_json(const char* policy_json, size_t policy_len, const char* source_name,
                                   const toolgate_options* options, toolgate_engine** engine_out, char** error_out) noexcept {
  constexpr const char* kFunction = "toolgate_open_json";
  if (!StartOpen(kFunction, engine_out, error_out)) return TOOLGATE_ERROR_INVALID_ARGUMENT;
  try {
    PolicyText source;
    const std::string problem = CheckPolicyText(kFunction, policy_json, policy_len, source_name, &source);
    if (!problem.empty()) return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, problem);
    return Open(kFunction, LoadFromText, &source, options, engine_out, error_out);
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, kFunction, "out of memory");
  }
}

toolgate_status toolgate_open_default(const toolgate_options* options, toolgate_engine** engine_out,
                                      char** error_out) noexcept {
  constexpr const char* kFunction = "toolgate_open_default";
  if (!StartOpen(kFunction, engine_out, error_out)) return TOOLGATE_ERROR_INVALID_ARGUMENT;
  return Open(kFunction, LoadDefault, nullptr, options, engine_out, error_out);
}

toolgate_status toolgate_set_phase(toolgate_engine* engine, const char* session, const char* phase,
                                   char** error_out) noexcept {
  constexpr const char* kFunction = "toolgate_set_phase";
  if (error_out != nullptr) *error_out = nullptr;
  try {
    if (engine == nullptr) return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "engine", "is NULL"));
    for (const auto& [name, value] : {std::pair{"session", session}, std::pair{"phase", phase}}) {
      const std::string problem = CheckCString(value, 256, true);
      if (!problem.empty()) return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, name, problem));
    }
    const std::shared_ptr<const EngineState> state = engine->state.load();
    if (auto e = ValidatePhase(*state->policy, "", phase)) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, std::string(kFunction) + ": " + e->message);
    }
    if (auto e = engine->sessions.SetPhase(session, phase, "capi")) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, std::string(kFunction) + ": " + e->message);
    }
    if (auto e = LogSessionEvents(&engine->sessions, engine->log.get())) {
      // The phase is set; the record of it is missing. Say so: the caller decides.
      return Fail(error_out, TOOLGATE_ERROR_LOG, std::string(kFunction) + ": the phase change was not logged: " + e->message);
    }
    return TOOLGATE_OK;
  } catch (const std::bad_alloc&) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, kFunction, "out of memory");
  } catch (const std::exception& e) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, kFunction, "internal error: ", e.what());
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, kFunction, "unknown internal error");
  }
}

toolgate_status toolgate_get_phase(toolgate_engine* engine, const char* session, char** phase_out,
                                   char** error_out) noexcept {
  constexpr const char* kFunction = "toolgate_get_phase";
  if (error_out != nullptr) *error_out = nullptr;
  if (phase_out != nullptr) *phase_out = nullptr;
  try {
    if (engine == nullptr) return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "engine", "is NULL"));
    if (phase_out == nullptr) return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "phase_out", "is NULL"));
    const std::string problem = CheckCString(session, 256, true);
    if (!problem.empty()) return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "session", problem));
    *phase_out = CopyToC(engine->sessions.Phase(session));
    if (*phase_out == nullptr) return Fail(error_out, TOOLGATE_ERROR_NO_MEMORY, std::string(kFunction) + ": out of memory");
    return TOOLGATE_OK;
  } catch (const std::bad_alloc&) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, kFunction, "out of memory");
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_INTERNAL, kFunction, "unknown internal error");
  }
}

void toolgate_close(toolgate_engine* engine) noexcept {
  if (engine == nullptr) return;
  try {
    if (engine->log != nullptr) (void)engine->log->Close();  // failures go to the operational log
  } catch (...) {
  }
  try {
    delete engine;
  } catch (...) {
  }
}

const char* toolgate_engine_policy_digest(const toolgate_engine* engine) noexcept {
  if (engine == nullptr) return nullptr;
  // The policy's string lives as long as the policy: until a reload replaces
  // it (and the last decision or evaluation holding it is gone) or close.
  return engine->state.load()->policy->digest().c_str();
}

toolgate_status toolgate_reload_file(toolgate_engine* engine, const char* policy_path, char** error_out) noexcept {
  constexpr const char* kFunction = "toolgate_reload_file";
  if (error_out != nullptr) *error_out = nullptr;
  try {
    if (engine == nullptr) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "engine", "is NULL"));
    }
    const std::string problem = CheckCString(policy_path, TOOLGATE_MAX_PATH_BYTES, false);
    if (!problem.empty()) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "policy_path", problem));
    }
    const std::string path(policy_path);
    return Reload(kFunction, engine, LoadFromFile, &path, error_out);
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, kFunction, "out of memory");
  }
}

toolgate_status toolgate_reload_json(toolgate_engine* engine, const char* policy_json, size_t policy_len,
                                     const char* source_name, char** error_out) noexcept {
  constexpr const char* kFunction = "toolgate_reload_json";
  if (error_out != nullptr) *error_out = nullptr;
  try {
    if (engine == nullptr) {
      return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, ArgumentError(kFunction, "engine", "is NULL"));
    }
    PolicyText source;
    const std::string problem = CheckPolicyText(kFunction, policy_json, policy_len, source_name, &source);
    if (!problem.empty()) return Fail(error_out, TOOLGATE_ERROR_INVALID_ARGUMENT, problem);
    return Reload(kFunction, engine, LoadFromText, &source, error_out);
  } catch (...) {
    return FailInCatch(error_out, TOOLGATE_ERROR_NO_MEMORY, kFunction, "out of memory");
  }
}

toolgate_verdict toolgate_evaluate(toolgate_engine* engine, const char* call_json, size_t call_len,
                                   toolgate_decision** decision_out) noexcept {
  return Evaluate("toolgate_evaluate", engine, nullptr, call_json, call_len, 0, decision_out);
}

toolgate_verdict toolgate_evaluate_ex(toolgate_engine* engine, const char* agent_id, const char* call_json,
                                      size_t call_len, unsigned int flags, toolgate_decision** decision_out) noexcept {
  return Evaluate("toolgate_evaluate_ex", engine, agent_id, call_json, call_len, flags, decision_out);
}

toolgate_verdict toolgate_decision_verdict(const toolgate_decision* decision) noexcept {
  return decision == nullptr ? TOOLGATE_DENY : decision->verdict;
}

const char* toolgate_decision_json(const toolgate_decision* decision) noexcept {
  if (decision == nullptr) return "";
  return RenderOnce(decision->json_once, decision->json, FallbackJson(decision->verdict), [decision] {
    nlohmann::json j = toolgate::ToJson(decision->decision, decision->explain);
    if (decision->error_code_override != nullptr && j.contains("error")) {
      j["error"]["code"] = decision->error_code_override;
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
}

const char* toolgate_decision_message(const toolgate_decision* decision) noexcept {
  if (decision == nullptr) return "";
  return RenderOnce(decision->message_once, decision->message, "toolgate: the decision could not be rendered.",
                    [decision] { return toolgate::SanitizeUtf8(decision->decision.MessageForModel()); });
}

const char* toolgate_decision_explanation(const toolgate_decision* decision) noexcept {
  if (decision == nullptr) return "";
  return RenderOnce(decision->explanation_once, decision->explanation, "the decision could not be rendered",
                    [decision] { return toolgate::SanitizeUtf8(decision->decision.MessageForHuman()); });
}

void toolgate_decision_free(toolgate_decision* decision) noexcept { delete decision; }

void toolgate_string_free(char* text) noexcept { std::free(text); }

}  // extern "C"
