#include "sandbox/rlimits.h"

#include <cerrno>

namespace toolgate::sandbox {

RlimitPlan PlanRlimits(const SandboxLimits& limits) {
  RlimitPlan plan;
  const auto add = [&plan](int resource, rlim_t value) { plan.items[plan.count++] = {resource, value}; };
  constexpr rlim_t kMiB = 1024 * 1024;
  add(RLIMIT_CPU, static_cast<rlim_t>(limits.cpu_s));
  add(RLIMIT_AS, static_cast<rlim_t>(limits.memory_mb) * kMiB);
  add(RLIMIT_NPROC, static_cast<rlim_t>(limits.processes));
  add(RLIMIT_FSIZE, static_cast<rlim_t>(limits.file_size_mb) * kMiB);
  add(RLIMIT_NOFILE, static_cast<rlim_t>(limits.open_files));
  add(RLIMIT_CORE, 0);  // a core dump could write a secret-bearing memory image anywhere writable
  return plan;
}

int ApplyRlimits(const RlimitPlan& plan) {
  for (int i = 0; i < plan.count; ++i) {
    rlimit current{};
    if (::getrlimit(plan.items[i].resource, &current) != 0) return -errno;
    rlim_t value = plan.items[i].value;
    if (current.rlim_max != RLIM_INFINITY && value > current.rlim_max) value = current.rlim_max;
    const rlimit next{value, value};
    if (::setrlimit(plan.items[i].resource, &next) != 0) return -errno;
  }
  return 0;
}

}  // namespace toolgate::sandbox
