#include "sandbox/cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace toolgate::sandbox {

namespace {

constexpr long kCgroup2Magic = 0x63677270;

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string CgroupV2Mount() {
  for (const char* p : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs st {};
    if (::statfs(p, &st) == 0 && st.f_type == kCgroup2Magic) return p;
  }
  return "";
}

PidsCgroup PidsCgroup::Create(long long max_pids) {
  PidsCgroup cg;
  const std::string name = "toolgate-" + std::to_string(::getpid());
  const std::string v2 = CgroupV2Mount();
  if (!v2.empty() && ReadText(v2 + "/cgroup.controllers").find("pids") != std::string::npos &&
      ::access(v2.c_str(), W_OK) == 0) {
    const std::string dir = v2 + "/" + name;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      if (WriteText(dir + "/pids.max", std::to_string(max_pids))) {
        cg.dir_ = dir;
        cg.v2_ = true;
        return cg;
      }
      ::rmdir(dir.c_str());
    }
  }
  const std::string v1 = "/sys/fs/cgroup/pids";
  if (::access((v1 + "/cgroup.procs").c_str(), W_OK) == 0) {
    const std::string dir = v1 + "/" + name;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      if (WriteText(dir + "/pids.max", std::to_string(max_pids))) {
        cg.dir_ = dir;
        return cg;
      }
      ::rmdir(dir.c_str());
    }
  }
  cg.why_ = "no writable pids cgroup (v2 with the pids controller, or v1 /sys/fs/cgroup/pids)";
  return cg;
}

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
  KillAll();
  // rmdir fails while members are still exiting; retry briefly (bounded).
  for (int i = 0; i < 200 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool PidsCgroup::AddProcess(pid_t pid) const {
  return !dir_.empty() && WriteText(dir_ + "/cgroup.procs", std::to_string(pid));
}

void PidsCgroup::KillAll() const {
  if (dir_.empty()) return;
  if (v2_ && WriteText(dir_ + "/cgroup.kill", "1")) return;
  // v1: members cannot leave the cgroup and new ones are bounded by pids.max,
  // so repeated sweeps converge; freeze would be nicer but needs another hierarchy.
  for (int round = 0; round < 100; ++round) {
    std::istringstream procs(ReadText(dir_ + "/cgroup.procs"));
    bool any = false;
    for (long pid = 0; procs >> pid;) {
      if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL), any = true;
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace toolgate::sandbox
