#include "audit/wake_counter.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace toolgate::audit {
namespace {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "the futex word must be a plain 32-bit integer");

std::uint32_t* Word(std::atomic<std::uint32_t>* a) { return reinterpret_cast<std::uint32_t*>(a); }

}  // namespace

// Ordering (all seq_cst): a waiter counts itself in waiters_ before it reads
// the value; a bumper changes the value before it reads waiters_. Either the
// bumper sees the waiter and wakes it, or the waiter sees the new value. The
// kernel compares the value again under its own lock before sleeping, so a
// bump between the waiter's read and its sleep is not lost either.
void WakeCounter::Bump() {
  value_.fetch_add(1);
  if (waiters_.load() > 0) {
    ::syscall(SYS_futex, Word(&value_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }
}

void WakeCounter::Wait(std::uint32_t seen) {
  waiters_.fetch_add(1);
  if (value_.load() == seen) {
    ::syscall(SYS_futex, Word(&value_), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
  }
  waiters_.fetch_sub(1);
}

void WakeCounter::WaitFor(std::uint32_t seen, std::chrono::nanoseconds timeout) {
  if (timeout.count() <= 0) return;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000000000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1000000000);
  waiters_.fetch_add(1);
  if (value_.load() == seen) {
    ::syscall(SYS_futex, Word(&value_), FUTEX_WAIT_PRIVATE, seen, &ts, nullptr, 0);
  }
  waiters_.fetch_sub(1);
}

}  // namespace toolgate::audit
