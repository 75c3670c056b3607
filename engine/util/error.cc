#include "toolgate/result.h"

namespace toolgate {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInputTooLarge: return "input_too_large";
    case ErrorCode::kInvalidUtf8: return "invalid_utf8";
    case ErrorCode::kNestingTooDeep: return "nesting_too_deep";
    case ErrorCode::kMalformedJson: return "malformed_json";
    case ErrorCode::kMissingField: return "missing_field";
    case ErrorCode::kWrongType: return "wrong_type";
    case ErrorCode::kUnsupportedFormat: return "unsupported_format";
    case ErrorCode::kPolicyIo: return "policy_io";
    case ErrorCode::kPolicySchema: return "policy_schema";
    case ErrorCode::kPolicyPattern: return "policy_pattern";
    case ErrorCode::kPolicyReference: return "policy_reference";
    case ErrorCode::kPolicyCycle: return "policy_cycle";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kPolicyRule: return "policy_rule";
    case ErrorCode::kRuleError: return "rule_error";
    case ErrorCode::kRuleBudget: return "rule_budget";
    case ErrorCode::kStateStore: return "state_store";
  }
  return "internal";
}

}  // namespace toolgate
