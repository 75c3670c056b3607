/* toolgate.h: the stable C ABI of libtoolgate.
 *
 * Embed the policy engine in any program that can call C: open an engine on a
 * policy, hand it each tool call as JSON text before the call runs, act on the
 * verdict, close it. The C++ API it wraps is include/toolgate/engine.h.
 *
 *   toolgate_engine* engine = NULL;
 *   char* error = NULL;
 *   if (toolgate_open_default(NULL, &engine, &error) != TOOLGATE_OK) {
 *     fprintf(stderr, "%s\n", error);
 *     toolgate_string_free(error);
 *     return 1;
 *   }
 *   toolgate_decision* decision = NULL;
 *   if (toolgate_evaluate(engine, json, strlen(json), &decision) != TOOLGATE_ALLOW) {
 *     refuse(toolgate_decision_message(decision));   // the reason, for the model
 *   }
 *   toolgate_decision_free(decision);
 *   toolgate_close(engine);
 *
 * Rules of the ABI
 * - Handles are opaque; every allocation the library hands out has its own free
 *   function (toolgate_close, toolgate_options_free, toolgate_decision_free,
 *   toolgate_string_free). Passing NULL to a free function does nothing.
 * - No C++ exception ever leaves a toolgate_* function, and no function aborts
 *   on bad input: every argument is checked (NULL, invalid UTF-8, too long).
 *   A failed open returns a status and a message; a failed evaluation is a
 *   TOOLGATE_DENY whose decision says what failed and where. Nothing that
 *   goes wrong is ever an allow.
 * - Strings are NUL-terminated UTF-8 unless a length is passed with them.
 *   Paths are bytes, as the kernel takes them.
 * - Values of the enums below never change meaning; new ones may be added.
 *   Symbols are only ever added. The soname changes if that promise breaks.
 *
 * Threads
 * - toolgate_evaluate and toolgate_evaluate_ex may be called from many threads
 *   at once on one engine: the compiled policy is immutable and the decision
 *   log serialises its own writes. toolgate_reload_file and
 *   toolgate_reload_json may run meanwhile. toolgate_close must not run
 *   concurrently with any other use of that engine.
 * - An options object or a decision is plain data: share it between threads
 *   only with your own locking. Reading a decision from several threads is fine.
 * - After fork(), a child must not use an engine with a decision log opened by
 *   the parent (the log has a writer thread and a file lock); open a new one.
 */
#ifndef TOOLGATE_TOOLGATE_H_
#define TOOLGATE_TOOLGATE_H_

#include <stddef.h>

/* The version of this header. Compare with toolgate_version() to detect a
 * library older than the header a program was built against. */
#define TOOLGATE_VERSION_MAJOR 0
#define TOOLGATE_VERSION_MINOR 1
#define TOOLGATE_VERSION_PATCH 0
#define TOOLGATE_VERSION_STRING "0.1.0"
#define TOOLGATE_VERSION \
  ((TOOLGATE_VERSION_MAJOR * 10000) + (TOOLGATE_VERSION_MINOR * 100) + TOOLGATE_VERSION_PATCH)

#if defined(__GNUC__) || defined(__clang__)
#define TOOLGATE_API __attribute__((visibility("default")))
#else
#define TOOLGATE_API
#endif

/* No exception ever leaves the library; C++ callers may rely on it. */
#ifdef __cplusplus
#define TOOLGATE_NOEXCEPT noexcept
#else
#define TOOLGATE_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* An engine: a loaded, compiled policy and, when asked for, a decision log. */
typedef struct toolgate_engine toolgate_engine;
/* Settings for opening an engine (decision log, signing key, home). */
typedef struct toolgate_options toolgate_options;
/* One decision: its verdict, its JSON form and the reason for the model. */
typedef struct toolgate_decision toolgate_decision;

/* Ordered by severity, as in the C++ API: a larger value is more severe. */
typedef enum toolgate_verdict {
  TOOLGATE_ALLOW = 0,
  TOOLGATE_ASK = 1,
  TOOLGATE_DENY = 2
} toolgate_verdict;

typedef enum toolgate_status {
  TOOLGATE_OK = 0,
  TOOLGATE_ERROR_INVALID_ARGUMENT = 1, /* NULL, not UTF-8, too long, unknown flag, relative home */
  TOOLGATE_ERROR_POLICY = 2,           /* the policy did not load: nothing is judged with it */
  TOOLGATE_ERROR_LOG = 3,              /* the decision log could not be opened */
  TOOLGATE_ERROR_NO_MEMORY = 4,
  TOOLGATE_ERROR_INTERNAL = 5,
  TOOLGATE_ERROR_STATE = 6             /* the state directory could not be used (see set_state_dir) */
} toolgate_status;

/* Limits on arguments, beyond the policy's own limits on tool calls
 * (settings.max_input_bytes, 1 MiB by default). */
#define TOOLGATE_MAX_PATH_BYTES 4096      /* policy path, log directory, key path, home */
#define TOOLGATE_MAX_AGENT_ID_BYTES 1024  /* agent id given to toolgate_evaluate_ex */
#define TOOLGATE_MAX_POLICY_BYTES 4194304 /* policy JSON text (the policy loader's own limit) */

/* ---- version and names --------------------------------------------------- */

/* TOOLGATE_VERSION of the library actually loaded. */
TOOLGATE_API unsigned int toolgate_version(void) TOOLGATE_NOEXCEPT;
/* TOOLGATE_VERSION_STRING of the library actually loaded. Static storage. */
TOOLGATE_API const char* toolgate_version_string(void) TOOLGATE_NOEXCEPT;
/* "allow", "ask" or "deny"; any other value is named "deny". Static storage. */
TOOLGATE_API const char* toolgate_verdict_name(toolgate_verdict verdict) TOOLGATE_NOEXCEPT;
/* "ok", "invalid_argument", "policy", "log", "no_memory", "internal", "state"; "unknown"
 * for any other value. Static storage. */
TOOLGATE_API const char* toolgate_status_name(toolgate_status status) TOOLGATE_NOEXCEPT;

/* ---- options ------------------------------------------------------------- */

/* A new options object with nothing set, or NULL when out of memory.
 * Free it with toolgate_options_free; an engine does not keep it. */
TOOLGATE_API toolgate_options* toolgate_options_new(void) TOOLGATE_NOEXCEPT;
TOOLGATE_API void toolgate_options_free(toolgate_options* options) TOOLGATE_NOEXCEPT;

/* Each setter copies its string. NULL clears the setting. error_out (may be
 * NULL) receives a message on failure; free it with toolgate_string_free. */

/* Write every decision to a hash-chained decision log in this directory
 * (DIR/decisions.jsonl; DIR is created with mode 0700 if missing, its parent
 * must exist), before the verdict is returned.
 * A decision that cannot be written becomes a deny. One process holds a log
 * at a time: a second engine on the same directory waits up to 5 s, then
 * its open fails with TOOLGATE_ERROR_LOG. */
TOOLGATE_API toolgate_status toolgate_options_set_log_dir(toolgate_options* options, const char* dir,
                                                          char** error_out) TOOLGATE_NOEXCEPT;
/* Sign checkpoints of the decision log with this Ed25519 private key (PEM,
 * mode 0600, outside the log directory; `toolgate log keygen` makes one). */
TOOLGATE_API toolgate_status toolgate_options_set_log_key(toolgate_options* options, const char* key_path,
                                                          char** error_out) TOOLGATE_NOEXCEPT;
/* Keep the counters and values of rule packs (tg.state: rate limits, "already
 * warned" flags) in this directory, so they survive the program and its
 * restarts: a snapshot plus a journal, each update made durable before the
 * evaluation returns (DIR is created with mode 0700 if missing and must not
 * be writable by other users). One process uses a state directory at a time:
 * a second engine waits up to 5 s, then its open fails with
 * TOOLGATE_ERROR_STATE. Damaged files fail the open too (the message names
 * the file and byte); nothing is silently reset. Without it, the engine's
 * counters live in memory. Reloads keep them either way. */
TOOLGATE_API toolgate_status toolgate_options_set_state_dir(toolgate_options* options, const char* dir,
                                                            char** error_out) TOOLGATE_NOEXCEPT;
/* What ~ means in the policy and in commands, overriding settings.home.
 * Must be an absolute path. */
TOOLGATE_API toolgate_status toolgate_options_set_home(toolgate_options* options, const char* home,
                                                       char** error_out) TOOLGATE_NOEXCEPT;

/* ---- engines ------------------------------------------------------------- */

/* Each open function stores a new engine in *engine_out and returns
 * TOOLGATE_OK, or stores NULL and returns an error status. options may be NULL
 * (no log, the policy's own home). error_out may be NULL; on failure it
 * receives every problem found, one per line, each located
 * ("policy.json:/profiles/dev/fs/read/2: error[policy_pattern]: ..."); free it
 * with toolgate_string_free. On success *error_out is set to NULL. */

/* A policy file (JSON, see rules/schema/policy.schema.json). Rule packs it
 * names are found relative to the file. */
TOOLGATE_API toolgate_status toolgate_open_file(const char* policy_path, const toolgate_options* options,
                                                toolgate_engine** engine_out, char** error_out) TOOLGATE_NOEXCEPT;
/* A policy given as JSON text of policy_len bytes (need not be NUL-terminated).
 * source_name (may be NULL: "<memory>") is what decisions and messages call
 * it; relative rule pack paths are taken from its directory (the current
 * directory when it names none). */
TOOLGATE_API toolgate_status toolgate_open_json(const char* policy_json, size_t policy_len, const char* source_name,
                                                const toolgate_options* options, toolgate_engine** engine_out,
                                                char** error_out) TOOLGATE_NOEXCEPT;
/* The default policy embedded in the library (rules/examples/default.json). */
TOOLGATE_API toolgate_status toolgate_open_default(const toolgate_options* options, toolgate_engine** engine_out,
                                                   char** error_out) TOOLGATE_NOEXCEPT;

/* Flushes and closes the decision log (signing a last checkpoint when a key
 * is set) and frees the engine. NULL does nothing. */
TOOLGATE_API void toolgate_close(toolgate_engine* engine) TOOLGATE_NOEXCEPT;

/* Replaces the engine's policy, keeping its options (home, decision log).
 * The new policy is loaded and compiled first: if it does not load, the engine
 * keeps judging with the policy it had, and the status is TOOLGATE_ERROR_POLICY
 * with every problem in *error_out. Safe while other threads evaluate: each
 * evaluation judges with the policy it started with. Not concurrently with
 * toolgate_close. */
TOOLGATE_API toolgate_status toolgate_reload_file(toolgate_engine* engine, const char* policy_path,
                                                  char** error_out) TOOLGATE_NOEXCEPT;
TOOLGATE_API toolgate_status toolgate_reload_json(toolgate_engine* engine, const char* policy_json,
                                                  size_t policy_len, const char* source_name,
                                                  char** error_out) TOOLGATE_NOEXCEPT;

/* "sha256:<hex>" of the policy bytes the engine judges with; decisions carry
 * it too. Owned by the engine, valid until the next reload or close. NULL for
 * a NULL engine. */
TOOLGATE_API const char* toolgate_engine_policy_digest(const toolgate_engine* engine) TOOLGATE_NOEXCEPT;

/* ---- evaluation ---------------------------------------------------------- */

/* toolgate_evaluate_ex flags. An unknown bit is an invalid argument (a deny),
 * so a program built against a newer header never silently loses a request. */
#define TOOLGATE_EVALUATE_EXPLAIN 1u /* the decision JSON also lists every check ("findings")
                                        and what the call would do ("effects") */
#define TOOLGATE_EVALUATE_HEADLESS 2u /* the caller cannot ask a human: a verdict of ask becomes
                                         the policy's ask_fallback ("deny" unless the policy says
                                         "allow"), and the decision's reasons say the ask fell back */

/* Judges one tool call given as JSON text of call_len bytes (need not be
 * NUL-terminated): toolgate's canonical form ({"agent_id", "tool_name",
 * "tool_input", "cwd", ...}) or a Claude Code PreToolUse hook object. The call
 * is checked before parsing (size, UTF-8, nesting) and any failure is a deny.
 *
 * Returns the verdict. decision_out may be NULL for a cheap check that
 * allocates nothing for the caller; otherwise it receives a decision to free
 * with toolgate_decision_free (or NULL when even that allocation failed, in
 * which case the verdict is TOOLGATE_DENY). A decision's texts are rendered
 * when first asked for, so reading only its message costs little; the JSON
 * costs about as much again as judging the call. A decision stays valid
 * after its engine is closed. */
TOOLGATE_API toolgate_verdict toolgate_evaluate(toolgate_engine* engine, const char* call_json, size_t call_len,
                                                toolgate_decision** decision_out) TOOLGATE_NOEXCEPT;

/* As toolgate_evaluate, plus: agent_id (may be NULL) sets the agent identity,
 * overriding any "agent_id" in the call: the embedding program vouches for
 * who the agent is, while the call's text is written by the model. flags:
 * TOOLGATE_EVALUATE_* bits, or 0. */
TOOLGATE_API toolgate_verdict toolgate_evaluate_ex(toolgate_engine* engine, const char* agent_id,
                                                   const char* call_json, size_t call_len, unsigned int flags,
                                                   toolgate_decision** decision_out) TOOLGATE_NOEXCEPT;

/* The decision's verdict; TOOLGATE_DENY for NULL. */
TOOLGATE_API toolgate_verdict toolgate_decision_verdict(const toolgate_decision* decision) TOOLGATE_NOEXCEPT;
/* The decision as one line of JSON: {"verdict", "agent_id", "profile",
 * "message", "reasons": [{"verdict", "subject", "target", "grant": {"id",
 * "file", "json_path", "pattern", ...}, "note"}], "policy_digest",
 * "latency_ns", and "error": {"code", "message", "location"} when the call
 * could not be judged normally}. Argument errors have the error code
 * "invalid_argument". Owned by the decision; "" for NULL. */
TOOLGATE_API const char* toolgate_decision_json(const toolgate_decision* decision) TOOLGATE_NOEXCEPT;
/* Short text for the model: what was refused and why, without policy
 * internals. Give it back to the agent so it can correct itself. Owned by the
 * decision; "" for NULL. */
TOOLGATE_API const char* toolgate_decision_message(const toolgate_decision* decision) TOOLGATE_NOEXCEPT;
/* Longer text for a human: the verdict, agent and profile, then each deciding
 * check with the grant or rule that decided it, its file and JSON path or
 * line. Owned by the decision; "" for NULL. */
TOOLGATE_API const char* toolgate_decision_explanation(const toolgate_decision* decision) TOOLGATE_NOEXCEPT;
TOOLGATE_API void toolgate_decision_free(toolgate_decision* decision) TOOLGATE_NOEXCEPT;

/* ---- task phases ---------------------------------------------------------- */

/* Puts session `session` in task phase `phase` ("" clears it) for every later
 * toolgate_evaluate of a call with that "session_id": the call is judged with
 * its profile's grants for that phase (the profile's "phases" in the policy),
 * overriding any "phase" the call's JSON carries. The phase must be declared
 * by some profile of the engine's policy (TOOLGATE_ERROR_INVALID_ARGUMENT
 * otherwise); a call whose profile does not declare it is denied. With a
 * decision log, the change is recorded (a "session" record); when that record
 * cannot be written the phase is set all the same and TOOLGATE_ERROR_LOG is
 * returned. Safe to call while other threads evaluate: each evaluation sees
 * either the old or the new phase, never a mix. session and phase: UTF-8, at
 * most 256 bytes. Phases are kept in memory for the engine's lifetime. */
TOOLGATE_API toolgate_status toolgate_set_phase(toolgate_engine* engine, const char* session, const char* phase,
                                                char** error_out) TOOLGATE_NOEXCEPT;
/* The session's phase ("" when none) in *phase_out, to free with
 * toolgate_string_free. */
TOOLGATE_API toolgate_status toolgate_get_phase(toolgate_engine* engine, const char* session, char** phase_out,
                                                char** error_out) TOOLGATE_NOEXCEPT;

/* Frees a string the library returned through an error_out argument. */
TOOLGATE_API void toolgate_string_free(char* text) TOOLGATE_NOEXCEPT;

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* TOOLGATE_TOOLGATE_H_ */
