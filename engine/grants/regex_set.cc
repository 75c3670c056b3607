#include "grants/regex_set.h"

namespace toolgate {

namespace {
// Large enough for policies with thousands of patterns; when a set's DFA still
// runs out of memory on some input, Match reports kError and callers deny.
constexpr int64_t kSetMaxMem = int64_t{64} << 20;
}  // namespace

RE2::Options RegexSet::Options(bool case_sensitive) {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  o.set_dot_nl(true);
  o.set_never_capture(true);
  o.set_case_sensitive(case_sensitive);
  o.set_max_mem(kSetMaxMem);
  return o;
}

std::string RegexSet::Validate(const std::string& regex, bool case_sensitive) {
  // Parsing is what can fail on one pattern and what its error can point at;
  // RE2::Set::Add parses without compiling. Compiling every pattern alone as
  // well doubled the policy's load time, paid at each start of `toolgate
  // hook` or `check` without a daemon. A profile whose patterns together
  // exceed RE2's memory bound fails RegexSet::Compile, which names the profile.
  RE2::Set parse_only(Options(case_sensitive), RE2::ANCHOR_BOTH);
  std::string error;
  return parse_only.Add(regex, &error) >= 0 ? std::string() : error;
}

RegexSet::RegexSet(bool case_sensitive)
    : set_(std::make_unique<RE2::Set>(Options(case_sensitive), RE2::ANCHOR_BOTH)) {}
RegexSet::RegexSet(RegexSet&&) noexcept = default;
RegexSet& RegexSet::operator=(RegexSet&&) noexcept = default;
RegexSet::~RegexSet() = default;

int RegexSet::Add(const std::string& regex, std::string* error) {
  const int index = set_->Add(regex, error);
  if (index >= 0) ++size_;
  return index;
}

bool RegexSet::Compile() {
  if (size_ == 0) return compiled_ = true;
  compiled_ = set_->Compile();
  return compiled_;
}

SetOutcome RegexSet::Match(std::string_view text, std::vector<int>* hits) const {
  hits->clear();
  if (size_ == 0) return SetOutcome::kNoMatch;
  if (!compiled_) return SetOutcome::kError;
  RE2::Set::ErrorInfo info{RE2::Set::kNoError};
  if (set_->Match(re2::StringPiece(text.data(), text.size()), hits, &info)) return SetOutcome::kMatch;
  return info.kind == RE2::Set::kNoError ? SetOutcome::kNoMatch : SetOutcome::kError;
}

}  // namespace toolgate
