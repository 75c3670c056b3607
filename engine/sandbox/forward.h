// Forwarding approved shell calls into the sandbox: when a profile's sandbox
// says "shell": "sandboxed", the hook answers allow with a rewritten command
// that runs the original inside `toolgate run`. The original is passed as
// one single-quoted word, so nothing in it (quotes, newlines, $(...),
// backticks, globs) is ever interpreted by the outer shell.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace toolgate {
class Policy;
}

namespace toolgate::sandbox {

struct ForwardOptions {
  std::string toolgate_path;  // absolute path of the toolgate binary
  std::string policy_path;    // absolute; empty: the embedded default policy (then --profile is used)
  std::string agent_id;       // with policy_path
  std::string profile;        // used when agent_id is empty
  std::string shell = "/bin/bash";
  std::string session_id;     // passed as --session: recorded with the egress proxy's decisions
  std::string phase;          // passed as --phase: the sandbox of that task phase, its credentials
  std::string log_dir;        // absolute; passed as --log: the proxy's decisions go to DIR/egress.jsonl
};

// `'/abs/toolgate' run --policy 'P' --agent 'A' -- '/bin/bash' -c '<original>'`.
// Returns "" (refuse: the caller must deny the call) when the command or an
// option contains a NUL byte or invalid UTF-8, a path is not absolute, or
// neither agent nor profile is given.
std::string WrapCommandForSandbox(std::string_view original_command, const ForwardOptions& options);

// Single-quotes one word for POSIX shells: 'it'\''s'.
std::string ShellQuote(std::string_view word);

// The tool input a hook answers with (Claude Code / Codex `updatedInput`,
// Copilot `modifiedArgs`, Gemini `hookSpecificOutput.tool_input`): a copy of
// tool_input whose "command" runs inside `toolgate run`, every other key kept.
// A string command is wrapped with WrapCommandForSandbox; an argv array
// (["bash", "-lc", "..."]) becomes [toolgate, "run", ..., "--", argv...], so
// nothing is re-quoted. nullopt (deny the call) when there is no usable
// "command" or wrapping refuses.
std::optional<nlohmann::json> SandboxedToolInput(const nlohmann::json& tool_input, const ForwardOptions& options);

// True when the agent's profile says shell commands run sandboxed.
bool ProfileRunsShellSandboxed(const Policy& policy, std::string_view agent_id);

}  // namespace toolgate::sandbox
