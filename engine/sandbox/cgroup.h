// A pids cgroup around the sandbox, where the host lets the launcher make
// one: RLIMIT_NPROC does not bind root (the kernel exempts uid 0), so the
// cgroup is what stops a fork bomb launched as root, and killing every
// process in it is what guarantees nothing survives the timeout.
//
// Each launch gets a cgroup of its own (toolgate-<pid>-<n>) with its own
// pids.max. What is slow about that is kept off the launch's path:
// - Joining: the child joins by writing "0" to the cgroup's join file as its
//   first step. On cgroup v1 that file is "tasks", which moves only the
//   writing thread; the kernel then skips its global threadgroup lock
//   (cgroup_threadgroup_rwsem), whose write side waits for an RCU grace
//   period (several ms when the lock was idle). The child has one thread at
//   that point, so moving the thread moves the process. On v2 it is
//   "cgroup.procs" (thread moves are limited to threaded subtrees there).
// - Removing: rmdir happens after the launch has returned, on the Afterwork
//   thread (afterwork.h) when it runs (every member is dead by then; the
//   thread sweeps once more).
// - Making: in a process that launches repeatedly (from its second launch
//   on: a daemon, the benchmark), the next launch's cgroup is made on that
//   thread right after a launch ends, so the next launch finds one ready. A
//   one-shot `toolgate run` never makes one it will not use. A prepared
//   cgroup is empty, holds nothing, and is removed at exit.
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
  ~PidsCgroup();  // hands the cgroup to the background thread: KillAll + rmdir

  bool ok() const { return !dir_.empty(); }
  const std::string& why() const { return why_; }
  const std::string& dir() const { return dir_; }
  bool v2() const { return v2_; }
  // "<dir>/tasks" (v1) or "<dir>/cgroup.procs" (v2): a single-threaded
  // process writes "0" to it to join.
  std::string JoinFile() const;
  // JoinFile opened for writing (O_CLOEXEC), for a child to write "0" to:
  // the kernel checks the opener's credentials, so a child inside a user
  // namespace can join with it. -errno on failure.
  int OpenJoinFd() const;
  bool AddProcess(pid_t pid) const;
  // pids.current is 0: no process of the sandbox is alive or unreaped (a
  // process leaves the count when it is reaped). false when unknown.
  bool Empty() const;
  // SIGKILLs every member (cgroup.kill on v2; a bounded sweep of cgroup.procs otherwise).
  void KillAll() const;

 private:
  friend class CgroupPool;
  std::string dir_;
  std::string why_;
  bool v2_ = false;
};

// "/sys/fs/cgroup" or "/sys/fs/cgroup/unified" when a cgroup2 hierarchy is mounted; "" otherwise.
std::string CgroupV2Mount();

}  // namespace toolgate::sandbox
