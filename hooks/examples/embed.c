/* embed.c: judge tool calls in-process with libtoolgate's C API.
 *
 * Build against an installed toolgate:
 *   cc embed.c $(pkg-config --cflags --libs toolgate) -o embed
 * Run:
 *   ./embed               # the default policy embedded in the library
 *   ./embed policy.json   # a policy file
 *
 * It opens an engine, asks about two shell commands an agent wants to run
 * (as the agent "claude-dev", which the program vouches for), prints each
 * verdict with the reason the model would be given, and closes the engine. */
#include <stdio.h>
#include <string.h>

#include <toolgate/toolgate.h>

int main(int argc, char** argv) {
  if (toolgate_version() < TOOLGATE_VERSION) {
    fprintf(stderr, "embed: built for toolgate %s, but the library is %s\n", TOOLGATE_VERSION_STRING,
            toolgate_version_string());
    return 1;
  }

  toolgate_engine* engine = NULL;
  char* error = NULL;
  const toolgate_status status =
      argc > 1 ? toolgate_open_file(argv[1], NULL, &engine, &error) : toolgate_open_default(NULL, &engine, &error);
  if (status != TOOLGATE_OK) {
    fprintf(stderr, "embed: the policy did not load (%s):\n%s\n", toolgate_status_name(status),
            error != NULL ? error : "");
    toolgate_string_free(error);
    return 1;
  }

  /* Calls in toolgate's canonical form; a Claude Code PreToolUse hook object works too. */
  const char* calls[] = {
      "{\"tool_name\":\"Bash\",\"cwd\":\"/home/dev/project\",\"tool_input\":{\"command\":\"git status\"}}",
      "{\"tool_name\":\"Bash\",\"cwd\":\"/home/dev/project\",\"tool_input\":{\"command\":\"cat ~/.ssh/id_rsa\"}}",
  };
  int refused = 0;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; ++i) {
    toolgate_decision* decision = NULL;
    const toolgate_verdict verdict =
        toolgate_evaluate_ex(engine, "claude-dev", calls[i], strlen(calls[i]), 0, &decision);
    printf("%s: %s\n", toolgate_verdict_name(verdict), toolgate_decision_message(decision));
    if (verdict != TOOLGATE_ALLOW) ++refused;  /* only allow means "go ahead" */
    toolgate_decision_free(decision);
  }

  toolgate_close(engine);
  printf("%d of %zu calls refused\n", refused, sizeof calls / sizeof calls[0]);
  return 0;
}
