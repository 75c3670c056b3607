// The launcher behind `toolgate run`: builds every wall from the profile
// (seccomp program, Landlock ruleset, mount plan, rlimits, environment)
// before the point of no return, clones the child (into new namespaces for
// the namespace tier; it shares the launcher's memory until execve), and
// lets the child apply them with raw syscalls just before execve. The
// launcher then waits with a wall-clock timeout and, when the command ends
// or the time is up, kills every process the sandbox made.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "toolgate/result.h"
#include "toolgate/sandbox_profile.h"

namespace toolgate {
class AuditLog;
class CompiledProfile;
}

namespace toolgate::sandbox {

// Starting the egress proxy for one run. The launcher asks for a Unix socket
// (namespace tier: the bridge inside connects to it) or a loopback TCP
// listener (process tier: Landlock allows connecting to its port only).
struct ProxyStartRequest {
  const CompiledProfile* profile = nullptr;
  std::string agent_id;
  std::string session_id;
  std::string policy_digest;
  AuditLog* log = nullptr;       // each connection decision is appended here when set
  std::string unix_socket_path;  // set for the namespace tier
  std::string tcp_listen;        // "127.0.0.1:0" for the process tier
};
struct ProxyEndpoint {
  std::string tcp_address;    // "127.0.0.1:41234" when tcp_listen was asked for
  std::function<void()> stop;  // called when the sandbox is gone
};
using ProxyStarter = std::function<Result<ProxyEndpoint>(const ProxyStartRequest&)>;

// toolgate::sandbox::EgressProxy (engine/sandbox/egress_proxy.h) when it is
// built in; otherwise a starter that refuses, naming what is missing.
ProxyStarter DefaultProxyStarter();

struct LaunchOptions {
  SandboxTier tier = SandboxTier::kProcess;  // resolved (ChooseTier): process or namespace
  const SandboxProfile* sandbox = nullptr;
  const CompiledProfile* profile = nullptr;  // network grants, for the egress proxy
  std::string profile_name;
  std::string agent_id;
  std::string session_id;                     // recorded with the proxy's connection decisions
  std::string phase;                          // task phase: credentials scoped to other phases are not injected
  std::string policy_digest;
  AuditLog* log = nullptr;                    // the proxy's connection decisions go here when set
  std::string cwd;                            // absolute; anchors ${cwd} scopes; the command starts here
  std::vector<std::string> argv;              // the command
  long long timeout_s = 0;                    // 0: the profile's
  char** environ = nullptr;                   // the launcher's environment (allow-list and credentials read from it)
  bool verbose = false;                       // print the plan (paths, notes) to stderr; never credential values
  ProxyStarter proxy_starter;                 // empty: DefaultProxyStarter()
  // Namespace tier: set to true when the kernel refused to make the
  // namespaces (clone failed with EPERM, EACCES, EINVAL, ENOSPC, EUSERS or
  // ENOSYS: user namespaces are off or exhausted here). Nothing ran; the
  // caller may choose another tier where the profile allows it.
  bool* namespaces_refused = nullptr;
};

inline constexpr int kExitTimeout = 124;  // like timeout(1)
inline constexpr int kExitCannotRun = 126;
inline constexpr int kExitNotFound = 127;

// Runs the command sandboxed and returns its exit code (128 + signal when it
// was killed, kExitTimeout when the wall clock ran out). An Error means the
// sandbox could not be built and the command never ran.
Result<int> RunSandboxed(const LaunchOptions& options);

// Whether `toolgate run` can start the egress proxy (it is linked in).
bool EgressProxyAvailable();

}  // namespace toolgate::sandbox
