#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace toolgate::sandbox {

namespace {

constexpr long kCgroup2Magic = 0x63677270;

// Plain open/write/close: these files are written on the launch path, where
// a stream's buffers and locale cost more than the write.
bool WriteText(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
  return n == static_cast<ssize_t>(text.size());
}

std::string ReadText(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (int i = 0; i < 1024; ++i) {  // bounded: a pids cgroup lists at most pids.max members
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// Where this process makes its cgroups: looked up once (the hierarchy a
// host mounts does not change under a running launcher; if it became
// unwritable, mkdir fails and the launch says so as before).
struct CgroupParent {
  std::string dir;  // "" when neither hierarchy is writable
  bool v2 = false;
};

CgroupParent FindParent() {
  CgroupParent p;
  const std::string v2 = CgroupV2Mount();
  if (!v2.empty() && ReadText(v2 + "/cgroup.controllers").find("pids") != std::string::npos &&
      ::access(v2.c_str(), W_OK) == 0) {
    p.dir = v2;
    p.v2 = true;
    return p;
  }
  const std::string v1 = "/sys/fs/cgroup/pids";
  if (::access((v1 + "/cgroup.procs").c_str(), W_OK) == 0) p.dir = v1;
  return p;
}

const CgroupParent& Parent() {
  static const CgroupParent parent = FindParent();
  return parent;
}

std::atomic<unsigned long> g_serial{0};

// mkdir toolgate-<pid>-<n> and set its limit. Returns "" on failure.
std::string MakeCgroup(const CgroupParent& parent, long long max_pids) {
  const std::string dir =
      parent.dir + "/toolgate-" + std::to_string(::getpid()) + "-" + std::to_string(g_serial.fetch_add(1));
  if (::mkdir(dir.c_str(), 0755) != 0) return "";
  if (!WriteText(dir + "/pids.max", std::to_string(max_pids))) {
    ::rmdir(dir.c_str());
    return "";
  }
  return dir;
}

// SIGKILLs every member; bounded sweeps of cgroup.procs (v1) or cgroup.kill (v2).
void KillMembers(const std::string& dir, bool v2) {
  if (v2 && WriteText(dir + "/cgroup.kill", "1")) return;
  // v1: members cannot leave the cgroup and new ones are bounded by pids.max,
  // so repeated sweeps converge; freeze would be nicer but needs another hierarchy.
  for (int round = 0; round < 100; ++round) {
    const std::string procs = ReadText(dir + "/cgroup.procs");
    bool any = false;
    const char* s = procs.c_str();
    while (*s != '\0') {
      char* end = nullptr;
      const long pid = std::strtol(s, &end, 10);
      if (end == s) break;
      if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL), any = true;
      s = end;
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void RemoveCgroup(const std::string& dir, bool v2) {
  KillMembers(dir, v2);
  // rmdir fails while members are still exiting; retry briefly (bounded).
  for (int i = 0; i < 200 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

// The process's cgroups between launches: one made ahead, and the finished
// ones waiting for rmdir. A background thread does both; it starts only
// when there is background work, and is stopped at exit (atexit), where
// whatever is left is removed. Never destroyed: a forked child that calls
// exit() must not join a thread it does not have (the exit hook checks the pid).
class CgroupPool {
 public:
  static CgroupPool& Get() {
    static CgroupPool* pool = [] {
      auto* p = new CgroupPool();
      std::atexit([] { Get().Shutdown(); });
      return p;
    }();
    return *pool;
  }

  PidsCgroup Take(long long max_pids) {
    PidsCgroup cg;
    const CgroupParent& parent = Parent();
    if (parent.dir.empty()) {
      cg.why_ = "no writable pids cgroup (v2 with the pids controller, or v1 /sys/fs/cgroup/pids)";
      return cg;
    }
    std::optional<Prepared> ready;
    {
      std::lock_guard lock(mu_);
      ++launches_;
      ready = std::move(prepared_);
      prepared_.reset();
      // A second launch: this process launches repeatedly, so make the next one's cgroup ahead.
      if (launches_ >= 2) {
        want_max_ = max_pids;
        StartLocked();
        cv_.notify_one();
      }
    }
    if (ready && ready->max_pids != max_pids && !WriteText(ready->dir + "/pids.max", std::to_string(max_pids))) {
      RemoveCgroup(ready->dir, parent.v2);
      ready.reset();
    }
    const std::string dir = ready ? ready->dir : MakeCgroup(parent, max_pids);
    if (dir.empty()) {
      cg.why_ = "cannot make a pids cgroup under " + parent.dir + ": " + std::strerror(errno);
      return cg;
    }
    cg.dir_ = dir;
    cg.v2_ = parent.v2;
    return cg;
  }

  void Release(const std::string& dir, bool v2) {
    {
      std::lock_guard lock(mu_);
      // A one-shot launcher (no background thread yet) removes it now: starting
      // a thread costs more than the rmdir, and the process is about to exit.
      if (running_ && !stopped_) {
        doomed_.push_back({dir, v2});
        cv_.notify_one();
        return;
      }
    }
    RemoveCgroup(dir, v2);
  }

 private:
  struct Prepared {
    std::string dir;
    long long max_pids = 0;
  };
  struct Doomed {
    std::string dir;
    bool v2 = false;
  };

  CgroupPool() : owner_(::getpid()) {}

  void StartLocked() {
    if (running_ || stopped_) return;
    running_ = true;
    thread_ = std::thread([this] { Run(); });
  }

  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !doomed_.empty() || (want_max_ > 0 && !prepared_); });
      if (stop_) return;
      if (want_max_ > 0 && !prepared_) {
        const long long max_pids = want_max_;
        lock.unlock();
        const std::string dir = MakeCgroup(Parent(), max_pids);
        lock.lock();
        if (dir.empty()) {
          want_max_ = 0;  // cannot make one ahead: launches make their own
        } else if (stop_ || prepared_) {
          doomed_.push_back({dir, Parent().v2});
        } else {
          prepared_ = Prepared{dir, max_pids};
        }
        continue;
      }
      std::vector<Doomed> batch;
      batch.swap(doomed_);
      lock.unlock();
      for (const Doomed& d : batch) RemoveCgroup(d.dir, d.v2);
      lock.lock();
    }
  }

  void Shutdown() {
    if (::getpid() != owner_) return;  // a forked child: the thread and the cgroups are the parent's
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      stopped_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    if (prepared_) doomed_.push_back({prepared_->dir, Parent().v2});
    prepared_.reset();
    for (const Doomed& d : doomed_) RemoveCgroup(d.dir, d.v2);
    doomed_.clear();
  }

  const pid_t owner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  bool running_ = false;
  bool stop_ = false;
  bool stopped_ = false;
  int launches_ = 0;
  long long want_max_ = 0;
  std::optional<Prepared> prepared_;
  std::vector<Doomed> doomed_;
};

std::string CgroupV2Mount() {
  for (const char* p : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs st {};
    if (::statfs(p, &st) == 0 && st.f_type == kCgroup2Magic) return p;
  }
  return "";
}

PidsCgroup PidsCgroup::Create(long long max_pids) { return CgroupPool::Get().Take(max_pids); }

PidsCgroup::PidsCgroup(PidsCgroup&& other) noexcept
    : dir_(std::move(other.dir_)), why_(std::move(other.why_)), v2_(other.v2_) {
  other.dir_.clear();
}

PidsCgroup& PidsCgroup::operator=(PidsCgroup&& other) noexcept {
  if (this != &other) {
    this->~PidsCgroup();
    dir_ = std::move(other.dir_);
    why_ = std::move(other.why_);
    v2_ = other.v2_;
    other.dir_.clear();
  }
  return *this;
}

PidsCgroup::~PidsCgroup() {
  if (dir_.empty()) return;
  CgroupPool::Get().Release(dir_, v2_);
  dir_.clear();
}

std::string PidsCgroup::JoinFile() const { return dir_ + (v2_ ? "/cgroup.procs" : "/tasks"); }

int PidsCgroup::OpenJoinFd() const {
  if (dir_.empty()) return -EINVAL;
  const int fd = ::open(JoinFile().c_str(), O_WRONLY | O_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

bool PidsCgroup::AddProcess(pid_t pid) const {
  return !dir_.empty() && WriteText(dir_ + "/cgroup.procs", std::to_string(pid));
}

void PidsCgroup::KillAll() const {
  if (!dir_.empty()) KillMembers(dir_, v2_);
}

}  // namespace toolgate::sandbox
