#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "toolgate/default_policy.h"

using namespace toolgate;

TEST_CASE("the embedded default policy is rules/examples/default.json, byte for byte") {
  const char* root = std::getenv("TOOLGATE_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  std::ifstream in(std::string(root) + "/rules/examples/default.json", std::ios::binary);
  REQUIRE(in);
  std::stringstream file;
  file << in.rdbuf();
  CHECK(DefaultPolicyText() == file.str());
}

TEST_CASE("LoadDefaultPolicy loads it under its source name, with load options") {
  PolicyLoadResult r = LoadDefaultPolicy();
  REQUIRE(r.ok());
  CHECK(r.policy->source() == kDefaultPolicySource);
  CHECK(r.policy->settings().home == "/home/dev");
  CHECK(r.policy->ProfileNamed("developer") != nullptr);

  PolicyLoadOptions options;
  options.home = "/home/other";
  PolicyLoadResult other = LoadDefaultPolicy(options);
  REQUIRE(other.ok());
  CHECK(other.policy->settings().home == "/home/other");
  CHECK(other.policy->digest() == r.policy->digest());  // the bytes, not the options
}
