// Kept apart from forward.cc: the static hook shim links the forwarding code
// without the policy model, and learns this answer from the daemon.
#include "sandbox/forward.h"
#include "toolgate/policy.h"

namespace toolgate::sandbox {

bool ProfileRunsShellSandboxed(const Policy& policy, std::string_view agent_id) {
  std::string name;
  if (policy.ProfileFor(agent_id, &name) == nullptr) return false;
  const SandboxProfile* sb = policy.SandboxFor(name);
  return sb != nullptr && sb->shell_sandboxed;
}

}  // namespace toolgate::sandbox
