#include "hooks/hook_runner.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <exception>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/daemon_client.h"
#include "toolgate/daemon_protocol.h"
#include "sandbox/forward.h"
#include "toolgate/audit.h"
#include "toolgate/engine.h"

namespace toolgate::hooks {
namespace {

using nlohmann::json;

HookAnswer DenyAnswer(const std::string& reason) {
  HookAnswer a;
  a.verdict = Verdict::kDeny;
  a.reason_for_model = reason;
  a.reason_for_human = reason;
  return a;
}

// The human-readable reasons of a daemon decision (ToJson(Decision) form).
std::string HumanFromJson(const json& d) {
  std::string out = d.value("verdict", std::string("deny")) + " (agent " + d.value("agent_id", std::string("-")) +
                    ", profile " + d.value("profile", std::string("-")) + ", via daemon)";
  if (const auto r = d.find("reasons"); r != d.end() && r->is_array()) {
    for (const json& f : *r) {
      if (!f.is_object()) continue;
      out += "\n  " + f.value("verdict", std::string("?")) + " " + f.value("subject", std::string("?")) + " " +
             f.value("target", std::string());
      if (const auto g = f.find("grant"); g != f.end() && g->is_object()) {
        out += " <- " + g->value("id", std::string("?")) + " (" + g->value("file", std::string()) + ":" +
               g->value("json_path", std::string()) + ")";
      } else if (const auto rule = f.find("rule"); rule != f.end() && rule->is_object()) {
        out += " <- rule " + rule->value("id", std::string("?"));
      }
      if (f.contains("note") && f["note"].is_string()) out += " [" + f["note"].get<std::string>() + "]";
    }
  }
  return out;
}

// Appends every call's record before the answer; a failure turns the answer into a deny.
std::optional<std::string> LogDecisions(const HookOptions& options, const std::vector<ToolCall>& calls,
                                        const std::vector<Decision>& decisions) {
  AuditLogOptions o;
  o.path = options.log_path;
  // A directory holds the log as decisions.jsonl.
  if (struct stat st {}; ::stat(o.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) o.path += "/decisions.jsonl";
  o.signing_key_path = options.log_key_path;
  PeerInfo peer = PeerInfo::CurrentProcess("hook");
  peer.pid = static_cast<std::int64_t>(::getppid());  // the agent client that ran the hook
  auto log = AuditLog::Open(o);
  if (!log) return log.error().message;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (auto r = (*log)->Append(calls[i], decisions[i], peer); !r) return r.error().message;
  }
  if (auto e = (*log)->Close()) return e->message;
  return std::nullopt;
}

// An allowed shell call whose profile runs shell commands sandboxed is
// answered with its command wrapped in `toolgate run`, so the kernel enforces
// the same grants. A command that cannot be wrapped safely (NUL, invalid
// UTF-8, no absolute toolgate path) is denied rather than run unwrapped.
void ForwardIntoSandbox(const HookOptions& options, const Policy& policy, const std::vector<ToolCall>& calls,
                        HookAnswer* answer) {
  if (answer->verdict != Verdict::kAllow || calls.size() != 1 || calls[0].tool_name != "Bash") return;
  const ToolCall& call = calls[0];
  if (!sandbox::ProfileRunsShellSandboxed(policy, call.agent_id)) return;
  sandbox::ForwardOptions fo;
  fo.toolgate_path = options.toolgate_path;
  fo.policy_path = options.policy_path;
  fo.session_id = call.session_id;
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
  } else if (policy.ProfileFor("", &fo.profile) == nullptr) {
    fo.profile.clear();
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

HookAnswer JudgeInProcess(const HookOptions& options, const std::vector<ToolCall>& calls) {
  std::string why;
  std::shared_ptr<const Policy> policy = options.load_policy ? options.load_policy(&why) : nullptr;
  if (!policy) {
    return DenyAnswer("toolgate could not judge this call, so it is blocked: the policy failed to load" +
                      (why.empty() ? std::string() : " (" + why + ")"));
  }
  const Engine engine(policy);
  std::vector<Decision> decisions;
  decisions.reserve(calls.size());
  std::size_t worst = 0;
  for (const ToolCall& call : calls) {
    decisions.push_back(engine.Decide(call));
    if (decisions.back().verdict > decisions[worst].verdict) worst = decisions.size() - 1;
  }
  if (!options.log_path.empty()) {
    if (auto failure = LogDecisions(options, calls, decisions)) {
      return DenyAnswer("toolgate blocked this call: the decision could not be written to the audit log (" +
                        *failure + "), and nothing unlogged is allowed");
    }
  }
  const Decision& d = decisions[worst];
  HookAnswer a;
  a.verdict = d.verdict;
  a.reason_for_model = d.MessageForModel();
  a.reason_for_human = d.MessageForHuman();
  ForwardIntoSandbox(options, *policy, calls, &a);
  return a;
}

HookRun Run(std::string_view input, const HookOptions& options) {
  HookRun run;
  HookContext unreadable;
  unreadable.input_unreadable = true;
  const auto fail = [&](Client client, const Error& error) {
    run.client = client;
    unreadable.client = client;
    const Adapter* adapter = AdapterFor(client);
    if (adapter == nullptr) adapter = &ClaudeAdapter();  // exit 2 + stderr: a block for most clients
    run.answer = DenyAnswer(FailureReason(error));
    run.output = adapter->Render(unreadable, run.answer);
    return run;
  };

  Result<json> doc = ParseUntrustedJson(input, {kMaxHookInputBytes, kMaxHookInputDepth});
  if (!doc) return fail(options.client, doc.error());
  const Client client = options.client != Client::kUnknown ? options.client : DetectClient(*doc);
  const Adapter* adapter = AdapterFor(client);
  if (adapter == nullptr) {
    return fail(client, Error{ErrorCode::kUnsupportedFormat, "the input is in no hook format toolgate knows", "/"});
  }
  Result<ParsedHook> parsed = adapter->Parse(*doc);
  if (!parsed) return fail(client, parsed.error());
  if (parsed->calls.empty()) {
    return fail(client, Error{ErrorCode::kMissingField, "the input names no tool call to judge", "/"});
  }
  run.client = client;
  for (ToolCall& call : parsed->calls) {
    if (options.agent) call.agent_id = *options.agent;
  }

  bool judged = false;
  if (options.use_daemon) {
    const std::string path = options.socket_path.empty() ? DefaultSocketPath() : options.socket_path;
    DaemonAnswer d = DecideViaDaemon(path, parsed->calls, options.daemon_timeout);
    if (d.status == DaemonAnswer::Status::kFailed) {
      run.answer = DenyAnswer("toolgate could not judge this call, so it is blocked: " + d.error.message + " (" +
                              d.error.location + ")");
      run.source = DecisionSource::kDaemon;
      judged = true;
    } else if (d.status == DaemonAnswer::Status::kAnswered) {
      std::size_t worst = 0;
      for (std::size_t i = 0; i < d.decisions.size(); ++i) {
        if (*VerdictFromName(d.decisions[i]["verdict"].get<std::string>()) >
            *VerdictFromName(d.decisions[worst]["verdict"].get<std::string>())) {
          worst = i;
        }
      }
      const json& w = d.decisions[worst];
      run.answer.verdict = *VerdictFromName(w["verdict"].get<std::string>());
      run.answer.reason_for_model = w.value("message", std::string());
      run.answer.reason_for_human = HumanFromJson(w);
      run.source = DecisionSource::kDaemon;
      judged = true;
      // The daemon judged; whether shell commands run sandboxed is read from
      // the policy this hook is configured with (the same file the daemon
      // serves, as `toolgate install` writes it). If it does not load, an
      // allow is not let through unwrapped.
      if (run.answer.verdict == Verdict::kAllow && parsed->calls.size() == 1 && parsed->calls[0].tool_name == "Bash") {
        std::string why;
        std::shared_ptr<const Policy> policy = options.load_policy ? options.load_policy(&why) : nullptr;
        if (!policy) {
          run.answer = DenyAnswer("toolgate could not judge this call, so it is blocked: the policy failed to load" +
                                  (why.empty() ? std::string() : " (" + why + ")"));
        } else {
          ForwardIntoSandbox(options, *policy, parsed->calls, &run.answer);
        }
      }
    }
  }
  if (!judged) {
    run.answer = JudgeInProcess(options, parsed->calls);
    run.source = DecisionSource::kInProcess;
  }
  run.output = adapter->Render(parsed->context, run.answer);
  return run;
}

}  // namespace

HookRun RunHook(std::string_view input, const HookOptions& options) {
  try {
    return Run(input, options);
  } catch (const std::exception& e) {
    HookRun run;
    HookContext ctx;
    ctx.input_unreadable = true;
    const Adapter* adapter = AdapterFor(options.client);
    if (adapter == nullptr) adapter = &ClaudeAdapter();
    run.answer = DenyAnswer(std::string("toolgate could not judge this call, so it is blocked: internal error: ") + e.what());
    run.output = adapter->Render(ctx, run.answer);
    return run;
  } catch (...) {
    HookRun run;
    HookContext ctx;
    ctx.input_unreadable = true;
    const Adapter* adapter = AdapterFor(options.client);
    if (adapter == nullptr) adapter = &ClaudeAdapter();
    run.answer = DenyAnswer("toolgate could not judge this call, so it is blocked: internal error");
    run.output = adapter->Render(ctx, run.answer);
    return run;
  }
}

}  // namespace toolgate::hooks
