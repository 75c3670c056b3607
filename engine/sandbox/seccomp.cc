#include "sandbox/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
// libseccomp's SCMP_A0..SCMP_A5 are C99 compound literals that leave datum_b
// to its default; clang warns about both in C++ (-Wpedantic), gcc does not.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wc99-extensions"
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

namespace toolgate::sandbox {

namespace {

// Every syscall refused outright: tracing and reading other processes,
// changing the mount table, entering or making namespaces, loading code into
// the kernel, kernel keyrings, userfaultfd (a race amplifier for kernel
// exploits), io_uring (bypasses seccomp for the operations it submits),
// file handles (open_by_handle_at escapes a bind mount), and whole-system
// switches.
const std::vector<const char*> kDenied = {
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    "mount_setattr", "chroot", "setns",
    "bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff", "reboot", "acct", "quotactl", "syslog",
    "iopl", "ioperm", "fanotify_init", "lookup_dcookie", "vhangup", "uselib", "personality",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
};

constexpr unsigned long kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                                          CLONE_NEWUTS | CLONE_NEWCGROUP | 0x00000080 /* CLONE_NEWTIME */;

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

}  // namespace

const std::vector<const char*>& SeccompDeniedSyscalls() { return kDenied; }

Result<SeccompProgram> BuildSeccompProgram(const SeccompOptions& options) {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Error{ErrorCode::kInternal, "seccomp_init failed", ""};
  // A binary tree of syscall numbers instead of a linear list: the same
  // decisions, but the kernel runs the filter once per syscall number when it
  // is installed (to cache the always-allowed ones), and the tree halves that
  // per-launch cost. Older libseccomp without the attribute keeps the list.
  (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  // Only the native architecture: a 32-bit or x32 syscall entry point would
  // have different numbers, so the filter kills it (libseccomp's bad-arch action).
  const auto fail = [](const char* what, int rc) {
    return Error{ErrorCode::kInternal, std::string("seccomp: ") + what + ": " + std::strerror(-rc), ""};
  };
  const auto deny = SCMP_ACT_ERRNO(EPERM);
  for (const char* name : kDenied) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (const int rc = seccomp_rule_add(ctx.get(), deny, nr, 0); rc != 0) return fail(name, rc);
  }
  // New namespaces (a fresh user namespace hands out every capability inside
  // it): libseccomp has no "masked not-equal", so each namespace bit is its own rule.
  int rc = 0;
  for (unsigned long bit = 1; bit != 0 && bit <= kNamespaceFlags; bit <<= 1) {
    if ((kNamespaceFlags & bit) == 0) continue;
    rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
    if (rc != 0) return fail("unshare", rc);
    rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
    if (rc != 0) return fail("clone", rc);
  }
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) return fail("clone3", rc);
  // Raw and packet sockets: sniffing and forging traffic.
  rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
  if (rc != 0) return fail("socket(AF_PACKET)", rc);
  rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(socket), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
  if (rc != 0) return fail("socket(SOCK_RAW)", rc);
  if (options.deny_inet_sockets) {
    for (const scmp_datum_t family : {scmp_datum_t{AF_INET}, scmp_datum_t{AF_INET6}}) {
      rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, family));
      if (rc != 0) return fail("socket(AF_INET)", rc);
    }
  } else if (options.deny_non_stream_inet) {
    // Landlock restricts TCP ports only; UDP (DNS included) and other IP
    // socket types are refused so the proxy is the only way out.
    for (const scmp_datum_t family : {scmp_datum_t{AF_INET}, scmp_datum_t{AF_INET6}}) {
      for (const scmp_datum_t type : {scmp_datum_t{SOCK_DGRAM}, scmp_datum_t{SOCK_SEQPACKET}, scmp_datum_t{SOCK_RDM}}) {
        rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, family),
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, type));
        if (rc != 0) return fail("socket(SOCK_DGRAM)", rc);
      }
    }
  }
  if (options.deny_unix_sockets) {
    rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    if (rc != 0) return fail("socket(AF_UNIX)", rc);
  }
  // Terminal injection: TIOCSTI pushes input into the terminal's reader
  // (the user's shell); TIOCLINUX can do the same on a virtual console.
  for (const unsigned long request : {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
    rc = seccomp_rule_add(ctx.get(), deny, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request));
    if (rc != 0) return fail("ioctl", rc);
  }

  // Export the BPF program through a memfd (libseccomp 2.5 has no in-memory export).
  const int fd = ::memfd_create("toolgate-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Error{ErrorCode::kInternal, std::string("memfd_create: ") + std::strerror(errno), ""};
  rc = seccomp_export_bpf(ctx.get(), fd);
  if (rc != 0) {
    ::close(fd);
    return fail("export", rc);
  }
  const off_t size = ::lseek(fd, 0, SEEK_END);
  SeccompProgram program;
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
    ::close(fd);
    return Error{ErrorCode::kInternal, "seccomp: exported program has a bad size", ""};
  }
  program.instructions.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
  const ssize_t n = ::pread(fd, program.instructions.data(), static_cast<std::size_t>(size), 0);
  ::close(fd);
  if (n != size) return Error{ErrorCode::kInternal, "seccomp: short read of the exported program", ""};
  return program;
}

Result<std::shared_ptr<const SeccompProgram>> SharedSeccompProgram(const SeccompOptions& options) {
  static std::mutex mu;
  static std::shared_ptr<const SeccompProgram> built[8];
  const int key = (options.deny_inet_sockets ? 1 : 0) | (options.deny_non_stream_inet ? 2 : 0) |
                  (options.deny_unix_sockets ? 4 : 0);
  std::lock_guard lock(mu);
  if (!built[key]) {
    Result<SeccompProgram> program = BuildSeccompProgram(options);
    if (!program.ok()) return program.error();
    built[key] = std::make_shared<const SeccompProgram>(std::move(*program));
  }
  return built[key];
}

int InstallSeccompProgram(const SeccompProgram& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.instructions.size());
  prog.filter = const_cast<sock_filter*>(program.instructions.data());
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0 ? 0 : -errno;
}

bool SeccompAvailable() { return ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0; }

}  // namespace toolgate::sandbox
