#include "sandbox/egress_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "grants/compiled_profile.h"
#include "sandbox/egress_policy.h"
#include "sandbox/http_head.h"
#include "sandbox/tunnel.h"
#include "toolgate/audit.h"

namespace toolgate::sandbox {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMinHeaderBytes = 256;
constexpr std::size_t kLoggedTargetBytes = 2048;
constexpr std::chrono::seconds kIdleThreadLife{30};

Error SetupError(std::string message, std::string location = "") {
  return Error{ErrorCode::kInternal, std::move(message), std::move(location)};
}

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// What one connection asked for and what became of it, for the decision log.
struct Attempt {
  std::string method;
  std::string target;  // as sent, shortened
  std::string host;
  int port = 0;
  bool forward = false;  // plain HTTP (else CONNECT, or unknown)
  std::vector<IpAddress> addresses;
  Verdict verdict = Verdict::kDeny;
  const GrantInfo* grant = nullptr;
  std::string reason;
  int status = 403;
  Clock::time_point started;
};

// "127.0.0.1:8080" or "[::1]:8080" -> a loopback sockaddr. Anything but a
// loopback address is refused: the TCP listener exists for tests and
// benchmarks, never to serve a network.
std::optional<std::string> ParseLoopbackListen(const std::string& text, IpAddress* ip, int* port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return "expected HOST:PORT";
  const std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
    return "the port must be 0-65535";
  }
  *port = std::stoi(port_text);
  if (*port > 65535) return "the port must be 0-65535";
  const std::optional<IpAddress> parsed = host == "localhost" ? ParseIpLiteral("127.0.0.1") : ParseIpLiteral(host);
  if (!parsed || ClassifyAddress(*parsed) != AddressClass::kLoopback) return "the TCP listener must be a loopback address";
  *ip = *parsed;
  return std::nullopt;
}

// After a refusal: closing a socket with unread input makes the kernel send
// a reset, which can destroy the response before the client reads it. So
// shut down writing and read (bounded: 1 s, 1 MiB) until the client closes.
void LingerBeforeClose(int fd, int wake_fd) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  std::size_t drained = 0;
  char sink[16384];
  while (drained < (1u << 20)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, PollMs(left)) <= 0 || (fds[1].revents & POLLIN) != 0) return;
    const ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
    if (n > 0) drained += static_cast<std::size_t>(n);
  }
}

}  // namespace

struct EgressProxy::State {
  EgressProxyOptions o;
  int tcp_fd = -1;
  int unix_fd = -1;
  std::string tcp_address;
  bool unix_bound = false;
  int wake_r = -1;  // readable once Stop began; every poll watches it
  int wake_w = -1;

  // Leader/follower: the connection threads take turns waiting on the
  // listeners. The one that accepts a client hands the listeners to an idle
  // thread (or starts one) and serves the client itself, so no hand-off from
  // an acceptor to a worker (a thread wake-up) sits on the connect path.
  // A thread idle for kIdleThreadLife ends; at most max_connections serve.
  std::mutex mu;
  std::condition_variable work;  // followers wait here for the listeners
  bool leader = false;           // a thread is waiting on the listeners
  std::size_t idle = 0;          // followers waiting
  std::size_t active = 0;        // clients being served
  std::uint64_t next_id = 0;
  std::vector<std::pair<std::uint64_t, std::thread>> workers;
  std::vector<std::uint64_t> finished;
  bool stopping = false;
  bool stopped = false;

  ~State() {
    for (int fd : {tcp_fd, unix_fd, wake_r, wake_w}) {
      if (fd >= 0) ::close(fd);
    }
  }

  std::optional<Error> Listen();
  int AcceptOne(bool* via_unix);
  bool SpawnWorker();
  void WorkerLoop(std::uint64_t id);
  void Reap();
  void Serve(int client, bool via_unix, RelayPipes* pipes);
  bool Record(const Attempt& a, const PeerInfo& peer);
  int Connect(const std::vector<IpAddress>& addresses, int port, std::string* error);
};

std::optional<Error> EgressProxy::State::Listen() {
  if (!o.tcp_listen.empty()) {
    IpAddress ip;
    int port = 0;
    if (auto why = ParseLoopbackListen(o.tcp_listen, &ip, &port)) return SetupError(*why, o.tcp_listen);
    tcp_fd = ::socket(ip.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (tcp_fd < 0) return SetupError(Errno("socket"));
    const int one = 1;
    ::setsockopt(tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage sa{};
    const socklen_t len = FillSockaddr(ip, port, &sa);
    if (::bind(tcp_fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) return SetupError(Errno("bind"), o.tcp_listen);
    if (::listen(tcp_fd, 512) != 0) return SetupError(Errno("listen"), o.tcp_listen);
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    ::getsockname(tcp_fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    const int bound_port = ip.v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                 : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    tcp_address = (ip.v6 ? "[" + FormatIp(ip) + "]" : FormatIp(ip)) + ":" + std::to_string(bound_port);
  }
  if (!o.unix_socket_path.empty()) {
    const std::string& path = o.unix_socket_path;
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path) return SetupError("the Unix socket path is too long", path);
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    unix_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (unix_fd < 0) return SetupError(Errno("socket"));
    // A socket left by a proxy that died is replaced; a live one (something
    // accepts on it) or anything that is not a socket is never touched.
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return SetupError("exists and is not a socket", path);
      const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      const bool live = probe >= 0 && (::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ||
                                       errno == EAGAIN || errno == EINPROGRESS);
      if (probe >= 0) ::close(probe);
      if (live) return SetupError("another process is listening on this socket", path);
      ::unlink(path.c_str());
    }
    // The mode of the socket inode is what bind gives the file: set it first
    // so the path never exists with wider permissions, even for an instant.
    ::fchmod(unix_fd, 0600);
    if (::bind(unix_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return SetupError(Errno("bind"), path);
    unix_bound = true;
    if (::chmod(path.c_str(), 0600) != 0) return SetupError(Errno("chmod"), path);
    if (::listen(unix_fd, 512) != 0) return SetupError(Errno("listen"), path);
  }
  return std::nullopt;
}

void EgressProxy::State::Reap() {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const std::uint64_t id : finished) {
      for (auto it = workers.begin(); it != workers.end(); ++it) {
        if (it->first == id) {
          done.push_back(std::move(it->second));
          workers.erase(it);
          break;
        }
      }
    }
    finished.clear();
  }
  for (std::thread& t : done) t.join();
}

// Waits on the listeners until a client arrives (its fd) or Stop begins (-1).
int EgressProxy::State::AcceptOne(bool* via_unix) {
  while (true) {
    pollfd fds[3] = {{wake_r, POLLIN, 0}, {tcp_fd, POLLIN, 0}, {unix_fd, POLLIN, 0}};
    const int r = ::poll(fds, 3, 1000);
    if (r < 0 && errno != EINTR) return -1;
    if ((fds[0].revents & POLLIN) != 0) return -1;
    if (r <= 0) {
      Reap();
      continue;
    }
    for (int i = 1; i < 3; ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      const int client = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client >= 0) {
        *via_unix = i == 2;
        return client;
      }
      // Out of descriptors: back off briefly instead of spinning on a
      // listener that stays readable.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) ::poll(nullptr, 0, 50);
    }
  }
}

// Called with mu held. False when no thread could be started.
bool EgressProxy::State::SpawnWorker() {
  if (stopping) return false;
  const std::uint64_t id = next_id++;
  try {
    workers.emplace_back(id, std::thread([this, id] { WorkerLoop(id); }));
  } catch (const std::system_error&) {
    return false;  // the thread that accepted leads again once its client is served
  }
  return true;
}

void EgressProxy::State::WorkerLoop(std::uint64_t id) {
  // splice(2) into a socket whose peer is gone raises SIGPIPE, and splice
  // has no MSG_NOSIGNAL. Blocked here, it stays a pending signal of this
  // thread (dropped when it exits) and the call returns EPIPE, without
  // touching the process's signal dispositions.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
  RelayPipes pipes;  // reused from one tunnel to the next
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    if (leader) {
      ++idle;
      const bool woken = work.wait_for(lock, kIdleThreadLife, [this] { return !leader || stopping; });
      --idle;
      if (!woken) break;  // idle too long: end, the leader joins it
      continue;
    }
    leader = true;
    lock.unlock();
    Reap();  // threads that ended, joined off the connect path
    bool via_unix = false;
    const int client = AcceptOne(&via_unix);
    lock.lock();
    leader = false;
    if (client < 0) continue;  // Stop began: the loop condition ends it
    if (active >= o.max_connections) {
      lock.unlock();
      const std::string busy = StatusResponse(503, "too many connections");
      (void)!::send(client, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(client);
      lock.lock();
      continue;
    }
    ++active;
    // The listeners go to a follower before this client is served. The
    // follower is woken after the lock is released, so that it does not wake
    // only to wait for the lock this thread still holds.
    const bool follower = idle > 0;
    if (!follower) SpawnWorker();
    lock.unlock();
    if (follower) work.notify_one();
    Serve(client, via_unix, &pipes);
    ::close(client);
    lock.lock();
    --active;
  }
  finished.push_back(id);
}

bool EgressProxy::State::Record(const Attempt& a, const PeerInfo& peer) {
  if (o.log == nullptr) return true;
  ToolCall call;
  call.agent_id = o.agent_id;
  call.session_id = o.session_id;
  call.client = Client::kCanonical;  // toolgate wrote this call itself
  call.tool_name = std::string(kEgressToolName);
  call.timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  nlohmann::json addresses = nlohmann::json::array();
  for (const IpAddress& ip : a.addresses) addresses.push_back(FormatIp(ip));
  call.tool_input = nlohmann::json{{"method", a.method},
                                   {"target", a.target},
                                   {"host", a.host},
                                   {"port", a.port},
                                   {"addresses", std::move(addresses)},
                                   {"status", a.status}};

  Decision d;
  d.verdict = a.verdict;
  d.agent_id = o.agent_id;
  d.profile = o.profile != nullptr ? o.profile->name() : "";
  d.policy_digest = o.policy_digest;
  d.latency = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - a.started);
  Finding f;
  f.verdict = a.verdict;
  f.subject = Subject::kHost;
  f.target = a.host.empty() ? "-" : (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) +
                                        ":" + std::to_string(a.port);
  f.grant = a.grant;
  f.note = a.reason;
  d.findings.push_back(std::move(f));
  if (!a.host.empty()) {
    HostEffect h;
    h.host = a.host;
    h.port = a.port;
    h.scheme = a.forward ? "http" : "";
    h.url = a.forward ? a.target : "";
    h.source = "egress proxy " + a.method;
    d.effects.hosts.push_back(std::move(h));
  }
  const Result<AppendReceipt> r = o.log->Append(call, d, peer);
  return r.ok();
}

int EgressProxy::State::Connect(const std::vector<IpAddress>& addresses, int port, std::string* error) {
  const auto deadline = Clock::now() + o.connect_timeout;
  *error = "no address to connect to";
  for (const IpAddress& ip : addresses) {
    const int fd = ::socket(ip.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      *error = Errno("socket");
      continue;
    }
    sockaddr_storage sa{};
    const socklen_t len = FillSockaddr(ip, port, &sa);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), len);
    if (rc != 0 && errno == EINPROGRESS) {
      while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
          errno = ETIMEDOUT;
          break;
        }
        pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_r, POLLIN, 0}};
        const int r = ::poll(fds, 2, PollMs(left));
        if (r < 0 && errno == EINTR) continue;
        if ((fds[1].revents & POLLIN) != 0) {
          errno = ECANCELED;
          break;
        }
        if (r > 0) {
          int so_error = 0;
          socklen_t sl = sizeof so_error;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &sl);
          if (so_error == 0) rc = 0;
          errno = so_error;
          break;
        }
      }
    }
    if (rc == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    const int failure = errno;
    *error = "connect to " + FormatIp(ip) + " port " + std::to_string(port) + ": " + std::strerror(failure);
    ::close(fd);
    if (Clock::now() >= deadline || failure == ECANCELED) break;
  }
  return -1;
}

void EgressProxy::State::Serve(int client, bool via_unix, RelayPipes* pipes) {
  PeerInfo peer;
  peer.transport = std::string(kEgressViaPrefix) + (via_unix ? "unix" : "tcp");
  if (via_unix) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      peer.uid = cred.uid;
      peer.gid = cred.gid;
      peer.pid = cred.pid;
    }
  } else {
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  const std::chrono::milliseconds write_timeout = std::min(o.header_timeout, std::chrono::milliseconds(10000));
  const auto refuse = [&](Attempt& a) {
    a.verdict = Verdict::kDeny;
    Record(a, peer);
    if (WriteAll(client, StatusResponse(a.status, a.reason), write_timeout, wake_r)) LingerBeforeClose(client, wake_r);
  };

  // 1. Read the head, bounded in bytes and time.
  const std::size_t max_head = std::max(o.max_header_bytes, kMinHeaderBytes);
  std::string buf;
  buf.reserve(std::min<std::size_t>(max_head, 16384));
  const auto head_deadline = Clock::now() + o.header_timeout;
  HeadScan scan;
  Attempt attempt;
  attempt.started = Clock::now();
  // A client usually sends its head right after connecting, so it is often
  // there by the time it is accepted: read first, wait only when it is not.
  bool wait = false;
  while (true) {
    scan = ScanHead(buf, max_head);
    if (scan.state != HeadScan::State::kNeedMore) break;
    if (wait) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(head_deadline - Clock::now());
      if (left.count() <= 0) {
        if (buf.empty()) return;  // never said anything: nothing to decide
        attempt.status = 408;
        attempt.reason = "incomplete request head after " + std::to_string(o.header_timeout.count()) + " ms";
        refuse(attempt);
        return;
      }
      pollfd fds[2] = {{client, POLLIN, 0}, {wake_r, POLLIN, 0}};
      const int r = ::poll(fds, 2, PollMs(left));
      if (r < 0 && errno != EINTR) return;
      if ((fds[1].revents & POLLIN) != 0) return;
      if (r <= 0) continue;
    }
    wait = true;
    char chunk[16384];
    const std::size_t want = std::min(sizeof chunk, max_head - buf.size());
    const ssize_t n = ::recv(client, chunk, want, 0);
    if (n == 0) return;  // closed before a complete head: nothing was asked
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  attempt.started = Clock::now();
  if (scan.state != HeadScan::State::kComplete) {
    attempt.status = scan.state == HeadScan::State::kTooLarge ? 431 : 400;
    attempt.reason = scan.reason;
    refuse(attempt);
    return;
  }

  // 2. Parse strictly.
  const HeadParse parsed = ParseRequestHead(std::string_view(buf).substr(0, scan.end));
  if (!parsed.request) {
    // Name what was asked for as far as it can be told, without trusting it.
    const std::size_t sp = buf.find(' ');
    attempt.method = buf.substr(0, std::min<std::size_t>(sp == std::string::npos ? 0 : sp, 32));
    attempt.status = parsed.status;
    attempt.reason = parsed.reason;
    refuse(attempt);
    return;
  }
  const ProxyRequest& req = *parsed.request;
  attempt.method = req.method;
  attempt.target = req.target.substr(0, kLoggedTargetBytes);
  attempt.host = req.host;
  attempt.port = req.port;
  attempt.forward = req.kind == ProxyRequest::Kind::kForward;

  // 3. Judge: grants on the name, then on every resolved address.
  const Resolver resolve = o.resolve ? o.resolve : Resolver(SystemResolve);
  EgressVerdict v = DecideEgress(*o.profile, req.host, req.host_is_ip, req.port, attempt.forward ? "http" : "", resolve);
  attempt.addresses = v.addresses;
  attempt.grant = v.grant;
  attempt.reason = v.reason;
  attempt.status = v.allowed ? 200 : v.status;
  if (!v.allowed) {
    refuse(attempt);
    return;
  }
  // 4. The record is written before anything is connected: a connection the
  // log does not know about never happens.
  attempt.verdict = Verdict::kAllow;
  if (!Record(attempt, peer)) {
    if (WriteAll(client, StatusResponse(503, "the decision could not be written to the log; refusing"), write_timeout,
                 wake_r)) {
      LingerBeforeClose(client, wake_r);
    }
    return;
  }

  // 5. Connect to the checked addresses only: no second resolution.
  std::string connect_error;
  const int upstream = Connect(v.addresses, req.port, &connect_error);
  if (upstream < 0) {
    if (WriteAll(client, StatusResponse(502, connect_error), write_timeout, wake_r)) LingerBeforeClose(client, wake_r);
    return;
  }
  const std::string_view early = std::string_view(buf).substr(scan.end);  // bytes the client sent after the head
  bool ok;
  if (req.kind == ProxyRequest::Kind::kConnect) {
    ok = WriteAll(client, "HTTP/1.1 200 Connection established\r\n\r\n", write_timeout, wake_r) &&
         WriteAll(upstream, early, o.connect_timeout, wake_r);
  } else {
    std::string head = BuildForwardHead(req);
    head.append(early);
    ok = WriteAll(upstream, head, o.connect_timeout, wake_r);
  }
  if (ok) Relay(client, upstream, o.idle_timeout, wake_r, nullptr, pipes);
  ::close(upstream);
}

EgressProxy::EgressProxy(std::unique_ptr<State> state) : state_(std::move(state)) {}

EgressProxy::~EgressProxy() { Stop(); }

Result<std::unique_ptr<EgressProxy>> EgressProxy::Start(EgressProxyOptions options) {
  if (options.profile == nullptr) return SetupError("the egress proxy needs a profile");
  if (options.tcp_listen.empty() && options.unix_socket_path.empty()) {
    return SetupError("the egress proxy needs a Unix socket path or a loopback TCP address to listen on");
  }
  if (options.max_connections == 0) return SetupError("max_connections must be at least 1");
  auto state = std::make_unique<State>();
  state->o = std::move(options);
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return SetupError(Errno("pipe2"));
  state->wake_r = p[0];
  state->wake_w = p[1];
  if (std::optional<Error> e = state->Listen()) {
    if (state->unix_bound) ::unlink(state->o.unix_socket_path.c_str());
    return *e;
  }
  {
    std::lock_guard<std::mutex> lock(state->mu);
    if (!state->SpawnWorker()) {
      if (state->unix_bound) ::unlink(state->o.unix_socket_path.c_str());
      return SetupError("cannot start the proxy's first thread");
    }
  }
  return std::unique_ptr<EgressProxy>(new EgressProxy(std::move(state)));
}

std::string EgressProxy::tcp_address() const { return state_->tcp_address; }

const std::string& EgressProxy::unix_socket_path() const { return state_->o.unix_socket_path; }

void EgressProxy::Stop() {
  State& s = *state_;
  {
    // From here no thread is started; followers wake to end.
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.stopped) return;
    s.stopped = true;
    s.stopping = true;
  }
  s.work.notify_all();
  // Every poll in the proxy watches wake_r: one byte ends them all (the
  // leader's wait on the listeners, the heads, connects and tunnels).
  (void)!::write(s.wake_w, "x", 1);
  std::vector<std::pair<std::uint64_t, std::thread>> workers;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    workers.swap(s.workers);
    s.finished.clear();
  }
  for (auto& w : workers) w.second.join();
  for (int* fd : {&s.tcp_fd, &s.unix_fd}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (s.unix_bound) ::unlink(s.o.unix_socket_path.c_str());
  s.unix_bound = false;
}

}  // namespace toolgate::sandbox
