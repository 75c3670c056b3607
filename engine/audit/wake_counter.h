// A counter threads sleep on until it changes: appends waiting for the
// fdatasync that covers their record sleep on one.
//
// std::atomic::wait (libstdc++ 12) spins first and then calls sched_yield a
// few times on every wait before it sleeps. A sync takes a millisecond or
// more, so for its waiters those yields are only context switches (with more
// appenders than cores, each one runs another thread), and the log spent more
// CPU on them than on building records. This sleeps in the kernel at once (a
// futex), and a bump makes the wake-up system call only when a thread waits.
// Appends that wait only for their write(2) keep std::atomic::wait: a write
// ends within microseconds, and yielding to the writer often lets it finish
// before the waiter would have to sleep (measured: less CPU per record).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace toolgate::audit {

class WakeCounter {
 public:
  std::uint32_t load() const { return value_.load(); }
  // Increments the counter and wakes every thread sleeping in Wait.
  void Bump();
  // Sleeps while the counter still equals seen. May return early (a signal,
  // a spurious wake-up): callers re-check their condition in a loop.
  void Wait(std::uint32_t seen);
  // The same, sleeping at most timeout (a relative futex timeout).
  void WaitFor(std::uint32_t seen, std::chrono::nanoseconds timeout);

 private:
  std::atomic<std::uint32_t> value_{0};
  std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace toolgate::audit
