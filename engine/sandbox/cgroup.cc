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
#include <thread>
#include <vector>

#include "sandbox/afterwork.h"

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

// Kills what is left, then rmdir; rmdir fails while members are still
// exiting, so it is retried every 5 ms, 200 times at most, without holding
// up other background work.
void RemoveCgroup(const std::string& dir, bool v2, int attempt = 0) {
  if (attempt == 0) KillMembers(dir, v2);
  if (::rmdir(dir.c_str()) == 0 || errno != EBUSY || attempt >= 200) return;
  Afterwork::Post([dir, v2, attempt] { RemoveCgroup(dir, v2, attempt + 1); }, std::chrono::milliseconds(5));
}

}  // namespace

// The next launch's cgroup, made ahead on the Afterwork thread once it runs.
class CgroupPool {
 public:
  static CgroupPool& Get() {
    static CgroupPool* pool = new CgroupPool();  // never destroyed: see Afterwork
    return *pool;
  }

  PidsCgroup Take(long long max_pids) {
    PidsCgroup cg;
    const CgroupParent& parent = Parent();
    if (parent.dir.empty()) {
      cg.why_ = "no writable pids cgroup (v2 with the pids controller, or v1 /sys/fs/cgroup/pids)";
      return cg;
    }
    std::string ready;
    long long ready_max = 0;
    {
      std::lock_guard lock(mu_);
      ready.swap(prepared_);
      ready_max = prepared_max_;
      last_max_ = max_pids;
    }
    if (!ready.empty() && ready_max != max_pids && !WriteText(ready + "/pids.max", std::to_string(max_pids))) {
      RemoveCgroup(ready, parent.v2);
      ready.clear();
    }
    const std::string dir = !ready.empty() ? ready : MakeCgroup(parent, max_pids);
    if (dir.empty()) {
      cg.why_ = "cannot make a pids cgroup under " + parent.dir + ": " + std::strerror(errno);
      return cg;
    }
    cg.dir_ = dir;
    cg.v2_ = parent.v2;
    return cg;
  }

  // A launch is over: its cgroup is removed and the next one is made, on the
  // background thread when it runs. After the launch, not while it runs:
  // mkdir and rmdir hold the cgroup hierarchy's lock, which the child's join
  // needs too.
  void AfterLaunch(const std::string& dir, bool v2) {
    long long max_pids = 0;
    if (Afterwork::Running()) {
      std::lock_guard lock(mu_);
      if (prepared_.empty() && !preparing_ && !closed_) {
        preparing_ = true;
        max_pids = last_max_;
      }
    }
    Afterwork::Post([this, dir, v2, max_pids] {
      RemoveCgroup(dir, v2);
      if (max_pids > 0) Prepare(max_pids);
    });
  }

 private:
  void Prepare(long long max_pids) {
    const std::string dir = MakeCgroup(Parent(), max_pids);
    std::string extra;
    {
      std::lock_guard lock(mu_);
      preparing_ = false;
      if (dir.empty()) return;  // launches make their own
      if (prepared_.empty() && !closed_) {
        prepared_ = dir;
        prepared_max_ = max_pids;
        if (!registered_) {
          registered_ = true;
          // Registered after Afterwork's own exit hook, so it runs first: the
          // unused cgroup is removed at exit (a job that then runs inline).
          std::atexit([] { Get().Drop(); });
        }
      } else {
        extra = dir;
      }
    }
    if (!extra.empty()) RemoveCgroup(extra, Parent().v2);
  }

  void Drop() {
    std::string dir;
    {
      std::lock_guard lock(mu_);
      closed_ = true;  // one still being made is removed when it is done
      dir.swap(prepared_);
    }
    if (!dir.empty() && ::getpid() == owner_) RemoveCgroup(dir, Parent().v2);
  }

  CgroupPool() : owner_(::getpid()) {}

  const pid_t owner_;
  std::mutex mu_;
  std::string prepared_;  // "" when none is ready
  long long prepared_max_ = 0;
  long long last_max_ = 0;
  bool preparing_ = false;
  bool registered_ = false;
  bool closed_ = false;
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
  const std::string dir = std::move(dir_);
  dir_.clear();
  CgroupPool::Get().AfterLaunch(dir, v2_);
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

bool PidsCgroup::Empty() const {
  if (dir_.empty()) return false;
  const std::string current = ReadText(dir_ + "/pids.current");
  return !current.empty() && current[0] == '0' && (current.size() == 1 || current[1] == '\n');
}

void PidsCgroup::KillAll() const {
  if (!dir_.empty()) KillMembers(dir_, v2_);
}

}  // namespace toolgate::sandbox
