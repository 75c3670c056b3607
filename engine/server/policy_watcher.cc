#include "server/policy_watcher.h"

#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include "server/reload_debounce.h"

namespace toolgate::server {
namespace {

using Clock = std::chrono::steady_clock;

// Everything that can change what a path in the directory names or holds.
constexpr std::uint32_t kDirMask = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                   IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr std::chrono::milliseconds kRewatchEvery{500};

// directory -> names in it that matter
using WatchSet = std::map<std::string, std::set<std::string>>;

void AddPath(const std::string& path, WatchSet* set) {
  if (path.empty()) return;
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec).lexically_normal();
  if (ec) return;
  (*set)[abs.parent_path().string()].insert(abs.filename().string());
}

// The file's own directory, and the directory of what a symlink at the path
// points to (a policy kept elsewhere and linked in, or a swapped ..data link).
WatchSet WatchSetFor(const std::vector<std::string>& files) {
  WatchSet set;
  for (const std::string& f : files) {
    AddPath(f, &set);
    char resolved[PATH_MAX];
    if (::realpath(f.c_str(), resolved) != nullptr && f != resolved) AddPath(resolved, &set);
  }
  return set;
}

}  // namespace

struct PolicyWatcher::State {
  int inotify_fd = -1;
  int stop_fd = -1;
  OnChange on_change;
  PolicyWatcherOptions options;
  std::thread thread;
  bool stopped = false;

  WatchSet wanted;
  std::map<int, std::string> dir_of_wd;
  std::set<std::string> unwatched;  // wanted directories with no watch (missing, for now)

  ~State() {
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (stop_fd >= 0) ::close(stop_fd);
  }

  // Watches every wanted directory not yet watched; true when one came back
  // (its files may have changed while it was gone).
  bool WatchMissing() {
    bool added = false;
    for (auto it = unwatched.begin(); it != unwatched.end();) {
      const int wd = ::inotify_add_watch(inotify_fd, it->c_str(), kDirMask);
      if (wd < 0) {
        ++it;
        continue;
      }
      dir_of_wd[wd] = *it;
      it = unwatched.erase(it);
      added = true;
    }
    return added;
  }

  // True when a directory is watched now that was not before: a change made
  // there before its watch existed would otherwise go unseen.
  bool SetFiles(const std::vector<std::string>& files) {
    WatchSet next = WatchSetFor(files);
    for (auto it = dir_of_wd.begin(); it != dir_of_wd.end();) {
      if (next.count(it->second) == 0) {
        ::inotify_rm_watch(inotify_fd, it->first);
        it = dir_of_wd.erase(it);
      } else {
        ++it;
      }
    }
    unwatched.clear();
    for (const auto& [dir, names] : next) {
      bool have = false;
      for (const auto& [wd, d] : dir_of_wd) have |= d == dir;
      if (!have) unwatched.insert(dir);
    }
    wanted = std::move(next);
    const bool added = WatchMissing();
    for (const std::string& dir : unwatched) {
      spdlog::warn("toolgate serve: cannot watch {} (missing?); checking again every {} ms", dir,
                   kRewatchEvery.count());
    }
    return added;
  }

  // Reads every queued event; true when one touched a watched name.
  bool Drain() {
    bool relevant = false;
    alignas(inotify_event) char buf[16384];
    for (;;) {
      const ssize_t n = ::read(inotify_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & IN_Q_OVERFLOW) {
          relevant = true;  // events were lost: reload to be sure
          continue;
        }
        const auto dir = dir_of_wd.find(ev->wd);
        if (dir == dir_of_wd.end()) continue;
        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
          // The directory itself went away: watch it again when it is back.
          if (ev->mask & IN_IGNORED) {
            unwatched.insert(dir->second);
            dir_of_wd.erase(dir);
          } else {
            ::inotify_rm_watch(inotify_fd, ev->wd);
          }
          relevant = true;
          continue;
        }
        if (ev->len == 0) continue;
        const auto names = wanted.find(dir->second);
        if (names != wanted.end() && names->second.count(ev->name) > 0) relevant = true;
      }
    }
    return relevant;
  }

  void Loop() {
    ReloadDebounce debounce(options.quiet, options.max_delay);
    for (;;) {
      int timeout_ms = -1;
      const Clock::time_point now = Clock::now();
      if (const auto deadline = debounce.Deadline()) {
        timeout_ms = static_cast<int>(
            std::max<long long>(0, std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count()));
      }
      if (!unwatched.empty() && (timeout_ms < 0 || timeout_ms > kRewatchEvery.count())) {
        timeout_ms = static_cast<int>(kRewatchEvery.count());
      }
      pollfd fds[2] = {{stop_fd, POLLIN, 0}, {inotify_fd, POLLIN, 0}};
      const int r = ::poll(fds, 2, timeout_ms);
      if (r < 0 && errno != EINTR) {
        spdlog::error("toolgate serve: policy watcher: poll: {}; watching stops (SIGHUP still reloads)",
                      std::strerror(errno));
        return;
      }
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0 && Drain()) debounce.OnEvent(Clock::now());
      if (!unwatched.empty() && WatchMissing()) debounce.OnEvent(Clock::now());
      if (debounce.TakeDue(Clock::now())) {
        std::vector<std::string> files;
        try {
          files = on_change();
        } catch (const std::exception& e) {
          spdlog::error("toolgate serve: policy watcher: {}", e.what());
          continue;
        }
        if (SetFiles(files)) debounce.OnEvent(Clock::now());  // one more look, through the new watches
      }
    }
  }
};

PolicyWatcher::PolicyWatcher(std::unique_ptr<State> state) : s_(std::move(state)) {}

PolicyWatcher::~PolicyWatcher() { Stop(); }

Result<std::unique_ptr<PolicyWatcher>> PolicyWatcher::Start(std::vector<std::string> files, OnChange on_change,
                                                            PolicyWatcherOptions options) {
  auto s = std::make_unique<State>();
  s->on_change = std::move(on_change);
  s->options = options;
  s->inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (s->inotify_fd < 0) return Error{ErrorCode::kInternal, std::string("inotify_init1: ") + std::strerror(errno), {}};
  s->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->stop_fd < 0) return Error{ErrorCode::kInternal, std::string("eventfd: ") + std::strerror(errno), {}};
  s->SetFiles(files);
  State* raw = s.get();
  try {
    s->thread = std::thread([raw] { raw->Loop(); });
  } catch (const std::system_error& e) {
    return Error{ErrorCode::kInternal, std::string("cannot start the policy watcher: ") + e.what(), {}};
  }
  return std::unique_ptr<PolicyWatcher>(new PolicyWatcher(std::move(s)));
}

void PolicyWatcher::Stop() {
  if (!s_ || s_->stopped) return;
  s_->stopped = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t ignored = ::write(s_->stop_fd, &one, sizeof one);
  if (s_->thread.joinable()) s_->thread.join();
}

}  // namespace toolgate::server
