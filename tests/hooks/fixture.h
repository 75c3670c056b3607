// Shared helpers of the hook tests: recorded client inputs and the example policy.
#pragma once

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "toolgate/policy.h"

namespace hooks_test {

inline std::string SourceRoot() {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  return root != nullptr ? root : ".";
}

inline std::string ReadFixture(const std::string& name) {
  std::ifstream in(SourceRoot() + "/tests/hooks/fixtures/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json FixtureJson(const std::string& name) { return nlohmann::json::parse(ReadFixture(name)); }

inline std::shared_ptr<const toolgate::Policy> DefaultPolicy() {
  static std::shared_ptr<const toolgate::Policy> policy =
      toolgate::LoadPolicyFile(SourceRoot() + "/rules/examples/default.json").policy;
  return policy;
}

}  // namespace hooks_test
