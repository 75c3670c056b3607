// SandboxProfile: how commands approved for one profile are run by
// `toolgate run` (engine/sandbox/). Compiled from the profile's "sandbox"
// object (inheritance: each key, and each limit, of the most derived profile that sets it
// wins) and its fs grants, flattened like every other grant.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace toolgate {

enum class SandboxTier { kAuto, kProcess, kNamespace };
enum class SandboxNetwork { kNone, kProxy };

const char* SandboxTierName(SandboxTier tier);

struct SandboxLimits {
  long long cpu_s = 300;           // RLIMIT_CPU
  long long memory_mb = 4096;      // RLIMIT_AS
  long long processes = 256;       // RLIMIT_NPROC (and a pids cgroup when one is available)
  long long file_size_mb = 1024;   // RLIMIT_FSIZE
  long long open_files = 1024;     // RLIMIT_NOFILE
};

// A named credential copied into the sandbox's environment under its name.
struct SandboxCredential {
  std::string from_env;   // the launcher's environment variable, or
  std::string from_file;  // a file whose contents (one trailing newline dropped) are the value
  // Phases in which it is injected; empty = every phase (and no phase). A
  // sandbox started outside these phases does not get it.
  std::vector<std::string> phases;
};

// Whether a credential is injected into a sandbox started in `phase`.
inline bool CredentialInPhase(const SandboxCredential& c, const std::string& phase) {
  if (c.phases.empty()) return true;
  for (const std::string& p : c.phases) {
    if (p == phase) return true;
  }
  return false;
}

struct SandboxProfile {
  SandboxTier tier = SandboxTier::kAuto;
  bool shell_sandboxed = false;    // "shell": "sandboxed": the hook wraps shell commands in `toolgate run`
  SandboxNetwork network = SandboxNetwork::kNone;
  long long timeout_s = 600;       // wall clock; the whole process tree is killed
  SandboxLimits limits;
  // Environment variables passed through from the launcher (everything else is dropped).
  std::vector<std::string> env = {"PATH", "LANG", "LC_ALL", "TERM", "TZ"};
  std::map<std::string, SandboxCredential> credentials;  // name -> source
  // The profile's fs grants as canonical scope texts ("/usr/**", "${cwd}/**"):
  // read (also execute), write (also read), deny. "ask" scopes are not granted:
  // the sandbox cannot ask.
  std::vector<std::string> fs_read, fs_write, fs_deny;
};

}  // namespace toolgate
