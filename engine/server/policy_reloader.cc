#include "server/policy_reloader.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

namespace toolgate::server {

PolicyReloader::PolicyReloader(std::string path, EngineHolder* engines, std::vector<std::string> files,
                               PolicyLoadOptions options)
    : path_(std::move(path)), engines_(engines), options_(std::move(options)), good_files_(std::move(files)) {}

ReloadOutcome PolicyReloader::Reload(const char* trigger) {
  std::lock_guard<std::mutex> lk(mu_);
  const auto start = std::chrono::steady_clock::now();
  PolicyLoadResult r = LoadPolicyFile(path_, options_);
  const std::string current = engines_->Current()->policy().digest();
  if (!r.ok()) {
    ++rejected_;
    tried_files_ = std::move(r.files);
    for (const PolicyDiagnostic& d : r.diagnostics) {
      if (d.severity == PolicyDiagnostic::Severity::kError) {
        spdlog::error("toolgate serve: reload ({}): {}", trigger, FormatDiagnostic(d));
      }
    }
    spdlog::error("toolgate serve: reload of {} failed; keeping the last good policy {} ({})", path_, current,
                  trigger);
    return ReloadOutcome::kRejected;
  }
  tried_files_.clear();
  good_files_ = std::move(r.files);
  if (r.policy->digest() == current) {
    spdlog::debug("toolgate serve: reload ({}): {} is unchanged ({})", trigger, path_, current);
    return ReloadOutcome::kUnchanged;
  }
  engines_->Replace(r.policy);
  ++replaced_;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  spdlog::info("toolgate serve: reloaded {}: policy {} (was {}); {}: loaded and swapped in {} us", path_,
               r.policy->digest(), current, trigger, us.count());
  return ReloadOutcome::kReplaced;
}

std::vector<std::string> PolicyReloader::files() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::string> all = good_files_;
  for (const std::string& f : tried_files_) {
    if (std::find(all.begin(), all.end(), f) == all.end()) all.push_back(f);
  }
  return all;
}

std::uint64_t PolicyReloader::replaced() const {
  std::lock_guard<std::mutex> lk(mu_);
  return replaced_;
}

std::uint64_t PolicyReloader::rejected() const {
  std::lock_guard<std::mutex> lk(mu_);
  return rejected_;
}

}  // namespace toolgate::server
