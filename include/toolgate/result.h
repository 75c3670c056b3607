// Error values and Result<T>: how every fallible toolgate function reports
// bad input or a hostile environment. Programmer misuse is an assertion;
// everything a caller can cause is an Error with a code that tests assert on.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace toolgate {

enum class ErrorCode {
  kOk = 0,
  // Input framing (tool calls, daemon lines, hook stdin).
  kInputTooLarge,     // more bytes than the configured limit
  kInvalidUtf8,       // a byte sequence that is not UTF-8
  kNestingTooDeep,    // JSON nested deeper than the configured limit
  kMalformedJson,     // not JSON at all, or trailing garbage
  kMissingField,      // a required key is absent
  kWrongType,         // a key holds the wrong JSON type
  kUnsupportedFormat, // valid JSON in no format toolgate knows
  // Policy loading.
  kPolicyIo,          // the policy file cannot be read
  kPolicySchema,      // a key or value breaks the policy schema
  kPolicyPattern,     // a glob, host or argv pattern does not compile
  kPolicyReference,   // an agent or extends names an unknown profile
  kPolicyCycle,       // profile inheritance loops
  kPolicyRule,        // a rule pack fails to load, or its parameters/capabilities are wrong
  // Evaluation.
  kInternal,          // a bug or resource failure inside the engine
  kRuleError,         // a Lua rule raised an error or returned something that is not a verdict
  kRuleBudget,        // a Lua rule ran out of its instruction, memory or time budget
  // The state store behind tg.state (include/toolgate/state_store.h).
  kStateStore,        // its directory cannot be used, a file is damaged, or an update cannot be made durable
};

// Stable lower-case name of an error code ("malformed_json"), used in JSON
// output and logs so consumers never parse message text.
const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;   // one line, for humans
  std::string location;  // "file:/profiles/dev/fs/read/2" or "byte 17"; may be empty
};

// A value or an Error. Deliberately small: C++20 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace toolgate
