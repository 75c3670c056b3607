#include "sandbox/launcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

#include "sandbox/afterwork.h"
#include "sandbox/bridge.h"
#include "sandbox/cgroup.h"
#include "sandbox/landlock.h"
#include "sandbox/mounts.h"
#include "sandbox/namespaces.h"
#include "sandbox/rlimits.h"
#include "sandbox/seccomp.h"

#include "sandbox/egress_proxy.h"

namespace toolgate::sandbox {

bool EgressProxyAvailable() { return true; }

ProxyStarter DefaultProxyStarter() {
  return [](const ProxyStartRequest& request) -> Result<ProxyEndpoint> {
    if (request.profile == nullptr) return Error{ErrorCode::kInternal, "network \"proxy\" needs the compiled profile", ""};
    EgressProxyOptions po;
    po.profile = request.profile;
    po.agent_id = request.agent_id;
    po.session_id = request.session_id;
    po.policy_digest = request.policy_digest;
    po.log = request.log;
    po.unix_socket_path = request.unix_socket_path;
    po.tcp_listen = request.tcp_listen;
    Result<std::unique_ptr<EgressProxy>> started = EgressProxy::Start(std::move(po));
    if (!started.ok()) return Error{ErrorCode::kInternal, "egress proxy: " + started.error().message, ""};
    std::shared_ptr<EgressProxy> proxy(std::move(*started));
    ProxyEndpoint endpoint;
    endpoint.tcp_address = proxy->tcp_address();
    endpoint.stop = [proxy]() { proxy->Stop(); };
    return endpoint;
  };
}

namespace {

// Where the child stopped, reported through a close-on-exec pipe: an exec
// that succeeds closes it and the launcher reads nothing.
enum Step : int {
  kStepLauncherGone = 1, kStepIdMaps, kStepSetsid, kStepPdeathsig, kStepMounts, kStepHostname, kStepLoopback, kStepBridge,
  kStepChdir, kStepRlimits, kStepCaps, kStepNoNewPrivs, kStepLandlockRule, kStepLandlock, kStepSeccomp,
  kStepSigmask, kStepExec, kStepCgroup, kStepParent,
};
const char* StepName(int step) {
  switch (step) {
    case kStepLauncherGone: return "checking the launcher is alive (it exited)";
    case kStepIdMaps: return "writing uid/gid maps";
    case kStepSetsid: return "setsid";
    case kStepPdeathsig: return "PR_SET_PDEATHSIG";
    case kStepMounts: return "building the mount view";
    case kStepHostname: return "sethostname";
    case kStepLoopback: return "bringing up lo";
    case kStepBridge: return "starting the proxy bridge";
    case kStepChdir: return "chdir to the working directory";
    case kStepRlimits: return "setrlimit";
    case kStepCaps: return "dropping capabilities";
    case kStepNoNewPrivs: return "PR_SET_NO_NEW_PRIVS";
    case kStepLandlockRule: return "adding a Landlock rule";
    case kStepLandlock: return "landlock_restrict_self";
    case kStepSeccomp: return "installing the seccomp filter";
    case kStepSigmask: return "restoring the signal mask";
    case kStepExec: return "execve";
    case kStepCgroup: return "joining the pids cgroup";
    case kStepParent: return "checking the launcher is alive";
  }
  return "setup";
}

// The child's stack (it shares the launcher's memory until execve); ChildMain
// needs a few KiB.
constexpr std::size_t kChildStackSize = 256 * 1024;

// AddressSanitizer cannot follow a child that runs on a stack of its own in the
// launcher's memory (it reports the unknown stack on the child's stderr, which
// is the sandboxed command's): in a sanitized build the child is forked (the
// namespace tier's with the same namespace flags). The walls are the same either way.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kChildSharesMemory = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kChildSharesMemory = false;
#else
constexpr bool kChildSharesMemory = true;
#endif
#else
constexpr bool kChildSharesMemory = true;
#endif

// Child stacks are kept for the next launch: a fresh mapping costs a page
// fault for each page the child touches, and unmapping it in a launcher that
// has other threads makes the kernel flush their TLBs. A stack is free again
// when clone returns: with CLONE_VFORK the child has exec'd or exited by
// then (a bridge it forked has a copy of the memory, not this stack).
class ChildStacks {
 public:
  static void* Take() {
    {
      std::lock_guard lock(Mu());
      if (!Free().empty()) {
        void* s = Free().back();
        Free().pop_back();
        return s;
      }
    }
    return ::mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  }
  static void Give(void* stack) {
    {
      std::lock_guard lock(Mu());
      if (Free().size() < 4) {
        Free().push_back(stack);
        return;
      }
    }
    ::munmap(stack, kChildStackSize);
  }

 private:
  static std::mutex& Mu() {
    static std::mutex* mu = new std::mutex();
    return *mu;
  }
  static std::vector<void*>& Free() {
    static auto* free = new std::vector<void*>();
    return *free;
  }
};

// Linux 6.11: a pidfd hands out the process's namespaces (PIDFD_GET_MNT_NAMESPACE).
constexpr unsigned long kPidfdGetMntNamespace = (0xFFul << 8) | 3;  // _IO(PIDFS_IOCTL_MAGIC, 3)

// A reference to the sandbox's mount namespace, taken while its command runs.
// When the last process of a mount namespace exits, the kernel unmounts its
// tree in that exit and waits for an RCU grace period, which the launcher
// would wait for too; holding the namespace moves that teardown to the close
// of this descriptor, which Afterwork does after the launch returned. -1
// when the command already exited (its exit then paid for the teardown).
int HoldMountNamespace(int pidfd, pid_t child) {
  if (pidfd >= 0) {
    const int fd = ::ioctl(pidfd, kPidfdGetMntNamespace, 0);
    if (fd >= 0) return fd;
  }
  const std::string path = "/proc/" + std::to_string(child) + "/ns/mnt";
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

struct ChildReport {
  int step = 0;
  int error = 0;
  int op = -1;  // mount op index
};

// Everything the child reads, prepared before clone so the child allocates nothing.
struct ChildPlan {
  bool namespaces = false;
  // Both tiers: the child shares the launcher's memory until execve
  // (CLONE_VM|CLONE_VFORK, the launcher waits; posix_spawn's way), except in
  // a sanitized build (kChildSharesMemory).
  bool shared_memory = false;
  // The pids cgroup's join file, opened by the launcher: the child writes "0"
  // to it before anything else, so it never runs outside its cgroup and
  // every process it makes is born inside. -1 without a cgroup.
  int cgroup_fd = -1;
  pid_t launcher = 0;
  // Namespace tier: a pidfd of the launcher. getppid() is 0 inside the new
  // PID namespace, so this is how the child sees a launcher that died before
  // PR_SET_PDEATHSIG was set (the pidfd is readable once the launcher has exited).
  int launcher_pidfd = -1;
  int err_fd = -1;
  IdMapPlan ids;
  CapabilityPlan caps;
  const MountPlan* mounts = nullptr;
  std::vector<const char*> landlock_paths;  // namespace tier: rules added inside the view
  std::vector<char> landlock_write;         // parallel: 1 = write
  int landlock_abi = 0;
  int ruleset_fd = -1;
  const SeccompProgram* seccomp = nullptr;
  RlimitPlan rlimits;
  const char* cwd = "/";
  const char* program = nullptr;
  std::vector<char*> argv;
  std::vector<char*> envp;
  bool bridge = false;
  const char* bridge_socket = nullptr;
  sigset_t original_mask{};
};

[[noreturn]] void ChildFail(const ChildPlan& plan, int step, int error, int op = -1) {
  const ChildReport report{step, error < 0 ? -error : error, op};
  (void)!::write(plan.err_fd, &report, sizeof report);
  ::_exit(kExitCannotRun);
}

// The child side. Only raw syscalls and plain memory reads from here on:
// the launcher may have threads (the egress proxy), so nothing that takes a
// lock (malloc, stdio) is safe after fork.
[[noreturn]] void ChildMain(const ChildPlan& p) {
  // The child dies with the launcher: no sandbox outlives the process that
  // times it.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) ChildFail(p, kStepPdeathsig, errno);
  // A launcher that died before the line above: nobody would time or kill this
  // sandbox. (Inside a PID namespace the parent is outside it: getppid is 0,
  // and the launcher's pidfd tells instead.)
  if (!p.namespaces && ::getppid() != p.launcher) ChildFail(p, kStepParent, ESRCH);
  if (p.launcher_pidfd >= 0) {
    pollfd alive{p.launcher_pidfd, POLLIN, 0};
    if (::poll(&alive, 1, 0) != 0) ChildFail(p, kStepLauncherGone, ESRCH);
    ::close(p.launcher_pidfd);
  }
  if (p.shared_memory) {
    // The launcher's signal handlers would run on its own memory: back to the
    // default for every handled signal (all are blocked until the mask is
    // restored just before execve, which resets handlers anyway).
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa {};
      if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &sa) != 0) continue;
      if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) continue;
      sa.sa_handler = SIG_DFL;
      sa.sa_flags = 0;
      if (::sigaction(sig, &sa, nullptr) != 0) ChildFail(p, kStepSigmask, errno);
    }
  }
  // Into the pids cgroup before anything else (see cgroup.h: on v1 the
  // "tasks" file moves this one thread, which is the whole process here).
  if (p.cgroup_fd >= 0) {
    if (::write(p.cgroup_fd, "0", 1) != 1) ChildFail(p, kStepCgroup, errno);
    ::close(p.cgroup_fd);
  }
  if (p.namespaces) {
    if (const int rc = WriteIdMaps(p.ids); rc != 0) ChildFail(p, kStepIdMaps, rc);
  }
  // A new session: no controlling terminal, its own process group (the
  // launcher kills the group), and TIOCSTI has no terminal to inject into.
  if (::setsid() < 0) ChildFail(p, kStepSetsid, errno);
  if (p.namespaces) {
    // Safe: these mounts happen in a mount namespace owned by the sandbox's
    // own user namespace; the kernel forbids them from affecting the host
    // (MS_PRIVATE first, locked host mount flags stay locked).
    int op = -1;
    if (const int rc = ApplyMountPlan(*p.mounts, &op); rc != 0) ChildFail(p, kStepMounts, rc, op);
    if (::sethostname("toolgate", 8) != 0) ChildFail(p, kStepHostname, errno);  // UTS namespace only
    if (const int rc = BringUpLoopback(); rc != 0) ChildFail(p, kStepLoopback, rc);  // our empty netns only
    if (p.bridge) {
      const int listen_fd = BridgeListen(kBridgePort);
      if (listen_fd < 0) ChildFail(p, kStepBridge, listen_fd);
      // A raw fork (clone with SIGCHLD only): glibc's fork runs atfork
      // handlers and takes malloc's locks, which live in the launcher's
      // memory that this child shares.
      const pid_t bridge = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0));
      if (bridge < 0) ChildFail(p, kStepBridge, errno);
      if (bridge == 0) {
        // The report pipe is the child's: a bridge holding it open kept a
        // launcher that waits for its EOF from ever starting the wall clock.
        ::close(p.err_fd);
        // The bridge keeps the seccomp filter too; it needs no file access
        // beyond the proxy socket, and dies with the PID namespace.
        if (DropAllCapabilities(p.caps) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            InstallSeccompProgram(*p.seccomp) != 0) {
          ::_exit(1);
        }
        RunBridge(listen_fd, p.bridge_socket);
      }
      ::close(listen_fd);
    }
  }
  if (::chdir(p.cwd) != 0 && ::chdir("/") != 0) ChildFail(p, kStepChdir, errno);
  if (const int rc = ApplyRlimits(p.rlimits); rc != 0) ChildFail(p, kStepRlimits, rc);
  // Root (outside, or inside the user namespace) keeps no capability across execve.
  if (const int rc = DropAllCapabilities(p.caps); rc != 0) ChildFail(p, kStepCaps, rc);
  // no_new_privs: setuid/setgid bits and file capabilities are ignored by
  // execve from now on; it is also what lets an unprivileged process install
  // Landlock and seccomp.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ChildFail(p, kStepNoNewPrivs, errno);
  for (std::size_t i = 0; i < p.landlock_paths.size(); ++i) {
    const int rc = AddLandlockPathRule(p.ruleset_fd, p.landlock_abi, p.landlock_paths[i], p.landlock_write[i] != 0);
    if (rc != 0) ChildFail(p, kStepLandlockRule, rc, static_cast<int>(i));
  }
  if (const int rc = LandlockRestrictSelf(p.ruleset_fd); rc != 0) ChildFail(p, kStepLandlock, rc);
  ::close(p.ruleset_fd);
  if (const int rc = InstallSeccompProgram(*p.seccomp); rc != 0) ChildFail(p, kStepSeccomp, rc);
  if (::sigprocmask(SIG_SETMASK, &p.original_mask, nullptr) != 0) ChildFail(p, kStepSigmask, errno);
  ::execve(p.program, p.argv.data(), p.envp.data());
  ChildFail(p, kStepExec, errno);
}

std::string FindProgram(const std::string& name, const std::string& path_env) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;  // a relative PATH entry is not searched
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

const char* EnvValue(char** env, std::string_view name) {
  for (char** e = env; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=') {
      return *e + name.size() + 1;
    }
  }
  return nullptr;
}

Result<std::string> ReadCredentialFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Error{ErrorCode::kInternal, std::string("cannot open: ") + std::strerror(errno), ""};
  std::string value;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    value.append(buf, static_cast<std::size_t>(n));
    if (value.size() > 65536) {
      ::close(fd);
      return Error{ErrorCode::kInternal, "larger than 64 KiB", ""};
    }
  }
  ::close(fd);
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (value.find('\0') != std::string::npos) return Error{ErrorCode::kInternal, "contains a NUL byte", ""};
  return value;
}

// The direct children of this process (the launcher is a subreaper, so every
// orphan of the sandbox becomes one), from /proc/<pid>/stat.
std::vector<pid_t> DirectChildren() {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string stat;
    std::getline(in, stat);
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == self) out.push_back(static_cast<pid_t>(std::atol(e->d_name)));
  }
  ::closedir(d);
  return out;
}

// Kills whatever the sandbox left behind: the process group, the cgroup, and
// (as subreaper) every descendant that double-forked or called setsid to
// escape the group. Bounded rounds; each round kills a generation.
// child_reaped: the command itself has been waited for. Then, when nothing
// of the sandbox is left, there is nothing to kill and nothing to sweep:
// - namespace tier: the reaped child was PID 1 of its namespace, whose exit
//   the kernel completes only once every other process in the namespace is
//   gone (and none can leave it: setns is refused by seccomp);
// - process tier: the launcher has no child at all (ECHILD): it is a
//   subreaper, so every living descendant is a child or below one; and the
//   pids cgroup's count is 0 (a process leaves it only when reaped).
void KillEverything(pid_t child, const PidsCgroup& cgroup, bool namespaces, bool child_reaped = false) {
  if (child_reaped) {
    if (namespaces) return;
    int status = 0;
    pid_t p;
    while ((p = ::waitpid(-1, &status, WNOHANG)) > 0) {  // zombies first (also what others left us as subreaper)
    }
    if (p < 0 && errno == ECHILD && (!cgroup.ok() || cgroup.Empty())) return;
  }
  if (namespaces) {
    ::kill(child, SIGKILL);  // PID 1 of the namespace: the kernel kills every process in it
  } else {
    ::kill(-child, SIGKILL);
    ::kill(child, SIGKILL);
  }
  cgroup.KillAll();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int round = 0; round < 10000 && std::chrono::steady_clock::now() < deadline; ++round) {
    int status = 0;
    pid_t p;
    while ((p = ::waitpid(-1, &status, WNOHANG)) > 0) {
    }
    // ECHILD: no child at all. As subreaper every living descendant is a
    // child or below a living child, so nothing of the sandbox is left.
    if (p < 0 && errno == ECHILD) return;
    for (const pid_t k : DirectChildren()) ::kill(k, SIGKILL);
    ::usleep(1000);
  }
}

std::string DescribeMountOp(const MountPlan& plan, int op) {
  if (op < 0 || static_cast<std::size_t>(op) >= plan.ops.size()) return "";
  const MountOp& m = plan.ops[static_cast<std::size_t>(op)];
  return " (" + (m.source.empty() ? std::string() : m.source + " -> ") + m.target + ")";
}

}  // namespace

Result<int> RunSandboxed(const LaunchOptions& o) {
  if (o.sandbox == nullptr || o.argv.empty() || o.cwd.empty() || o.cwd[0] != '/') {
    return Error{ErrorCode::kInternal, "RunSandboxed: missing sandbox profile, command or absolute cwd", ""};
  }
  const SandboxProfile& sb = *o.sandbox;
  const bool ns = o.tier == SandboxTier::kNamespace;
  // From a process's second launch on, cleanup and the next launch's cgroup
  // move to a background thread (see afterwork.h).
  static std::atomic<int> launches{0};
  if (launches.fetch_add(1) >= 1) Afterwork::Start();
  const auto note = [&](const std::string& text) {
    if (o.verbose) std::cerr << "toolgate run: " << text << "\n";
  };

  // --- File system scopes -> Landlock paths (and the mount view's binds).
  std::vector<std::string> read_paths, write_paths, deny_scopes;
  const auto map_scopes = [&](const std::vector<std::string>& scopes, std::vector<std::string>* out) {
    for (const std::string& s : scopes) {
      const std::string p = LandlockPathForScope(s, o.cwd);
      if (p.empty()) {
        note("scope " + s + " has no literal directory prefix: not granted inside the sandbox");
        continue;
      }
      if (p != s) note("scope " + s + " is granted as " + p + " (Landlock works on whole directories)");
      out->push_back(p);
    }
  };
  map_scopes(sb.fs_read, &read_paths);
  map_scopes(sb.fs_write, &write_paths);
  for (const std::string& s : sb.fs_deny) {
    deny_scopes.push_back(s.rfind("${cwd}", 0) == 0 ? o.cwd + s.substr(6) : s);
  }
  write_paths.push_back("/dev/null");  // every shell redirects to it; it reveals nothing

  // --- Environment: the allow-list, then credentials, then the proxy.
  std::vector<std::string> env;
  for (const std::string& name : sb.env) {
    if (const char* v = EnvValue(o.environ, name)) env.push_back(name + "=" + v);
  }
  for (const auto& [name, cred] : sb.credentials) {
    if (!CredentialInPhase(cred, o.phase)) {
      note("credential " + name + " is not set: it is scoped to other phases" +
           (o.phase.empty() ? std::string(" (no --phase given)") : " than '" + o.phase + "'"));
      continue;
    }
    std::string value;
    if (!cred.from_env.empty()) {
      const char* v = EnvValue(o.environ, cred.from_env);
      if (v == nullptr) {
        return Error{ErrorCode::kInternal,
                     "credential " + name + ": the launcher's environment has no " + cred.from_env, ""};
      }
      value = v;
    } else {
      Result<std::string> v = ReadCredentialFile(cred.from_file);
      if (!v.ok()) return Error{ErrorCode::kInternal, "credential " + name + " (" + cred.from_file + "): " + v.error().message, ""};
      value = std::move(*v);
    }
    // Never logged: only the name appears in notes.
    // A named prefix, not `name` itself: clang before 16 cannot capture a structured binding.
    const std::string prefix = name + "=";
    std::erase_if(env, [&prefix](const std::string& kv) { return kv.rfind(prefix, 0) == 0; });
    env.push_back(prefix + value);
    note("credential " + name + " is set");
  }
  env.push_back(std::string("TOOLGATE_SANDBOX=") + (ns ? "namespace" : "process"));

  // --- Network.
  std::vector<std::uint16_t> connect_ports;
  std::string proxy_dir, proxy_socket;
  ProxyEndpoint proxy;
  struct ProxyStopper {
    ProxyEndpoint* endpoint;
    std::string* dir;
    ~ProxyStopper() {
      if (endpoint->stop) endpoint->stop();
      if (!dir->empty()) {
        ::unlink((*dir + "/proxy.sock").c_str());
        ::rmdir(dir->c_str());
      }
    }
  } proxy_stopper{&proxy, &proxy_dir};
  if (sb.network == SandboxNetwork::kProxy) {
    ProxyStartRequest request;
    request.profile = o.profile;
    request.agent_id = o.agent_id;
    request.session_id = o.session_id;
    request.policy_digest = o.policy_digest;
    request.log = o.log;
    if (ns) {
      // A private directory (0700, the launcher's uid) holds the socket; it is
      // the only host path bound into the view read-write besides the grants.
      char tmpl[] = "/tmp/toolgate-proxy-XXXXXX";
      if (::mkdtemp(tmpl) == nullptr) return Error{ErrorCode::kInternal, std::string("mkdtemp: ") + std::strerror(errno), ""};
      proxy_dir = tmpl;
      proxy_socket = proxy_dir + "/proxy.sock";
      request.unix_socket_path = proxy_socket;
    } else {
      request.tcp_listen = "127.0.0.1:0";
    }
    const ProxyStarter starter = o.proxy_starter ? o.proxy_starter : DefaultProxyStarter();
    Result<ProxyEndpoint> started = starter(request);
    if (!started.ok()) return started.error();
    proxy = std::move(*started);
    std::string url;
    if (ns) {
      url = "http://127.0.0.1:" + std::to_string(kBridgePort);
    } else {
      const std::string& addr = proxy.tcp_address;
      const std::size_t colon = addr.rfind(':');
      const long port = colon == std::string::npos ? 0 : std::strtol(addr.c_str() + colon + 1, nullptr, 10);
      if (port <= 0 || port > 65535) return Error{ErrorCode::kInternal, "egress proxy gave no TCP port", ""};
      url = "http://" + addr;
      connect_ports.push_back(static_cast<std::uint16_t>(port));
    }
    for (const char* var : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"}) {
      env.push_back(std::string(var) + "=" + url);
    }
    env.push_back("NO_PROXY=");
    env.push_back("no_proxy=");
  }
  if (ns && sb.network == SandboxNetwork::kProxy) connect_ports.push_back(kBridgePort);

  // --- Seccomp and Landlock, built before the point of no return.
  SeccompOptions so;
  if (!ns) {
    so.deny_inet_sockets = sb.network == SandboxNetwork::kNone;
    so.deny_non_stream_inet = sb.network == SandboxNetwork::kProxy;
    so.deny_unix_sockets = true;
  }
  Result<std::shared_ptr<const SeccompProgram>> seccomp = SharedSeccompProgram(so);
  if (!seccomp.ok()) return seccomp.error();

  LandlockSpec ls;
  ls.abi = LandlockAbi();
  ls.connect_ports = connect_ports;
  ChildPlan plan;
  MountPlan mounts;
  std::vector<std::string> inside_paths;  // namespace tier: Landlock rules added inside the view
  int ruleset_fd = -1;
  if (!ns) {
    ls.read_paths = read_paths;
    ls.write_paths = write_paths;
    Result<LandlockRuleset> rs = BuildLandlockRuleset(ls);
    if (!rs.ok()) return rs.error();
    ruleset_fd = rs->fd;
    for (const std::string& s : rs->skipped) note("granted path " + s + " does not exist");
  } else {
    Result<int> fd = CreateLandlockRuleset(ls);
    if (!fd.ok()) return fd.error();
    ruleset_fd = *fd;
    MountPlanInput mi;
    mi.read_paths = read_paths;
    mi.write_paths = write_paths;
    mi.deny_scopes = deny_scopes;
    mi.extra_rw_dir = proxy_dir;
    mounts = PlanMounts(mi);
    for (const std::string& n : mounts.notes) note(n);
    for (const std::string& p : read_paths) inside_paths.push_back(p), plan.landlock_write.push_back(0);
    for (const std::string& p : write_paths) inside_paths.push_back(p), plan.landlock_write.push_back(1);
    for (const char* p : {"/tmp", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
                          "/dev/shm"}) {
      inside_paths.push_back(p), plan.landlock_write.push_back(1);
    }
    inside_paths.push_back("/proc"), plan.landlock_write.push_back(0);
    for (const std::string& p : inside_paths) plan.landlock_paths.push_back(p.c_str());
  }
  struct FdCloser {
    int fd;
    ~FdCloser() {
      if (fd >= 0) ::close(fd);
    }
  } ruleset_closer{ruleset_fd};

  // --- The command.
  const char* path_env = EnvValue(o.environ, "PATH");
  const std::string program = FindProgram(o.argv[0], path_env != nullptr ? path_env : "");
  if (program.empty()) {
    std::cerr << "toolgate run: " << o.argv[0] << ": command not found\n";
    return kExitNotFound;
  }
  std::vector<std::string> argv = o.argv;

  plan.namespaces = ns;
  plan.ids = PlanIdMaps(::geteuid(), ::getegid());
  plan.mounts = &mounts;
  plan.landlock_abi = ls.abi;
  plan.ruleset_fd = ruleset_fd;
  plan.seccomp = seccomp->get();
  plan.rlimits = PlanRlimits(sb.limits);
  plan.cwd = o.cwd.c_str();
  plan.program = program.c_str();
  for (std::string& a : argv) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (std::string& e : env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  plan.bridge = ns && sb.network == SandboxNetwork::kProxy;
  plan.bridge_socket = proxy_socket.c_str();

  plan.caps = ns ? PlanCapabilityDropInUserNamespace() : PlanCapabilityDrop();

  PidsCgroup cgroup = PidsCgroup::Create(sb.limits.processes);
  if (!cgroup.ok()) note(cgroup.why() + "; relying on RLIMIT_NPROC");
  FdCloser cgroup_fd{-1};
  if (cgroup.ok()) {
    cgroup_fd.fd = cgroup.OpenJoinFd();
    if (cgroup_fd.fd < 0) {
      return Error{ErrorCode::kInternal, "cannot open " + cgroup.JoinFile() + ": " + std::strerror(-cgroup_fd.fd), ""};
    }
  }
  plan.shared_memory = kChildSharesMemory;
  plan.cgroup_fd = cgroup_fd.fd;
  plan.launcher = ::getpid();
  FdCloser launcher_pidfd{-1};
  if (ns) {
    launcher_pidfd.fd = static_cast<int>(::syscall(SYS_pidfd_open, plan.launcher, 0));
    if (launcher_pidfd.fd < 0) return Error{ErrorCode::kInternal, std::string("pidfd_open: ") + std::strerror(errno), ""};
  }
  plan.launcher_pidfd = launcher_pidfd.fd;
  struct Stack {
    void* base = MAP_FAILED;
    ~Stack() {
      if (base != MAP_FAILED) ChildStacks::Give(base);
    }
  } child_stack_map;
  if (plan.shared_memory) {
    child_stack_map.base = ChildStacks::Take();
    if (child_stack_map.base == MAP_FAILED) {
      return Error{ErrorCode::kInternal, std::string("mmap (child stack): ") + std::strerror(errno), ""};
    }
  }
  void* const child_stack = child_stack_map.base;

  int err[2];
  // Non-blocking when the child shares memory: clone returns only once the
  // child has exec'd (past execve's point of no return) or exited, so a
  // failure report is in the pipe by then, and the launcher need not wait
  // for execve to close the pipe a moment later.
  if (::pipe2(err, O_CLOEXEC | (plan.shared_memory ? O_NONBLOCK : 0)) != 0) {
    return Error{ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno), ""};
  }
  plan.err_fd = err[1];

  // Signals that end the launcher end the sandbox first: they are read from a
  // signalfd in the wait loop. The child restores the original mask.
  sigset_t mask;
  sigemptyset(&mask);
  for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, &plan.original_mask);
  const int sigfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  // Orphans of the sandbox (double fork, setsid) are re-parented to the
  // launcher rather than init, so KillEverything can find them.
  if (!ns) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  // Namespace tier: one clone makes every namespace at once, so the child
  // never runs half-isolated.
  const int namespace_flags = ns ? NamespaceCloneFlags() : 0;
  pid_t child;
  if (!plan.shared_memory) {
    // A sanitized build (kChildSharesMemory): a plain fork, with the namespaces.
    child = static_cast<pid_t>(::syscall(SYS_clone, namespace_flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
  } else {
    // The child shares the launcher's memory until execve (posix_spawn's
    // way): no page tables copied, no copy-on-write faults in the launcher
    // afterwards, and the launcher sleeps until the child has exec'd or
    // failed. It runs on its own stack with every signal blocked, reads the
    // plan and makes only syscalls (see ChildMain).
    sigset_t all, before;
    sigfillset(&all);
    ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &before, NSIG / 8);
    child = ::clone(
        [](void* arg) -> int { ChildMain(*static_cast<const ChildPlan*>(arg)); },
        static_cast<char*>(child_stack) + kChildStackSize, CLONE_VM | CLONE_VFORK | namespace_flags | SIGCHLD, &plan);
    const int clone_errno = errno;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &before, nullptr, NSIG / 8);
    errno = clone_errno;
  }
  if (child == 0) ChildMain(plan);
  const int fork_errno = errno;
  ::close(err[1]);
  if (child < 0) {
    if (ns && o.namespaces_refused != nullptr) {
      for (const int e : {EPERM, EACCES, EINVAL, ENOSPC, EUSERS, ENOSYS}) *o.namespaces_refused |= fork_errno == e;
    }
    ::close(err[0]);
    if (sigfd >= 0) ::close(sigfd);
    ::sigprocmask(SIG_SETMASK, &plan.original_mask, nullptr);
    return Error{ErrorCode::kInternal,
                 std::string(ns ? "clone(new user, mount, pid, ipc, uts, net namespaces): " : "clone: ") +
                     std::strerror(fork_errno),
                 ""};
  }

  ChildReport report;
  ssize_t n;
  do n = ::read(err[0], &report, sizeof report);
  while (n < 0 && errno == EINTR);
  ::close(err[0]);
  if (n == static_cast<ssize_t>(sizeof report)) {
    KillEverything(child, cgroup, ns);
    if (sigfd >= 0) ::close(sigfd);
    ::sigprocmask(SIG_SETMASK, &plan.original_mask, nullptr);
    if (report.step == kStepExec && (report.error == ENOENT || report.error == EACCES)) {
      std::cerr << "toolgate run: " << program << ": " << std::strerror(report.error)
                << (report.error == EACCES ? " (outside the profile's granted paths?)" : "") << "\n";
      return report.error == ENOENT ? kExitNotFound : kExitCannotRun;
    }
    std::string where = StepName(report.step);
    if (report.step == kStepMounts) where += DescribeMountOp(mounts, report.op);
    if (report.step == kStepLandlockRule && report.op >= 0 && static_cast<std::size_t>(report.op) < inside_paths.size()) {
      where += " (" + inside_paths[static_cast<std::size_t>(report.op)] + ")";
    }
    return Error{ErrorCode::kInternal, "sandbox setup failed at " + where + ": " + std::strerror(report.error), ""};
  }

  // --- Wait, with the wall clock.
  const long long timeout_s = o.timeout_s > 0 ? o.timeout_s : sb.timeout_s;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  const int mount_namespace = ns ? HoldMountNamespace(pidfd, child) : -1;
  int result = kExitCannotRun;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      KillEverything(child, cgroup, ns);
      std::cerr << "toolgate run: timed out after " << timeout_s << " s; the sandbox was killed\n";
      result = kExitTimeout;
      break;
    }
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {sigfd, POLLIN, 0}};
    const int wait_ms = static_cast<int>(std::min<long long>(left.count(), 1000));
    const int rc = ::poll(fds, pidfd >= 0 ? 2 : 0, pidfd >= 0 ? wait_ms : 10);
    if (rc < 0 && errno != EINTR) break;
    if (sigfd >= 0 && (fds[1].revents & POLLIN) != 0) {
      signalfd_siginfo si{};
      (void)!::read(sigfd, &si, sizeof si);
      KillEverything(child, cgroup, ns);
      result = 128 + static_cast<int>(si.ssi_signo);
      break;
    }
    int status = 0;
    const pid_t w = ::waitpid(child, &status, WNOHANG);
    if (w == child) {
      result = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : kExitCannotRun;
      // The sandbox ends with its command: background processes it left go too.
      KillEverything(child, cgroup, ns, /*child_reaped=*/true);
      break;
    }
    if (w < 0 && errno != EINTR) break;
  }
  if (pidfd >= 0) ::close(pidfd);
  if (sigfd >= 0) ::close(sigfd);
  ::sigprocmask(SIG_SETMASK, &plan.original_mask, nullptr);
  // The sandbox's processes are gone (or killed): its mount namespace is torn down off the caller's path.
  if (mount_namespace >= 0) Afterwork::Post([mount_namespace] { ::close(mount_namespace); });
  return result;
}

}  // namespace toolgate::sandbox
