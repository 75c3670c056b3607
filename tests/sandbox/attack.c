/* Attacks the sandbox escape suite runs inside `toolgate run`. Each
 * subcommand tries one thing and exits 0 when it was refused (contained),
 * 1 when it worked (an escape), 2 on a usage error. Built by the test with cc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int refused(const char* what, long rc) {
  if (rc < 0) {
    printf("contained: %s: %s\n", what, strerror(errno));
    return 0;
  }
  printf("ESCAPE: %s succeeded\n", what);
  return 1;
}

static int tcp_connect(const char* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return refused("socket(AF_INET)", -1);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return refused("connect 127.0.0.1", connect(fd, (struct sockaddr*)&a, sizeof a));
}

static int udp_send(const char* port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return refused("socket(SOCK_DGRAM)", -1);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return refused("sendto 127.0.0.1 udp", sendto(fd, "x", 1, 0, (struct sockaddr*)&a, sizeof a));
}

static int abstract_connect(const char* name) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return refused("socket(AF_UNIX)", -1);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  if (n > sizeof a.sun_path - 2) return 2;
  memcpy(a.sun_path + 1, name, n);
  return refused("connect abstract unix socket",
                 connect(fd, (struct sockaddr*)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)));
}

static int path_connect(const char* path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return refused("socket(AF_UNIX)", -1);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) return 2;
  strcpy(a.sun_path, path);
  return refused("connect Unix socket by path", connect(fd, (struct sockaddr*)&a, sizeof a));
}

static int child_fn(void* arg) { (void)arg; return 0; }

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* a = argv[1];
  const char* arg = argc > 2 ? argv[2] : "";
  if (!strcmp(a, "ptrace")) return refused("ptrace(ATTACH)", ptrace(PTRACE_ATTACH, atoi(arg), 0, 0));
  if (!strcmp(a, "ptrace-child")) {
    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    long rc = ptrace(PTRACE_ATTACH, c, 0, 0);
    kill(c, SIGKILL);
    return refused("ptrace(ATTACH) of own child", rc);
  }
  if (!strcmp(a, "vm-read")) {
    char buf[16];
    struct iovec local = {buf, sizeof buf}, remote = {(void*)0x400000, sizeof buf};
    return refused("process_vm_readv", syscall(SYS_process_vm_readv, atoi(arg), &local, 1, &remote, 1, 0));
  }
  if (!strcmp(a, "mount")) return refused("mount tmpfs", mount("none", arg, "tmpfs", 0, NULL));
  if (!strcmp(a, "bind-proc-root")) return refused("bind mount /proc/self/root", mount("/proc/self/root", arg, NULL, MS_BIND, NULL));
  if (!strcmp(a, "pivot-root")) return refused("pivot_root", syscall(SYS_pivot_root, arg, arg));
  if (!strcmp(a, "chroot")) return refused("chroot", chroot(arg));
  if (!strcmp(a, "unshare-user")) return refused("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
  if (!strcmp(a, "unshare-mount")) return refused("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
  if (!strcmp(a, "clone-user")) {
    static char stack[65536];
    long pid = clone(child_fn, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return refused("clone(CLONE_NEWUSER)", pid);
  }
  if (!strcmp(a, "clone3")) return refused("clone3", syscall(SYS_clone3, NULL, 0) < 0 && errno == EFAULT ? 0 : -1);
  if (!strcmp(a, "setns")) {
    int fd = open("/proc/1/ns/mnt", O_RDONLY);
    return refused("setns", fd < 0 ? -1 : setns(fd, 0));
  }
  if (!strcmp(a, "raw")) return refused("socket(SOCK_RAW)", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  if (!strcmp(a, "packet")) return refused("socket(AF_PACKET)", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
  if (!strcmp(a, "tcp")) return tcp_connect(arg);
  if (!strcmp(a, "udp")) return udp_send(arg);
  if (!strcmp(a, "abstract")) return abstract_connect(arg);
  if (!strcmp(a, "unixpath")) return path_connect(arg);
  if (!strcmp(a, "tiocsti")) {
    char c = 'x';
    int fd = open("/dev/tty", O_RDWR);
    if (fd < 0) fd = 0;
    long rc = ioctl(fd, TIOCSTI, &c);
    if (rc < 0 && errno != EPERM) { printf("contained: TIOCSTI: %s (not even a terminal)\n", strerror(errno)); return 0; }
    return refused("ioctl(TIOCSTI)", rc);
  }
  if (!strcmp(a, "tioclinux")) {
    char sub = 6;
    long rc = ioctl(0, TIOCLINUX, &sub);
    if (rc < 0 && errno != EPERM) { printf("contained: TIOCLINUX: %s\n", strerror(errno)); return 0; }
    return refused("ioctl(TIOCLINUX)", rc);
  }
  if (!strcmp(a, "keyctl")) return refused("add_key", syscall(SYS_add_key, "user", "tg", "x", 1, -2 /* session */));
  if (!strcmp(a, "bpf")) return refused("bpf", syscall(SYS_bpf, 0, NULL, 0) < 0 && errno == EPERM ? -1 : 0);
  if (!strcmp(a, "userfaultfd")) return refused("userfaultfd", syscall(SYS_userfaultfd, 0));
  if (!strcmp(a, "io_uring")) return refused("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL) < 0 && errno == EPERM ? -1 : 0);
  if (!strcmp(a, "perf")) return refused("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0) < 0 && errno == EPERM ? -1 : 0);
  if (!strcmp(a, "open-by-handle")) return refused("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0) < 0 && errno == EPERM ? -1 : 0);
  if (!strcmp(a, "kill")) return refused("kill outside process", kill(atoi(arg), SIGKILL));
  return 2;
}
