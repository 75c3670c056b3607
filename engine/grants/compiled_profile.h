// CompiledProfile: one profile's grants after inheritance is flattened and every
// pattern is compiled. Check* methods are the hot path: no allocation beyond
// what RE2::Set needs, no regex compilation, no I/O.
//
// Within one category the most severe matching grant wins (deny > ask > allow);
// when nothing matches, the profile's default verdict applies (grant == nullptr).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "toolgate/decision.h"
#include "toolgate/effects.h"

namespace toolgate {

struct PolicySettings;

struct GrantMatch {
  Verdict verdict = Verdict::kDeny;
  const GrantInfo* grant = nullptr;  // nullptr: the profile default (or unknown_effects) decided
};

class CompiledProfile {
 public:
  virtual ~CompiledProfile() = default;

  virtual const std::string& name() const = 0;
  virtual Verdict default_verdict() const = 0;       // "default", deny unless set
  virtual Verdict unknown_effects_verdict() const = 0;  // "unknown_effects", deny unless set

  // tools.allow/ask/deny globs against the tool name.
  virtual GrantMatch CheckTool(std::string_view tool_name) const = 0;
  // fs.read/write/ask/deny. A write grant also allows reading. A deny scope
  // matches both accesses. cwd anchors relative and ${cwd} scopes; when cwd is
  // empty those scopes match nothing.
  virtual GrantMatch CheckPath(const PathEffect& path, std::string_view cwd) const = 0;
  // CheckPath(paths[i], cwd) into out[i] for every i (out has room for
  // paths.size()): a call's paths share its cwd, which is then prepared once.
  virtual void CheckPaths(std::span<const PathEffect> paths, std::string_view cwd, GrantMatch* out) const = 0;
  // exec.allow/ask/deny argv patterns against the effect's argv. argv[0] is
  // matched as its bare name when the program is a bare name or lives in one of
  // settings.trusted_bin_dirs, else as its normalized absolute path.
  virtual GrantMatch CheckExec(const ExecEffect& exec) const = 0;
  // network.allow/ask/deny host patterns against host and port.
  virtual GrantMatch CheckHost(const HostEffect& host) const = 0;
  // Every UnknownEffect gets unknown_effects_verdict(); the GrantInfo (never null)
  // points at the profile's unknown_effects key (or a synthesized entry if unset).
  virtual GrantMatch CheckUnknown(const UnknownEffect& unknown) const = 0;
};

}  // namespace toolgate
