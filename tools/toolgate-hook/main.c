/* toolgate-hook: the fast hook shim. Same options and answers as `toolgate
 * hook`, in a small static C program that starts about as fast as a program
 * can: it reads the client's input, sends it as it is to the daemon (`toolgate
 * serve`, protocol op "hook"), and prints the stdout and stderr text and exits
 * with the code the daemon computed with the same adapters `toolgate hook`
 * uses. It parses no hook input and links no C++ runtime or JSON library: the
 * daemon writes its reply's members in a fixed order, so reading it is a
 * matter of taking them in turn.
 *
 * Everything else goes to the full `toolgate hook` ($TOOLGATE_BIN, else
 * `toolgate` beside this binary), with the input already read on its stdin:
 *  - no daemon is running: the full binary judges in-process;
 *  - options the shim does not handle (--log, --no-daemon, --help, a usage
 *    error, ...): the full binary reads stdin and answers itself;
 *  - the daemon leaves the input to it (an older daemon without the "hook" op,
 *    an input too large or not UTF-8 for a request line): the full binary
 *    asks with the "decide" op, as `toolgate hook` always does;
 *  - the daemon failed (no answer within --timeout-ms, a malformed reply, a
 *    refusal): `toolgate hook --daemon-failure WHAT` parses the input and
 *    prints the deny in the form that input's client honors, naming what
 *    failed, judged by nobody.
 * Only when the full binary cannot be run does the shim write a deny itself,
 * in the client's most robust form (the --client given, else Claude Code's
 * exit 2, a block for most clients). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
  kMaxInputBytes = 1 << 20,         /* as `toolgate hook` (hooks::kMaxHookInputBytes) */
  kMaxRequestLine = 1 << 20,        /* the protocol's default line limit (--max-message-bytes) */
  kMaxReplyBytes = (8 << 20) + 4096 /* stdout text holding a forwarded 1 MiB command, escaped twice */
};

/* ---- growable byte buffer ----------------------------------------------- */

struct buf {
  char* data;
  size_t len, cap;
};

/* Makes room for n more bytes; 0 when memory runs out. */
static int reserve(struct buf* b, size_t n) {
  if (b->len + n <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + n) cap *= 2;
  char* d = realloc(b->data, cap);
  if (d == NULL) return 0;
  b->data = d;
  b->cap = cap;
  return 1;
}

static int append(struct buf* b, const char* s, size_t n) {
  if (!reserve(b, n)) return 0;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  return 1;
}

static int append_str(struct buf* b, const char* s) { return append(b, s, strlen(s)); }

/* Appends s as a JSON string. Only '"', '\\' and control characters are
 * escaped, as the toolgate writers do (nlohmann::json::dump); other bytes go
 * as they are. replace_invalid: each byte that does not start a valid UTF-8
 * sequence becomes U+FFFD (for text the shim writes to the client itself); off,
 * invalid UTF-8 is sent as it is and the daemon refuses the line with
 * invalid_utf8, which leaves the input to the full binary. */
static int append_json_string(struct buf* b, const char* s, size_t n, int replace_invalid) {
  static const char hex[] = "0123456789abcdef";
  if (!reserve(b, n + 2)) return 0;
  b->data[b->len++] = '"';
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = (unsigned char)s[i];
    const char* esc = NULL; /* a two-character escape */
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      default: break;
    }
    if (esc != NULL) {
      if (!append(b, esc, 2)) return 0;
      continue;
    }
    if (c < 0x20) {
      const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      if (!append(b, u, sizeof u)) return 0;
      continue;
    }
    if (c >= 0x80 && replace_invalid) {
      /* A valid sequence goes as it is; anything else is one U+FFFD per byte. */
      size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
      int ok = need > 0 && i + need <= n;
      for (size_t k = 1; ok && k < need; ++k) ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
      if (ok && need == 3) {
        const unsigned char d = (unsigned char)s[i + 1];
        ok = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0);
      }
      if (ok && need == 4) {
        const unsigned char d = (unsigned char)s[i + 1];
        ok = !(c == 0xF0 && d < 0x90) && !(c == 0xF4 && d >= 0x90);
      }
      if (!ok) {
        if (!append(b, "\xEF\xBF\xBD", 3)) return 0;
        continue;
      }
      if (!append(b, s + i, need)) return 0;
      i += need - 1;
      continue;
    }
    if (!reserve(b, 1)) return 0;
    b->data[b->len++] = (char)c;
  }
  if (!reserve(b, 1)) return 0;
  b->data[b->len++] = '"';
  return 1;
}

/* ---- output ---------------------------------------------------------------- */

static void write_all(int fd, const char* s, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* The deny a hook writes when it could not even read its input
 * (Adapter::Render with input_unreadable), for `client` ("" or NULL: Claude
 * Code's form, exit 2 with the reason on stderr, a block for most clients). */
static int emit_deny(const char* client, const char* reason) {
  struct buf r = {0}, out = {0};
  if (!append_json_string(&r, reason, strlen(reason), 1) || !reserve(&r, 1)) {
    static const char kOom[] = "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":"
                               "\"deny\",\"permissionDecisionReason\":\"toolgate-hook ran out of memory\"}}\n";
    write_all(STDOUT_FILENO, kOom, sizeof kOom - 1);
    return 2;
  }
  r.data[r.len] = '\0';
  int code = 2;
  const char* c = client ? client : "";
  if (strcmp(c, "gemini") == 0) {
    append_str(&out, "{\"decision\":\"deny\",\"reason\":");
    append_str(&out, r.data);
    append_str(&out, "}\n");
  } else if (strcmp(c, "cursor") == 0) {
    append_str(&out, "{\"agent_message\":");
    append_str(&out, r.data);
    append_str(&out, ",\"permission\":\"deny\",\"user_message\":");
    append_str(&out, r.data);
    append_str(&out, "}\n");
  } else {
    append_str(&out, "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"deny\","
                     "\"permissionDecisionReason\":");
    append_str(&out, r.data);
    append_str(&out, "}");
    if (strcmp(c, "copilot") == 0) {
      /* Copilot reads its flat keys beside Claude's, and blocks on them with exit 0. */
      append_str(&out, ",\"permissionDecision\":\"deny\",\"permissionDecisionReason\":");
      append_str(&out, r.data);
      code = 0;
    }
    append_str(&out, "}\n");
  }
  write_all(STDOUT_FILENO, out.data, out.len);
  if (code == 2) {
    write_all(STDERR_FILENO, reason, strlen(reason));
    write_all(STDERR_FILENO, "\n", 1);
  }
  return code;
}

/* ---- options --------------------------------------------------------------- */

struct options {
  const char* client;  /* NULL: detected (by the daemon) from the input's shape */
  const char* agent;   /* NULL: none */
  const char* session; /* NULL: the input's own */
  const char* socket;  /* NULL or "": the default path */
  char policy[PATH_MAX + 1];
  int timeout_ms;
};

static int is_hook_client(const char* name) {
  static const char* const kClients[] = {"claude", "copilot", "codex", "gemini", "cursor"};
  for (size_t i = 0; i < sizeof kClients / sizeof kClients[0]; ++i) {
    if (strcmp(name, kClients[i]) == 0) return 1;
  }
  return 0;
}

/* realpath, or the path as given when it does not resolve (as `toolgate hook`). */
static void absolute(const char* path, char* out) {
  char resolved[PATH_MAX];
  const char* use = realpath(path, resolved) != NULL ? resolved : path;
  snprintf(out, PATH_MAX + 1, "%s", use);
}

/* 1 when the shim handles these options itself; 0 leaves the whole invocation
 * to the full binary (an option it does not handle, a repeated option, a bad
 * value, --help). Values come as `--flag value` or `--flag=value`. */
static int parse_options(int argc, char** argv, struct options* o) {
  static const char* const kFlags[] = {"--client", "--policy", "--agent", "--session", "--socket", "--timeout-ms"};
  enum { kCount = sizeof kFlags / sizeof kFlags[0] };
  int seen[kCount] = {0};
  memset(o, 0, sizeof *o);
  o->timeout_ms = 2000;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = NULL;
    size_t flag_len = strlen(arg);
    const char* eq = strchr(arg, '=');
    if (strncmp(arg, "--", 2) == 0 && eq != NULL) {
      flag_len = (size_t)(eq - arg);
      value = eq + 1;
    }
    int which = -1;
    for (int k = 0; k < kCount; ++k) {
      if (strlen(kFlags[k]) == flag_len && strncmp(arg, kFlags[k], flag_len) == 0) which = k;
    }
    if (which < 0 || seen[which]) return 0;
    seen[which] = 1;
    if (value == NULL) {
      if (i + 1 >= argc) return 0;
      value = argv[++i];
    }
    switch (which) {
      case 0:
        if (!is_hook_client(value)) return 0;
        o->client = value;
        break;
      case 1:
        if (strlen(value) >= PATH_MAX) return 0;
        if (*value != '\0') absolute(value, o->policy);
        break;
      case 2: o->agent = value; break;
      case 3: o->session = value; break;
      case 4: o->socket = value; break;
      default: {
        char* end = NULL;
        errno = 0;
        const long ms = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 || ms < 1 || ms > 600000) return 0;
        o->timeout_ms = (int)ms;
      }
    }
  }
  if (o->agent == NULL) {
    const char* env = getenv("TOOLGATE_AGENT");
    if (env != NULL && *env != '\0') o->agent = env;
  }
  return 1;
}

/* The full toolgate binary: $TOOLGATE_BIN, else `toolgate` in this binary's
 * directory; "" when it cannot be located. */
static void full_toolgate_path(char* out) {
  out[0] = '\0';
  const char* env = getenv("TOOLGATE_BIN");
  if (env != NULL && *env != '\0') {
    if (strlen(env) < PATH_MAX) absolute(env, out);
    return;
  }
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  char* slash = strrchr(self, '/');
  if (slash == NULL || (size_t)(slash - self) + sizeof "/toolgate" > PATH_MAX) return;
  memcpy(slash + 1, "toolgate", sizeof "toolgate");
  snprintf(out, PATH_MAX + 1, "%s", self);
}

/* Puts the input (when read) on stdin, through a memory file so a large input
 * never blocks on a pipe, and replaces this process with `toolgate hook ARGS
 * [--daemon-failure FAILURE]`. Returns only on failure, with the reason in why. */
static void exec_full(const char* toolgate, char** args, int nargs, const struct buf* input, const char* failure,
                      char* why, size_t why_size) {
  if (*toolgate == '\0') {
    snprintf(why, why_size, "the full toolgate binary cannot be located");
    return;
  }
  if (input != NULL) {
    const int fd = memfd_create("toolgate-hook-input", 0);
    if (fd < 0) {
      snprintf(why, why_size, "memfd_create: %s", strerror(errno));
      return;
    }
    size_t done = 0;
    while (done < input->len) {
      const ssize_t n = write(fd, input->data + done, input->len - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        snprintf(why, why_size, "writing the input for the full toolgate: %s", strerror(errno));
        close(fd);
        return;
      }
      done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, STDIN_FILENO) < 0) {
      snprintf(why, why_size, "handing the input to the full toolgate: %s", strerror(errno));
      close(fd);
      return;
    }
    close(fd);
  }
  char** argv = calloc((size_t)nargs + 5, sizeof *argv);
  if (argv == NULL) {
    snprintf(why, why_size, "out of memory");
    return;
  }
  int k = 0;
  argv[k++] = (char*)toolgate;
  argv[k++] = (char*)"hook";
  for (int i = 0; i < nargs; ++i) argv[k++] = args[i];
  if (failure != NULL) {
    argv[k++] = (char*)"--daemon-failure";
    argv[k++] = (char*)failure;
  }
  argv[k] = NULL;
  execv(toolgate, argv);
  snprintf(why, why_size, "%s cannot be run: %s", toolgate, strerror(errno));
  free(argv);
}

/* ---- the daemon ------------------------------------------------------------ */

enum outcome {
  kAnswered,    /* stdout, stderr and exit code to print */
  kUnavailable, /* no socket there, or nobody listening: the full binary judges in-process */
  kLeftToFull,  /* the daemon leaves this input to the full binary's "decide" requests */
  kFailed,      /* it was there and did not answer properly: a deny naming why */
};

struct answer {
  struct buf out, err;
  int exit_code;
  char failure[PATH_MAX + 512]; /* kFailed: "what failed (socket path)" */
};

/* Records what failed, with the socket path, as `toolgate hook` words it. */
__attribute__((format(printf, 3, 4))) static enum outcome failed(struct answer* a, const char* path, const char* fmt,
                                                                  ...) {
  char what[640];
  va_list args;
  va_start(args, fmt);
  vsnprintf(what, sizeof what, fmt, args);
  va_end(args);
  snprintf(a->failure, sizeof a->failure, "%s (%s)", what, path);
  return kFailed;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline; 0 on timeout or error. */
static int wait_for(int fd, short events, int64_t deadline) {
  for (;;) {
    const int64_t left = deadline - now_ms();
    struct pollfd p = {fd, events, 0};
    const int r = poll(&p, 1, left <= 0 ? 0 : (int)left);
    if (r > 0) return 1;
    if (r == 0) return 0;
    if (errno != EINTR) return 0;
  }
}

/* Reads a JSON string at *p (opening quote included) into out, decoding the
 * escapes; advances *p past the closing quote. 0 when malformed. */
static int take_string(const char** p, const char* end, struct buf* out) {
  const char* s = *p;
  if (s >= end || *s != '"') return 0;
  ++s;
  while (s < end && *s != '"') {
    const unsigned char c = (unsigned char)*s;
    if (c < 0x20) return 0;
    if (c != '\\') {
      const char* run = s;
      while (s < end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20) ++s;
      if (!append(out, run, (size_t)(s - run))) return 0;
      continue;
    }
    if (++s >= end) return 0;
    char ch;
    switch (*s) {
      case '"': ch = '"'; break;
      case '\\': ch = '\\'; break;
      case '/': ch = '/'; break;
      case 'b': ch = '\b'; break;
      case 'f': ch = '\f'; break;
      case 'n': ch = '\n'; break;
      case 'r': ch = '\r'; break;
      case 't': ch = '\t'; break;
      case 'u': {
        unsigned long cp = 0;
        for (int pair = 0; pair < 2; ++pair) {
          if (end - s < 5) return 0;
          unsigned long unit = 0;
          for (int k = 1; k <= 4; ++k) {
            const char h = s[k];
            unit = unit * 16 + (unsigned long)(h >= '0' && h <= '9'   ? h - '0'
                                               : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                               : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                                      : 99);
            if (unit >= 0x10000) return 0;
          }
          s += 5;
          if (pair == 0) {
            if (unit >= 0xDC00 && unit <= 0xDFFF) return 0;
            cp = unit;
            if (unit < 0xD800 || unit > 0xDBFF) break;
            if (end - s < 2 || s[0] != '\\' || s[1] != 'u') return 0;
            ++s; /* at the 'u' of the low surrogate */
          } else {
            if (unit < 0xDC00 || unit > 0xDFFF) return 0;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (unit - 0xDC00);
          }
        }
        char u[4];
        size_t n;
        if (cp < 0x80) {
          u[0] = (char)cp, n = 1;
        } else if (cp < 0x800) {
          u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
        } else if (cp < 0x10000) {
          u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F));
          n = 3;
        } else {
          u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
          u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
          n = 4;
        }
        if (!append(out, u, n)) return 0;
        continue; /* s is past the escape already */
      }
      default: return 0;
    }
    if (!append(out, &ch, 1)) return 0;
    ++s;
  }
  if (s >= end) return 0;
  *p = s + 1;
  return 1;
}

static int take(const char** p, const char* end, const char* literal) {
  const size_t n = strlen(literal);
  if ((size_t)(end - *p) < n || memcmp(*p, literal, n) != 0) return 0;
  *p += n;
  return 1;
}

/* Reads the reply line. A hook answer is
 *   {"v":1,"id":1,"ok":true,"exit":N,"stdout":"...","stderr":"..."}
 * and a refusal {"v":1,"id":1 or null,"ok":false,"error":{"code":"...","message":"..."}},
 * members in exactly this order (engine/server/hook_op.h). */
static enum outcome read_reply(const char* line, size_t len, const char* path, struct answer* a) {
  const char* p = line;
  const char* end = line + len;
  if (take(&p, end, "{\"v\":1,\"id\":1,\"ok\":true,\"exit\":")) {
    int code = 0, digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 4) code = code * 10 + (*p++ - '0'), ++digits;
    if (digits == 0 || digits > 3 || code > 255 || !take(&p, end, ",\"stdout\":") || !take_string(&p, end, &a->out) ||
        !take(&p, end, ",\"stderr\":") || !take_string(&p, end, &a->err) || !take(&p, end, "}") || p != end) {
      return failed(a, path, "the toolgate daemon's hook answer is malformed");
    }
    a->exit_code = code;
    return kAnswered;
  }
  p = line;
  if (take(&p, end, "{\"v\":1,\"id\":") && (take(&p, end, "1") || take(&p, end, "null")) &&
      take(&p, end, ",\"ok\":false,\"error\":{\"code\":")) {
    struct buf code = {0}, message = {0};
    enum outcome result = kFailed;
    int refused = 0;
    if (take_string(&p, end, &code) && take(&p, end, ",\"message\":") && take_string(&p, end, &message) &&
        take(&p, end, "}}") && p == end && append(&code, "", 1) && append(&message, "", 1)) {
      /* What `toolgate hook` asks differently or gets refused alike: an older
       * daemon without the op, an input that does not fit a request line. */
      static const char* const kLeft[] = {"unknown_op", "input_too_large", "invalid_utf8", "nesting_too_deep"};
      for (size_t i = 0; i < sizeof kLeft / sizeof kLeft[0]; ++i) {
        if (strcmp(code.data, kLeft[i]) == 0) result = kLeftToFull;
      }
      if (result != kLeftToFull) {
        char what[640];
        snprintf(what, sizeof what, "the toolgate daemon refused the request: %.64s: %.500s", code.data, message.data);
        result = failed(a, path, "%s", what);
      }
      refused = 1;
    }
    free(code.data);
    free(message.data);
    if (refused) return result;
  }
  return failed(a, path, "the toolgate daemon answered something that is not a hook answer");
}

/* Asks the daemon at path for the hook answer to `request` (one line). Never
 * blocks past the timeout: connect, write and read included. */
static enum outcome ask_daemon(const char* path, const struct buf* request, int timeout_ms, struct answer* a) {
  const int64_t deadline = now_ms() + timeout_ms;
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return kUnavailable;
    return failed(a, path, "cannot reach the toolgate daemon socket: %s", strerror(errno));
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) return failed(a, path, "the daemon socket path is too long");
  memcpy(addr.sun_path, path, strlen(path) + 1);

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return failed(a, path, "socket(): %s", strerror(errno));
  enum outcome result = kFailed;
  struct buf in = {0};
  if (connect(fd, (const struct sockaddr*)&addr, sizeof addr) != 0) {
    if (errno == ECONNREFUSED || errno == ENOENT) {
      result = kUnavailable; /* a socket file nobody listens on: the daemon is down */
      goto done;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
      result = failed(a, path, "cannot connect to the toolgate daemon: %s", strerror(errno));
      goto done;
    }
    if (!wait_for(fd, POLLOUT, deadline)) {
      result = failed(a, path, "the toolgate daemon did not accept the connection within %d ms", timeout_ms);
      goto done;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      result = failed(a, path, "cannot connect to the toolgate daemon: %s", strerror(err != 0 ? err : errno));
      goto done;
    }
  }

  /* A send that fails may still leave the daemon's refusal to read (it closes
   * after answering a line it will not take): the reply decides. */
  int send_errno = 0;
  for (size_t sent = 0; sent < request->len;) {
    const ssize_t n = send(fd, request->data + sent, request->len - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        result = failed(a, path, "the toolgate daemon did not read the request within %d ms", timeout_ms);
        goto done;
      }
      continue;
    }
    send_errno = n < 0 ? errno : EPIPE;
    break;
  }

  for (;;) {
    const char* nl = in.len > 0 ? memchr(in.data, '\n', in.len) : NULL;
    if (nl != NULL) {
      result = read_reply(in.data, (size_t)(nl - in.data), path, a);
      goto done;
    }
    if (in.len > kMaxReplyBytes) {
      result = failed(a, path, "the toolgate daemon's reply is too long");
      goto done;
    }
    if (!wait_for(fd, POLLIN, deadline)) {
      result = send_errno != 0 ? failed(a, path, "sending to the toolgate daemon failed: %s", strerror(send_errno))
                               : failed(a, path, "the toolgate daemon did not answer within %d ms", timeout_ms);
      goto done;
    }
    if (!reserve(&in, 4096)) {
      result = failed(a, path, "out of memory reading the toolgate daemon's reply");
      goto done;
    }
    const ssize_t n = recv(fd, in.data + in.len, in.cap - in.len, 0);
    if (n > 0) {
      in.len += (size_t)n;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      if (send_errno != 0) {
        result = failed(a, path, "sending to the toolgate daemon failed: %s", strerror(send_errno));
      } else if (n == 0) {
        result = failed(a, path, "the toolgate daemon closed the connection before answering");
      } else {
        result = failed(a, path, "reading from the toolgate daemon failed: %s", strerror(errno));
      }
      goto done;
    }
  }
done:
  free(in.data);
  close(fd);
  return result;
}

/* The daemon's socket: --socket, $TOOLGATE_SOCKET, $XDG_RUNTIME_DIR/toolgate.sock,
 * else /run/toolgate/toolgate.sock for root and /tmp/toolgate-UID/toolgate.sock
 * (toolgate::DefaultSocketPath). */
static void socket_path(const struct options* o, char* out, size_t size) {
  if (o->socket != NULL && *o->socket != '\0') {
    snprintf(out, size, "%s", o->socket);
    return;
  }
  const char* env = getenv("TOOLGATE_SOCKET");
  if (env != NULL && *env != '\0') {
    snprintf(out, size, "%s", env);
    return;
  }
  const char* runtime = getenv("XDG_RUNTIME_DIR");
  if (runtime != NULL && *runtime != '\0') {
    snprintf(out, size, "%s/toolgate.sock", runtime);
    return;
  }
  const uid_t uid = getuid();
  if (uid == 0) {
    snprintf(out, size, "/run/toolgate/toolgate.sock");
  } else {
    snprintf(out, size, "/tmp/toolgate-%u/toolgate.sock", (unsigned)uid);
  }
}

/* The "hook" request line for the input. */
static int build_request(const struct options* o, const char* toolgate, const struct buf* input, struct buf* req) {
  int ok = append_str(req, "{\"v\":1,\"id\":1,\"op\":\"hook\"");
  if (o->client != NULL) ok = ok && append_str(req, ",\"client\":") && append_json_string(req, o->client, strlen(o->client), 0);
  if (o->agent != NULL) ok = ok && append_str(req, ",\"agent\":") && append_json_string(req, o->agent, strlen(o->agent), 0);
  if (o->session != NULL) {
    ok = ok && append_str(req, ",\"session\":") && append_json_string(req, o->session, strlen(o->session), 0);
  }
  ok = ok && append_str(req, ",\"toolgate\":") && append_json_string(req, toolgate, strlen(toolgate), 0);
  if (o->policy[0] != '\0') {
    ok = ok && append_str(req, ",\"policy\":") && append_json_string(req, o->policy, strlen(o->policy), 0);
  }
  ok = ok && append_str(req, ",\"input\":") && append_json_string(req, input->data, input->len, 0);
  return ok && append_str(req, "}\n");
}

/* At most kMaxInputBytes + 1 bytes: one past the limit shows it is too large. */
static int read_input(struct buf* input) {
  while (input->len <= kMaxInputBytes) {
    /* Small steps first: a usual input fits a page or two, and every page touched is a fault. */
    if (!reserve(input, 4096)) return 0;
    const ssize_t n = read(STDIN_FILENO, input->data + input->len, input->cap - input->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    input->len += (size_t)n;
  }
  if (input->len > kMaxInputBytes + 1) input->len = kMaxInputBytes + 1;
  return 1;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
/* The shim lives for one call and leaves its buffers to exit(2), by design:
   LeakSanitizer in the sanitized build would report them as leaks. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return 1; }
#endif
#endif

int main(int argc, char** argv) {
  char toolgate[PATH_MAX + 1];
  char why[PATH_MAX + 256];
  char reason[2 * PATH_MAX + 1024];
  full_toolgate_path(toolgate);
  struct options o;
  if (!parse_options(argc, argv, &o)) {
    /* Not read yet: the full binary reads stdin (or reports the usage error) itself. */
    exec_full(toolgate, argv + 1, argc - 1, NULL, NULL, why, sizeof why);
    snprintf(reason, sizeof reason, "toolgate's hook could not run, so every call is blocked: %s", why);
    return emit_deny(NULL, reason);
  }

  struct buf input = {0};
  if (!read_input(&input)) {
    return emit_deny(o.client, "toolgate could not judge this call, so it is blocked: out of memory reading the input");
  }
  struct answer a = {0};
  enum outcome outcome = kLeftToFull; /* an input over the limit: the full binary says so */
  struct buf request = {0};
  if (input.len <= kMaxInputBytes) {
    if (!build_request(&o, toolgate, &input, &request)) {
      return emit_deny(o.client, "toolgate could not judge this call, so it is blocked: out of memory");
    }
    /* A line over the protocol's default limit would only be refused. */
    if (request.len - 1 <= kMaxRequestLine) {
      char path[PATH_MAX + 64];
      socket_path(&o, path, sizeof path);
      outcome = ask_daemon(path, &request, o.timeout_ms, &a);
    }
  }
  switch (outcome) {
    case kAnswered:
      write_all(STDOUT_FILENO, a.out.data, a.out.len);
      if (a.err.len > 0) write_all(STDERR_FILENO, a.err.data, a.err.len);
      return a.exit_code;
    case kFailed:
      exec_full(toolgate, argv + 1, argc - 1, &input, a.failure, why, sizeof why);
      snprintf(reason, sizeof reason, "toolgate could not judge this call, so it is blocked: %s; and %s", a.failure,
               why);
      return emit_deny(o.client, reason);
    case kUnavailable:
    case kLeftToFull: break;
  }
  /* No daemon (or one that leaves this input to it): the full binary judges. */
  exec_full(toolgate, argv + 1, argc - 1, &input, NULL, why, sizeof why);
  snprintf(reason, sizeof reason, "toolgate could not judge this call, so it is blocked: %s%s",
           outcome == kUnavailable ? "no toolgate daemon is running and " : "", why);
  return emit_deny(o.client, reason);
}
