// The shim's side of the daemon protocol (docs: PROTOCOL.md, version 1): send
// each call as {"v":1,"id":N,"op":"decide","call":ToJson(call)} on one line
// and read one reply line per request, all within one deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/result.h"
#include "toolgate/tool_call.h"

namespace toolgate::hooks {

struct DaemonAnswer {
  enum class Status {
    kAnswered,     // decisions holds one verdict-checked decision object per call
    kUnavailable,  // no socket there, or nobody listening: judge in-process
    kFailed,       // it was there and did not answer properly: deny (error says why)
  };
  Status status = Status::kFailed;
  std::vector<nlohmann::json> decisions;
  // Per decision: the reply said "shell_sandboxed": true (the daemon's policy
  // runs this agent's shell commands inside `toolgate run`).
  std::vector<bool> shell_sandboxed;
  Error error;
};

inline constexpr std::size_t kMaxDaemonReplyBytes = (1u << 20) + 4096;

// Never throws, never blocks past `timeout` (connect, write and read included).
// headless: the client cannot ask a human, so the daemon applies the policy's
// ask_fallback to each decision (the request's "headless": true).
DaemonAnswer DecideViaDaemon(const std::string& socket_path, const std::vector<ToolCall>& calls,
                             std::chrono::milliseconds timeout, bool headless = false);

}  // namespace toolgate::hooks
