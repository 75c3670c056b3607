#include "sandbox/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace toolgate::sandbox {

namespace {

// Debian 12's kernel headers stop at ABI 2; these are the kernel's stable
// UAPI values (include/uapi/linux/landlock.h), so the launcher can use the
// ABI the running kernel offers regardless of the headers it was built with.
struct RulesetAttr {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;  // ABI 4
  std::uint64_t scoped;              // ABI 6
};
struct [[gnu::packed]] PathBeneathAttr {
  std::uint64_t allowed_access;
  std::int32_t parent_fd;
};
struct NetPortAttr {
  std::uint64_t allowed_access;
  std::uint64_t port;
};

constexpr unsigned kCreateRulesetVersion = 1u << 0;
constexpr int kRulePathBeneath = 1;
constexpr int kRuleNetPort = 2;

constexpr std::uint64_t kFsExecute = 1ull << 0;
constexpr std::uint64_t kFsWriteFile = 1ull << 1;
constexpr std::uint64_t kFsReadFile = 1ull << 2;
constexpr std::uint64_t kFsReadDir = 1ull << 3;
constexpr std::uint64_t kFsRemoveDir = 1ull << 4;
constexpr std::uint64_t kFsRemoveFile = 1ull << 5;
constexpr std::uint64_t kFsMakeChar = 1ull << 6;
constexpr std::uint64_t kFsMakeDir = 1ull << 7;
constexpr std::uint64_t kFsMakeReg = 1ull << 8;
constexpr std::uint64_t kFsMakeSock = 1ull << 9;
constexpr std::uint64_t kFsMakeFifo = 1ull << 10;
constexpr std::uint64_t kFsMakeBlock = 1ull << 11;
constexpr std::uint64_t kFsMakeSym = 1ull << 12;
constexpr std::uint64_t kFsRefer = 1ull << 13;     // ABI 2
constexpr std::uint64_t kFsTruncate = 1ull << 14;  // ABI 3
constexpr std::uint64_t kFsIoctlDev = 1ull << 15;  // ABI 5
constexpr std::uint64_t kNetBindTcp = 1ull << 0;
constexpr std::uint64_t kNetConnectTcp = 1ull << 1;
constexpr std::uint64_t kScopeAbstractUnix = 1ull << 0;
constexpr std::uint64_t kScopeSignal = 1ull << 1;

std::uint64_t HandledFs(int abi) {
  std::uint64_t fs = kFsExecute | kFsWriteFile | kFsReadFile | kFsReadDir | kFsRemoveDir | kFsRemoveFile |
                     kFsMakeChar | kFsMakeDir | kFsMakeReg | kFsMakeSock | kFsMakeFifo | kFsMakeBlock | kFsMakeSym;
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) fs |= kFsTruncate;
  if (abi >= 5) fs |= kFsIoctlDev;
  return fs;
}

// Read scopes may read and execute; write scopes get every handled right
// except making device nodes (never useful to an agent, and a classic escape).
std::uint64_t ReadAccess() { return kFsExecute | kFsReadFile | kFsReadDir; }
std::uint64_t WriteAccess(int abi) { return HandledFs(abi) & ~(kFsMakeChar | kFsMakeBlock); }
// Rights that make sense on a single file (anything else is EINVAL there).
std::uint64_t FileRights(int abi) {
  std::uint64_t r = kFsExecute | kFsWriteFile | kFsReadFile;
  if (abi >= 3) r |= kFsTruncate;
  if (abi >= 5) r |= kFsIoctlDev;
  return r;
}

bool HasGlob(std::string_view segment) {
  return segment.find_first_of("*?[{\\") != std::string_view::npos;
}

}  // namespace

int LandlockAbi() {
  const long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return v < 0 ? 0 : static_cast<int>(v);
}

std::string LandlockPathForScope(std::string_view canonical, std::string_view cwd) {
  std::string text;
  constexpr std::string_view kCwd = "${cwd}";
  if (canonical.substr(0, kCwd.size()) == kCwd) {
    if (cwd.empty() || cwd[0] != '/') return "";
    text = std::string(cwd) + std::string(canonical.substr(kCwd.size()));
  } else {
    text = std::string(canonical);
  }
  if (text == "/**") return "/";
  std::string out;
  std::size_t pos = 1;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find('/', pos), text.size());
    const std::string_view segment(text.data() + pos, end - pos);
    if (segment.empty() || HasGlob(segment)) break;
    out += "/";
    out += segment;
    pos = end + 1;
  }
  return out;  // "" when the first segment already has a glob: never widen to "/"
}

int AddLandlockPathRule(int ruleset_fd, int abi, const char* path, bool write) {
  const int fd = ::open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -errno;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return -e;
  }
  PathBeneathAttr attr{};
  attr.allowed_access = write ? WriteAccess(abi) : ReadAccess();
  if (!S_ISDIR(st.st_mode)) attr.allowed_access &= FileRights(abi);
  attr.parent_fd = fd;
  const long rc = ::syscall(SYS_landlock_add_rule, ruleset_fd, kRulePathBeneath, &attr, 0);
  const int e = errno;
  ::close(fd);
  return rc == 0 ? 0 : -e;
}

Result<int> CreateLandlockRuleset(const LandlockSpec& spec) {
  if (spec.abi < 1) return Error{ErrorCode::kInternal, "Landlock is not available on this kernel", ""};
  RulesetAttr attr{};
  attr.handled_access_fs = HandledFs(spec.abi);
  std::size_t size = sizeof(std::uint64_t);
  if (spec.abi >= 4 && spec.restrict_tcp) {
    attr.handled_access_net = kNetBindTcp | kNetConnectTcp;
    size = 2 * sizeof(std::uint64_t);
  }
  if (spec.abi >= 6 && spec.scope_signals_and_abstract_unix) {
    attr.scoped = kScopeAbstractUnix | kScopeSignal;
    size = sizeof attr;
  }
  const long fd = ::syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (fd < 0) {
    return Error{ErrorCode::kInternal, std::string("landlock_create_ruleset: ") + std::strerror(errno), ""};
  }
  for (const std::uint16_t port : spec.connect_ports) {
    if (spec.abi < 4 || !spec.restrict_tcp) break;
    NetPortAttr net{kNetConnectTcp, port};
    if (::syscall(SYS_landlock_add_rule, static_cast<int>(fd), kRuleNetPort, &net, 0) != 0) {
      const int e = errno;
      ::close(static_cast<int>(fd));
      return Error{ErrorCode::kInternal, std::string("landlock_add_rule (port): ") + std::strerror(e), ""};
    }
  }
  return static_cast<int>(fd);
}

Result<LandlockRuleset> BuildLandlockRuleset(const LandlockSpec& spec) {
  Result<int> fd = CreateLandlockRuleset(spec);
  if (!fd.ok()) return fd.error();
  LandlockRuleset out;
  out.fd = *fd;
  const auto add = [&](const std::vector<std::string>& paths, bool write) -> std::optional<Error> {
    for (const std::string& p : paths) {
      if (::access(p.c_str(), F_OK) != 0) {
        out.skipped.push_back(p);
        continue;
      }
      const int rc = AddLandlockPathRule(out.fd, spec.abi, p.c_str(), write);
      if (rc != 0) return Error{ErrorCode::kInternal, "landlock_add_rule " + p + ": " + std::strerror(-rc), ""};
    }
    return std::nullopt;
  };
  std::optional<Error> e = add(spec.read_paths, false);
  if (!e) e = add(spec.write_paths, true);
  if (e) {
    ::close(out.fd);
    return *e;
  }
  return out;
}

int LandlockRestrictSelf(int ruleset_fd) {
  return ::syscall(SYS_landlock_restrict_self, ruleset_fd, 0) == 0 ? 0 : -errno;
}

}  // namespace toolgate::sandbox
