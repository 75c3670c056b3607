// `toolgate policy suggest`: from calls a policy denied or asked about, the
// smallest set of grants that would have allowed them, for a human to review.
//
// Only what a profile's default decided can be suggested: a subject no grant
// matched. A subject an explicit deny or ask grant matched, a Lua rule's
// verdict, an unknown effect and a call without a profile are reported as not
// suggestible: an allow grant cannot override them, and weakening them is a
// decision for a person, not a heuristic.
//
// Generalisation is limited to paths, and never silent: several files under
// one directory become one glob for that directory (`dir/*` when they are its
// direct children, else `dir/**`), but only for a directory at least two
// levels deep that is neither the home directory nor one of its ancestors, and
// at most max_levels_up above each file. Every suggestion lists what it
// covers and how many calls needed it. Tools, programs and hosts stay exact.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "toolgate/decision.h"
#include "toolgate/policy.h"
#include "toolgate/result.h"

namespace toolgate {

// One subject an observed call needed and no grant gave.
struct MissingGrant {
  std::string profile;
  Subject subject = Subject::kTool;  // kTool, kExec, kPathRead, kPathWrite, kHost
  std::string target;                // tool name, program pattern, absolute path, host[:port]
  std::uint64_t call = 0;            // index of the observed call
};

// A finding that cannot be turned into a grant, and why.
struct NotSuggestible {
  std::string profile;
  std::string what;  // "deny read /home/dev/.ssh/id_rsa"
  std::string why;   // "denied by grant base.fs.deny[0] (~/.ssh/**)"
  std::uint64_t call = 0;
};

struct SuggestedGrant {
  std::string profile;
  std::string category;  // "tools", "exec", "fs", "network"
  std::string list;      // "allow" (tools, exec, network), "read" or "write" (fs)
  std::string pattern;
  std::vector<std::string> covers;  // the observed targets it grants, sorted
  std::uint64_t calls = 0;          // distinct observed calls that needed it
  bool generalised = false;         // covers more than the exact targets seen
};

struct SuggestOptions {
  std::string home = "/root";  // the policy's settings.home: never generalised to, or above
  bool generalise = true;
  std::size_t min_group = 2;   // files under one directory before it becomes a glob
  int max_levels_up = 3;
};

// The missing grants and the unsuggestible findings of one decision made by
// Engine::Decide (its findings follow the effects' order: the tool, each
// exec, each path, each host). Findings that allowed add nothing.
void CollectMissingGrants(const Decision& decision, std::uint64_t call_index, const PolicySettings& settings,
                          std::vector<MissingGrant>* missing, std::vector<NotSuggestible>* not_suggestible);

// The grants for every missing one, per profile, ordered by profile, category,
// list and pattern.
std::vector<SuggestedGrant> SuggestGrants(const std::vector<MissingGrant>& missing, const SuggestOptions& options);

// {"profiles": {NAME: {"tools": {"allow": [...]}, "exec": {...}, "fs": {"read": [...],
// "write": [...]}, "network": {"allow": [...]}}}}: the shape of a policy, so it
// merges into one profile by profile.
nlohmann::json SuggestionFragment(const std::vector<SuggestedGrant>& grants);

// The policy text with the fragment's patterns appended to each profile's
// lists (patterns already present are not repeated). Error when the text is
// not a JSON object with "profiles", or a fragment profile does not exist.
Result<std::string> MergeSuggestion(std::string_view policy_text, const nlohmann::json& fragment);

}  // namespace toolgate
