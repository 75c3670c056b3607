// SessionStore: the per-session and per-agent values behind tg.state, shared
// by every worker's Lua state (a rate limit must not depend on which worker
// judged a call). Entries expire; the store is bounded and thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

namespace toolgate::lua {

class SessionStore {
 public:
  using Clock = std::chrono::steady_clock;
  using Value = std::variant<double, std::string, bool>;

  explicit SessionStore(std::size_t max_entries = 100000) : max_entries_(max_entries) {}

  // Adds delta to a number (a missing or expired entry starts at 0 with the
  // given ttl; ttl 0 = never expires). Returns the new value.
  double Increment(const std::string& key, double delta, std::chrono::seconds ttl, Clock::time_point now);
  std::optional<Value> Get(const std::string& key, Clock::time_point now);
  void Set(const std::string& key, Value value, std::chrono::seconds ttl, Clock::time_point now);
  void Clear();
  std::size_t size() const;

  static constexpr std::size_t kMaxValueBytes = 4096;

 private:
  struct Entry {
    Value value;
    Clock::time_point expires;  // time_point::max() = never
  };
  void MakeRoom(Clock::time_point now);

  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::size_t max_entries_;
};

}  // namespace toolgate::lua
