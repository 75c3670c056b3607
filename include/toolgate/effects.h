// Effects: what a tool call would do, as data. The grant checker and the
// Lua rules read effects, never raw tool input, so one parser decides what
// a command means for every consumer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "toolgate/tool_call.h"

namespace toolgate {

// One program the call would run.
struct ExecEffect {
  std::string program;            // argv[0] as written after expansion ("git", "/usr/bin/git", "./x")
  std::string resolved;           // normalized absolute path when program contains '/', else ""
  std::vector<std::string> argv;  // full argv including argv[0]
  std::string source;             // how it was found: "command", "bash -c", "$( )", "xargs", "sudo", ...
};

enum class PathAccess { kRead, kWrite };

// One path the call would read or write.
struct PathEffect {
  std::string path;    // absolute, normalized, symlinks resolved where they exist
  std::string raw;     // as written in the call
  PathAccess access = PathAccess::kRead;
  std::string source;  // "redirect >", "cp destination", "Write file_path", ...
};

// One network endpoint the call would contact.
struct HostEffect {
  std::string host;    // lower-case host name or IP literal (no brackets)
  int port = 0;        // 0 when neither given nor implied by a scheme
  std::string scheme;  // "https", "ssh", "" when unknown
  std::string url;     // the URL it came from, if any
  std::string source;  // "curl", "git remote", "WebFetch url", ...
};

// Something the extractor could not determine statically. Grants treat each
// one as an unknown effect (deny by default, per the profile's unknown_effects).
struct UnknownEffect {
  std::string what;    // "dynamic program name", "unbalanced quote", "dynamic path", ...
  std::string detail;  // the offending text, shortened to at most 120 bytes
};

struct Effects {
  std::vector<ExecEffect> execs;
  std::vector<PathEffect> paths;
  std::vector<HostEffect> hosts;
  std::vector<std::string> urls;      // every URL seen, as written
  std::vector<std::string> emails;    // recipients and addresses seen in arguments
  std::uint64_t bytes_written = 0;    // content bytes a file tool would write
  std::vector<UnknownEffect> unknowns;
};

// Environment facts the extractor needs that are not in the call.
struct EffectsContext {
  std::string home = "/root";     // what ~ and $HOME expand to
  bool resolve_symlinks = true;   // consult the file system for existing symlinks
  int max_shell_depth = 8;        // nesting of bash -c / eval / $( ) before it is an unknown
};

// Dispatches on tool_name: Bash/shell tools, file tools (Write, Edit,
// MultiEdit, Read, NotebookEdit, Glob, Grep, LS), WebFetch/WebSearch, and
// mcp__server__tool. Tools it does not know get URL/path/email scanning of
// their input. Never throws; anything it cannot be sure of is an UnknownEffect.
Effects ExtractEffects(const ToolCall& call, const EffectsContext& context);

nlohmann::json ToJson(const Effects& effects);
const char* PathAccessName(PathAccess access);  // "read" / "write"

}  // namespace toolgate
