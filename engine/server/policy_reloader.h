// Reloads the daemon's policy file: on SIGHUP and, unless --no-watch, when a
// PolicyWatcher sees one of its files change. The new policy is loaded and
// compiled (rule packs too) on the caller's thread, off the request path, then
// swapped in whole: batches being judged keep the engine they started with.
// A policy that does not load (invalid, truncated, deleted, a broken rule
// pack) changes nothing; each rejected attempt is logged with every located
// diagnostic, and the last good policy stays in force.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "server/engine_holder.h"
#include "toolgate/policy.h"

namespace toolgate::server {

enum class ReloadOutcome { kReplaced, kUnchanged, kRejected };

class PolicyReloader {
 public:
  // files: what the policy in force was loaded from (PolicyLoadResult::files).
  PolicyReloader(std::string path, EngineHolder* engines, std::vector<std::string> files,
                 PolicyLoadOptions options = {});

  // Loads the file again; `trigger` names why in the operational log
  // ("SIGHUP", "file change"). Safe to call from several threads: reloads run
  // one at a time.
  ReloadOutcome Reload(const char* trigger);

  // The files to watch: those of the policy in force, plus any a rejected
  // attempt tried to read (a newly declared pack that is not written yet).
  std::vector<std::string> files() const;

  std::uint64_t replaced() const;
  std::uint64_t rejected() const;

 private:
  const std::string path_;
  EngineHolder* engines_;
  const PolicyLoadOptions options_;
  mutable std::mutex mu_;
  std::vector<std::string> good_files_;
  std::vector<std::string> tried_files_;
  std::uint64_t replaced_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace toolgate::server
