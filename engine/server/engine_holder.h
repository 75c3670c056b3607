// The daemon's current engine, swapped whole on a policy reload. Requests take
// a reference for the duration of their batch, so a reload never changes the
// policy under a decision in progress. Every engine it builds shares one
// state store, so tg.state's counters outlive a reload.
#pragma once

#include <memory>
#include <mutex>

#include "toolgate/engine.h"
#include "toolgate/policy.h"
#include "toolgate/state_store.h"

namespace toolgate::server {

class EngineHolder {
 public:
  // state null: an in-memory store, kept across reloads.
  explicit EngineHolder(std::shared_ptr<const Policy> policy, std::shared_ptr<StateStore> state = nullptr);
  std::shared_ptr<const Engine> Current() const;
  void Replace(std::shared_ptr<const Policy> policy);
  const std::shared_ptr<StateStore>& state() const { return state_; }

 private:
  std::shared_ptr<StateStore> state_;
  mutable std::mutex mu_;
  std::shared_ptr<const Engine> engine_;
};

}  // namespace toolgate::server
