#include "hooks/hook_front.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/daemon_client.h"
#include "sandbox/forward.h"
#include "toolgate/daemon_protocol.h"
#include "util/utf8.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;

// A string member of a daemon reply, or fallback when it is missing or of
// another type: the reply comes off a socket, and json::value would throw on
// a wrong type (an "internal error" deny instead of the daemon's answer).
std::string StringMember(const json& o, const char* key, const std::string& fallback) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The human-readable reasons of a daemon decision (ToJson(Decision) form).
std::string HumanFromJson(const json& d) {
  std::string out = StringMember(d, "verdict", "deny") + " (agent " + StringMember(d, "agent_id", "-") +
                    ", profile " + StringMember(d, "profile", "-") + ", via daemon)";
  if (const auto r = d.find("reasons"); r != d.end() && r->is_array()) {
    for (const json& f : *r) {
      if (!f.is_object()) continue;
      out += "\n  " + StringMember(f, "verdict", "?") + " " + StringMember(f, "subject", "?") + " " +
             StringMember(f, "target", {});
      if (const auto g = f.find("grant"); g != f.end() && g->is_object()) {
        out += " <- " + StringMember(*g, "id", "?") + " (" + StringMember(*g, "file", {}) + ":" +
               StringMember(*g, "json_path", {}) + ")";
      } else if (const auto rule = f.find("rule"); rule != f.end() && rule->is_object()) {
        out += " <- rule " + StringMember(*rule, "id", "?");
      }
      if (f.contains("note") && f["note"].is_string()) out += " [" + f["note"].get<std::string>() + "]";
    }
  }
  return out;
}

}  // namespace

HookAnswer DenyAnswer(const std::string& reason) {
  HookAnswer a;
  a.verdict = Verdict::kDeny;
  a.reason_for_model = reason;
  a.reason_for_human = reason;
  return a;
}

HookRun FailedRun(Client client, const std::string& reason) {
  HookRun run;
  run.client = client;
  HookContext unreadable;
  unreadable.input_unreadable = true;
  unreadable.client = client;
  const Adapter* adapter = AdapterFor(client);
  if (adapter == nullptr) adapter = &ClaudeAdapter();  // exit 2 + stderr: a block for most clients
  run.answer = DenyAnswer(reason);
  run.output = adapter->Render(unreadable, run.answer);
  return run;
}

HookRun FailedRun(Client client, const Error& error) { return FailedRun(client, FailureReason(error)); }

ReadHook ReadHookInput(std::string_view input, const HookOptions& options) {
  ReadHook read;
  Result<json> doc = ParseUntrustedJson(input, {kMaxHookInputBytes, kMaxHookInputDepth});
  if (!doc) {
    read.failed = FailedRun(options.client, doc.error());
    return read;
  }
  const Client client = options.client != Client::kUnknown ? options.client : DetectClient(*doc);
  const Adapter* adapter = AdapterFor(client);
  if (adapter == nullptr) {
    read.failed =
        FailedRun(client, Error{ErrorCode::kUnsupportedFormat, "the input is in no hook format toolgate knows", "/"});
    return read;
  }
  Result<ParsedHook> parsed = adapter->Parse(*doc);
  if (!parsed) {
    read.failed = FailedRun(client, parsed.error());
    return read;
  }
  if (parsed->calls.empty()) {
    read.failed = FailedRun(client, Error{ErrorCode::kMissingField, "the input names no tool call to judge", "/"});
    return read;
  }
  for (ToolCall& call : parsed->calls) {
    if (options.agent) call.agent_id = *options.agent;
    if (options.session) call.session_id = *options.session;
  }
  read.client = client;
  read.adapter = adapter;
  read.parsed = std::move(*parsed);
  return read;
}

std::optional<HookAnswer> AnswerViaDaemon(const HookOptions& options, const std::vector<ToolCall>& calls,
                                          bool headless) {
  if (!options.use_daemon) return std::nullopt;
  const std::string path = options.socket_path.empty() ? DefaultSocketPath() : options.socket_path;
  DaemonAnswer d = DecideViaDaemon(path, calls, options.daemon_timeout, headless);
  if (d.status == DaemonAnswer::Status::kUnavailable) return std::nullopt;
  if (d.status == DaemonAnswer::Status::kFailed) {
    return DenyAnswer("toolgate could not judge this call, so it is blocked: " + d.error.message + " (" +
                      d.error.location + ")");
  }
  return AnswerFromDecisions(options, calls, d.decisions, d.shell_sandboxed);
}

HookAnswer AnswerFromDecisions(const HookOptions& options, const std::vector<ToolCall>& calls,
                               const std::vector<const Decision*>& decisions, const std::vector<bool>& shell_sandboxed) {
  // What AnswerFromDecisions makes of these decisions' ToJson(Decision, false)
  // objects, read from the Decisions themselves (the daemon's hook op has
  // them); tests/tools/hook_op_test.sh holds both paths to the same bytes.
  std::size_t worst = 0;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    if (decisions[i]->verdict > decisions[worst]->verdict) worst = i;
  }
  const Decision& w = *decisions[worst];
  HookAnswer answer;
  answer.verdict = w.verdict;
  answer.reason_for_model = w.MessageForModel();
  answer.reason_for_human = std::string(VerdictName(w.verdict)) + " (agent " + SanitizeUtf8(w.agent_id) + ", profile " +
                            w.profile + ", via daemon)";
  for (const Finding* f : w.Reasons()) {
    answer.reason_for_human += std::string("\n  ") + VerdictName(f->verdict) + " " + SubjectName(f->subject) + " " +
                               SanitizeUtf8(f->target);
    if (f->grant != nullptr) {
      answer.reason_for_human +=
          " <- " + f->grant->id + " (" + f->grant->file + ":" + f->grant->json_path + ")";
    } else if (f->rule != nullptr) {
      answer.reason_for_human += " <- rule " + f->rule->id;
    }
    if (!f->note.empty()) answer.reason_for_human += " [" + SanitizeUtf8(f->note) + "]";
  }
  ForwardIntoSandbox(options, shell_sandboxed[worst], w.profile, calls, &answer);
  SetContext(decisions, &answer);
  return answer;
}

HookAnswer AnswerFromDecisions(const HookOptions& options, const std::vector<ToolCall>& calls,
                               const std::vector<json>& decisions, const std::vector<bool>& shell_sandboxed) {
  std::size_t worst = 0;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    if (*VerdictFromName(decisions[i]["verdict"].get<std::string>()) >
        *VerdictFromName(decisions[worst]["verdict"].get<std::string>())) {
      worst = i;
    }
  }
  const json& w = decisions[worst];
  HookAnswer answer;
  answer.verdict = *VerdictFromName(w["verdict"].get<std::string>());
  answer.reason_for_model = StringMember(w, "message", {});
  answer.reason_for_human = HumanFromJson(w);
  // The daemon judged with its policy, and says with the decision whether
  // that policy runs this agent's shell commands sandboxed.
  ForwardIntoSandbox(options, shell_sandboxed[worst], StringMember(w, "profile", {}), calls, &answer);
  // The rules' context lines of every call, as the daemon sent them ("context": [{rule, text}]).
  std::vector<ContextLine> lines;
  for (const json& d : decisions) {
    const auto c = d.find("context");
    if (c == d.end() || !c->is_array()) continue;
    for (const json& line : *c) {
      if (!line.is_object()) continue;
      const auto text = line.find("text");
      if (text != line.end() && text->is_string()) lines.push_back(ContextLine{StringMember(line, "rule", {}), text->get<std::string>()});
    }
  }
  if (!lines.empty()) answer.additional_context = ContextText(lines);
  return answer;
}

void SetContext(const std::vector<const Decision*>& decisions, HookAnswer* answer) {
  std::vector<ContextLine> lines;
  for (const Decision* d : decisions) lines.insert(lines.end(), d->context.begin(), d->context.end());
  if (!lines.empty()) answer->additional_context = ContextText(lines);
}

void ForwardIntoSandbox(const HookOptions& options, bool shell_sandboxed, const std::string& profile,
                        const std::vector<ToolCall>& calls, HookAnswer* answer) {
  if (answer->verdict != Verdict::kAllow || calls.size() != 1 || calls[0].tool_name != "Bash") return;
  if (!shell_sandboxed) return;
  const ToolCall& call = calls[0];
  sandbox::ForwardOptions fo;
  fo.toolgate_path = options.toolgate_path;
  fo.policy_path = options.policy_path;
  fo.session_id = call.session_id;
  fo.phase = call.phase;
  if (!options.log_path.empty()) {
    // The proxy's connection decisions go beside the hook's log, in a chain
    // of their own (DIR/egress/egress.jsonl): one process holds a log file at
    // a time, and `toolgate log verify DIR` checks one chain per directory.
    struct stat st {};
    const bool is_dir = ::stat(options.log_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    std::string dir = is_dir ? options.log_path : options.log_path.substr(0, options.log_path.rfind('/') + 1);
    if (dir.empty()) dir = ".";
    char resolved[PATH_MAX];
    if (::realpath(dir.c_str(), resolved) == nullptr) {
      *answer = DenyAnswer("toolgate blocked this call: the decision log directory " + dir + " cannot be resolved");
      return;
    }
    fo.log_dir = std::string(resolved) + "/egress";
    if (::mkdir(fo.log_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      *answer = DenyAnswer("toolgate blocked this call: cannot create " + fo.log_dir + " for the sandbox's egress log");
      return;
    }
  }
  if (!call.agent_id.empty()) {
    fo.agent_id = call.agent_id;
  } else {
    fo.profile = profile;
  }
  std::optional<json> wrapped = sandbox::SandboxedToolInput(call.tool_input, fo);
  if (!wrapped) {
    *answer = DenyAnswer("toolgate blocked this call: the profile runs shell commands in the sandbox, and this "
                         "command could not be forwarded into it safely");
    return;
  }
  answer->updated_input = std::move(*wrapped);
  answer->reason_for_human += "\n  forwarded into the sandbox: " + answer->updated_input->value("command", json()).dump();
}

}  // namespace toolgate::hooks
