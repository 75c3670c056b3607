// A counter threads sleep on until it changes: the audit writer's waiters
// (appends waiting for their write or their fdatasync) sleep on one.
//
// std::atomic::wait (libstdc++ 12) spins first and then calls sched_yield a
// few times on every wait before it sleeps. With more appenders than cores,
// as in a daemon or a bench with 16 threads on 2 cores, each yield switches
// to another runnable thread: the log spent more CPU on those switches than
// on building records. This sleeps in the kernel at once (a futex), and a
// bump makes the wake-up system call only when some thread is waiting.
#pragma once

#include <atomic>
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

 private:
  std::atomic<std::uint32_t> value_{0};
  std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace toolgate::audit
