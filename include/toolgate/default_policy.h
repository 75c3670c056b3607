// The embedded default policy: rules/examples/default.json compiled into
// libtoolgate, so the CLI and programs embedding the library can judge calls
// without any file on disk.
#pragma once

#include <string_view>

#include "toolgate/policy.h"

namespace toolgate {

// The name decisions and diagnostics give the embedded policy as its file.
inline constexpr std::string_view kDefaultPolicySource = "rules/examples/default.json";

// The policy's bytes, exactly as in the source tree when the library was built.
std::string_view DefaultPolicyText();

// LoadPolicyText(DefaultPolicyText(), kDefaultPolicySource, options).
PolicyLoadResult LoadDefaultPolicy(const PolicyLoadOptions& options = {});

}  // namespace toolgate
