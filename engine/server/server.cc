#include "server/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <new>

#include <spdlog/spdlog.h>

#include "server/framing.h"
#include "server/request.h"

namespace toolgate::server {
namespace {

using Clock = std::chrono::steady_clock;

// How much one turn reads from a connection before its batch is judged: big
// enough that a pipelining client's requests share a log write, small enough
// that one busy client cannot starve the rest.
constexpr std::size_t kReadBudget = 256u << 10;
constexpr std::size_t kReadChunk = 64u << 10;
// After Shutdown, how long replies already made may take to drain.
constexpr std::chrono::milliseconds kDrainLimit{2000};
// Replies queued on one connection (unread by the client, or awaiting a sync)
// past which it is not read until they drain.
constexpr std::size_t kMaxQueuedBytes = 4u << 20;
// Batches of one connection in the log stage (being finished, or waiting)
// past which its worker waits before staging another: two keep both stages
// busy, and bound what is judged but not yet answered.
constexpr std::size_t kMaxStaged = 2;
// The fewest lines a batch is split at for the log stage: every part costs a
// thread hand-off, a log write and a send.
constexpr std::size_t kMinPart = 16;

std::string ErrnoText(int e) { return std::strerror(e); }

// A read buffer that grows without zero-filling what read(2) will overwrite.
class InBuffer {
 public:
  char* space(std::size_t want) {
    if (cap_ - size_ < want) {
      const std::size_t cap = std::max(cap_ * 2, size_ + want);
      auto next = std::make_unique<char[]>(cap);
      if (size_ > 0) std::memcpy(next.get(), data_.get(), size_);
      data_ = std::move(next);
      cap_ = cap;
    }
    return data_.get() + size_;
  }
  std::size_t free_space() const { return cap_ - size_; }
  void grew(std::size_t n) { size_ += n; }
  std::string_view view() const { return {data_.get(), size_}; }
  void consume(std::size_t n) {
    if (n >= size_) {
      size_ = 0;
    } else if (n > 0) {
      std::memmove(data_.get(), data_.get() + n, size_ - n);  // the rest of an incomplete line
      size_ -= n;
    }
    if (size_ == 0 && cap_ > (1u << 20)) {  // do not keep a huge line's buffer
      data_.reset();
      cap_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

// Takes a connection's mu for a worker that epoll just woke for it. The
// worker that re-armed it holds mu across its epoll_ctl, which is what wakes
// this one: it lets go within a few hundred nanoseconds, so a short spin
// spares a futex sleep and wake (two context switches) on most hand-overs.
// Bounded: a holder that was preempted is waited for as before.
void LockForServe(std::mutex& mu) {
  for (int i = 0; i < 128; ++i) {
    if (mu.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  mu.lock();
}

// The CPUs this process may run on.
std::size_t UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

PeerInfo PeerOf(int fd) {
  PeerInfo p;
  p.transport = "unix-socket";
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred) {
    p.uid = static_cast<std::int64_t>(cred.uid);
    p.gid = static_cast<std::int64_t>(cred.gid);
    p.pid = static_cast<std::int64_t>(cred.pid);
  }
  return p;
}

}  // namespace

constexpr std::uint64_t kStopId = 1;
constexpr std::uint64_t kListenerId = 2;

struct Server::Connection : std::enable_shared_from_this<Server::Connection> {
  std::uint64_t id = 0;
  int fd = -1;
  bool closed = false;  // under mu
  PeerInfo peer;
  InBuffer in;  // touched only by the worker that owns the connection (EPOLLONESHOT)

  // Replies, shared with the sync thread under mu.
  struct Chunk {
    std::string data;
    std::uint64_t sync_seq = 0;  // may leave once the log's synced seq reaches this
  };
  std::mutex mu;
  std::deque<Chunk> queue;
  std::size_t front_sent = 0;
  std::size_t queued_bytes = 0;
  bool in_serve = false;            // a worker owns it now
  bool socket_full = false;         // the last send would have blocked
  bool dead = false;                // a send failed, or the log could not sync its records
  bool close_after_output = false;  // oversized line, or the client finished sending
  bool armed_in = false;            // its last arming asked for input (EPOLLIN), not yet delivered
  std::atomic<bool> waiting_sync{false};

  // The log stage. staged counts batches handed to it and not yet answered;
  // only the owning worker raises it, so a worker that read 0 may answer a
  // batch itself without overtaking one. The rest under mu.
  struct Staged {
    JudgedBatch batch;
    std::size_t lines = 0;
    bool oversized = false;  // the oversized-line reply follows the batch's replies
  };
  std::deque<Staged> stage_queue;
  std::atomic<std::size_t> staged{0};
  bool stage_scheduled = false;      // in stage_ready_, or a log-stage thread is on it
  std::condition_variable stage_cv;  // staged went down
  // Finished batches, handed back so that the worker that judged them frees
  // their calls and decisions (Dispatcher::Judge) and reuses their room.
  std::vector<JudgedBatch> spare_batches;

  // Sends every queued reply the synced seq allows. Caller holds mu.
  void FlushLocked(std::uint64_t synced) {
    socket_full = false;
    while (!queue.empty() && queue.front().sync_seq <= synced) {
      Chunk& c = queue.front();
      while (front_sent < c.data.size()) {
        const ssize_t n = ::send(fd, c.data.data() + front_sent, c.data.size() - front_sent, MSG_NOSIGNAL);
        if (n > 0) {
          front_sent += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          socket_full = true;
          waiting_sync = false;
          return;
        } else {
          dead = true;
          return;
        }
      }
      queued_bytes -= c.data.size();
      queue.pop_front();
      front_sent = 0;
    }
    waiting_sync = !queue.empty();
  }

  // Replies not sent yet, made or still to be made by the log stage.
  bool pending() const { return !queue.empty() || staged.load() > 0; }
};

Server::Server(Listener listener, const Dispatcher* dispatcher, ServerOptions options)
    : listener_(std::move(listener)), dispatcher_(dispatcher), options_(options) {}

Server::~Server() { Shutdown(); }

std::optional<Error> Server::Start() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Error{ErrorCode::kInternal, "epoll_create1: " + ErrnoText(errno), {}};
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return Error{ErrorCode::kInternal, "eventfd: " + ErrnoText(errno), {}};
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered and never re-armed: wakes every worker
  ev.data.u64 = kStopId;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev) != 0) {
    return Error{ErrorCode::kInternal, "epoll_ctl: " + ErrnoText(errno), {}};
  }
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = kListenerId;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_.fd, &ev) != 0) {
    return Error{ErrorCode::kInternal, "epoll_ctl: " + ErrnoText(errno), {}};
  }
  const int n = std::max(1, options_.workers);
  std::size_t stage_threads = 0;
  if (dispatcher_->log() != nullptr) {
    switch (options_.log_stage) {
      case ServerOptions::LogStage::kAuto:
        log_stage_connections_ = std::min<std::size_t>(static_cast<std::size_t>(n), UsableCpus() / 2);
        stage_threads = log_stage_connections_;
        break;
      case ServerOptions::LogStage::kAlways: stage_threads = static_cast<std::size_t>(n); break;
      case ServerOptions::LogStage::kNever: break;
    }
  }
  try {
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    for (std::size_t i = 0; i < stage_threads; ++i) log_stage_.emplace_back([this] { LogStageLoop(); });
    if (dispatcher_->log() != nullptr) sync_thread_ = std::thread([this] { SyncLoop(); });
  } catch (const std::system_error& e) {
    return Error{ErrorCode::kInternal, std::string("cannot start worker threads: ") + e.what(), {}};
  }
  return std::nullopt;
}

void Server::WorkerLoop() {
  while (!stopping_.load()) {
    epoll_event ev{};
    const int n = ::epoll_wait(epoll_fd_, &ev, 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::critical("toolgate serve: epoll_wait: {}", ErrnoText(errno));
      return;
    }
    if (n == 0) continue;
    // A copy: epoll_event is packed on x86-64, so its u64 sits at offset 4
    // and a reference to it (find takes its key by reference) is misaligned.
    const std::uint64_t id = ev.data.u64;
    if (id == kStopId) return;
    if (id == kListenerId) {
      Accept();
      continue;
    }
    std::shared_ptr<Connection> c;
    {
      std::lock_guard<std::mutex> lk(conns_mu_);
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;  // closed since the event was queued
      c = it->second;
    }
    try {
      Serve(c.get());
    } catch (const std::exception& e) {
      // One connection's trouble (out of memory on a huge batch) is not the daemon's.
      spdlog::error("toolgate serve: dropping a connection (pid {}): {}", c->peer.pid.value_or(-1), e.what());
      Close(c.get());
    }
  }
}

void Server::Accept() {
  // The first connection accepted here is served by this worker at once: a
  // hook shim sends its request right after connecting, so it is usually
  // there already, and handing it to another worker through epoll would
  // cost a thread wake-up on every short-lived connection.
  std::shared_ptr<Connection> first;
  for (int i = 0; i < 64 && !stopping_.load(); ++i) {
    const int fd = ::accept4(listener_.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        spdlog::warn("toolgate serve: cannot accept a connection: {}", ErrnoText(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        spdlog::error("toolgate serve: accept: {}", ErrnoText(errno));
      }
      break;
    }
    auto c = std::make_shared<Connection>();
    c->fd = fd;
    c->armed_in = first != nullptr;  // armed below (or served), before any other thread can see it
    c->peer = PeerOf(fd);
    {
      std::lock_guard<std::mutex> lk(conns_mu_);
      if (conns_.size() >= options_.max_connections) {
        std::string reply;
        AppendErrorReply(&reply, "null", ProtocolError::kInternal,
                         "too many connections (" + std::to_string(options_.max_connections) + "); try again later");
        [[maybe_unused]] const ssize_t ignored = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      c->id = next_id_++;
      conns_.emplace(c->id, c);
      live_connections_.store(conns_.size());
    }
    epoll_event ev{};
    // Registered disarmed (no events) when it is served below: Serve arms it.
    ev.events = first == nullptr ? EPOLLONESHOT : EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = c->id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      spdlog::error("toolgate serve: epoll_ctl: {}", ErrnoText(errno));
      Close(c.get());
      continue;
    }
    if (first == nullptr) first = std::move(c);
  }
  if (stopping_.load()) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = kListenerId;
  // ENOENT: ReplaceListener swapped the socket under this worker and arms the new one itself.
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listener_.fd, &ev) != 0 && errno != ENOENT) {
    spdlog::critical("toolgate serve: cannot re-arm the listening socket: {}", ErrnoText(errno));
  }
  if (first == nullptr) return;
  try {
    Serve(first.get());  // reads what is there (maybe nothing yet) and arms it for the rest
  } catch (const std::exception& e) {
    spdlog::error("toolgate serve: dropping a connection (pid {}): {}", first->peer.pid.value_or(-1), e.what());
    Close(first.get());
  }
}

std::optional<Error> Server::ReplaceListener(Listener fresh) {
  if (stopping_.load() || listener_.fd < 0) {
    RemoveSocketFile(fresh);
    ::close(fresh.fd);
    return Error{ErrorCode::kInternal, "the server is stopping", fresh.path};
  }
  // dup3 puts the new socket at the old descriptor number in one step; the
  // old socket's last reference goes with it, and so does its epoll entry.
  if (::dup3(fresh.fd, listener_.fd, O_CLOEXEC) < 0) {
    const int e = errno;
    RemoveSocketFile(fresh);
    ::close(fresh.fd);
    return Error{ErrorCode::kInternal, "dup3: " + ErrnoText(e), fresh.path};
  }
  ::close(fresh.fd);
  listener_.path = fresh.path;
  listener_.dev = fresh.dev;
  listener_.ino = fresh.ino;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = kListenerId;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_.fd, &ev) != 0 && errno != EEXIST) {
    return Error{ErrorCode::kInternal, "epoll_ctl: " + ErrnoText(errno), listener_.path};
  }
  return std::nullopt;
}

void Server::Serve(Connection* c) {
  AuditLog* log = dispatcher_->log();
  const auto synced = [log] { return log != nullptr ? log->synced_seq() : ~std::uint64_t{0}; };
  bool may_read = false;
  {
    LockForServe(c->mu);
    std::lock_guard<std::mutex> lk(c->mu, std::adopt_lock);
    if (c->in_serve || c->closed) return;  // a second event: the worker that owns it re-arms it
    c->in_serve = true;
    c->armed_in = false;  // this event was the arming's one delivery (EPOLLONESHOT)
    if (!c->dead) c->FlushLocked(synced());
    may_read = !c->dead && !c->close_after_output && !c->socket_full && c->queued_bytes < kMaxQueuedBytes;
  }

  // One turn reads and judges batch after batch while the client has sent
  // more by the time a batch is answered (a pipelining client usually has),
  // within the turn's read budget: re-arming the connection for each batch
  // would wake another worker for it, which then waits on mu while this one
  // finishes re-arming (a futex wait, a wake and two context switches per
  // batch). The first read that finds nothing ends the turn. Only while
  // there are no more connections than workers: past that, one batch per
  // turn, so a busy client cannot keep the others waiting for a worker.
  const bool keep_serving = live_connections_.load() <= static_cast<std::size_t>(std::max(1, options_.workers));
  std::size_t got = 0;
  int batch_in_turn = 0;
  while (may_read && got < kReadBudget) {
    bool eof = false;
    bool failed = false;
    const std::size_t turn_start = got;
    while (got < kReadBudget) {
      char* dst = c->in.space(kReadChunk);
      const std::size_t room = c->in.free_space();
      const ssize_t n = ::read(c->fd, dst, room);
      if (n > 0) {
        c->in.grew(static_cast<std::size_t>(n));
        got += static_cast<std::size_t>(n);
        if (static_cast<std::size_t>(n) < room) break;  // drained: spare the read that would say EAGAIN
        continue;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) failed = true;  // ECONNRESET and friends
      break;
    }
    if (failed) {
      std::lock_guard<std::mutex> lk(c->mu);
      c->dead = true;
      break;
    }
    // Nothing new since the last batch (and no end of input): the turn ends
    // and the connection is re-armed. The first round always judges, as a
    // turn always did (an oversized line already buffered is answered).
    if (got == turn_start && !eof && turn_start != 0) break;
    LineSplit split;
    SplitLines(c->in.view(), dispatcher_->max_message_bytes(), eof, &split);
    // A batch goes to the log stage when the stage is worth a thread
    // hand-off (or holds this connection's earlier batches already).
    // Otherwise the worker answers it, once the stage has answered every
    // earlier batch (none may overtake another): a connection that was
    // staged while it was alone does not stay staged when others come.
    const bool stage = UseLogStage(split.lines.size(), batch_in_turn++, c->staged.load() > 0);
    if (!stage && c->staged.load() > 0) {
      std::unique_lock<std::mutex> lk(c->mu);
      c->stage_cv.wait(lk, [c] { return c->staged.load() == 0; });
    }
    if (stage) {
      may_read = Stage(c, split, eof);
      // As below, but the batch's own replies are not made yet: only replies
      // already waiting for an fdatasync (or a full socket) end the turn.
      bool waiting = false;
      {
        std::lock_guard<std::mutex> lk(c->mu);
        waiting = !c->queue.empty();
      }
      if (got == turn_start || !keep_serving || waiting || stopping_.load()) break;
      continue;
    }
    std::string out;
    // Room for the batch's replies up front (a decision's is under 1 KiB),
    // not a reallocation at every doubling while they are written.
    out.reserve(split.lines.size() * 1024);
    const std::uint64_t sync_seq = dispatcher_->HandleLines(split.lines, c->peer, &out);
    c->in.consume(split.consumed);
    if (split.oversized) dispatcher_->AppendOversizedReply(&out);
    std::lock_guard<std::mutex> lk(c->mu);
    if (split.oversized || eof) c->close_after_output = true;  // every line read has its reply
    if (!out.empty()) {
      c->queued_bytes += out.size();
      c->queue.push_back({std::move(out), sync_seq});
      // Marked before the synced seq is read: a sync thread that finds the
      // mark unset read its synced seq first, so the read below sees that
      // sync and sends these replies here (else the sync thread sends them).
      c->waiting_sync = true;
    }
    if (!c->dead) c->FlushLocked(synced());
    may_read = !c->dead && !c->close_after_output && !c->socket_full && c->queued_bytes < kMaxQueuedBytes;
    // A batch that read nothing new (only what an earlier turn left) ends the
    // turn, and so does one whose replies wait for an fdatasync: the client
    // sends little more until they go out, so the connection waits armed, as
    // it always did, and the next turn judges what gathered meanwhile.
    if (got == turn_start || !keep_serving || c->pending() || stopping_.load()) break;
  }

  // Re-arm (or close) under the lock, so the sync thread sees a consistent owner.
  std::unique_lock<std::mutex> lk(c->mu);
  if (c->dead || (c->close_after_output && !c->pending())) {
    lk.unlock();  // still marked in_serve: a late event for it does nothing
    return Close(c);
  }
  c->in_serve = false;
  // Replies the log stage has yet to make: it re-arms the connection as it
  // makes them, as the sync thread does for replies a sync releases.
  std::uint32_t events = 0;
  if (!c->close_after_output && c->queued_bytes < kMaxQueuedBytes && !c->socket_full) events |= EPOLLIN;
  if (c->socket_full) events |= EPOLLOUT;
  if (events == 0) return;  // only a sync or the log stage is awaited: it re-arms the connection
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.u64 = c->id;
  c->armed_in = (events & EPOLLIN) != 0;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    c->armed_in = false;
    spdlog::error("toolgate serve: epoll_ctl: {}", ErrnoText(errno));
    c->in_serve = true;
    lk.unlock();
    Close(c);
  }
}

bool Server::Stage(Connection* c, const LineSplit& split, bool eof) {
  // In two parts (of kMinPart lines at least): the stage logs and answers
  // the first while the worker judges the second, and the client gets the
  // first replies sooner (a pipelining client sends its next requests as
  // replies arrive, so its requests keep coming in more than one batch).
  const std::span<const std::string_view> lines(split.lines);
  std::size_t at = 0;
  bool may_read = false;
  do {
    const std::size_t n = std::min(std::max(kMinPart, (lines.size() + 1) / 2), lines.size() - at);
    Connection::Staged st;
    st.lines = n;
    st.oversized = split.oversized && at + n == lines.size();
    {
      std::lock_guard<std::mutex> lk(c->mu);
      if (!c->spare_batches.empty()) {
        st.batch = std::move(c->spare_batches.back());
        c->spare_batches.pop_back();
      }
    }
    dispatcher_->Judge(lines.subspan(at, n), c->peer, &st.batch);
    at += n;
    bool schedule = false;
    {
      std::unique_lock<std::mutex> lk(c->mu);
      c->stage_cv.wait(lk, [c] { return c->staged.load() < kMaxStaged; });
      c->stage_queue.push_back(std::move(st));
      c->staged.fetch_add(1);
      schedule = !std::exchange(c->stage_scheduled, true);
      if (at == lines.size()) {
        if (split.oversized || eof) c->close_after_output = true;  // every line read has its reply
        if (!c->dead) c->FlushLocked(dispatcher_->log()->synced_seq());
        may_read = !c->dead && !c->close_after_output && !c->socket_full && c->queued_bytes < kMaxQueuedBytes;
      }
    }
    if (schedule) {
      {
        std::lock_guard<std::mutex> lk(stage_mu_);
        stage_ready_.push_back(c->shared_from_this());
      }
      stage_cv_.notify_one();
    }
  } while (at < lines.size());
  c->in.consume(split.consumed);  // the lines point into it until judged
  return may_read;
}

bool Server::UseLogStage(std::size_t lines, int batch_in_turn, bool staged) const {
  if (log_stage_.empty()) return false;
  switch (options_.log_stage) {
    case ServerOptions::LogStage::kAlways: return true;
    case ServerOptions::LogStage::kNever: return false;
    case ServerOptions::LogStage::kAuto:
      return (staged || lines > 1 || batch_in_turn > 0) && live_connections_.load() <= log_stage_connections_;
  }
  return false;
}

void Server::LogStageLoop() {
  for (;;) {
    std::shared_ptr<Connection> c;
    {
      std::unique_lock<std::mutex> lk(stage_mu_);
      stage_cv_.wait(lk, [this] { return !stage_ready_.empty() || stage_stop_; });
      if (stage_ready_.empty()) return;  // stopping, and every staged batch is finished
      c = std::move(stage_ready_.front());
      stage_ready_.pop_front();
    }
    FinishStaged(c);
  }
}

void Server::FinishStaged(const std::shared_ptr<Connection>& c) {
  Connection::Staged st;
  {
    std::lock_guard<std::mutex> lk(c->mu);
    if (c->stage_queue.empty()) {  // not reached: a connection is scheduled only with a batch staged
      c->stage_scheduled = false;
      return;
    }
    st = std::move(c->stage_queue.front());
    c->stage_queue.pop_front();
  }
  // Logged even when the connection has gone: the decisions were made.
  std::string out;
  std::uint64_t sync_seq = 0;
  bool failed = false;
  try {
    out.reserve(st.lines * 1024);
    sync_seq = dispatcher_->Finish(&st.batch, &out);
    if (st.oversized) dispatcher_->AppendOversizedReply(&out);
  } catch (const std::exception& e) {
    spdlog::error("toolgate serve: dropping a connection (pid {}): {}", c->peer.pid.value_or(-1), e.what());
    failed = true;
  }
  bool again = false;
  {
    std::lock_guard<std::mutex> lk(c->mu);
    c->staged.fetch_sub(1);
    c->stage_cv.notify_all();
    if (c->spare_batches.size() <= kMaxStaged) {
      try {
        c->spare_batches.push_back(std::move(st.batch));
      } catch (const std::bad_alloc&) {  // not kept, then: freed here
      }
    }
    // One batch per turn of the stage, so connections take turns on its threads.
    again = !c->stage_queue.empty();
    c->stage_scheduled = again;
    if (!c->closed) {
      if (failed) c->dead = true;
      if (!c->dead && !out.empty()) {
        c->queued_bytes += out.size();
        c->queue.push_back({std::move(out), sync_seq});
        c->waiting_sync = true;  // before the synced seq is read, as in Serve
        c->FlushLocked(dispatcher_->log()->synced_seq());
      }
      if (!again) HandOverLocked(c.get());  // the stage has nothing more of it
    }
  }
  if (again) {
    std::lock_guard<std::mutex> lk(stage_mu_);
    stage_ready_.push_back(c);
  }
}

void Server::HandOverLocked(Connection* c) {
  if (c->in_serve) return;  // its worker re-arms it
  // Still armed for input, and whatever could be sent went out (the rest
  // waits for a later sync): the client's next request wakes a worker.
  // Re-arming it for output here would only wake one to find nothing to
  // do, once per sync and connection.
  if (c->armed_in && !c->dead && !c->socket_full) return;
  // Writable at once: a worker sends the rest, reads on, or closes. If an
  // event for it is already on its way, the two workers meet at in_serve.
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLONESHOT;
  ev.data.u64 = c->id;
  c->armed_in = false;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

// Releases replies whose records a finished fdatasync now covers. A connection
// no worker owns is re-armed for output, so a worker sends the rest (or closes it).
void Server::SyncLoop() {
  AuditLog* log = dispatcher_->log();
  // From 0: a sync that ended before this thread first ran (replies already
  // queued for it) is acted on at once.
  std::uint64_t seen = 0;
  while (!stopping_.load()) {
    Result<std::uint64_t> r = log->WaitSynced(seen, std::chrono::milliseconds(50));
    const bool broken = !r;
    // A timeout (no new sync) still looks at the waiting connections: cheap
    // every 50 ms, and no reply can stay queued behind a sync already done.
    if (r) seen = *r;
    std::lock_guard<std::mutex> lk(conns_mu_);
    for (auto& [id, c] : conns_) {
      if (!c->waiting_sync.load()) continue;
      std::lock_guard<std::mutex> clk(c->mu);
      if (c->closed) continue;
      if (broken) {
        // Their records may not be on disk: those answers are never sent.
        c->dead = true;
      } else if (!c->dead) {
        c->FlushLocked(seen);
      }
      HandOverLocked(c.get());
    }
    if (broken) {
      spdlog::critical("toolgate serve: the audit log cannot sync ({}); closing connections with unsynced answers",
                       r.error().message);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

void Server::Close(Connection* c) {
  std::shared_ptr<Connection> keep;  // freed after both locks are released
  {
    std::lock_guard<std::mutex> lk(conns_mu_);
    auto it = conns_.find(c->id);
    if (it != conns_.end()) {
      keep = std::move(it->second);
      conns_.erase(it);
      live_connections_.store(conns_.size());
    }
  }
  std::lock_guard<std::mutex> lk(c->mu);
  if (c->closed) return;
  c->closed = true;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  c->fd = -1;
}

std::size_t Server::connections() const {
  std::lock_guard<std::mutex> lk(conns_mu_);
  return conns_.size();
}

void Server::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // New clients find no socket from here on.
  RemoveSocketFile(listener_);
  stopping_ = true;
  if (stop_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t ignored = ::write(stop_fd_, &one, sizeof one);
  }
  // Each worker finishes the batch it is judging (its records are logged and
  // its replies made) and exits.
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  // Then the log stage logs and answers every batch the workers judged.
  {
    std::lock_guard<std::mutex> lk(stage_mu_);
    stage_stop_ = true;
  }
  stage_cv_.notify_all();
  for (std::thread& t : log_stage_) t.join();
  log_stage_.clear();
  if (listener_.fd >= 0) ::close(listener_.fd);
  listener_.fd = -1;

  if (sync_thread_.joinable()) sync_thread_.join();

  // Replies already made still go out, within a bound, once their records are synced.
  std::uint64_t synced = ~std::uint64_t{0};
  if (AuditLog* log = dispatcher_->log()) {
    if (auto e = log->Sync()) spdlog::error("toolgate serve: audit log: {}", e->message);
    synced = log->synced_seq();
  }
  std::vector<std::shared_ptr<Connection>> left;
  {
    std::lock_guard<std::mutex> lk(conns_mu_);
    for (auto& [id, c] : conns_) left.push_back(c);
  }
  const Clock::time_point deadline = Clock::now() + kDrainLimit;
  for (const std::shared_ptr<Connection>& c : left) {
    {
      std::lock_guard<std::mutex> lk(c->mu);
      while (!c->dead && c->pending() && Clock::now() < deadline) {
        c->FlushLocked(synced);
        if (!c->socket_full) break;  // sent all it may, or only unsynced answers remain
        pollfd p{c->fd, POLLOUT, 0};
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        ::poll(&p, 1, static_cast<int>(std::max<long long>(1, ms)));
      }
    }
    Close(c.get());
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  stop_fd_ = epoll_fd_ = -1;
}

}  // namespace toolgate::server
