// One request to the daemon and its reply, for the operator commands
// (`toolgate phase`, `toolgate grant`): connect, send one line, read one line,
// all within a deadline.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "toolgate/result.h"

namespace toolgate::cli {

// The reply object (ok true or false), or an Error when the daemon could not
// be reached or answered something that is not a protocol reply.
Result<nlohmann::json> DaemonRequest(const std::string& socket_path, nlohmann::json request,
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Prints an ok:false reply's error to stderr as "toolgate CMD: CODE: MESSAGE";
// returns the exit code for it (64 for invalid_argument/bad_request/not_found,
// 77 for forbidden, 1 otherwise).
int ReportDaemonError(const char* command, const nlohmann::json& reply);

}  // namespace toolgate::cli
