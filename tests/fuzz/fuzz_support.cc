#include "fuzz_support.h"

#include <spdlog/spdlog.h>

namespace toolgate::fuzz {

std::string SourceRoot() {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  return root != nullptr && *root != '\0' ? root : TOOLGATE_FUZZ_SOURCE_ROOT;
}

std::shared_ptr<const Policy> ExamplePolicy() {
  static const std::shared_ptr<const Policy> policy = [] {
    PolicyLoadResult r = LoadPolicyFile(SourceRoot() + "/rules/examples/default.json");
    if (!r.ok()) {
      std::fprintf(stderr, "fuzz: rules/examples/default.json does not load (set TOOLGATE_SOURCE_ROOT)\n");
      std::abort();
    }
    return r.policy;
  }();
  return policy;
}

void QuietLogs() {
  static const bool done = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)done;
}

}  // namespace toolgate::fuzz
