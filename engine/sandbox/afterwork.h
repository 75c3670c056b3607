// Work a launch leaves for after its result is known: removing the finished
// sandbox's pids cgroup, dropping the last reference to its mount namespace
// (whose teardown waits for an RCU grace period), and making the next
// launch's cgroup ahead of time. A launcher that runs many commands (a
// daemon, the benchmark) does it on one background thread, so the caller
// gets the command's exit code without waiting for it; a one-shot launcher
// (`toolgate run`) does it inline, since it is about to exit anyway and a
// thread would cost more than the work.
//
// Nothing a sandbox can use is deferred: every process of it is dead (and
// reaped) before its cleanup is posted; what remains are empty cgroups and
// namespaces with no process in them, reachable only through the launcher's
// own close-on-exec descriptors.
#pragma once

#include <chrono>
#include <functional>

namespace toolgate::sandbox {

class Afterwork {
 public:
  // Starts the background thread (idempotent). The launcher calls it from a
  // process's second launch on. At exit the thread finishes what was posted
  // (bounded by each job) and stops; a forked child that calls exit() leaves
  // the parent's thread and jobs alone.
  static void Start();
  static bool Running();
  // Runs job on the background thread when it runs (after delay), inline
  // otherwise (the delay is then slept). Jobs must be bounded in time.
  static void Post(std::function<void()> job, std::chrono::milliseconds delay = std::chrono::milliseconds(0));
};

}  // namespace toolgate::sandbox
