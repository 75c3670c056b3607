// The namespace tier's root file system: a fresh tmpfs in which only the
// granted paths exist (bind mounts of the host's, read-only unless
// write-granted, nosuid), deny scopes masked (an empty read-only tmpfs over a
// directory, /dev/null over a file), a private /tmp, a minimal /dev and a
// /proc of the sandbox's own PID namespace. Planned in the launcher (which
// may allocate and stat), applied in the child with raw syscalls only.
#pragma once

#include <string>
#include <vector>

namespace toolgate::sandbox {

struct MountOp {
  enum class Kind { kMkdir, kTouch, kSymlink, kBind, kTmpfs, kMaskDir, kMaskFile, kProc };
  Kind kind = Kind::kMkdir;
  std::string source;  // kBind: host path (under /oldroot); kSymlink: link target
  std::string target;  // under /newroot
  bool read_only = true;
  bool nodev = true;
};

struct MountPlanInput {
  std::vector<std::string> read_paths;   // granted paths (literal prefixes of read scopes)
  std::vector<std::string> write_paths;  // granted paths of write scopes
  std::vector<std::string> deny_scopes;  // canonical deny scopes, cwd substituted
  std::string extra_rw_dir;              // bound read-write at the same path (the proxy's socket dir); may be ""
};

struct MountPlan {
  std::vector<MountOp> ops;
  std::vector<std::string> notes;  // deny scopes that cannot be masked (glob at any depth), granted paths skipped
};

MountPlan PlanMounts(const MountPlanInput& input);

// In the child, in its new user + mount + PID namespaces: builds the view and
// pivots into it. Async-signal-safe. 0, or -errno with *failed_op set to the
// index of the failing op (-1 for the fixed steps around them).
int ApplyMountPlan(const MountPlan& plan, int* failed_op);

}  // namespace toolgate::sandbox
