// Resource limits of the sandboxed process tree, computed before fork and
// applied by the child (setrlimit is async-signal-safe).
#pragma once

#include <sys/resource.h>

#include <array>

#include "toolgate/sandbox_profile.h"

namespace toolgate::sandbox {

struct RlimitPlan {
  struct Item {
    int resource;
    rlim_t value;
  };
  std::array<Item, 6> items{};
  int count = 0;
};

RlimitPlan PlanRlimits(const SandboxLimits& limits);

// 0, or -errno of the first failure. Limits are only ever lowered: the
// sandbox cannot raise a hard limit the launcher already had.
int ApplyRlimits(const RlimitPlan& plan);

}  // namespace toolgate::sandbox
