#include "decision_options.h"

#include <climits>
#include <cstdlib>

namespace toolgate::cli {

std::vector<std::string> DecisionValueFlags() {
  return {"--policy", "--agent", "--session", "--socket", "--log", "--log-key", "--timeout-ms", "--mode", "--state"};
}

std::vector<std::string> DecisionSwitches() { return {"--no-daemon"}; }

std::string ReadDecisionOptions(const Args& args, hooks::HookOptions* options) {
  if (const auto t = args.value("--timeout-ms")) {
    char* end = nullptr;
    const long ms = std::strtol(t->c_str(), &end, 10);
    if (end == t->c_str() || *end != '\0' || ms < 1 || ms > 600000) {
      return "--timeout-ms needs a number of milliseconds from 1 to 600000";
    }
    options->daemon_timeout = std::chrono::milliseconds(ms);
  }
  options->agent = args.value("--agent");
  if (!options->agent) {
    if (const char* env = std::getenv("TOOLGATE_AGENT"); env != nullptr && *env != '\0') options->agent = env;
  }
  options->session = args.value("--session");
  const std::string mode = args.value("--mode").value_or("enforce");
  if (mode != "enforce" && mode != "learn") return "--mode takes enforce or learn";
  options->learn_mode = mode == "learn";
  options->use_daemon = !args.has("--no-daemon") && !options->learn_mode;
  options->socket_path = args.value("--socket").value_or("");
  options->log_path = args.value("--log").value_or("");
  options->log_key_path = args.value("--log-key").value_or("");
  options->state_dir = args.value("--state").value_or("");  // in-process decisions only: the daemon keeps its own
  const std::string policy_path = args.value("--policy").value_or("");
  options->toolgate_path = SelfExePath();
  options->policy_path.clear();
  if (!policy_path.empty()) {
    char resolved[PATH_MAX];
    options->policy_path = ::realpath(policy_path.c_str(), resolved) != nullptr ? std::string(resolved) : policy_path;
  }
  options->load_policy = [policy_path](std::string* error) {
    auto policy = LoadPolicyOrDefault(policy_path);  // diagnostics go to stderr
    if (!policy) *error = policy_path.empty() ? "the embedded default" : policy_path;
    return policy;
  };
  return "";
}

}  // namespace toolgate::cli
