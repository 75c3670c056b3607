// What the host can give: probed once per `toolgate run` (tier choice) and
// reported by `toolgate doctor`.
#pragma once

#include <string>

#include "toolgate/result.h"
#include "toolgate/sandbox_profile.h"

namespace toolgate::sandbox {

struct HostSupport {
  int landlock_abi = 0;
  bool seccomp = false;
  bool user_namespaces = false;               // for the current user
  std::string user_namespaces_why;            // why not
  bool unprivileged_user_namespaces = false;  // for an unprivileged user (probed as uid 65534 when root)
  std::string unprivileged_why;
  std::string cgroup2;                        // mount point, "" when none
  bool pids_cgroup = false;                   // a pids cgroup can be made here
  bool running_as_root = false;
  bool process_tier = false;
  std::string process_missing;                // the missing kernel feature, when !process_tier
  bool namespace_tier = false;
  std::string namespace_missing;
};

struct ProbeOptions {
  bool user_namespaces = true;  // probe (forks a child); false: reported as not probed (unavailable)
  bool unprivileged = true;     // also probe as uid 65534 (root only)
  bool cgroups = true;          // try to make a pids cgroup
};
HostSupport ProbeHost(const ProbeOptions& options = {});

// The tier to use: `requested` (from --tier) must not be weaker than what the
// profile requires; auto means the strongest the host supports. A tier the
// host cannot give is an error naming the missing kernel feature.
Result<SandboxTier> ChooseTier(SandboxTier required, SandboxTier requested, const HostSupport& host);

std::string HostSupportJson(const HostSupport& host);
std::string HostSupportText(const HostSupport& host);

}  // namespace toolgate::sandbox
