/* The part of the C library toolgate-hook uses, on raw Linux system calls,
 * for x86-64. Why: a static glibc program spends about 0.4 ms of every start
 * probing the CPU (cpuid, which traps to the hypervisor in a VM) before main
 * runs. That was most of a hook's round trip with the daemon, and more than
 * the rest of the shim's own work. Linked without glibc (-nostdlib), the shim
 * starts in well under a tenth of that. main.c is the same source either way:
 * it includes the C library's headers for types and constants, and this file
 * defines every function it calls, with the C library's names and behaviour
 * as far as the shim relies on it (errno, strerror's texts, realpath). Other
 * architectures and sanitized builds link the shim with the C library.
 *
 * Built with -fno-builtin and -fno-tree-loop-distribute-patterns (memcpy's
 * loop must not become a call to memcpy) and without the stack protector (its
 * canary lives in thread-local storage, which nothing here sets up). */
#include <asm/unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "nolibc.c is for x86-64; other architectures link toolgate-hook with the C library"
#endif

int main(int argc, char** argv);

static char** environ_;
static int errno_;

int* __errno_location(void) { return &errno_; }

/* ---- system calls ---------------------------------------------------------- */

static long raw6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

/* The C library's convention: -1 with errno set. */
static long sys(long n, long a, long b, long c, long d, long e, long f) {
  const long r = raw6(n, a, b, c, d, e, f);
  if (r < 0 && r > -4096) {
    errno_ = (int)-r;
    return -1;
  }
  return r;
}

#define SYS3(n, a, b, c) sys((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS6(n, a, b, c, d, e, f) sys((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

ssize_t read(int fd, void* buf, size_t n) { return SYS3(__NR_read, fd, buf, n); }
ssize_t write(int fd, const void* buf, size_t n) { return SYS3(__NR_write, fd, buf, n); }
int close(int fd) { return (int)SYS3(__NR_close, fd, 0, 0); }
int socket(int domain, int type, int protocol) { return (int)SYS3(__NR_socket, domain, type, protocol); }
/* glibc declares the address as a transparent union of the sockaddr types. */
int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len) {
  return (int)SYS3(__NR_connect, fd, addr.__sockaddr__, len);
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  return (int)SYS6(__NR_getsockopt, fd, level, name, value, len, 0);
}
ssize_t send(int fd, const void* buf, size_t n, int flags) { return SYS6(__NR_sendto, fd, buf, n, flags, 0, 0); }
ssize_t recv(int fd, void* buf, size_t n, int flags) { return SYS6(__NR_recvfrom, fd, buf, n, flags, 0, 0); }
int poll(struct pollfd* fds, nfds_t n, int timeout_ms) { return (int)SYS3(__NR_poll, fds, n, timeout_ms); }
int stat(const char* restrict path, struct stat* restrict st) {
  return (int)SYS6(__NR_newfstatat, AT_FDCWD, path, st, 0, 0, 0);
}
ssize_t readlink(const char* restrict path, char* restrict buf, size_t n) {
  return SYS6(__NR_readlinkat, AT_FDCWD, path, buf, n, 0, 0);
}
uid_t getuid(void) { return (uid_t)SYS3(__NR_getuid, 0, 0, 0); }
int memfd_create(const char* name, unsigned flags) { return (int)SYS3(__NR_memfd_create, name, flags, 0); }
off_t lseek(int fd, off_t offset, int whence) { return SYS3(__NR_lseek, fd, offset, whence); }
int dup2(int from, int to) { return (int)SYS3(__NR_dup2, from, to, 0); }
int execv(const char* path, char* const argv[]) { return (int)SYS3(__NR_execve, path, argv, environ_); }
int clock_gettime(clockid_t clock, struct timespec* ts) { return (int)SYS3(__NR_clock_gettime, clock, ts, 0); }

__attribute__((noreturn)) void exit(int code) {
  for (;;) raw6(__NR_exit_group, code, 0, 0, 0, 0, 0);
}

/* The kernel starts the process here: argc, then argv and envp on the stack. */
__attribute__((used, noreturn)) static void start_c(long* sp) {
  const int argc = (int)sp[0];
  char** argv = (char**)(sp + 1);
  environ_ = argv + argc + 1;
  exit(main(argc, argv));
}
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start_c\n"
        "  hlt\n");

/* ---- memory: a bump arena, large blocks mapped on their own ------------------- */

struct block {
  size_t size;   /* usable bytes */
  size_t mapped; /* bytes mapped for it; 0 when it lives in the arena */
};

static _Alignas(16) char arena[1 << 18];
static size_t arena_used;

void* malloc(size_t n) {
  const size_t need = (sizeof(struct block) + n + 15) & ~(size_t)15;
  if (need < n) return NULL;
  struct block* b;
  if (need <= sizeof arena - arena_used) {
    b = (struct block*)(arena + arena_used);
    arena_used += need;
    b->mapped = 0;
  } else {
    const size_t len = (need + 4095) & ~(size_t)4095;
    const long p = raw6(__NR_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p < 0 && p > -4096) {
      errno_ = ENOMEM;
      return NULL;
    }
    b = (struct block*)p;
    b->mapped = len;
  }
  b->size = n;
  return b + 1;
}

void free(void* p) {
  if (p == NULL) return;
  struct block* b = (struct block*)p - 1;
  if (b->mapped != 0) raw6(__NR_munmap, (long)b, (long)b->mapped, 0, 0, 0, 0);
}

void* calloc(size_t count, size_t size) {
  if (size != 0 && count > (size_t)-1 / size) return NULL;
  char* p = malloc(count * size);
  if (p != NULL) memset(p, 0, count * size);
  return p;
}

void* realloc(void* p, size_t n) {
  if (p == NULL) return malloc(n);
  const struct block* b = (const struct block*)p - 1;
  void* q = malloc(n);
  if (q == NULL) return NULL;
  memcpy(q, p, b->size < n ? b->size : n);
  free(p);
  return q;
}

/* ---- strings ------------------------------------------------------------------ */

void* memcpy(void* restrict dst, const void* restrict src, size_t n) {
  char* d = dst;
  const char* s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  char* d = dst;
  const char* s = src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dst;
}

void* memset(void* dst, int c, size_t n) {
  unsigned char* d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const unsigned char* x = a;
  const unsigned char* y = b;
  for (; n > 0; --n, ++x, ++y) {
    if (*x != *y) return *x - *y;
  }
  return 0;
}

void* memchr(const void* p, int c, size_t n) {
  const unsigned char* s = p;
  for (; n > 0; --n, ++s) {
    if (*s == (unsigned char)c) return (void*)s;
  }
  return NULL;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

int strcmp(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char* a, const char* b, size_t n) {
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b || *a == '\0') return (unsigned char)*a - (unsigned char)*b;
  }
  return 0;
}

char* strchr(const char* s, int c) {
  for (;; ++s) {
    if (*s == (char)c) return (char*)s;
    if (*s == '\0') return NULL;
  }
}

char* strrchr(const char* s, int c) {
  const char* last = NULL;
  for (;; ++s) {
    if (*s == (char)c) last = s;
    if (*s == '\0') return (char*)last;
  }
}

long strtol(const char* restrict s, char** restrict end, int base) {
  (void)base; /* decimal only: the shim reads --timeout-ms */
  const char* p = s;
  int negative = 0;
  if (*p == '+' || *p == '-') negative = *p++ == '-';
  unsigned long v = 0;
  int digits = 0, overflow = 0;
  for (; *p >= '0' && *p <= '9'; ++p, ++digits) {
    if (v > (unsigned long)LONG_MAX / 10) overflow = 1;
    v = v * 10 + (unsigned long)(*p - '0');
    if (v > (unsigned long)LONG_MAX) overflow = 1;
  }
  if (end != NULL) *end = (char*)(digits > 0 ? p : s);
  if (overflow) {
    errno_ = ERANGE;
    return negative ? LONG_MIN : LONG_MAX;
  }
  return negative ? -(long)v : (long)v;
}

char* getenv(const char* name) {
  const size_t n = strlen(name);
  for (char** e = environ_; e != NULL && *e != NULL; ++e) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  }
  return NULL;
}

/* The path with every symbolic link resolved, as the kernel sees the file
 * once opened; NULL (errno set) when it does not exist. */
char* realpath(const char* restrict path, char* restrict resolved) {
  const int fd = (int)SYS3(__NR_openat, AT_FDCWD, path, O_PATH | O_CLOEXEC);
  if (fd < 0) return NULL;
  char link[32] = "/proc/self/fd/";
  char digits[12];
  int k = 0;
  for (int v = fd; k == 0 || v > 0; v /= 10) digits[k++] = (char)('0' + v % 10);
  size_t at = strlen(link);
  while (k > 0) link[at++] = digits[--k];
  link[at] = '\0';
  const ssize_t n = readlink(link, resolved, PATH_MAX - 1);
  const int saved = errno_;
  close(fd);
  if (n < 0) {
    errno_ = saved;
    return NULL;
  }
  resolved[n] = '\0';
  return resolved;
}

/* The C library's texts for the errors the shim can meet. */
char* strerror(int e) {
  static const struct {
    int code;
    const char* text;
  } kTexts[] = {
      {EPERM, "Operation not permitted"},
      {ENOENT, "No such file or directory"},
      {EINTR, "Interrupted system call"},
      {EIO, "Input/output error"},
      {E2BIG, "Argument list too long"},
      {ENOEXEC, "Exec format error"},
      {EBADF, "Bad file descriptor"},
      {EAGAIN, "Resource temporarily unavailable"},
      {ENOMEM, "Cannot allocate memory"},
      {EACCES, "Permission denied"},
      {EFAULT, "Bad address"},
      {ENOTDIR, "Not a directory"},
      {EISDIR, "Is a directory"},
      {EINVAL, "Invalid argument"},
      {ENFILE, "Too many open files in system"},
      {EMFILE, "Too many open files"},
      {ETXTBSY, "Text file busy"},
      {ENOSPC, "No space left on device"},
      {EPIPE, "Broken pipe"},
      {ERANGE, "Numerical result out of range"},
      {ENAMETOOLONG, "File name too long"},
      {ENOSYS, "Function not implemented"},
      {ELOOP, "Too many levels of symbolic links"},
      {ENOTSOCK, "Socket operation on non-socket"},
      {EPROTOTYPE, "Protocol wrong type for socket"},
      {EAFNOSUPPORT, "Address family not supported by protocol"},
      {EADDRNOTAVAIL, "Cannot assign requested address"},
      {ENETDOWN, "Network is down"},
      {ECONNABORTED, "Software caused connection abort"},
      {ECONNRESET, "Connection reset by peer"},
      {ENOBUFS, "No buffer space available"},
      {ENOTCONN, "Transport endpoint is not connected"},
      {ETIMEDOUT, "Connection timed out"},
      {ECONNREFUSED, "Connection refused"},
      {EINPROGRESS, "Operation now in progress"},
  };
  for (size_t i = 0; i < sizeof kTexts / sizeof kTexts[0]; ++i) {
    if (kTexts[i].code == e) return (char*)kTexts[i].text;
  }
  static char unknown[32];
  snprintf(unknown, sizeof unknown, "Unknown error %d", e);
  return unknown;
}

/* ---- formatting: %s, %.Ns, %d, %u and %% ---------------------------------------- */

struct out {
  char* buf;
  size_t size, len;
};

static void put(struct out* o, const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i, ++o->len) {
    if (o->len + 1 < o->size) o->buf[o->len] = s[i];
  }
}

int vsnprintf(char* restrict buf, size_t size, const char* restrict fmt, va_list args) {
  struct out o = {buf, size, 0};
  for (const char* f = fmt; *f != '\0'; ++f) {
    if (*f != '%') {
      put(&o, f, 1);
      continue;
    }
    ++f;
    long precision = -1;
    if (*f == '.') {
      precision = 0;
      for (++f; *f >= '0' && *f <= '9'; ++f) precision = precision * 10 + (*f - '0');
    }
    if (*f == 's') {
      const char* s = va_arg(args, const char*);
      if (s == NULL) s = "(null)";
      size_t n = 0;
      while (s[n] != '\0' && (precision < 0 || n < (size_t)precision)) ++n;
      put(&o, s, n);
    } else if (*f == 'd' || *f == 'u') {
      unsigned long v;
      if (*f == 'd') {
        const long d = va_arg(args, int);
        if (d < 0) put(&o, "-", 1);
        v = d < 0 ? (unsigned long)-d : (unsigned long)d;
      } else {
        v = va_arg(args, unsigned);
      }
      char digits[24];
      int k = 0;
      do digits[k++] = (char)('0' + v % 10); while ((v /= 10) > 0);
      while (k > 0) put(&o, &digits[--k], 1);
    } else if (*f == '%') {
      put(&o, "%", 1);
    } else {
      return -1; /* a conversion the shim does not use */
    }
  }
  if (o.size > 0) o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
  return (int)o.len;
}

int snprintf(char* restrict buf, size_t size, const char* restrict fmt, ...) {
  va_list args;
  va_start(args, fmt);
  const int n = vsnprintf(buf, size, fmt, args);
  va_end(args);
  return n;
}
