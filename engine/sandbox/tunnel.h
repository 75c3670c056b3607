// Moving bytes both ways between two connected sockets until both sides
// are done. splice(2) through a pipe per direction keeps the data in the
// kernel (no copy into user space); where a socket type does not support
// splice, that direction falls back to read/write through a 256 KiB buffer.
// Half-closes are forwarded (EOF from one side shuts down writing to the
// other), so request/response protocols that close their sending side work.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace toolgate::sandbox {

struct RelayStats {
  std::uint64_t a_to_b = 0;
  std::uint64_t b_to_a = 0;
};

enum class RelayEnd {
  kClosed,   // both directions reached EOF and were flushed
  kIdle,     // nothing moved for idle_timeout
  kStopped,  // stop_fd became readable
  kError,    // a socket failed (reset, EPIPE, ...)
};

const char* RelayEndName(RelayEnd end);

// The two pipes of a relay, kept by a connection thread from one tunnel to
// the next so that opening a tunnel does not create and size two pipes.
// A pipe is handed back only when it is provably empty (the relay moved out
// everything it moved in, and FIONREAD says 0), so no byte of one tunnel can
// reach the next; otherwise it is closed and the next relay makes a new one.
class RelayPipes {
 public:
  RelayPipes() = default;
  ~RelayPipes();
  RelayPipes(const RelayPipes&) = delete;
  RelayPipes& operator=(const RelayPipes&) = delete;

  // Takes pipe i (0 or 1) out of the cache: true with the fds and capacity set, false when none is kept.
  bool Take(int i, int* r, int* w, std::size_t* capacity);
  // Keeps the pipe when it is empty, else closes it.
  void Give(int i, int r, int w, std::size_t capacity);

 private:
  int r_[2] = {-1, -1};
  int w_[2] = {-1, -1};
  std::size_t capacity_[2] = {0, 0};
};

// a and b are made non-blocking. stop_fd (-1 = none) is polled for
// readability and never read. Neither socket is closed here. pipes (may be
// null) supplies the pipes and takes them back.
RelayEnd Relay(int a, int b, std::chrono::milliseconds idle_timeout, int stop_fd, RelayStats* stats,
               RelayPipes* pipes = nullptr);

// Writes all of data to a non-blocking fd, waiting at most timeout in total
// and giving up when stop_fd becomes readable. False on failure.
bool WriteAll(int fd, std::string_view data, std::chrono::milliseconds timeout, int stop_fd);

bool SetNonBlocking(int fd);

// A wait for poll(2): clamped to [0, one day] so no duration overflows its int.
int PollMs(std::chrono::milliseconds wait);

}  // namespace toolgate::sandbox
