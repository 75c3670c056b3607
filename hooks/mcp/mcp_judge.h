// HookJudge: the MCP proxy's judge, deciding each tools/call the way
// `toolgate hook` decides (hooks::JudgeCalls): through the daemon when one
// answers, else in-process, logged with --log before the answer.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "hooks/hook_front.h"
#include "hooks/mcp/mcp_session.h"

namespace toolgate::mcp {

class HookJudge : public McpJudge {
 public:
  // options.load_policy is called at most once per successful load: the
  // policy is kept for the proxy's lifetime (a restart reloads it).
  explicit HookJudge(hooks::HookOptions options);
  HookJudge(const HookJudge&) = delete;  // load_policy refers to this object
  HookJudge& operator=(const HookJudge&) = delete;

  // An ask is a denial: an MCP stdio session has no person to confirm it.
  McpJudgement Judge(const ToolCall& call) override;
  // Needs the policy in this process: with a daemon answering, the daemon's
  // policy may differ from any local one, so nothing is hidden then (the
  // calls are still judged by the daemon).
  bool HidesTool(const std::string& tool_name) override;

  // Loads the policy now when calls will be judged in-process; false (and
  // *error) when it does not load. The proxy refuses to start then.
  bool Preload(std::string* error);

 private:
  std::shared_ptr<const Policy> LocalPolicy(std::string* error);
  bool DaemonAnswers() const;

  hooks::HookOptions options_;
  std::shared_ptr<const Policy> policy_;
};

}  // namespace toolgate::mcp
