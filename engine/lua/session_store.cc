#include "lua/session_store.h"

#include <algorithm>

namespace toolgate::lua {
namespace {

SessionStore::Clock::time_point Expiry(std::chrono::seconds ttl, SessionStore::Clock::time_point now) {
  return ttl.count() <= 0 ? SessionStore::Clock::time_point::max() : now + ttl;
}

}  // namespace

void SessionStore::MakeRoom(Clock::time_point now) {
  if (entries_.size() < max_entries_) return;
  std::erase_if(entries_, [now](const auto& kv) { return kv.second.expires <= now; });
  if (entries_.size() < max_entries_) return;
  // Still full: drop the entry closest to expiry (never-expiring ones last).
  auto victim = std::min_element(entries_.begin(), entries_.end(),
                                 [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
  entries_.erase(victim);
}

double SessionStore::Increment(const std::string& key, double delta, std::chrono::seconds ttl, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && (it->second.expires <= now || !std::holds_alternative<double>(it->second.value))) {
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    MakeRoom(now);
    it = entries_.emplace(key, Entry{0.0, Expiry(ttl, now)}).first;
  }
  double& v = std::get<double>(it->second.value);
  v += delta;
  return v;
}

std::optional<SessionStore::Value> SessionStore::Get(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.value;
}

void SessionStore::Set(const std::string& key, Value value, std::chrono::seconds ttl, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    MakeRoom(now);
    entries_.emplace(key, Entry{std::move(value), Expiry(ttl, now)});
  } else {
    it->second = Entry{std::move(value), Expiry(ttl, now)};
  }
}

void SessionStore::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

std::size_t SessionStore::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace toolgate::lua
