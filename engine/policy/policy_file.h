// Reading a policy file from disk, bounded and located.
#pragma once

#include <string>

#include "toolgate/policy.h"

namespace toolgate {

// Reads the whole file into *text. On failure fills *error (kPolicyIo when the
// file cannot be read, kPolicySchema when it is larger than kMaxPolicyBytes)
// and returns false.
bool ReadPolicyFile(const std::string& path, std::string* text, PolicyDiagnostic* error);

}  // namespace toolgate
