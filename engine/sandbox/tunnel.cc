#include "sandbox/tunnel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace toolgate::sandbox {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kPipeBytes = 1 << 20;    // asked for; the kernel may give less (pipe-max-size)
constexpr std::size_t kBufferBytes = 256 << 10;  // read/write fallback
constexpr int kPumpRounds = 16;                  // transfers per wake-up, per direction

// One direction: src -> dst.
struct Direction {
  int src = -1;
  int dst = -1;
  int pipe_r = -1, pipe_w = -1;
  std::size_t capacity = 0;  // of the pipe, or of the buffer
  std::size_t pending = 0;   // bytes in the pipe or buffer, not yet written to dst
  bool src_eof = false;
  bool done = false;         // EOF seen, everything flushed, dst shut down for writing
  bool use_splice = true;
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_off = 0;
  std::uint64_t moved = 0;

  RelayPipes* cache = nullptr;
  int slot = 0;

  ~Direction() {
    if (pipe_r < 0) return;
    if (cache != nullptr && use_splice && pending == 0) {
      cache->Give(slot, pipe_r, pipe_w, capacity);
    } else {
      ::close(pipe_r);
      ::close(pipe_w);
    }
  }

  bool Init(RelayPipes* pipes, int i) {
    cache = pipes;
    slot = i;
    if (cache != nullptr && cache->Take(i, &pipe_r, &pipe_w, &capacity)) return true;
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return FallBack();
    pipe_r = p[0];
    pipe_w = p[1];
    const int size = ::fcntl(pipe_w, F_SETPIPE_SZ, static_cast<int>(kPipeBytes));
    const int actual = size > 0 ? size : ::fcntl(pipe_w, F_GETPIPE_SZ);
    capacity = actual > 0 ? static_cast<std::size_t>(actual) : 65536;
    return true;
  }

  bool FallBack() {
    if (pipe_r >= 0) {
      ::close(pipe_r);
      ::close(pipe_w);
      pipe_r = pipe_w = -1;
    }
    use_splice = false;
    buffer = std::make_unique<char[]>(kBufferBytes);
    capacity = kBufferBytes;
    return true;
  }

  // The fallback buffer is refilled only once it is empty, so its data always starts at buffer_off.
  bool wants_read() const { return !src_eof && (use_splice ? pending < capacity : pending == 0); }
  bool wants_write() const { return pending > 0; }

  // Moves what it can without blocking. readable: poll reported src
  // readable (or hung up), so reading is worth a call; after a read that got
  // less than it asked for, src is drained and is not read again until poll
  // says so (level-triggered, so nothing is missed). progress is set when
  // anything happened; false return means a hard error.
  bool Pump(bool readable, bool* progress) {
    bool may_read = readable;
    for (int round = 0; round < kPumpRounds && !done; ++round) {
      bool moved_now = false;
      if (may_read && wants_read()) {
        ssize_t n;
        const std::size_t asked = use_splice ? capacity - pending : capacity;
        if (use_splice) {
          n = ::splice(src, nullptr, pipe_w, nullptr, asked, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n < 0 && errno == EINVAL && pending == 0 && moved == 0) {
            FallBack();  // this socket type cannot splice: buffer instead
            continue;
          }
        } else {
          buffer_off = 0;
          n = ::read(src, buffer.get(), capacity);
        }
        if (n > 0) {
          pending += static_cast<std::size_t>(n);
          moved_now = true;
          may_read = static_cast<std::size_t>(n) == asked;
        } else if (n == 0) {
          src_eof = true;
          moved_now = true;
        } else if (errno == EAGAIN) {
          may_read = false;
        } else if (errno != EINTR) {
          return false;
        }
      }
      if (wants_write()) {
        ssize_t n;
        if (use_splice) {
          n = ::splice(pipe_r, nullptr, dst, nullptr, pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        } else {
          n = ::send(dst, buffer.get() + buffer_off, pending, MSG_NOSIGNAL);
        }
        if (n > 0) {
          pending -= static_cast<std::size_t>(n);
          moved += static_cast<std::uint64_t>(n);
          if (!use_splice) buffer_off = pending == 0 ? 0 : buffer_off + static_cast<std::size_t>(n);
          moved_now = true;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          return false;
        }
      }
      if (src_eof && pending == 0) {
        ::shutdown(dst, SHUT_WR);  // forward the half-close
        done = true;
        moved_now = true;
      }
      if (!moved_now) break;
      *progress = true;
    }
    return true;
  }
};

}  // namespace

RelayPipes::~RelayPipes() {
  for (int i = 0; i < 2; ++i) {
    if (r_[i] >= 0) ::close(r_[i]);
    if (w_[i] >= 0) ::close(w_[i]);
  }
}

bool RelayPipes::Take(int i, int* r, int* w, std::size_t* capacity) {
  if (r_[i] < 0) return false;
  *r = r_[i];
  *w = w_[i];
  *capacity = capacity_[i];
  r_[i] = w_[i] = -1;
  return true;
}

void RelayPipes::Give(int i, int r, int w, std::size_t capacity) {
  int queued = -1;
  if (r_[i] >= 0 || ::ioctl(r, FIONREAD, &queued) != 0 || queued != 0) {
    ::close(r);
    ::close(w);
    return;
  }
  r_[i] = r;
  w_[i] = w;
  capacity_[i] = capacity;
}

const char* RelayEndName(RelayEnd end) {
  switch (end) {
    case RelayEnd::kClosed: return "closed";
    case RelayEnd::kIdle: return "idle timeout";
    case RelayEnd::kStopped: return "stopped";
    case RelayEnd::kError: return "error";
  }
  return "error";
}

int PollMs(std::chrono::milliseconds wait) {
  return static_cast<int>(std::clamp<long long>(wait.count(), 0, 24LL * 3600 * 1000));
}

bool SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ((flags & O_NONBLOCK) != 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
}

bool WriteAll(int fd, std::string_view data, std::chrono::milliseconds timeout, int stop_fd) {
  const auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{fd, POLLOUT, 0}, {stop_fd, POLLIN, 0}};
    const int r = ::poll(fds, stop_fd >= 0 ? 2 : 1, PollMs(left));
    if (r < 0 && errno != EINTR) return false;
    if (stop_fd >= 0 && (fds[1].revents & POLLIN) != 0) return false;
  }
  return true;
}

RelayEnd Relay(int a, int b, std::chrono::milliseconds idle_timeout, int stop_fd, RelayStats* stats,
               RelayPipes* pipes) {
  if (!SetNonBlocking(a) || !SetNonBlocking(b)) return RelayEnd::kError;
  Direction ab, ba;
  ab.src = a;
  ab.dst = b;
  ba.src = b;
  ba.dst = a;
  ab.Init(pipes, 0);
  ba.Init(pipes, 1);
  const int idle_ms = PollMs(idle_timeout);
  RelayEnd end = RelayEnd::kClosed;
  bool hup_a = false, hup_b = false;
  int idle_wakeups = 0;
  while (!(ab.done && ba.done)) {
    // A hung-up socket (closed, reset) can only still be read from: data
    // owed to it cannot be delivered, and it is left out of poll once there
    // is nothing to read, or it would wake poll forever.
    if ((hup_a && ba.wants_write()) || (hup_b && ab.wants_write())) {
      end = RelayEnd::kError;
      break;
    }
    pollfd fds[3];
    fds[0] = {hup_a && !ab.wants_read() ? -1 : a,
              static_cast<short>((ab.wants_read() ? POLLIN : 0) | (ba.wants_write() ? POLLOUT : 0)), 0};
    fds[1] = {hup_b && !ba.wants_read() ? -1 : b,
              static_cast<short>((ba.wants_read() ? POLLIN : 0) | (ab.wants_write() ? POLLOUT : 0)), 0};
    fds[2] = {stop_fd, POLLIN, 0};
    const int r = ::poll(fds, stop_fd >= 0 ? 3 : 2, idle_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      end = RelayEnd::kError;
      break;
    }
    if (r == 0) {
      end = RelayEnd::kIdle;
      break;
    }
    if (stop_fd >= 0 && (fds[2].revents & POLLIN) != 0) {
      end = RelayEnd::kStopped;
      break;
    }
    constexpr short kGone = POLLHUP | POLLERR | POLLNVAL;
    hup_a = hup_a || (fds[0].revents & kGone) != 0;
    hup_b = hup_b || (fds[1].revents & kGone) != 0;
    bool progress = false;
    constexpr short kReadable = POLLIN | POLLHUP | POLLERR;
    if (!ab.Pump((fds[0].revents & kReadable) != 0, &progress) ||
        !ba.Pump((fds[1].revents & kReadable) != 0, &progress)) {
      end = RelayEnd::kError;
      break;
    }
    // Bounded: a socket that keeps reporting readiness without moving a
    // byte must not spin this thread forever.
    idle_wakeups = progress ? 0 : idle_wakeups + 1;
    if (idle_wakeups > 1000) {
      end = RelayEnd::kError;
      break;
    }
  }
  if (stats != nullptr) {
    stats->a_to_b = ab.moved;
    stats->b_to_a = ba.moved;
  }
  return end;
}

}  // namespace toolgate::sandbox
