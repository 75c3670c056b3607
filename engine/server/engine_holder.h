// The daemon's current engine, swapped whole on a policy reload. Requests take
// a reference for the duration of their batch, so a reload never changes the
// policy under a decision in progress.
#pragma once

#include <memory>
#include <mutex>

#include "toolgate/engine.h"
#include "toolgate/policy.h"

namespace toolgate::server {

class EngineHolder {
 public:
  explicit EngineHolder(std::shared_ptr<const Policy> policy);
  std::shared_ptr<const Engine> Current() const;
  void Replace(std::shared_ptr<const Policy> policy);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Engine> engine_;
};

}  // namespace toolgate::server
