// ask_fallback: what an "ask" becomes where no human can be asked.
//
// Some callers cannot put a question to a person: Codex and Gemini CLI hooks,
// Cursor's beforeReadFile, a headless C API caller or daemon client, the MCP
// proxy. There an ask follows the policy's "ask_fallback" ("deny" by
// default, or "allow"; a profile may set its own, inherited through extends).
// The decision then says so in its reasons, so the model, the human and the
// decision log all see that the ask fell back and to what.
#pragma once

#include <string_view>

#include "toolgate/decision.h"
#include "toolgate/policy.h"

namespace toolgate {

// The verdict alone: kAsk becomes policy.AskFallbackFor(profile); allow and
// deny are returned unchanged.
Verdict ApplyAskFallback(const Policy& policy, std::string_view profile, Verdict verdict);

// The whole decision: when its verdict is ask, it becomes the fallback
// verdict, and one finding (subject "call", with that verdict) is added whose
// note says the ask fell back, why, and what was asked. The original ask
// findings stay in the decision. Returns true when the decision changed.
// Call it before the decision is logged or answered.
bool ApplyAskFallback(const Policy& policy, Decision* decision);

}  // namespace toolgate
