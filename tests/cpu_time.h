// Bounds on how much work the code under test does, measured in this
// thread's CPU time: a wall-clock bound also counts the time the thread waits
// for a CPU, and fails on a loaded machine for reasons that are not the
// code's. The sanitizer build (ASan + UBSan at -O1) runs the same code several
// times slower, so bounds stretch there by kSanitizerSlowdown.
#pragma once

#include <chrono>
#include <ctime>

namespace toolgate::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerSlowdown = 8;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr int kSanitizerSlowdown = 8;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

// A bound as written for the normal build, stretched in the sanitizer build.
template <typename Rep, typename Period>
constexpr std::chrono::nanoseconds Bound(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d) * kSanitizerSlowdown;
}

// CPU time this thread has used since the timer was made.
class CpuTimer {
 public:
  CpuTimer() : start_(Now()) {}
  std::chrono::nanoseconds elapsed() const { return Now() - start_; }

 private:
  static std::chrono::nanoseconds Now() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  }
  std::chrono::nanoseconds start_;
};

}  // namespace toolgate::testing
