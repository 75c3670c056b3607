// The fast path of the decision record: canonical JSON written straight from
// the structs (ToolCall, Decision, Effects, PeerInfo), without building the
// record as nlohmann::json first.
//
// The output is byte-identical to CanonicalJson(DecisionMembers(...)) with its
// outer braces dropped: keys sorted, compact, escaped exactly as nlohmann's
// dump() escapes. The writer takes the fast path only for records where the
// reference path would change nothing it has to reason about:
//   * every string is valid UTF-8 (so no U+FFFD replacement happens anywhere),
//   * the redaction prefilter clears the input and every redacted member
//     (the same scan RedactJson runs, fed the same strings in the same order;
//     with only the built-in detectors, one pass over all of them at once),
//   * the input holds no binary or discarded values.
// Otherwise it returns false and the caller tries AppendRedactedDecisionMembers,
// which redacts while it writes, and for invalid UTF-8 builds the record the
// reference way (DecisionMembers), which handles replacement.
// tests/engine/audit/record_writer_test.cc compares both paths byte for byte.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "audit/redaction.h"
#include "toolgate/audit.h"
#include "toolgate/decision.h"
#include "toolgate/tool_call.h"

namespace toolgate::audit {

// Appends s as a JSON string (with its quotes) exactly as nlohmann's dump()
// writes a valid UTF-8 string. Returns false, leaving out partly written, when
// s is not valid UTF-8 (dump would replace bytes; the caller falls back).
bool AppendJsonString(std::string* out, std::string_view s);

// Appends value exactly as CanonicalJson(value) writes it. Every key and
// string also goes to scan (when not null) in iteration order. Returns false
// on invalid UTF-8 or a binary/discarded value.
bool AppendCanonicalJson(std::string* out, const nlohmann::json& value, RedactionScan* scan);

// Appends the members of a decision record (without the outer braces) as
// CanonicalJson(DecisionMembers(call, decision, peer, redactor, host)) would
// write them. Returns false when the record needs the reference path; out is
// then left partly written and must be discarded. message, when not null, is
// decision.MessageForModel() made beforehand by the caller.
bool AppendDecisionMembers(std::string* out, const ToolCall& call, const Decision& decision, const PeerInfo& peer,
                           const SecretRedactor& redactor, const std::string& host,
                           const std::string* message = nullptr);

// The same for a record whose strings need redaction: each redacted member is
// scanned alone, as RedactJson scans it, and a member whose scan is not clean
// is written as RedactJson's walk leaves it, with the "redactions" list the
// reference path adds. Returns false (out partly written) only on invalid
// UTF-8 or a binary/discarded value, which need the reference path.
bool AppendRedactedDecisionMembers(std::string* out, const ToolCall& call, const Decision& decision,
                                   const PeerInfo& peer, const SecretRedactor& redactor, const std::string& host,
                                   const std::string* message = nullptr);

}  // namespace toolgate::audit
