// Fuzz target: a client's hook stdin, end to end as `toolgate hook` runs it
// in-process (hooks/hook_runner.cc), once per client dialect and once with the
// client detected from the input's shape: parse (size, UTF-8, depth, then the
// adapter), judge every call with the example policy, forward into the
// sandbox where the profile says so, render the answer. RunHook's catch-all is
// left out on purpose, so an exception on the way is a finding, not a deny.
// Invariants: every rendered stdout is valid JSON, an unreadable input is a deny.
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "hooks/adapter.h"
#include "hooks/hook_front.h"
#include "toolgate/engine.h"
#include "toolgate/tool_call.h"

namespace {

using namespace toolgate;
using namespace toolgate::hooks;

void CheckOutput(const HookOutput& out) {
  if (out.stdout_text.empty()) return;
  FUZZ_CHECK(ParseUntrustedJson(out.stdout_text, {std::size_t{16} << 20, 256}).ok());
}

void RunOne(std::string_view input, Client client) {
  HookOptions options;
  options.client = client;
  options.agent = "claude-dev";
  options.use_daemon = false;
  options.toolgate_path = "/usr/local/bin/toolgate";  // the example's developer profile forwards shell calls
  ReadHook read = ReadHookInput(input, options);
  if (read.adapter == nullptr) {
    FUZZ_CHECK(read.failed.answer.verdict == Verdict::kDeny);
    CheckOutput(read.failed.output);
    return;
  }
  FUZZ_CHECK(!read.parsed.calls.empty());
  static const Engine engine(fuzz::ExamplePolicy());
  Decision worst;
  worst.verdict = Verdict::kAllow;
  for (const ToolCall& call : read.parsed.calls) {
    Decision d = engine.Decide(call);
    if (d.verdict >= worst.verdict) worst = std::move(d);
  }
  HookAnswer answer;
  answer.verdict = worst.verdict;
  answer.reason_for_model = worst.MessageForModel();
  answer.reason_for_human = worst.MessageForHuman();
  ForwardIntoSandbox(options, true, worst.profile, read.parsed.calls, &answer);
  CheckOutput(read.adapter->Render(read.parsed.context, answer));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::QuietLogs();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (Client client : {Client::kUnknown, Client::kClaude, Client::kCopilot, Client::kCodex, Client::kGemini,
                        Client::kCursor}) {
    RunOne(input, client);
  }
  return 0;
}
