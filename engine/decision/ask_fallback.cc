#include "toolgate/ask_fallback.h"

#include <string>

namespace toolgate {

Verdict ApplyAskFallback(const Policy& policy, std::string_view profile, Verdict verdict) {
  return verdict == Verdict::kAsk ? policy.AskFallbackFor(profile) : verdict;
}

bool ApplyAskFallback(const Policy& policy, Decision* d) {
  if (d->verdict != Verdict::kAsk) return false;
  const Verdict fallback = policy.AskFallbackFor(d->profile);
  // What would have been asked, in the words the model would have seen.
  std::string asked = d->MessageForModel();
  constexpr std::string_view kAskPrefix = "toolgate: this call needs confirmation: ";
  if (asked.starts_with(kAskPrefix)) asked.erase(0, kAskPrefix.size());
  while (!asked.empty() && asked.back() == '.') asked.pop_back();
  Finding f;
  f.verdict = fallback;
  f.subject = Subject::kCall;
  f.note = std::string("this call needs a human's approval (") + asked +
           "), and this client cannot ask for it, so the ask fell back to " + VerdictName(fallback) +
           " (the policy's ask_fallback)";
  d->findings.push_back(std::move(f));
  d->verdict = fallback;
  return true;
}

}  // namespace toolgate
