// Helpers shared by the effects tests: build a call, run the extractor, and
// ask questions about the result (never about message prose).
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>

#include <string>
#include <string_view>

#include "toolgate/effects.h"
#include "toolgate/tool_call.h"

namespace toolgate::effects_test {

inline EffectsContext TestContext(bool resolve_symlinks = false) {
  EffectsContext context;
  context.home = "/home/u";
  context.resolve_symlinks = resolve_symlinks;
  return context;
}

inline Effects RunTool(std::string tool, nlohmann::json input, std::string cwd = "/work",
                       const EffectsContext& context = TestContext()) {
  ToolCall call;
  call.tool_name = std::move(tool);
  call.tool_input = std::move(input);
  call.cwd = std::move(cwd);
  return ExtractEffects(call, context);
}

inline Effects Sh(std::string_view command, std::string cwd = "/work",
                  const EffectsContext& context = TestContext()) {
  nlohmann::json input = nlohmann::json::object();
  input["command"] = std::string(command);
  return RunTool("Bash", std::move(input), std::move(cwd), context);
}

// A fresh directory under the temporary directory (its real path), removed
// with everything in it at scope end.
struct ScratchDir {
  explicit ScratchDir(std::string_view prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    root = std::filesystem::canonical(pattern).string();
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(std::string_view name) const { return root + "/" + std::string(name); }
  std::string root;
};

inline std::string Dump(const Effects& effects) {
  return ToJson(effects).dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline const ExecEffect* FindExec(const Effects& effects, std::string_view program) {
  for (const ExecEffect& exec : effects.execs) {
    if (exec.program == program) return &exec;
  }
  return nullptr;
}

inline bool HasExec(const Effects& effects, std::string_view program) { return FindExec(effects, program) != nullptr; }

inline bool HasExecSource(const Effects& effects, std::string_view program, std::string_view source) {
  for (const ExecEffect& exec : effects.execs) {
    if (exec.program == program && exec.source == source) return true;
  }
  return false;
}

inline bool HasPath(const Effects& effects, std::string_view path, PathAccess access) {
  for (const PathEffect& effect : effects.paths) {
    if (effect.path == path && effect.access == access) return true;
  }
  return false;
}
inline bool Reads(const Effects& e, std::string_view path) { return HasPath(e, path, PathAccess::kRead); }
inline bool Writes(const Effects& e, std::string_view path) { return HasPath(e, path, PathAccess::kWrite); }

inline bool HasHost(const Effects& effects, std::string_view host, int port = -1) {
  for (const HostEffect& effect : effects.hosts) {
    if (effect.host == host && (port < 0 || effect.port == port)) return true;
  }
  return false;
}

inline bool HasUnknown(const Effects& effects, std::string_view what) {
  for (const UnknownEffect& unknown : effects.unknowns) {
    if (unknown.what == what) return true;
  }
  return false;
}

inline bool HasEmail(const Effects& effects, std::string_view email) {
  for (const std::string& e : effects.emails) {
    if (e == email) return true;
  }
  return false;
}

}  // namespace toolgate::effects_test
