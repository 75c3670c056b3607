// Namespaces of the namespace tier: a new user namespace (so an
// unprivileged launcher may make the others, and root inside it is not root
// outside), mount, PID, IPC, UTS and network namespaces, all created by one
// clone() so no step runs half-isolated.
#pragma once

#include <sys/types.h>

#include <string>

namespace toolgate::sandbox {

int NamespaceCloneFlags();

// The uid/gid maps the child writes for itself: its own ids map to the same
// ids inside, a single line, which the kernel allows any process to write for
// its own new user namespace (no privilege needed, none gained: ids outside
// the map stay unmapped, and setgroups is denied first).
struct IdMapPlan {
  char uid_map[64] = {};
  char gid_map[64] = {};
};
IdMapPlan PlanIdMaps(uid_t uid, gid_t gid);

// In the child, right after clone. Async-signal-safe. 0 or -errno.
int WriteIdMaps(const IdMapPlan& plan);

// What DropAllCapabilities needs to know, read by the launcher before the
// child exists: each PR_CAPBSET_DROP is a syscall that rebuilds the
// credentials, so the child drops only capabilities the kernel has.
struct CapabilityPlan {
  int last_cap = 63;          // /proc/sys/kernel/cap_last_cap (63 when unreadable)
  bool drop_bounding = true;  // false: the process cannot (no CAP_SETPCAP) and has nothing there to lose
};
// For a child that stays in the launcher's user namespace (process tier).
CapabilityPlan PlanCapabilityDrop();
// For a child in a new user namespace (namespace tier): it holds every
// capability there, CAP_SETPCAP included, so it always drops the bounding set.
CapabilityPlan PlanCapabilityDropInUserNamespace();

// Drops every capability: clears the bounding and ambient sets, then the
// effective, permitted and inheritable sets. After this even uid 0 gains
// nothing at execve. Async-signal-safe. 0 or -errno.
int DropAllCapabilities(const CapabilityPlan& plan);

// Probes whether this process can create the namespace tier's namespaces;
// with as_nobody (root only) the probe first switches to uid/gid 65534.
// *why gets the failing step and errno text.
bool ProbeUserNamespaces(bool as_nobody, std::string* why);

}  // namespace toolgate::sandbox
