#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../../temp_dir.h"
#include "server/policy_watcher.h"

using namespace toolgate::server;
using namespace std::chrono_literals;

namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// Waits (bounded) until the callback count reaches n.
bool WaitFor(const std::atomic<int>& count, int n, std::chrono::milliseconds limit = 3000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (count.load() < n && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  return count.load() >= n;
}

struct Fixture {
  toolgate::testing::TempDir dir{"tg-watch"};
  std::atomic<int> changes{0};
  std::unique_ptr<PolicyWatcher> watcher;

  void Start(std::vector<std::string> files) {
    PolicyWatcherOptions o;
    o.quiet = 50ms;
    o.max_delay = 300ms;
    auto w = PolicyWatcher::Start(
        files,
        [this, files] {
          ++changes;
          return files;
        },
        o);
    REQUIRE(w);
    watcher = std::move(*w);
  }
};

}  // namespace

TEST_CASE("watcher: an in-place rewrite is one change") {
  Fixture f;
  const std::string policy = f.dir / "policy.json";
  Write(policy, "{}");
  f.Start({policy});
  Write(policy, "{\"a\":1}");
  CHECK(WaitFor(f.changes, 1));
  std::this_thread::sleep_for(150ms);
  CHECK(f.changes.load() == 1);  // truncate + write + close were debounced into one
}

TEST_CASE("watcher: write-to-temp-and-rename, deletion and re-creation are seen") {
  Fixture f;
  const std::string policy = f.dir / "policy.json";
  Write(policy, "{}");
  f.Start({policy});

  Write(f.dir / ".policy.json.tmp", "{\"b\":2}");
  std::filesystem::rename(f.dir / ".policy.json.tmp", policy);
  CHECK(WaitFor(f.changes, 1));

  std::filesystem::remove(policy);
  CHECK(WaitFor(f.changes, 2));

  Write(policy, "{\"c\":3}");
  CHECK(WaitFor(f.changes, 3));
}

TEST_CASE("watcher: other files in the directory do not count") {
  Fixture f;
  const std::string policy = f.dir / "policy.json";
  Write(policy, "{}");
  f.Start({policy});
  Write(f.dir / "notes.txt", "x");
  std::this_thread::sleep_for(200ms);
  CHECK(f.changes.load() == 0);
}

TEST_CASE("watcher: a rule pack in another directory is watched too") {
  Fixture f;
  std::filesystem::create_directory(f.dir / "rules");
  const std::string policy = f.dir / "policy.json";
  const std::string pack = f.dir / "rules/pack.lua";
  Write(policy, "{}");
  Write(pack, "-- v1");
  f.Start({policy, pack});
  Write(pack, "-- v2");
  CHECK(WaitFor(f.changes, 1));
}

TEST_CASE("watcher: a directory that is removed and comes back is watched again") {
  Fixture f;
  const std::string sub = f.dir / "conf";
  std::filesystem::create_directory(sub);
  const std::string policy = sub + "/policy.json";
  Write(policy, "{}");
  f.Start({policy});
  std::filesystem::remove_all(sub);
  CHECK(WaitFor(f.changes, 1));
  const int before = f.changes.load();
  std::filesystem::create_directory(sub);
  Write(policy, "{\"d\":4}");
  CHECK(WaitFor(f.changes, before + 1));  // re-watched within the 500 ms re-check
}

TEST_CASE("watcher: Stop ends it and is idempotent") {
  Fixture f;
  const std::string policy = f.dir / "policy.json";
  Write(policy, "{}");
  f.Start({policy});
  f.watcher->Stop();
  f.watcher->Stop();
  Write(policy, "{\"e\":5}");
  std::this_thread::sleep_for(150ms);
  CHECK(f.changes.load() == 0);
}
