#include "sandbox/forward.h"

#include "util/utf8.h"

namespace toolgate::sandbox {

std::string ShellQuote(std::string_view word) {
  std::string out = "'";
  for (const char c : word) {
    if (c == '\'') out += "'\\''";  // close, an escaped quote, reopen
    else out.push_back(c);
  }
  out += "'";
  return out;
}

namespace {

bool Clean(std::string_view s) {
  return s.find('\0') == std::string_view::npos && FindInvalidUtf8(s) == std::string_view::npos;
}

}  // namespace

std::string WrapCommandForSandbox(std::string_view original_command, const ForwardOptions& o) {
  for (const std::string_view s : {original_command, std::string_view(o.toolgate_path), std::string_view(o.policy_path),
                                   std::string_view(o.agent_id), std::string_view(o.profile), std::string_view(o.shell),
                                   std::string_view(o.session_id), std::string_view(o.log_dir), std::string_view(o.phase)}) {
    if (!Clean(s)) return "";
  }
  if (o.toolgate_path.empty() || o.toolgate_path[0] != '/') return "";
  if (o.shell.empty() || o.shell[0] != '/') return "";
  if (!o.policy_path.empty() && o.policy_path[0] != '/') return "";
  if (!o.log_dir.empty() && o.log_dir[0] != '/') return "";
  std::string out = ShellQuote(o.toolgate_path) + " run";
  if (!o.policy_path.empty()) out += " --policy " + ShellQuote(o.policy_path);
  if (!o.session_id.empty()) out += " --session " + ShellQuote(o.session_id);
  if (!o.phase.empty()) out += " --phase " + ShellQuote(o.phase);
  if (!o.log_dir.empty()) out += " --log " + ShellQuote(o.log_dir);
  if (!o.agent_id.empty()) {
    out += " --agent " + ShellQuote(o.agent_id);
  } else if (!o.profile.empty()) {
    out += " --profile " + ShellQuote(o.profile);
  } else {
    return "";
  }
  out += " -- " + ShellQuote(o.shell) + " -c " + ShellQuote(original_command);
  return out;
}

std::optional<nlohmann::json> SandboxedToolInput(const nlohmann::json& tool_input, const ForwardOptions& o) {
  if (!tool_input.is_object()) return std::nullopt;
  const auto it = tool_input.find("command");
  if (it == tool_input.end()) return std::nullopt;
  nlohmann::json out = tool_input;
  if (it->is_string()) {
    std::string wrapped = WrapCommandForSandbox(it->get<std::string>(), o);
    if (wrapped.empty()) return std::nullopt;
    out["command"] = std::move(wrapped);
    return out;
  }
  if (!it->is_array() || it->empty()) return std::nullopt;
  // The argv form: check every element the way WrapCommandForSandbox checks text.
  ForwardOptions probe = o;
  if (WrapCommandForSandbox("", probe).empty()) return std::nullopt;
  nlohmann::json argv = nlohmann::json::array({o.toolgate_path, "run"});
  if (!o.policy_path.empty()) argv.push_back("--policy"), argv.push_back(o.policy_path);
  if (!o.session_id.empty()) argv.push_back("--session"), argv.push_back(o.session_id);
  if (!o.phase.empty()) argv.push_back("--phase"), argv.push_back(o.phase);
  if (!o.log_dir.empty()) argv.push_back("--log"), argv.push_back(o.log_dir);
  if (!o.agent_id.empty()) argv.push_back("--agent"), argv.push_back(o.agent_id);
  else argv.push_back("--profile"), argv.push_back(o.profile);
  argv.push_back("--");
  for (const nlohmann::json& word : *it) {
    if (!word.is_string() || !Clean(word.get_ref<const std::string&>())) return std::nullopt;
    argv.push_back(word);
  }
  out["command"] = std::move(argv);
  return out;
}

}  // namespace toolgate::sandbox
