// Moving bytes both ways between two connected sockets until both sides
// are done. splice(2) through a pipe per direction keeps the data in the
// kernel (no copy into user space); where a socket type does not support
// splice, that direction falls back to read/write through a 256 KiB buffer.
// Half-closes are forwarded (EOF from one side shuts down writing to the
// other), so request/response protocols that close their sending side work.
#pragma once

#include <chrono>
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

// a and b are made non-blocking. stop_fd (-1 = none) is polled for
// readability and never read. Neither socket is closed here.
RelayEnd Relay(int a, int b, std::chrono::milliseconds idle_timeout, int stop_fd, RelayStats* stats);

// Writes all of data to a non-blocking fd, waiting at most timeout in total
// and giving up when stop_fd becomes readable. False on failure.
bool WriteAll(int fd, std::string_view data, std::chrono::milliseconds timeout, int stop_fd);

bool SetNonBlocking(int fd);

// A wait for poll(2): clamped to [0, one day] so no duration overflows its int.
int PollMs(std::chrono::milliseconds wait);

}  // namespace toolgate::sandbox
