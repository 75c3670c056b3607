// The members of a "decision" record: what a security team needs to answer
// who asked for what, what toolgate decided, by which grant, under which policy.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "audit/redaction.h"
#include "toolgate/audit.h"
#include "toolgate/decision.h"
#include "toolgate/tool_call.h"

namespace toolgate::audit {

// A record lists at most this many redactions (and their total when more).
inline constexpr std::size_t kMaxRedactionsListed = 32;

// The record members besides seq/prev_hash/type/time/hash:
//   v, host, agent {id, profile, uid, gid, pid, via}, call (the canonical
//   ToolCall, tool_input redacted), input_sha256, input_invalid_utf8?,
//   redactions?, effects, verdict, message, reasons, rules, error?,
//   policy_digest, latency_ns.
// Every string is valid UTF-8 (invalid sequences become U+FFFD) and every
// string that can carry call text (input, effects, reasons, message, error)
// passes through the redactor.
nlohmann::json DecisionMembers(const ToolCall& call, const Decision& decision, const PeerInfo& peer,
                               const SecretRedactor& redactor, const std::string& host);

// For input that never became a ToolCall: call is null and raw_input holds
// {bytes, prefix} with at most 1024 redacted bytes of the text.
nlohmann::json UnparsedMembers(std::string_view raw_input, const Decision& decision, const PeerInfo& peer,
                               const SecretRedactor& redactor, const std::string& host);

// Copy of value with every key and string made valid UTF-8; *changed is set
// when anything had to be replaced.
nlohmann::json SanitizedJson(const nlohmann::json& value, bool* changed);
// The same in place; copies only when a key must change.
void SanitizeInPlace(nlohmann::json* value, bool* changed);

}  // namespace toolgate::audit
