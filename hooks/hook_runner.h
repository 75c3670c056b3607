// One hook invocation, end to end: the client's stdin bytes in, the bytes to
// print and the exit code out. Every failure on the way (unreadable input, a
// policy that does not load, a daemon that times out or answers garbage, an
// audit log that cannot be written, an exception) is a deny in the client's
// dialect whose reason says what failed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hooks/adapter.h"
#include "hooks/hook_front.h"
#include "toolgate/policy.h"

namespace toolgate::hooks {

HookRun RunHook(std::string_view input, const HookOptions& options);

}  // namespace toolgate::hooks
