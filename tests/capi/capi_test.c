/* The C ABI from C: every function, bad arguments of every kind, the decision
 * log, and concurrent evaluation on one engine. Built against libtoolgate.so.
 * Usage: capi_test SOURCE_ROOT */
#define _XOPEN_SOURCE 700  /* mkdtemp, strnlen, nftw */

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <toolgate/toolgate.h>

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                  \
  do {                                                               \
    ++checks;                                                        \
    if (!(cond)) {                                                   \
      ++failures;                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                \
  } while (0)

static int contains(const char* text, const char* part) { return text != NULL && strstr(text, part) != NULL; }

static const char* source_root = ".";
static char tmp_dir[] = "/tmp/toolgate-capi-XXXXXX";

static const char kAllowCall[] =
    "{\"agent_id\":\"claude-dev\",\"tool_name\":\"Bash\",\"cwd\":\"/home/dev/project\","
    "\"tool_input\":{\"command\":\"git status\"}}";
static const char kDenyCall[] =
    "{\"agent_id\":\"claude-dev\",\"tool_name\":\"Bash\",\"cwd\":\"/home/dev/project\","
    "\"tool_input\":{\"command\":\"cat ~/.ssh/id_rsa\"}}";
static const char kAskCall[] =
    "{\"agent_id\":\"claude-dev\",\"tool_name\":\"Bash\",\"cwd\":\"/home/dev/project\","
    "\"tool_input\":{\"command\":\"git push origin main\"}}";
static const char kClaudeHookCall[] =
    "{\"hook_event_name\":\"PreToolUse\",\"session_id\":\"s1\",\"cwd\":\"/home/dev/project\","
    "\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"git status\"},\"tool_use_id\":\"t1\","
    "\"permission_mode\":\"default\"}";

/* Evaluates and returns the decision JSON's verdict-or-error text for checks. */
static toolgate_verdict eval_text(toolgate_engine* engine, const char* agent, const char* call, size_t len,
                                  unsigned flags, char* json_copy, size_t json_cap) {
  toolgate_decision* d = NULL;
  const toolgate_verdict v = toolgate_evaluate_ex(engine, agent, call, len, flags, &d);
  CHECK(d != NULL);
  CHECK(toolgate_decision_verdict(d) == v);
  if (json_copy != NULL) {
    snprintf(json_copy, json_cap, "%s", toolgate_decision_json(d));
  }
  toolgate_decision_free(d);
  return v;
}

static void test_names_and_version(void) {
  CHECK(toolgate_version() == TOOLGATE_VERSION);
  CHECK(strcmp(toolgate_version_string(), TOOLGATE_VERSION_STRING) == 0);
  CHECK(strcmp(toolgate_verdict_name(TOOLGATE_ALLOW), "allow") == 0);
  CHECK(strcmp(toolgate_verdict_name(TOOLGATE_ASK), "ask") == 0);
  CHECK(strcmp(toolgate_verdict_name(TOOLGATE_DENY), "deny") == 0);
  CHECK(strcmp(toolgate_verdict_name((toolgate_verdict)77), "deny") == 0);
  CHECK(strcmp(toolgate_status_name(TOOLGATE_OK), "ok") == 0);
  CHECK(strcmp(toolgate_status_name(TOOLGATE_ERROR_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(strcmp(toolgate_status_name(TOOLGATE_ERROR_POLICY), "policy") == 0);
  CHECK(strcmp(toolgate_status_name(TOOLGATE_ERROR_LOG), "log") == 0);
  CHECK(strcmp(toolgate_status_name(TOOLGATE_ERROR_NO_MEMORY), "no_memory") == 0);
  CHECK(strcmp(toolgate_status_name(TOOLGATE_ERROR_INTERNAL), "internal") == 0);
  CHECK(strcmp(toolgate_status_name((toolgate_status)99), "unknown") == 0);
}

static void test_free_functions_accept_null(void) {
  toolgate_close(NULL);
  toolgate_options_free(NULL);
  toolgate_decision_free(NULL);
  toolgate_string_free(NULL);
  CHECK(toolgate_decision_verdict(NULL) == TOOLGATE_DENY);
  CHECK(strcmp(toolgate_decision_json(NULL), "") == 0);
  CHECK(strcmp(toolgate_decision_message(NULL), "") == 0);
  CHECK(strcmp(toolgate_decision_explanation(NULL), "") == 0);
  CHECK(toolgate_engine_policy_digest(NULL) == NULL);
}

static void test_options(void) {
  char* error = (char*)1;  /* must be overwritten */
  CHECK(toolgate_options_set_log_dir(NULL, "/tmp/x", &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "toolgate_options_set_log_dir: argument options is NULL"));
  toolgate_string_free(error);

  toolgate_options* o = toolgate_options_new();
  CHECK(o != NULL);
  error = (char*)1;
  CHECK(toolgate_options_set_home(o, "relative/home", &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "not an absolute path"));
  toolgate_string_free(error);
  CHECK(toolgate_options_set_home(o, "", NULL) == TOOLGATE_ERROR_INVALID_ARGUMENT);

  char* long_path = malloc(TOOLGATE_MAX_PATH_BYTES + 10);
  memset(long_path, 'a', TOOLGATE_MAX_PATH_BYTES + 9);
  long_path[0] = '/';
  long_path[TOOLGATE_MAX_PATH_BYTES + 9] = '\0';
  error = NULL;
  CHECK(toolgate_options_set_log_dir(o, long_path, &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "longer than 4096 bytes"));
  toolgate_string_free(error);
  CHECK(toolgate_options_set_log_key(o, long_path, NULL) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  free(long_path);

  error = (char*)1;
  CHECK(toolgate_options_set_home(o, "/home/other", &error) == TOOLGATE_OK);
  CHECK(error == NULL);
  CHECK(toolgate_options_set_home(o, NULL, NULL) == TOOLGATE_OK);  /* clears */
  CHECK(toolgate_options_set_log_dir(o, NULL, NULL) == TOOLGATE_OK);
  CHECK(toolgate_options_set_log_key(o, NULL, NULL) == TOOLGATE_OK);
  toolgate_options_free(o);
}

static void test_open_errors(void) {
  toolgate_engine* engine = (toolgate_engine*)1;
  char* error = NULL;

  CHECK(toolgate_open_default(NULL, NULL, &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "engine_out is NULL"));
  toolgate_string_free(error);
  CHECK(toolgate_open_file(NULL, NULL, NULL, NULL) == TOOLGATE_ERROR_INVALID_ARGUMENT);

  CHECK(toolgate_open_file(NULL, NULL, &engine, &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(engine == NULL);
  CHECK(contains(error, "toolgate_open_file: argument policy_path is NULL"));
  toolgate_string_free(error);

  CHECK(toolgate_open_file("/nonexistent/policy.json", NULL, &engine, &error) == TOOLGATE_ERROR_POLICY);
  CHECK(engine == NULL);
  CHECK(contains(error, "/nonexistent/policy.json"));
  CHECK(contains(error, "policy_io"));
  toolgate_string_free(error);

  CHECK(toolgate_open_json(NULL, 3, NULL, NULL, &engine, &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "policy_json is NULL"));
  toolgate_string_free(error);

  /* The length is checked before a byte is read. */
  CHECK(toolgate_open_json("{}", (size_t)TOOLGATE_MAX_POLICY_BYTES + 1, NULL, NULL, &engine, &error) ==
        TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "policy_len is larger than"));
  toolgate_string_free(error);

  const char* not_json = "{\"toolgate_policy\": 1,";
  CHECK(toolgate_open_json(not_json, strlen(not_json), "inline.json", NULL, &engine, &error) == TOOLGATE_ERROR_POLICY);
  CHECK(engine == NULL);
  CHECK(contains(error, "inline.json"));
  toolgate_string_free(error);

  /* Every error is reported, each located by file and JSON pointer. */
  const char* bad_policy =
      "{\"toolgate_policy\":1,\"default_profile\":\"p\",\"profiles\":{\"p\":{\"fs\":{\"read\":[\"/a/../b\"]},"
      "\"typo\":true}}}";
  CHECK(toolgate_open_json(bad_policy, strlen(bad_policy), "bad.json", NULL, &engine, &error) == TOOLGATE_ERROR_POLICY);
  CHECK(contains(error, "bad.json:/profiles/p/typo"));
  CHECK(contains(error, "bad.json:/profiles/p/fs/read/0"));
  CHECK(contains(error, "\n"));
  toolgate_string_free(error);

  const char bad_utf8_policy[] = "{\"toolgate_policy\":1,\"description\":\"\xc3\x28\"}";
  CHECK(toolgate_open_json(bad_utf8_policy, sizeof bad_utf8_policy - 1, NULL, NULL, &engine, &error) ==
        TOOLGATE_ERROR_POLICY);
  CHECK(contains(error, "<memory>"));
  toolgate_string_free(error);

  const char bad_name[] = "n\xff.json";
  CHECK(toolgate_open_json("{}", 2, bad_name, NULL, &engine, &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "source_name is not valid UTF-8"));
  toolgate_string_free(error);

  /* A log directory that is a file: the engine does not open at all. */
  char file_path[256];
  snprintf(file_path, sizeof file_path, "%s/plain-file", tmp_dir);
  FILE* f = fopen(file_path, "w");
  CHECK(f != NULL);
  if (f != NULL) fclose(f);
  toolgate_options* o = toolgate_options_new();
  CHECK(toolgate_options_set_log_dir(o, file_path, NULL) == TOOLGATE_OK);
  CHECK(toolgate_open_default(o, &engine, &error) == TOOLGATE_ERROR_LOG);
  CHECK(engine == NULL);
  CHECK(contains(error, "not a directory"));
  toolgate_string_free(error);
  toolgate_options_free(o);
}

static void test_open_file_and_json(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/rules/examples/strict.json", source_root);
  toolgate_engine* engine = NULL;
  char* error = (char*)1;
  CHECK(toolgate_open_file(path, NULL, &engine, &error) == TOOLGATE_OK);
  CHECK(error == NULL);
  CHECK(engine != NULL);
  CHECK(strncmp(toolgate_engine_policy_digest(engine), "sha256:", 7) == 0);
  /* strict.json grants no shell at all. */
  CHECK(toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), NULL) == TOOLGATE_DENY);
  toolgate_close(engine);

  const char* policy =
      "{\"toolgate_policy\":1,\"default_profile\":\"p\",\"profiles\":{\"p\":{\"tools\":{\"allow\":[\"Read\"]},"
      "\"fs\":{\"read\":[\"/srv/**\"]}}}}";
  engine = NULL;
  CHECK(toolgate_open_json(policy, strlen(policy), "inline.json", NULL, &engine, &error) == TOOLGATE_OK);
  CHECK(engine != NULL);
  const char* read_ok = "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"/srv/data.txt\"}}";
  const char* read_no = "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"/etc/hosts\"}}";
  CHECK(toolgate_evaluate(engine, read_ok, strlen(read_ok), NULL) == TOOLGATE_ALLOW);
  toolgate_decision* d = NULL;
  CHECK(toolgate_evaluate(engine, read_no, strlen(read_no), &d) == TOOLGATE_DENY);
  CHECK(contains(toolgate_decision_message(d), "/etc/hosts"));
  CHECK(contains(toolgate_decision_explanation(d), "profile default"));
  toolgate_decision_free(d);
  toolgate_close(engine);
}

static void test_evaluate(toolgate_engine* engine) {
  char json[65536];
  toolgate_decision* d = NULL;

  CHECK(toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), &d) == TOOLGATE_ALLOW);
  CHECK(toolgate_decision_verdict(d) == TOOLGATE_ALLOW);
  CHECK(contains(toolgate_decision_json(d), "\"verdict\":\"allow\""));
  CHECK(contains(toolgate_decision_json(d), "\"profile\":\"developer\""));
  CHECK(contains(toolgate_decision_json(d), "\"policy_digest\":\"sha256:"));
  CHECK(contains(toolgate_decision_message(d), "allowed"));
  CHECK(contains(toolgate_decision_explanation(d), "allow (agent claude-dev, profile developer)"));
  toolgate_decision_free(d);

  d = NULL;
  CHECK(toolgate_evaluate(engine, kDenyCall, strlen(kDenyCall), &d) == TOOLGATE_DENY);
  CHECK(contains(toolgate_decision_message(d), "id_rsa"));
  CHECK(contains(toolgate_decision_json(d), "\"json_path\":\"/profiles/base/fs/deny/"));
  CHECK(contains(toolgate_decision_explanation(d), "base.fs.deny["));
  toolgate_decision_free(d);

  /* The cheap check: no decision, same verdicts. */
  CHECK(toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), NULL) == TOOLGATE_ALLOW);
  CHECK(toolgate_evaluate(engine, kDenyCall, strlen(kDenyCall), NULL) == TOOLGATE_DENY);
  CHECK(toolgate_evaluate(engine, kAskCall, strlen(kAskCall), NULL) == TOOLGATE_ASK);

  /* The length is what counts, not a NUL: trailing bytes past call_len are ignored. */
  char padded[512];
  snprintf(padded, sizeof padded, "%sGARBAGE", kAllowCall);
  CHECK(toolgate_evaluate(engine, padded, strlen(kAllowCall), NULL) == TOOLGATE_ALLOW);
  CHECK(toolgate_evaluate(engine, padded, strlen(padded), NULL) == TOOLGATE_DENY);

  /* Claude Code's hook form, with the agent vouched for by the caller. */
  CHECK(eval_text(engine, "claude-dev", kClaudeHookCall, strlen(kClaudeHookCall), 0, json, sizeof json) ==
        TOOLGATE_ALLOW);
  CHECK(contains(json, "\"agent_id\":\"claude-dev\""));
  /* Without it the readonly default profile applies: no shell. */
  CHECK(toolgate_evaluate(engine, kClaudeHookCall, strlen(kClaudeHookCall), NULL) == TOOLGATE_DENY);
  /* The caller's agent id overrides the one the model wrote. */
  CHECK(eval_text(engine, "someone-else", kAllowCall, strlen(kAllowCall), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "\"profile\":\"readonly\""));

  /* Explain: every check and the extracted effects. */
  CHECK(eval_text(engine, NULL, kAllowCall, strlen(kAllowCall), TOOLGATE_EVALUATE_EXPLAIN, json, sizeof json) ==
        TOOLGATE_ALLOW);
  CHECK(contains(json, "\"findings\":["));
  CHECK(contains(json, "\"effects\":{"));
}

static void test_evaluate_bad_arguments(toolgate_engine* engine) {
  char json[65536];
  toolgate_decision* d = (toolgate_decision*)1;

  CHECK(toolgate_evaluate(NULL, kAllowCall, strlen(kAllowCall), &d) == TOOLGATE_DENY);
  CHECK(d != NULL);
  CHECK(toolgate_decision_verdict(d) == TOOLGATE_DENY);
  CHECK(contains(toolgate_decision_json(d), "\"code\":\"invalid_argument\""));
  CHECK(contains(toolgate_decision_json(d), "argument engine is NULL"));
  CHECK(contains(toolgate_decision_json(d), "\"location\":\"toolgate_evaluate\""));
  toolgate_decision_free(d);
  CHECK(toolgate_evaluate(NULL, NULL, 0, NULL) == TOOLGATE_DENY);

  CHECK(eval_text(engine, NULL, NULL, 10, 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "argument call_json is NULL"));
  CHECK(contains(json, "\"location\":\"toolgate_evaluate_ex\""));

  CHECK(eval_text(engine, NULL, kAllowCall, strlen(kAllowCall), 0x80u, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "argument flags has unknown bits 128"));

  const char bad_agent[] = "claude\xc0\xaf" "dev"; /* an overlong '/' */
  CHECK(eval_text(engine, bad_agent, kAllowCall, strlen(kAllowCall), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "argument agent_id is not valid UTF-8 (byte 6)"));

  char* long_agent = malloc(TOOLGATE_MAX_AGENT_ID_BYTES + 2);
  memset(long_agent, 'a', TOOLGATE_MAX_AGENT_ID_BYTES + 1);
  long_agent[TOOLGATE_MAX_AGENT_ID_BYTES + 1] = '\0';
  CHECK(eval_text(engine, long_agent, kAllowCall, strlen(kAllowCall), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "argument agent_id is longer than 1024 bytes"));
  free(long_agent);

  CHECK(eval_text(engine, NULL, "", 0, 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "\"error\":{"));

  const char* not_json = "{\"tool_name\": \"Bash\", ";
  CHECK(eval_text(engine, NULL, not_json, strlen(not_json), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "\"code\":\"malformed_json\""));

  const char* no_tool = "{\"tool_input\":{}}";
  CHECK(eval_text(engine, NULL, no_tool, strlen(no_tool), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "\"code\":\"unsupported_format\""));

  const char bad_utf8[] = "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls \xed\xa0\x80\"}}"; /* a surrogate */
  CHECK(eval_text(engine, "claude-dev", bad_utf8, sizeof bad_utf8 - 1, 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "\"code\":\"invalid_utf8\""));
  CHECK(contains(json, "\"location\":\"byte 48\""));

  /* An embedded NUL inside the stated length is not a way to cut the call short. */
  const char with_nul[] = "{\"tool_name\":\"Read\",\"tool_input\":{}}\0trailing";
  CHECK(toolgate_evaluate(engine, with_nul, sizeof with_nul - 1, NULL) == TOOLGATE_DENY);

  char deep[300];
  memset(deep, '[', 150);
  memset(deep + 150, ']', 150);
  CHECK(eval_text(engine, NULL, deep, sizeof deep, 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "\"code\":\"nesting_too_deep\""));

  /* Larger than the policy's max_input_bytes (1 MiB): refused before parsing. */
  const size_t huge_len = (size_t)3 << 20;
  char* huge = malloc(huge_len);
  CHECK(huge != NULL);
  if (huge != NULL) {
    memset(huge, ' ', huge_len);
    memcpy(huge, kAllowCall, strlen(kAllowCall));
    CHECK(eval_text(engine, NULL, huge, huge_len, 0, json, sizeof json) == TOOLGATE_DENY);
    CHECK(contains(json, "\"code\":\"input_too_large\""));
    free(huge);
  }
}

static int count_lines(const char* path) {
  FILE* f = fopen(path, "r");
  if (f == NULL) return -1;
  int lines = 0;
  for (int c = fgetc(f); c != EOF; c = fgetc(f)) lines += c == '\n';
  fclose(f);
  return lines;
}

enum { kThreads = 4, kCallsPerThread = 250 };

struct worker {
  toolgate_engine* engine;
  int wrong;
};

static void* evaluate_many(void* arg) {
  struct worker* w = arg;
  for (int i = 0; i < kCallsPerThread; ++i) {
    const int allow = i % 2 == 0;
    const char* call = allow ? kAllowCall : kDenyCall;
    toolgate_decision* d = NULL;
    const toolgate_verdict v = toolgate_evaluate(w->engine, call, strlen(call), i % 3 == 0 ? &d : NULL);
    if (v != (allow ? TOOLGATE_ALLOW : TOOLGATE_DENY)) ++w->wrong;
    if (d != NULL && toolgate_decision_verdict(d) != v) ++w->wrong;
    toolgate_decision_free(d);
  }
  return NULL;
}

static void test_log_and_threads(void) {
  char log_dir[256];
  char log_file[300];
  snprintf(log_dir, sizeof log_dir, "%s/log", tmp_dir);
  snprintf(log_file, sizeof log_file, "%s/decisions.jsonl", log_dir);

  toolgate_options* o = toolgate_options_new();
  CHECK(toolgate_options_set_log_dir(o, log_dir, NULL) == TOOLGATE_OK);
  toolgate_engine* engine = NULL;
  char* error = NULL;
  CHECK(toolgate_open_default(o, &engine, &error) == TOOLGATE_OK);
  toolgate_options_free(o);  /* the engine keeps nothing of it */
  if (engine == NULL) {
    fprintf(stderr, "open with log: %s\n", error ? error : "?");
    toolgate_string_free(error);
    return;
  }
  struct stat st;
  CHECK(stat(log_dir, &st) == 0 && (st.st_mode & 0777) == 0700);

  CHECK(toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), NULL) == TOOLGATE_ALLOW);
  CHECK(toolgate_evaluate(engine, "nope", 4, NULL) == TOOLGATE_DENY);  /* logged as unparsed */

  pthread_t threads[kThreads];
  struct worker workers[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    workers[t].engine = engine;
    workers[t].wrong = 0;
    CHECK(pthread_create(&threads[t], NULL, evaluate_many, &workers[t]) == 0);
  }
  for (int t = 0; t < kThreads; ++t) {
    pthread_join(threads[t], NULL);
    CHECK(workers[t].wrong == 0);
  }
  toolgate_close(engine);
  CHECK(count_lines(log_file) == 2 + kThreads * kCallsPerThread);

  /* Reopening resumes the chain. */
  o = toolgate_options_new();
  CHECK(toolgate_options_set_log_dir(o, log_dir, NULL) == TOOLGATE_OK);
  CHECK(toolgate_open_default(o, &engine, NULL) == TOOLGATE_OK);
  CHECK(toolgate_evaluate(engine, kDenyCall, strlen(kDenyCall), NULL) == TOOLGATE_DENY);
  toolgate_close(engine);
  CHECK(count_lines(log_file) == 3 + kThreads * kCallsPerThread);

  /* A signing key that does not exist: the log does not open, nor the engine. */
  char key[300];
  snprintf(key, sizeof key, "%s/missing.key", tmp_dir);
  CHECK(toolgate_options_set_log_key(o, key, NULL) == TOOLGATE_OK);
  engine = (toolgate_engine*)1;
  CHECK(toolgate_open_default(o, &engine, &error) == TOOLGATE_ERROR_LOG);
  CHECK(engine == NULL);
  CHECK(contains(error, "decision log"));
  toolgate_string_free(error);
  toolgate_options_free(o);
}

/* The texts of one decision are rendered once, whoever asks first. */
static void* read_decision(void* arg) {
  const toolgate_decision* d = arg;
  static const char* const none = "";
  const char* json = toolgate_decision_json(d);
  const char* message = toolgate_decision_message(d);
  const char* explanation = toolgate_decision_explanation(d);
  return (json[0] == '{' && message[0] != '\0' && explanation[0] != '\0') ? (void*)json : (void*)none;
}

static void test_decision_read_from_threads(void) {
  toolgate_engine* engine = NULL;
  CHECK(toolgate_open_default(NULL, &engine, NULL) == TOOLGATE_OK);
  toolgate_decision* d = NULL;
  CHECK(toolgate_evaluate(engine, kDenyCall, strlen(kDenyCall), &d) == TOOLGATE_DENY);
  toolgate_close(engine);  /* the decision outlives its engine */
  pthread_t threads[kThreads];
  for (int t = 0; t < kThreads; ++t) CHECK(pthread_create(&threads[t], NULL, read_decision, d) == 0);
  for (int t = 0; t < kThreads; ++t) {
    void* json = NULL;
    pthread_join(threads[t], &json);
    CHECK(json == (void*)toolgate_decision_json(d));  /* one rendering, the same pointer for all */
  }
  CHECK(contains(toolgate_decision_explanation(d), "base.fs.deny["));
  CHECK(contains(toolgate_decision_json(d), "default.json"));
  toolgate_decision_free(d);
}

/* Lua rule packs run inside the shared library too, from several threads. */
static const char kRawGitCall[] =
    "{\"agent_id\":\"claude-dev\",\"tool_name\":\"Bash\",\"cwd\":\"/home/dev/project\","
    "\"tool_input\":{\"command\":\"git reset --hard HEAD~1\"}}";

static void* evaluate_rules(void* arg) {
  toolgate_engine* engine = arg;
  long wrong = 0;
  for (int i = 0; i < 50; ++i) {
    if (toolgate_evaluate(engine, kRawGitCall, strlen(kRawGitCall), NULL) != TOOLGATE_DENY) ++wrong;
    if (toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), NULL) != TOOLGATE_ALLOW) ++wrong;
  }
  return (void*)wrong;
}

static void test_rule_packs(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/rules/examples/with-packs.json", source_root);
  toolgate_engine* engine = NULL;
  char* error = NULL;
  CHECK(toolgate_open_file(path, NULL, &engine, &error) == TOOLGATE_OK);
  if (engine == NULL) {
    fprintf(stderr, "with-packs.json: %s\n", error ? error : "?");
    toolgate_string_free(error);
    return;
  }
  char json[65536];
  CHECK(eval_text(engine, NULL, kRawGitCall, strlen(kRawGitCall), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "\"id\":\"dev-guard.raw-git\""));
  CHECK(contains(json, "dev-guard.lua"));
  pthread_t threads[kThreads];
  for (int t = 0; t < kThreads; ++t) CHECK(pthread_create(&threads[t], NULL, evaluate_rules, engine) == 0);
  for (int t = 0; t < kThreads; ++t) {
    void* wrong = (void*)1;
    pthread_join(threads[t], &wrong);
    CHECK(wrong == NULL);
  }
  toolgate_close(engine);
}

/* Reloading: a policy that loads replaces the old one, keeping the options;
 * one that does not changes nothing; evaluations in flight are unaffected. */
static const char kReadOnlyPolicy[] =
    "{\"toolgate_policy\":1,\"default_profile\":\"p\",\"profiles\":{\"p\":{\"tools\":{\"allow\":[\"Read\"]},"
    "\"fs\":{\"read\":[\"/srv/**\"],\"deny\":[\"~/**\"]}}}}";
static const char kReadSrv[] = "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"/srv/a.txt\"}}";

static atomic_int reloads_done;

static void* evaluate_during_reloads(void* arg) {
  toolgate_engine* engine = arg;
  long wrong = 0;
  for (int i = 0; i < 2000 && atomic_load(&reloads_done) == 0; ++i) {
    /* git status is allowed under the default and denied under the read-only
       policy; either is right, depending on which one the call started with. */
    toolgate_decision* d = NULL;
    const toolgate_verdict v = toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), &d);
    const char* json = toolgate_decision_json(d);
    if (v == TOOLGATE_ALLOW && !contains(json, "\"profile\":\"developer\"")) ++wrong;
    if (v == TOOLGATE_DENY && !contains(json, "\"profile\":\"p\"")) ++wrong;
    if (v == TOOLGATE_ASK) ++wrong;
    toolgate_decision_free(d);
  }
  return (void*)wrong;
}

static void test_reload(void) {
  char* error = NULL;
  CHECK(toolgate_reload_file(NULL, "/x.json", &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "toolgate_reload_file: argument engine is NULL"));
  toolgate_string_free(error);
  CHECK(toolgate_reload_json(NULL, "{}", 2, NULL, NULL) == TOOLGATE_ERROR_INVALID_ARGUMENT);

  toolgate_options* o = toolgate_options_new();
  CHECK(toolgate_options_set_home(o, "/home/alt", NULL) == TOOLGATE_OK);
  toolgate_engine* engine = NULL;
  CHECK(toolgate_open_default(o, &engine, NULL) == TOOLGATE_OK);
  toolgate_options_free(o);
  if (engine == NULL) return;
  char before[128];
  snprintf(before, sizeof before, "%s", toolgate_engine_policy_digest(engine));

  CHECK(toolgate_reload_file(engine, NULL, &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "policy_path is NULL"));
  toolgate_string_free(error);
  CHECK(toolgate_reload_json(engine, NULL, 0, NULL, &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  toolgate_string_free(error);

  /* A broken policy: refused, located, and the old one keeps judging. */
  const char* broken = "{\"toolgate_policy\":1,\"profiles\":{\"p\":{\"tols\":{}}}}";
  CHECK(toolgate_reload_json(engine, broken, strlen(broken), "broken.json", &error) == TOOLGATE_ERROR_POLICY);
  CHECK(contains(error, "broken.json:/profiles/p/tols"));
  toolgate_string_free(error);
  CHECK(toolgate_reload_file(engine, "/nonexistent/p.json", &error) == TOOLGATE_ERROR_POLICY);
  CHECK(contains(error, "/nonexistent/p.json"));
  toolgate_string_free(error);
  CHECK(strcmp(toolgate_engine_policy_digest(engine), before) == 0);
  CHECK(toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), NULL) == TOOLGATE_ALLOW);

  /* A good one replaces it; the home set at open still applies. */
  error = (char*)1;
  CHECK(toolgate_reload_json(engine, kReadOnlyPolicy, strlen(kReadOnlyPolicy), "ro.json", &error) == TOOLGATE_OK);
  CHECK(error == NULL);
  CHECK(strcmp(toolgate_engine_policy_digest(engine), before) != 0);
  CHECK(toolgate_evaluate(engine, kAllowCall, strlen(kAllowCall), NULL) == TOOLGATE_DENY);
  CHECK(toolgate_evaluate(engine, kReadSrv, strlen(kReadSrv), NULL) == TOOLGATE_ALLOW);
  char json[65536];
  const char* read_home = "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"~/notes\"}}";
  CHECK(eval_text(engine, NULL, read_home, strlen(read_home), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "/home/alt/notes"));
  CHECK(contains(json, "ro.json"));

  /* Back and forth while other threads evaluate. */
  char path[4096];
  snprintf(path, sizeof path, "%s/rules/examples/default.json", source_root);
  atomic_store(&reloads_done, 0);
  pthread_t threads[kThreads];
  for (int t = 0; t < kThreads; ++t) CHECK(pthread_create(&threads[t], NULL, evaluate_during_reloads, engine) == 0);
  for (int i = 0; i < 40; ++i) {
    if (i % 2 == 0) {
      CHECK(toolgate_reload_file(engine, path, NULL) == TOOLGATE_OK);
    } else {
      CHECK(toolgate_reload_json(engine, kReadOnlyPolicy, strlen(kReadOnlyPolicy), "ro.json", NULL) == TOOLGATE_OK);
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  atomic_store(&reloads_done, 1);
  for (int t = 0; t < kThreads; ++t) {
    void* wrong = (void*)1;
    pthread_join(threads[t], &wrong);
    CHECK(wrong == NULL);
  }
  toolgate_close(engine);
}

static void test_home_option(void) {
  toolgate_options* o = toolgate_options_new();
  CHECK(toolgate_options_set_home(o, "/home/alt", NULL) == TOOLGATE_OK);
  toolgate_engine* engine = NULL;
  CHECK(toolgate_open_default(o, &engine, NULL) == TOOLGATE_OK);
  toolgate_options_free(o);
  char json[65536];
  CHECK(eval_text(engine, NULL, kDenyCall, strlen(kDenyCall), 0, json, sizeof json) == TOOLGATE_DENY);
  CHECK(contains(json, "/home/alt/.ssh/id_rsa"));
  toolgate_close(engine);
}

/* Task phases: toolgate_set_phase moves a session; its calls are judged in
 * that phase (a phase-only write grant), other sessions are not. */
static void test_phases(void) {
  static const char kPolicy[] =
      "{\"toolgate_policy\":1,\"settings\":{\"resolve_symlinks\":false},\"default_profile\":\"w\","
      "\"profiles\":{\"w\":{\"default\":\"deny\",\"tools\":{\"allow\":[\"Write\"]},"
      "\"phases\":{\"writing\":{\"fs\":{\"write\":[\"/srv/blog/**\"]}},\"research\":{}}}}}";
  static const char kWrite[] =
      "{\"session_id\":\"s1\",\"tool_name\":\"Write\",\"cwd\":\"/srv\","
      "\"tool_input\":{\"file_path\":\"/srv/blog/a.md\",\"content\":\"x\"}}";
  static const char kWriteOther[] =
      "{\"session_id\":\"s2\",\"tool_name\":\"Write\",\"cwd\":\"/srv\","
      "\"tool_input\":{\"file_path\":\"/srv/blog/a.md\",\"content\":\"x\"}}";
  toolgate_engine* engine = NULL;
  CHECK(toolgate_open_json(kPolicy, strlen(kPolicy), "phases.json", NULL, &engine, NULL) == TOOLGATE_OK);
  if (engine == NULL) return;
  CHECK(toolgate_evaluate(engine, kWrite, strlen(kWrite), NULL) == TOOLGATE_DENY);
  char* error = NULL;
  CHECK(toolgate_set_phase(engine, "s1", "writing", &error) == TOOLGATE_OK);
  CHECK(error == NULL);
  char* phase = NULL;
  CHECK(toolgate_get_phase(engine, "s1", &phase, NULL) == TOOLGATE_OK);
  CHECK(phase != NULL && strcmp(phase, "writing") == 0);
  toolgate_string_free(phase);
  CHECK(toolgate_evaluate(engine, kWrite, strlen(kWrite), NULL) == TOOLGATE_ALLOW);
  CHECK(toolgate_evaluate(engine, kWriteOther, strlen(kWriteOther), NULL) == TOOLGATE_DENY);
  CHECK(toolgate_set_phase(engine, "s1", "chat", &error) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(contains(error, "chat"));
  toolgate_string_free(error);
  CHECK(toolgate_set_phase(engine, NULL, "writing", NULL) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(toolgate_set_phase(NULL, "s1", "writing", NULL) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(toolgate_get_phase(engine, "s1", NULL, NULL) == TOOLGATE_ERROR_INVALID_ARGUMENT);
  CHECK(toolgate_set_phase(engine, "s1", "", NULL) == TOOLGATE_OK);
  CHECK(toolgate_evaluate(engine, kWrite, strlen(kWrite), NULL) == TOOLGATE_DENY);
  toolgate_close(engine);
}

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* An ask where the caller cannot ask a human follows the policy's ask_fallback;
 * a state directory keeps an engine's tg.state and is held by one engine. */
static void test_headless_and_state_dir(void) {
  toolgate_engine* engine = NULL;
  char* error = NULL;
  char json[4096];
  CHECK(toolgate_open_default(NULL, &engine, &error) == TOOLGATE_OK);
  if (engine == NULL) return;
  CHECK(eval_text(engine, NULL, kAskCall, strlen(kAskCall), 0, json, sizeof json) == TOOLGATE_ASK);
  CHECK(eval_text(engine, NULL, kAskCall, strlen(kAskCall), TOOLGATE_EVALUATE_HEADLESS, json, sizeof json) ==
        TOOLGATE_DENY);
  CHECK(contains(json, "the ask fell back to deny"));
  CHECK(eval_text(engine, NULL, kAllowCall, strlen(kAllowCall), TOOLGATE_EVALUATE_HEADLESS, NULL, 0) ==
        TOOLGATE_ALLOW);
  toolgate_close(engine);

  char dir[512];
  snprintf(dir, sizeof dir, "%s/state", tmp_dir);
  toolgate_options* options = toolgate_options_new();
  CHECK(toolgate_options_set_state_dir(options, dir, NULL) == TOOLGATE_OK);
  engine = NULL;
  CHECK(toolgate_open_default(options, &engine, &error) == TOOLGATE_OK);
  CHECK(access(dir, F_OK) == 0);
  toolgate_engine* second = NULL;
  CHECK(toolgate_open_default(options, &second, &error) == TOOLGATE_ERROR_STATE);
  CHECK(second == NULL);
  CHECK(contains(error, "in use by another process"));
  CHECK(strcmp(toolgate_status_name(TOOLGATE_ERROR_STATE), "state") == 0);
  toolgate_string_free(error);
  error = NULL;
  toolgate_close(engine);
  CHECK(toolgate_open_default(options, &second, &error) == TOOLGATE_OK);  /* released by close */
  toolgate_close(second);
  toolgate_options_free(options);
}

int main(int argc, char** argv) {
  if (argc > 1) source_root = argv[1];
  if (mkdtemp(tmp_dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  test_names_and_version();
  test_free_functions_accept_null();
  test_options();
  test_open_errors();
  test_open_file_and_json();

  toolgate_engine* engine = NULL;
  char* error = NULL;
  CHECK(toolgate_open_default(NULL, &engine, &error) == TOOLGATE_OK);
  CHECK(error == NULL);
  if (engine != NULL) {
    test_evaluate(engine);
    test_evaluate_bad_arguments(engine);
    toolgate_close(engine);
  }
  test_log_and_threads();
  test_decision_read_from_threads();
  test_rule_packs();
  test_reload();
  test_home_option();
  test_phases();
  test_headless_and_state_dir();

  nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  printf("capi_test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
