// Watches the files a policy was loaded from (the policy JSON and every rule
// pack it declares) and calls back once per burst of changes, from its own
// thread. inotify watches their directories, not the files: an editor that
// writes a temporary and renames it over the policy, a deletion and a later
// re-creation all happen to directory entries, and a watch on the old inode
// would miss them. A watched directory that disappears is watched again as
// soon as it is back (checked twice a second).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "toolgate/result.h"

namespace toolgate::server {

struct PolicyWatcherOptions {
  std::chrono::milliseconds quiet{150};       // see ReloadDebounce
  std::chrono::milliseconds max_delay{1000};
};

class PolicyWatcher {
 public:
  // Called after a burst of changes; returns the files to watch from then on
  // (a reload may declare other rule packs).
  using OnChange = std::function<std::vector<std::string>()>;

  // Error when inotify or the thread cannot be set up (the daemon then runs
  // without watching, on SIGHUP alone).
  static Result<std::unique_ptr<PolicyWatcher>> Start(std::vector<std::string> files, OnChange on_change,
                                                      PolicyWatcherOptions options = {});

  ~PolicyWatcher();  // Stop()
  PolicyWatcher(const PolicyWatcher&) = delete;
  PolicyWatcher& operator=(const PolicyWatcher&) = delete;

  // Ends the thread; a callback in progress finishes first. Idempotent.
  void Stop();

  struct State;  // policy_watcher.cc

 private:
  explicit PolicyWatcher(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace toolgate::server
