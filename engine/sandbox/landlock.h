// Landlock: the file system and TCP-port walls of the process tier (and a
// second wall inside the namespace tier). The ruleset is created and filled
// by the launcher before it forks; the child only calls RestrictSelf.
//
// Landlock grants access beneath a directory (or to one file): it cannot
// express globs nor "deny this inside that". So a glob scope is widened to
// its longest literal directory prefix ("/usr/lib/*.so" -> "/usr/lib"), a
// scope that would widen to "/" is skipped (less access, never more), and fs
// deny scopes inside a granted scope are not enforced by Landlock: the
// namespace tier masks them in its mount view.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "toolgate/result.h"

namespace toolgate::sandbox {

// The highest Landlock ABI the running kernel offers; 0 when Landlock is
// unavailable (not built in, disabled at boot).
int LandlockAbi();

// The directory (or file) Landlock gets for a canonical scope: cwd and home
// substituted, cut at the first segment holding a glob character. "" when
// the scope would widen to "/" (only "/**" itself may grant the root).
std::string LandlockPathForScope(std::string_view canonical, std::string_view cwd);

struct LandlockSpec {
  int abi = 0;
  std::vector<std::string> read_paths;   // read + execute beneath
  std::vector<std::string> write_paths;  // everything beneath
  bool restrict_tcp = true;              // ABI >= 4: TCP bind/connect denied except...
  std::vector<std::uint16_t> connect_ports;  // ...connects to these ports
  bool scope_signals_and_abstract_unix = true;  // ABI >= 6
};

struct LandlockRuleset {
  int fd = -1;
  std::vector<std::string> skipped;  // paths that do not exist (nothing to grant)
};

// Creates the ruleset and adds every rule (opens each path O_PATH). Paths
// that do not exist are skipped. Call before fork.
Result<LandlockRuleset> BuildLandlockRuleset(const LandlockSpec& spec);

// Adds one path rule; async-signal-safe (raw syscalls only), for the
// namespace tier, which adds rules after its mount view is in place.
// Returns 0, or -errno. A missing path returns 0 (nothing to grant).
int AddLandlockPathRule(int ruleset_fd, int abi, const char* path, bool write);

// Creates an empty ruleset handling every access the ABI knows; rules are
// added later (namespace tier). Call before fork.
Result<int> CreateLandlockRuleset(const LandlockSpec& spec);

// In the child, after PR_SET_NO_NEW_PRIVS: enforce the ruleset. Async-signal-safe.
int LandlockRestrictSelf(int ruleset_fd);

}  // namespace toolgate::sandbox
