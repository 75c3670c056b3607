#include "sandbox/namespaces.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>

namespace toolgate::sandbox {

namespace {

int WriteFile(const char* path, const char* text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  const std::size_t len = std::strlen(text);
  const ssize_t n = ::write(fd, text, len);
  const int e = errno;
  ::close(fd);
  if (n < 0) return -e;
  return static_cast<std::size_t>(n) == len ? 0 : -EIO;
}

}  // namespace

int NamespaceCloneFlags() {
  return CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
}

IdMapPlan PlanIdMaps(uid_t uid, gid_t gid) {
  IdMapPlan plan;
  std::snprintf(plan.uid_map, sizeof plan.uid_map, "%u %u 1\n", static_cast<unsigned>(uid), static_cast<unsigned>(uid));
  std::snprintf(plan.gid_map, sizeof plan.gid_map, "%u %u 1\n", static_cast<unsigned>(gid), static_cast<unsigned>(gid));
  return plan;
}

int WriteIdMaps(const IdMapPlan& plan) {
  // setgroups must be denied before an unprivileged process may write its
  // gid_map; it also stops the sandbox from dropping a supplementary group
  // that a file's permissions deny access to.
  if (const int rc = WriteFile("/proc/self/setgroups", "deny"); rc != 0 && rc != -ENOENT) return rc;
  if (const int rc = WriteFile("/proc/self/uid_map", plan.uid_map); rc != 0) return rc;
  return WriteFile("/proc/self/gid_map", plan.gid_map);
}

namespace {

int LastCap() {
  static const int last = [] {
    const int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 63;
    char buf[16] = {};
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    const int v = n > 0 ? std::atoi(buf) : 0;
    return v > 0 && v <= 63 ? v : 63;
  }();
  return last;
}

}  // namespace

CapabilityPlan PlanCapabilityDrop() {
  CapabilityPlan plan;
  plan.last_cap = LastCap();
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  // Unknown (capget failed): try to drop, as before.
  plan.drop_bounding = ::syscall(SYS_capget, &header, data) != 0 || (data[0].effective & (1u << CAP_SETPCAP)) != 0;
  return plan;
}

CapabilityPlan PlanCapabilityDropInUserNamespace() {
  CapabilityPlan plan;
  plan.last_cap = LastCap();
  return plan;
}

int DropAllCapabilities(const CapabilityPlan& plan) {
  // Dropping from the bounding set needs CAP_SETPCAP; a process without it
  // (an unprivileged launcher) has nothing there to lose across execve under
  // no_new_privs, so it skips the drops (and EPERM is fine).
  for (int cap = 0; plan.drop_bounding && cap <= plan.last_cap; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) return -errno;
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &header, data) != 0) return -errno;
  return 0;
}

bool ProbeUserNamespaces(bool as_nobody, std::string* why) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    *why = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    *why = std::string("fork: ") + std::strerror(errno);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return false;
  }
  if (pid == 0) {
    int step = 0;
    if (as_nobody) {
      step = 1;
      if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) {
        const int msg[2] = {step, errno};
        (void)!::write(pipefd[1], msg, sizeof msg);
        ::_exit(1);
      }
    }
    step = 2;
    if (::unshare(NamespaceCloneFlags()) != 0) {
      const int msg[2] = {step, errno};
      (void)!::write(pipefd[1], msg, sizeof msg);
      ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(pipefd[1]);
  int msg[2] = {0, 0};
  const ssize_t n = ::read(pipefd[0], msg, sizeof msg);
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof msg)) {
    *why = std::string(msg[0] == 1 ? "switching to uid 65534" : "unshare(user, mount, pid, ipc, uts, net)") + ": " +
           std::strerror(msg[1]);
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *why = "probe process failed";
    return false;
  }
  return true;
}

}  // namespace toolgate::sandbox
