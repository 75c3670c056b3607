// The decision object of a daemon reply, written straight from the Decision.
//
// Byte-identical to ToJson(decision, false).dump() (keys sorted, compact,
// escaped as nlohmann escapes) for decisions whose strings are all valid
// UTF-8; that is every decision in practice, and building the JSON tree only
// to print it was a fifth of the daemon's time. For any other decision it
// returns false, leaving out partly written: the caller truncates and falls
// back to ToJson. tests/engine/server/reply_writer_test.cc compares both.
#pragma once

#include <string>

#include "toolgate/decision.h"

namespace toolgate::server {

// message, when not null, is decision.MessageForModel() made beforehand.
bool AppendDecisionJson(std::string* out, const Decision& decision, const std::string* message = nullptr);

}  // namespace toolgate::server
