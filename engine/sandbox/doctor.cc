#include "sandbox/doctor.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "sandbox/cgroup.h"
#include "sandbox/landlock.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp.h"

namespace toolgate::sandbox {

HostSupport ProbeHost(const ProbeOptions& options) {
  HostSupport h;
  h.running_as_root = ::geteuid() == 0;
  h.landlock_abi = LandlockAbi();
  h.seccomp = SeccompAvailable();
  if (options.user_namespaces) {
    h.user_namespaces = ProbeUserNamespaces(false, &h.user_namespaces_why);
  } else {
    h.user_namespaces_why = "not probed";
  }
  if (!options.unprivileged) {
    h.unprivileged_why = "not probed";
  } else if (h.running_as_root) {
    h.unprivileged_user_namespaces = ProbeUserNamespaces(true, &h.unprivileged_why);
  } else {
    h.unprivileged_user_namespaces = h.user_namespaces;
    h.unprivileged_why = h.user_namespaces_why;
  }
  h.cgroup2 = CgroupV2Mount();
  if (options.cgroups) {
    PidsCgroup cg = PidsCgroup::Create(16);
    h.pids_cgroup = cg.ok();
  }
  if (h.landlock_abi < 1) {
    h.process_missing = "Landlock (the kernel offers no Landlock ABI: CONFIG_SECURITY_LANDLOCK or lsm=landlock missing)";
  } else if (!h.seccomp) {
    h.process_missing = "seccomp filters (CONFIG_SECCOMP_FILTER)";
  }
  h.process_tier = h.process_missing.empty();
  if (!h.process_tier) {
    h.namespace_missing = h.process_missing;
  } else if (!h.user_namespaces) {
    h.namespace_missing = "user namespaces (" + h.user_namespaces_why + ")";
  }
  h.namespace_tier = h.namespace_missing.empty();
  return h;
}

Result<SandboxTier> ChooseTier(SandboxTier required, SandboxTier requested, const HostSupport& host) {
  if (required == SandboxTier::kNamespace && requested == SandboxTier::kProcess) {
    return Error{ErrorCode::kPolicySchema,
                 "the profile requires the namespace tier; --tier process would weaken it", ""};
  }
  SandboxTier want = requested != SandboxTier::kAuto ? requested : required;
  if (want == SandboxTier::kAuto) {
    if (host.namespace_tier) return SandboxTier::kNamespace;
    if (host.process_tier) return SandboxTier::kProcess;
    return Error{ErrorCode::kInternal, "no sandbox tier works on this host: missing " + host.process_missing, ""};
  }
  if (want == SandboxTier::kNamespace && !host.namespace_tier) {
    return Error{ErrorCode::kInternal, "the namespace tier is required but this host lacks " + host.namespace_missing, ""};
  }
  if (want == SandboxTier::kProcess && !host.process_tier) {
    return Error{ErrorCode::kInternal, "the process tier is required but this host lacks " + host.process_missing, ""};
  }
  return want;
}

std::string HostSupportJson(const HostSupport& h) {
  nlohmann::json j = {
      {"landlock_abi", h.landlock_abi},
      {"landlock_tcp_ports", h.landlock_abi >= 4},
      {"landlock_scoping", h.landlock_abi >= 6},
      {"seccomp", h.seccomp},
      {"user_namespaces", h.user_namespaces},
      {"unprivileged_user_namespaces", h.unprivileged_user_namespaces},
      {"cgroup2", h.cgroup2},
      {"pids_cgroup", h.pids_cgroup},
      {"root", h.running_as_root},
      {"tiers", {{"process", h.process_tier}, {"namespace", h.namespace_tier}}},
  };
  if (!h.user_namespaces) j["user_namespaces_error"] = h.user_namespaces_why;
  if (!h.unprivileged_user_namespaces) j["unprivileged_user_namespaces_error"] = h.unprivileged_why;
  if (!h.process_tier) j["process_missing"] = h.process_missing;
  if (!h.namespace_tier) j["namespace_missing"] = h.namespace_missing;
  j["auto"] = h.namespace_tier ? "namespace" : h.process_tier ? "process" : "none";
  return j.dump();
}

std::string HostSupportText(const HostSupport& h) {
  const auto yes = [](bool b) { return b ? "yes" : "no"; };
  std::string out;
  out += "landlock ABI:              " + std::to_string(h.landlock_abi) +
         (h.landlock_abi >= 6 ? " (fs, TCP ports, signal and abstract-socket scoping)"
          : h.landlock_abi >= 4 ? " (fs, TCP ports)"
          : h.landlock_abi >= 1 ? " (fs only)" : " (unavailable)") + "\n";
  out += std::string("seccomp filters:           ") + yes(h.seccomp) + "\n";
  out += std::string("user namespaces:           ") + yes(h.user_namespaces) +
         (h.user_namespaces ? "" : " (" + h.user_namespaces_why + ")") + "\n";
  out += std::string("  unprivileged:            ") + yes(h.unprivileged_user_namespaces) +
         (h.unprivileged_user_namespaces ? "" : " (" + h.unprivileged_why + ")") + "\n";
  out += "cgroup v2:                 " + (h.cgroup2.empty() ? std::string("no") : "yes, at " + h.cgroup2) + "\n";
  out += std::string("pids cgroup for sandboxes: ") + yes(h.pids_cgroup) + "\n";
  out += std::string("tier process:              ") + (h.process_tier ? "works" : "missing " + h.process_missing) + "\n";
  out += std::string("tier namespace:            ") + (h.namespace_tier ? "works" : "missing " + h.namespace_missing) + "\n";
  out += std::string("tier auto picks:           ") + (h.namespace_tier ? "namespace" : h.process_tier ? "process" : "none") + "\n";
  return out;
}

}  // namespace toolgate::sandbox
