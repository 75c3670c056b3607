// A pids cgroup around the sandbox, where the host lets the launcher make
// one: RLIMIT_NPROC does not bind root (the kernel exempts uid 0), so the
// cgroup is what stops a fork bomb launched as root, and killing every
// process in it is what guarantees nothing survives the timeout.
#pragma once

#include <sys/types.h>

#include <string>

namespace toolgate::sandbox {

class PidsCgroup {
 public:
  // Tries cgroup v2 (a hierarchy whose root offers "pids") then the v1 pids
  // hierarchy. Returns an unusable object (ok() false, why() says) when neither is writable.
  static PidsCgroup Create(long long max_pids);
  PidsCgroup() = default;
  PidsCgroup(PidsCgroup&& other) noexcept;
  PidsCgroup& operator=(PidsCgroup&& other) noexcept;
  ~PidsCgroup();  // KillAll + remove

  bool ok() const { return !dir_.empty(); }
  const std::string& why() const { return why_; }
  const std::string& dir() const { return dir_; }
  bool v2() const { return v2_; }
  bool AddProcess(pid_t pid) const;
  // SIGKILLs every member (cgroup.kill on v2; a bounded sweep of cgroup.procs otherwise).
  void KillAll() const;

 private:
  std::string dir_;
  std::string why_;
  bool v2_ = false;
};

// "/sys/fs/cgroup" or "/sys/fs/cgroup/unified" when a cgroup2 hierarchy is mounted; "" otherwise.
std::string CgroupV2Mount();

}  // namespace toolgate::sandbox
