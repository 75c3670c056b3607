/* The floor for any command hook: a static program that ignores its input
 * and prints a Claude Code allow. `toolgate hook-bench` compares the real
 * hooks against it. */
#include <unistd.h>

int main(void) {
  static const char kAllow[] =
      "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"allow\"}}\n";
  return write(STDOUT_FILENO, kAllow, sizeof kAllow - 1) == (ssize_t)(sizeof kAllow - 1) ? 0 : 1;
}
