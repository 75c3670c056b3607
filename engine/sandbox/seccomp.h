// Seccomp: a syscall filter built with libseccomp in the launcher (before
// fork) and installed by the child with one prctl just before execve. The
// default action is allow; what the filter refuses fails with EPERM (so
// programs see an ordinary permission error), except clone3, which fails
// with ENOSYS (its flags live in memory a filter cannot read; libc then
// falls back to clone, whose flags it can).
#pragma once

#include <linux/filter.h>

#include <memory>
#include <vector>

#include "toolgate/result.h"

namespace toolgate::sandbox {

struct SeccompOptions {
  // Process tier with network "none": no IP sockets at all. With "proxy"
  // (process tier): TCP stream sockets only (Landlock limits their ports).
  bool deny_inet_sockets = false;
  bool deny_non_stream_inet = false;
  // Process tier: Landlock does not govern connect() to a Unix socket by
  // path, so a host service's socket (a container daemon, the session bus)
  // would be reachable by name. socket(AF_UNIX) is refused; socketpair stays.
  bool deny_unix_sockets = false;
};

struct SeccompProgram {
  std::vector<sock_filter> instructions;
};

// Syscalls and argument patterns the filter refuses (for doctor and docs).
const std::vector<const char*>& SeccompDeniedSyscalls();

Result<SeccompProgram> BuildSeccompProgram(const SeccompOptions& options);

// BuildSeccompProgram once per option set and process, then shared: building
// the rule set and exporting it through libseccomp costs more than a bare
// fork+exec, and the program depends on nothing but the options. Failures are
// not kept (the next call tries again). Thread-safe.
Result<std::shared_ptr<const SeccompProgram>> SharedSeccompProgram(const SeccompOptions& options);

// In the child, after PR_SET_NO_NEW_PRIVS. Async-signal-safe. 0 or -errno.
int InstallSeccompProgram(const SeccompProgram& program);

// True when the kernel accepts seccomp filters.
bool SeccompAvailable();

}  // namespace toolgate::sandbox
