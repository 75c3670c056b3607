#include "server/engine_holder.h"

#include <cassert>

namespace toolgate::server {

EngineHolder::EngineHolder(std::shared_ptr<const Policy> policy, std::shared_ptr<StateStore> state)
    : state_(state ? std::move(state) : std::shared_ptr<StateStore>(StateStore::InMemory())),
      engine_(std::make_shared<const Engine>(std::move(policy), state_)) {}

std::shared_ptr<const Engine> EngineHolder::Current() const {
  std::lock_guard<std::mutex> lk(mu_);
  return engine_;
}

void EngineHolder::Replace(std::shared_ptr<const Policy> policy) {
  assert(policy != nullptr);
  // Built outside the lock: requests keep using the old engine meanwhile.
  auto next = std::make_shared<const Engine>(std::move(policy), state_);
  std::lock_guard<std::mutex> lk(mu_);
  engine_.swap(next);
}

}  // namespace toolgate::server
