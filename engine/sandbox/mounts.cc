#include "sandbox/mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

namespace toolgate::sandbox {

namespace {

constexpr const char* kBase = "/tmp";  // the tmpfs is mounted here, then pivoted into (host /tmp is untouched)
constexpr std::string_view kNewRoot = "/newroot";
constexpr std::string_view kOldRoot = "/oldroot";

struct MountAttr {  // struct mount_attr (Linux 5.12)
  unsigned long long attr_set, attr_clr, propagation, userns_fd;
};
constexpr unsigned long long kAttrRdonly = 0x1, kAttrNosuid = 0x2, kAttrNodev = 0x4;
constexpr unsigned kAtRecursive = 0x8000;

bool IsUnder(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

// Paths the namespace tier makes itself; grants of them (or inside them) are not bound.
bool Synthesized(std::string_view p) {
  return p == "/tmp" || IsUnder(p, "/dev") || IsUnder(p, "/proc") || IsUnder(p, "/sys");
}

void AddParents(std::string_view target, std::set<std::string>* made, std::vector<MountOp>* ops) {
  // target is "/newroot/a/b/c": make /newroot/a and /newroot/a/b.
  std::size_t pos = kNewRoot.size() + 1;
  while (true) {
    const std::size_t slash = target.find('/', pos);
    if (slash == std::string_view::npos) break;
    std::string dir(target.substr(0, slash));
    if (made->insert(dir).second) ops->push_back({MountOp::Kind::kMkdir, "", dir});
    pos = slash + 1;
  }
}

void AddMountpoint(const std::string& host, std::set<std::string>* made, std::vector<MountOp>* ops, bool* is_dir) {
  const std::string target = std::string(kNewRoot) + host;
  AddParents(target, made, ops);
  struct stat st {};
  *is_dir = ::stat(host.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (made->insert(target).second) ops->push_back({*is_dir ? MountOp::Kind::kMkdir : MountOp::Kind::kTouch, "", target});
}

// Literal paths a deny scope covers: "X" and "X/**" mask X; a scope with
// single-segment globs ("/etc/shadow*") masks what glob(3) finds now; a
// "**" before the last segment cannot be enumerated.
std::vector<std::string> DenyTargets(const std::string& scope, std::vector<std::string>* notes) {
  std::string s = scope;
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "/**") == 0) s.resize(s.size() - 3);
  if (s.empty()) return {};
  if (s.find("**") != std::string::npos) {
    notes->push_back("deny scope " + scope + " has '**' inside: not masked in the mount view (the grant checks still deny it)");
    return {};
  }
  if (s.find_first_of("*?[{") == std::string::npos) return {s};
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(s.c_str(), GLOB_NOSORT | GLOB_BRACE, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc && out.size() < 1024; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  return out;
}

}  // namespace

MountPlan PlanMounts(const MountPlanInput& input) {
  MountPlan plan;
  std::set<std::string> made;
  // Granted paths, de-duplicated; a write grant wins over a read grant of the same path.
  std::map<std::string, bool> grants;  // path -> writable
  for (const std::string& p : input.read_paths) grants.emplace(p, false);
  for (const std::string& p : input.write_paths) grants[p] = true;
  if (!input.extra_rw_dir.empty()) grants[input.extra_rw_dir] = true;

  const auto bind = [&](const std::string& host, bool writable) {
    if (::access(host.c_str(), F_OK) != 0) {
      plan.notes.push_back("granted path " + host + " does not exist: nothing to bind");
      return;
    }
    bool is_dir = false;
    AddMountpoint(host, &made, &plan.ops, &is_dir);
    plan.ops.push_back({MountOp::Kind::kBind, std::string(kOldRoot) + host, std::string(kNewRoot) + host, !writable, true});
  };
  // A grant of "/" itself comes first, so every other mount lands on top of it.
  if (const auto it = grants.find("/"); it != grants.end()) bind("/", it->second);

  // The fixed system mounts.
  const std::string nr(kNewRoot);
  for (const char* d : {"/tmp", "/dev", "/proc"}) {
    if (made.insert(nr + d).second) plan.ops.push_back({MountOp::Kind::kMkdir, "", nr + d});
  }
  plan.ops.push_back({MountOp::Kind::kTmpfs, "", nr + "/tmp", false, true});
  plan.ops.push_back({MountOp::Kind::kTmpfs, "", nr + "/dev", false, true});
  for (const char* dev : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string host = std::string("/dev/") + dev;
    if (::access(host.c_str(), F_OK) != 0) continue;
    plan.ops.push_back({MountOp::Kind::kTouch, "", nr + host});
    plan.ops.push_back({MountOp::Kind::kBind, std::string(kOldRoot) + host, nr + host, false, /*nodev=*/false});
  }
  plan.ops.push_back({MountOp::Kind::kMkdir, "", nr + "/dev/shm"});
  plan.ops.push_back({MountOp::Kind::kTmpfs, "", nr + "/dev/shm", false, true});
  plan.ops.push_back({MountOp::Kind::kSymlink, "/proc/self/fd", nr + "/dev/fd"});
  plan.ops.push_back({MountOp::Kind::kSymlink, "/proc/self/fd/0", nr + "/dev/stdin"});
  plan.ops.push_back({MountOp::Kind::kSymlink, "/proc/self/fd/1", nr + "/dev/stdout"});
  plan.ops.push_back({MountOp::Kind::kSymlink, "/proc/self/fd/2", nr + "/dev/stderr"});
  plan.ops.push_back({MountOp::Kind::kProc, "", nr + "/proc"});

  // Then every granted path, parents before children (map order).
  for (const auto& [path, writable] : grants) {
    if (path == "/") continue;
    if (Synthesized(path)) continue;
    bind(path, writable);
  }
  // Top-level symlinks of the host (/bin -> usr/bin, /lib64 -> usr/lib64 on a
  // merged-/usr system), recreated when they point into something granted.
  if (DIR* d = ::opendir("/")) {
    while (const dirent* e = ::readdir(d)) {
      // The entry's type from the directory itself: no lstat for the
      // directories (most of /); a file system that does not say is asked.
      if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
      const std::string host = std::string("/") + e->d_name;
      struct stat st {};
      if (::lstat(host.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
      char target[4096];
      const ssize_t n = ::readlink(host.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      const std::string abs = target[0] == '/' ? std::string(target) : "/" + std::string(target);
      bool granted = false;
      for (const auto& [path, writable] : grants) granted = granted || IsUnder(abs, path);
      if (granted && made.insert(nr + host).second) plan.ops.push_back({MountOp::Kind::kSymlink, target, nr + host});
    }
    ::closedir(d);
  }
  // Deny scopes inside what is bound are masked last, so they cover the binds.
  for (const std::string& scope : input.deny_scopes) {
    for (const std::string& path : DenyTargets(scope, &plan.notes)) {
      if (Synthesized(path) || path == "/") continue;
      bool visible = false;
      for (const auto& [granted, writable] : grants) visible = visible || IsUnder(path, granted);
      if (!visible) continue;  // not in the view at all
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) continue;  // nothing there to hide
      plan.ops.push_back({S_ISDIR(st.st_mode) ? MountOp::Kind::kMaskDir : MountOp::Kind::kMaskFile, "", nr + path});
    }
  }
  return plan;
}

int ApplyMountPlan(const MountPlan& plan, int* failed_op) {
  *failed_op = -1;
  // Nothing done here propagates to the host: the whole tree becomes private first.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return -errno;
  if (::mount("tmpfs", kBase, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") != 0) return -errno;
  if (::chdir(kBase) != 0) return -errno;
  if (::mkdir("newroot", 0755) != 0 || ::mkdir("oldroot", 0755) != 0) return -errno;
  if (::mount("tmpfs", "newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") != 0) return -errno;
  // pivot_root moves the host's root to /oldroot inside the tmpfs, so binds
  // can name host paths as /oldroot/... and the tmpfs is not in their way.
  if (::syscall(SYS_pivot_root, kBase, "/tmp/oldroot") != 0) return -errno;
  if (::chdir("/") != 0) return -errno;

  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    const MountOp& op = plan.ops[i];
    const char* t = op.target.c_str();
    int rc = 0;
    switch (op.kind) {
      case MountOp::Kind::kMkdir:
        rc = ::mkdir(t, 0755) == 0 || errno == EEXIST ? 0 : -errno;
        break;
      case MountOp::Kind::kTouch: {
        const int fd = ::open(t, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        rc = fd >= 0 || errno == EEXIST ? 0 : -errno;
        if (fd >= 0) ::close(fd);
        break;
      }
      case MountOp::Kind::kSymlink:
        rc = ::symlink(op.source.c_str(), t) == 0 || errno == EEXIST ? 0 : -errno;
        break;
      case MountOp::Kind::kBind: {
        if (::mount(op.source.c_str(), t, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
          rc = -errno;
          break;
        }
        // Recursive, so submounts of a read-only grant are read-only too; nosuid
        // always (setuid bits give nothing; no_new_privs would refuse them anyway).
        MountAttr attr{};
        attr.attr_set = kAttrNosuid | (op.read_only ? kAttrRdonly : 0) | (op.nodev ? kAttrNodev : 0);
        if (::syscall(SYS_mount_setattr, AT_FDCWD, t, kAtRecursive, &attr, sizeof attr) != 0) rc = -errno;
        break;
      }
      case MountOp::Kind::kTmpfs:
        rc = ::mount("tmpfs", t, "tmpfs", MS_NOSUID | (op.nodev ? MS_NODEV : 0), "mode=1777") == 0 ? 0 : -errno;
        break;
      case MountOp::Kind::kMaskDir:
        rc = ::mount("tmpfs", t, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=000,size=4k") == 0 ? 0
                                                                                                                 : -errno;
        break;
      case MountOp::Kind::kMaskFile: {
        if (::mount("/oldroot/dev/null", t, nullptr, MS_BIND, nullptr) != 0) {
          rc = -errno;
          break;
        }
        MountAttr attr{};
        attr.attr_set = kAttrRdonly | kAttrNosuid | kAttrNodev;  // nodev: reads fail, nothing is revealed
        if (::syscall(SYS_mount_setattr, AT_FDCWD, t, 0u, &attr, sizeof attr) != 0) rc = -errno;
        break;
      }
      case MountOp::Kind::kProc:
        // A proc of the new PID namespace: only the sandbox's processes are in it.
        rc = ::mount("proc", t, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0 ? 0 : -errno;
        break;
    }
    if (rc != 0) {
      *failed_op = static_cast<int>(i);
      return rc;
    }
  }
  // The view becomes the root; the tmpfs it was built in is stacked on top
  // of it, with the host's root still mounted at its /oldroot.
  if (::chdir("/newroot") != 0) return -errno;
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return -errno;
  // The host's root leaves the view for good: one lazy unmount of that tmpfs
  // takes everything mounted below it (the host's whole tree) along. Each
  // unmount waits for an RCU grace period, so the host's root is not
  // unmounted on its own first.
  if (::umount2(".", MNT_DETACH) != 0) return -errno;
  if (::chdir("/") != 0) return -errno;
  MountAttr ro{};
  ro.attr_set = kAttrRdonly | kAttrNosuid | kAttrNodev;
  if (::syscall(SYS_mount_setattr, AT_FDCWD, "/", 0u, &ro, sizeof ro) != 0) return -errno;
  return 0;
}

}  // namespace toolgate::sandbox
