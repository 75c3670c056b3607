// toolgate state-bench: what one tg.state.incr costs in the store, in memory
// and persistent (journal append + fdatasync, group commit across threads).
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "toolgate/state_store.h"

namespace toolgate::cli {
namespace {

constexpr const char* kUsage =
    "usage: toolgate state-bench --dir DIR [--calls N] [--threads T]\n"
    "  DIR is created for the run and must not exist (use a directory on the disk the daemon's state uses)\n";

bool ParseCount(const std::string& text, std::size_t lo, std::size_t hi, std::size_t* out) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// Runs calls increments spread over threads; returns the mean wall time per increment in ns.
double Measure(StateStore& store, std::size_t calls, std::size_t threads, bool* failed) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      // One counter per thread and session, as concurrent agents would have.
      const std::string key = "bench/session/s" + std::to_string(t) + "/sent";
      for (std::size_t i = t; i < calls; i += threads) {
        if (!store.Increment(key, 1, std::chrono::seconds(3600), StateStore::Clock::now())) *failed = true;
      }
    });
  }
  for (auto& w : workers) w.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
         static_cast<double>(calls);
}

}  // namespace

int RunStateBench(const std::vector<std::string>& argv) {
  Args args(argv, {"--dir", "--calls", "--threads"}, {});
  std::size_t calls = 2000, threads = 1;
  if (!args.ok() || !args.positional().empty() || !args.value("--dir") ||
      (args.value("--calls") && !ParseCount(*args.value("--calls"), 1, 10000000, &calls)) ||
      (args.value("--threads") && !ParseCount(*args.value("--threads"), 1, 64, &threads))) {
    std::cerr << "toolgate state-bench: " << (args.ok() ? "bad or missing arguments" : args.error()) << "\n" << kUsage;
    return kExitUsage;
  }
  const std::string dir = *args.value("--dir");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    std::cerr << "toolgate state-bench: " << dir << " exists; give a new directory\n";
    return kExitUsage;
  }
  bool failed = false;
  const std::unique_ptr<StateStore> memory = StateStore::InMemory();
  const double memory_ns = Measure(*memory, calls, threads, &failed);
  double durable_ns = 0, unsynced_ns = 0;
  for (const bool sync : {true, false}) {
    StateStoreOptions o;
    o.dir = dir + (sync ? "/synced" : "/unsynced");
    std::filesystem::create_directories(dir, ec);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    o.sync = sync;
    Result<std::unique_ptr<StateStore>> store = StateStore::Open(o);
    if (!store) {
      std::cerr << "toolgate state-bench: " << store.error().location << ": " << store.error().message << "\n";
      return kExitFailure;
    }
    (sync ? durable_ns : unsynced_ns) = Measure(**store, calls, threads, &failed);
  }
  std::filesystem::remove_all(dir, ec);
  if (failed) {
    std::cerr << "toolgate state-bench: an increment failed\n";
    return kExitFailure;
  }
  std::printf("tg.state.incr in the store, %zu calls on %zu thread(s), mean wall time per call:\n", calls, threads);
  std::printf("  in memory                        %10.2f us\n", memory_ns / 1000.0);
  std::printf("  persistent, journal without sync %10.2f us\n", unsynced_ns / 1000.0);
  std::printf("  persistent, fdatasync (default)  %10.2f us\n", durable_ns / 1000.0);
  return 0;
}

}  // namespace toolgate::cli
