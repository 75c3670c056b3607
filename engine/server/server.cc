#include "server/server.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
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

struct Server::Connection {
  int fd = -1;
  PeerInfo peer;
  InBuffer in;
  std::string out;
  std::size_t out_off = 0;
  bool close_after_output = false;  // oversized line, or the client finished sending

  // Sends what is pending. false on a dead connection.
  bool Flush() {
    while (out_off < out.size()) {
      const ssize_t n = ::send(fd, out.data() + out_off, out.size() - out_off, MSG_NOSIGNAL);
      if (n > 0) {
        out_off += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
      } else {
        return false;
      }
    }
    out.clear();
    out_off = 0;
    return true;
  }
  bool pending() const { return out_off < out.size(); }
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
  ev.data.ptr = &stop_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev) != 0) {
    return Error{ErrorCode::kInternal, "epoll_ctl: " + ErrnoText(errno), {}};
  }
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.ptr = &listener_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_.fd, &ev) != 0) {
    return Error{ErrorCode::kInternal, "epoll_ctl: " + ErrnoText(errno), {}};
  }
  const int n = std::max(1, options_.workers);
  try {
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
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
    if (ev.data.ptr == &stop_fd_) return;
    if (ev.data.ptr == &listener_) {
      Accept();
      continue;
    }
    auto* c = static_cast<Connection*>(ev.data.ptr);
    try {
      Serve(c);
    } catch (const std::exception& e) {
      // One connection's trouble (out of memory on a huge batch) is not the daemon's.
      spdlog::error("toolgate serve: dropping a connection (pid {}): {}", c->peer.pid.value_or(-1), e.what());
      Close(c);
    }
  }
}

void Server::Accept() {
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
    auto c = std::make_unique<Connection>();
    c->fd = fd;
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
      conns_.insert(c.get());
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = c.get();
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      spdlog::error("toolgate serve: epoll_ctl: {}", ErrnoText(errno));
      Close(c.release());
      continue;
    }
    c.release();  // owned by conns_ now
  }
  if (stopping_.load()) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.ptr = &listener_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listener_.fd, &ev) != 0) {
    spdlog::critical("toolgate serve: cannot re-arm the listening socket: {}", ErrnoText(errno));
  }
}

void Server::Serve(Connection* c) {
  if (c->pending()) {
    if (!c->Flush()) return Close(c);
    if (c->pending()) return Arm(c, true);
  }
  if (c->close_after_output) return Close(c);

  bool eof = false;
  std::size_t got = 0;
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
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return Close(c);  // ECONNRESET and friends
  }

  LineSplit split;
  SplitLines(c->in.view(), dispatcher_->max_message_bytes(), eof, &split);
  dispatcher_->HandleLines(split.lines, c->peer, &c->out);
  c->in.consume(split.consumed);
  if (split.oversized) {
    dispatcher_->AppendOversizedReply(&c->out);
    c->close_after_output = true;
  } else if (eof) {
    c->close_after_output = true;  // every line it sent has its reply; nothing more will come
  }
  if (!c->Flush()) return Close(c);
  if (c->pending()) return Arm(c, true);
  if (c->close_after_output) return Close(c);
  Arm(c, false);
}

void Server::Arm(Connection* c, bool for_output) {
  epoll_event ev{};
  ev.events = (for_output ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT;
  ev.data.ptr = c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    spdlog::error("toolgate serve: epoll_ctl: {}", ErrnoText(errno));
    Close(c);
  }
}

void Server::Close(Connection* c) {
  {
    std::lock_guard<std::mutex> lk(conns_mu_);
    conns_.erase(c);
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  delete c;
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
  if (listener_.fd >= 0) ::close(listener_.fd);
  listener_.fd = -1;

  // Replies already made still go out, within a bound.
  std::vector<Connection*> left;
  {
    std::lock_guard<std::mutex> lk(conns_mu_);
    left.assign(conns_.begin(), conns_.end());
  }
  const Clock::time_point deadline = Clock::now() + kDrainLimit;
  for (Connection* c : left) {
    while (c->pending() && Clock::now() < deadline) {
      if (!c->Flush()) break;
      if (!c->pending()) break;
      pollfd p{c->fd, POLLOUT, 0};
      const auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      ::poll(&p, 1, static_cast<int>(std::max<long long>(1, left_ms)));
    }
    Close(c);
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  stop_fd_ = epoll_fd_ = -1;
}

}  // namespace toolgate::server
