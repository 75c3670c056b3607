#include "server/reload_debounce.h"

#include <algorithm>

namespace toolgate::server {

ReloadDebounce::ReloadDebounce(Clock::duration quiet, Clock::duration max_delay)
    : quiet_(quiet), max_delay_(std::max(quiet, max_delay)) {}

void ReloadDebounce::OnEvent(Clock::time_point now) {
  if (!first_) first_ = now;
  last_ = std::max(last_, now);
}

std::optional<ReloadDebounce::Clock::time_point> ReloadDebounce::Deadline() const {
  if (!first_) return std::nullopt;
  return std::min(last_ + quiet_, *first_ + max_delay_);
}

bool ReloadDebounce::TakeDue(Clock::time_point now) {
  const auto deadline = Deadline();
  if (!deadline || now < *deadline) return false;
  first_.reset();
  last_ = {};
  return true;
}

}  // namespace toolgate::server
