// When a burst of file-change events becomes one policy reload. An editor's
// save is several events (write a temporary, rename it over, chmod), and a
// plain `>` rewrite is a truncate then writes: reloading on the first event
// would read a half-written file. The reload waits until the files have been
// quiet for `quiet`, but never longer than `max_delay` after the burst began,
// so a file rewritten without pause is still picked up.
#pragma once

#include <chrono>
#include <optional>

namespace toolgate::server {

class ReloadDebounce {
 public:
  using Clock = std::chrono::steady_clock;

  ReloadDebounce(Clock::duration quiet, Clock::duration max_delay);

  // One event at `now`: starts a burst or extends the current one.
  void OnEvent(Clock::time_point now);

  // When the pending burst is due for a reload; nullopt when none is pending.
  std::optional<Clock::time_point> Deadline() const;

  // True once `now` reaches the deadline; the burst is then consumed, so the
  // next event starts a new one.
  bool TakeDue(Clock::time_point now);

 private:
  Clock::duration quiet_;
  Clock::duration max_delay_;
  std::optional<Clock::time_point> first_;  // the burst's first event
  Clock::time_point last_{};                // its latest event
};

}  // namespace toolgate::server
