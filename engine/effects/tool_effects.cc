// ExtractEffects: dispatch on the tool name to the extractor that knows it.

#include <array>
#include <cctype>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "effects/effects_sink.h"
#include "effects/path_normalizer.h"
#include "effects/shell_effects.h"
#include "effects/text_scan.h"
#include "effects/url.h"
#include "toolgate/effects.h"

namespace toolgate {
namespace {

using effects::EffectsSink;

constexpr int kMaxJsonDepth = 32;
constexpr std::size_t kMaxScannedStrings = 10000;

bool OneOf(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view candidate : names) {
    if (name == candidate) return true;
  }
  return false;
}

// The first of `keys` that holds a string, or nullptr.
const std::string* StringField(const nlohmann::json& input, std::initializer_list<std::string_view> keys) {
  if (!input.is_object()) return nullptr;
  for (std::string_view key : keys) {
    auto it = input.find(key);
    if (it != input.end() && it->is_string()) return it->get_ptr<const std::string*>();
  }
  return nullptr;
}

class ToolExtractor {
 public:
  ToolExtractor(const ToolCall& call, const EffectsContext& context, EffectsSink& sink)
      : call_(call), context_(context), sink_(sink), input_(call.tool_input) {}

  void Run() {
    const std::string& tool = call_.tool_name;
    if (OneOf(tool, {"Bash", "bash", "shell", "Shell", "run_shell_command", "exec_command", "local_shell",
                     "run_terminal_cmd", "execute_command", "terminal"})) {
      Shell();
    } else if (OneOf(tool, {"Write", "write_file", "create", "create_file", "write"})) {
      Write();
    } else if (OneOf(tool, {"Edit", "MultiEdit", "replace", "edit", "edit_file", "str_replace", "multi_edit",
                            "apply_diff", "search_replace"})) {
      Edit();
    } else if (OneOf(tool, {"str_replace_editor", "str_replace_based_edit_tool"})) {
      EditorTool();
    } else if (tool == "NotebookEdit") {
      NotebookEdit();
    } else if (OneOf(tool, {"Read", "read_file", "view", "NotebookRead", "open_file"})) {
      FileTool(PathAccess::kRead, true);
    } else if (OneOf(tool, {"Glob", "glob", "file_search"})) {
      Glob();
    } else if (OneOf(tool, {"Grep", "grep", "search_file_content", "grep_search", "codebase_search"})) {
      SearchTool();
    } else if (OneOf(tool, {"LS", "list_directory", "ls", "list_dir"})) {
      SearchTool();
    } else if (OneOf(tool, {"WebFetch", "web_fetch", "fetch"})) {
      WebFetch();
    } else if (OneOf(tool, {"WebSearch", "web_search", "google_web_search"})) {
      WebSearch();
    } else {
      // mcp__server__tool and tools we do not know: scan every string.
      ScanJson(input_, 0);
    }
  }

 private:
  void Missing(std::string_view what) { sink_.AddUnknown("missing input", call_.tool_name + " " + std::string(what)); }

  // The first of `keys` that holds a string, or nullptr. Any of them present
  // with another type (not null) is "missing input" as well: the tool may
  // read it in a way the extractor does not know.
  // One pass over the input's members (a tool call has few) rather than one
  // lookup per key: the first key in `keys` order wins, and every member
  // among `keys` that is neither a string nor null is reported.
  const std::string* Text(std::initializer_list<std::string_view> keys, std::string_view what) {
    if (!input_.is_object()) return nullptr;
    const std::string* found = nullptr;
    std::size_t found_rank = keys.size();
    for (const auto& [name, value] : input_.get_ref<const nlohmann::json::object_t&>()) {
      std::size_t rank = 0;
      for (std::string_view key : keys) {
        if (name == key) break;
        ++rank;
      }
      if (rank == keys.size() || value.is_null()) continue;
      if (!value.is_string()) {
        Missing(what);
      } else if (rank < found_rank) {
        found = value.get_ptr<const std::string*>();
        found_rank = rank;
      }
    }
    return found;
  }

  // Bytes a content field holds; a non-string value counts as its JSON text,
  // so an unexpected type cannot hide bytes from a write budget.
  static std::uint64_t ContentBytes(const nlohmann::json& object, std::initializer_list<std::string_view> keys) {
    if (!object.is_object()) return 0;
    std::uint64_t bytes = 0;
    for (std::string_view key : keys) {
      auto it = object.find(key);
      if (it == object.end() || it->is_null()) continue;
      bytes += it->is_string() ? it->get_ref<const std::string&>().size() : it->dump().size();
    }
    return bytes;
  }

  std::string Source(std::string_view key) const { return call_.tool_name + " " + std::string(key); }

  // The working directory the tool runs in: the call's, or a workdir key.
  std::string WorkingDirectory() {
    const std::string* dir = Text({"workdir", "cwd", "working_directory", "directory", "dir_path"}, "workdir");
    if (dir == nullptr || dir->empty()) return call_.cwd;
    effects::NormalizeOptions options;
    options.cwd = call_.cwd;
    options.home = context_.home;
    options.expand_tilde = true;
    effects::NormalizedPath path = effects::NormalizePath(*dir, options);
    if (!path.problem.empty()) sink_.AddUnknown(path.problem, *dir);
    return path.path;
  }

  void AddPath(std::string_view raw, PathAccess access, std::string_view source,
               std::string_view cwd_override = {}) {
    effects::NormalizeOptions options;
    options.cwd = cwd_override.empty() ? std::string_view(call_.cwd) : cwd_override;
    options.home = context_.home;
    options.expand_tilde = true;
    options.resolve_symlinks = context_.resolve_symlinks;
    options.cache = sink_.path_cache();
    effects::NormalizedPath path = effects::NormalizePath(raw, options);
    if (!path.problem.empty()) sink_.AddUnknown(path.problem, raw);
    if (!path.path.empty()) sink_.AddPath(std::move(path.path), raw, access, source);
  }

  void Shell() {
    std::string cwd = WorkingDirectory();
    auto it = input_.is_object() ? input_.find("command") : input_.end();
    if (it == input_.end() && input_.is_object()) it = input_.find("cmd");
    if (it != input_.end() && it->is_string()) {
      effects::ExtractShellEffects(it->get_ref<const std::string&>(), cwd, context_, sink_);
      return;
    }
    if (it != input_.end() && it->is_array() && !it->empty()) {
      std::vector<std::string> argv;
      for (const nlohmann::json& arg : *it) {
        if (!arg.is_string()) {
          Missing("command");
          return;
        }
        argv.push_back(arg.get<std::string>());
      }
      effects::ExtractArgvEffects(argv, cwd, context_, sink_);
      return;
    }
    Missing("command");
  }

  const std::string* FilePath() {
    return Text({"file_path", "path", "absolute_path", "filePath", "target_file", "filename", "notebook_path"},
                "file_path");
  }

  void Write() {
    const std::string* path = FilePath();
    if (path == nullptr) {
      Missing("file_path");
      return;
    }
    AddPath(*path, PathAccess::kWrite, Source("file_path"));
    sink_.effects().bytes_written += ContentBytes(input_, {"content", "file_text", "text", "contents"});
  }

  void Edit() {
    const std::string* path = FilePath();
    if (path == nullptr) {
      Missing("file_path");
      return;
    }
    AddPath(*path, PathAccess::kRead, Source("file_path"));
    AddPath(*path, PathAccess::kWrite, Source("file_path"));
    std::uint64_t bytes = ContentBytes(input_, {"new_string", "new_str", "content", "code_edit", "diff"});
    auto edits = input_.find("edits");
    if (edits != input_.end() && edits->is_array()) {
      for (const nlohmann::json& edit : *edits) bytes += ContentBytes(edit, {"new_string", "new_str"});
    } else if (edits != input_.end() && !edits->is_null()) {
      Missing("edits");
    }
    sink_.effects().bytes_written += bytes;
  }

  void EditorTool() {
    const std::string* command = Text({"command"}, "command");
    const std::string* path = FilePath();
    if (path == nullptr) {
      Missing("path");
      return;
    }
    AddPath(*path, PathAccess::kRead, Source("path"));
    if (command == nullptr || *command != "view") {
      AddPath(*path, PathAccess::kWrite, Source("path"));
      sink_.effects().bytes_written += ContentBytes(input_, {"file_text", "new_str"});
    }
  }

  void NotebookEdit() {
    const std::string* path = Text({"notebook_path", "file_path", "path"}, "notebook_path");
    if (path == nullptr) {
      Missing("notebook_path");
      return;
    }
    AddPath(*path, PathAccess::kRead, Source("notebook_path"));
    AddPath(*path, PathAccess::kWrite, Source("notebook_path"));
    sink_.effects().bytes_written += ContentBytes(input_, {"new_source"});
  }

  void FileTool(PathAccess access, bool required) {
    const std::string* path = FilePath();
    if (path == nullptr) {
      auto paths = input_.is_object() ? input_.find("paths") : input_.end();
      if (paths != input_.end() && paths->is_array()) {
        // An empty list or a non-string entry names files we cannot see.
        if (paths->empty()) Missing("paths");
        for (const nlohmann::json& one : *paths) {
          if (one.is_string()) {
            AddPath(one.get_ref<const std::string&>(), access, Source("paths"));
          } else {
            Missing("paths");
          }
        }
        return;
      }
      if (paths != input_.end() && !paths->is_null()) {
        Missing("paths");
        return;
      }
      if (required) Missing("file_path");
      return;
    }
    AddPath(*path, access, Source("file_path"));
  }

  std::string BaseDirectory(std::string_view key) {
    const std::string* path = Text({"path", "dir_path", "directory", "absolute_path", "target_directory"}, "path");
    if (path != nullptr && !path->empty()) {
      AddPath(*path, PathAccess::kRead, Source(key));
      effects::NormalizeOptions options;
      options.cwd = call_.cwd;
      options.home = context_.home;
      options.expand_tilde = true;
      return effects::NormalizePath(*path, options).path;
    }
    if (call_.cwd.empty()) {
      sink_.AddUnknown("relative path with unknown working directory", call_.tool_name);
      return "";
    }
    AddPath(call_.cwd, PathAccess::kRead, Source("cwd"));
    return call_.cwd;
  }

  void Glob() {
    std::string base = BaseDirectory("path");
    const std::string* pattern = Text({"pattern", "glob_pattern", "query"}, "pattern");
    if (pattern == nullptr) {
      Missing("pattern");
      return;
    }
    // An absolute or ~ pattern, or one with .., reaches outside the base.
    AddPath(*pattern, PathAccess::kRead, Source("pattern"), base);
  }

  void SearchTool() {
    std::string base = BaseDirectory("path");
    (void)base;
    if (const std::string* include = Text({"glob", "include"}, "glob")) {
      if (!include->empty() && (include->front() == '/' || include->front() == '~' ||
                                include->find("..") != std::string::npos)) {
        AddPath(*include, PathAccess::kRead, Source("glob"), base);
      }
    }
  }

  void WebFetch() {
    const std::string* url = Text({"url", "uri"}, "url");
    if (url == nullptr) {
      // Without a url the fetch target is unknowable; URLs the prompt names
      // are still recorded, but never instead of the unknown.
      Missing("url");
      if (const std::string* prompt = StringField(input_, {"prompt"})) ScanText(*prompt, "url");
      return;
    }
    auto parsed = effects::ParseUrl(*url);
    if (!parsed) parsed = effects::ParseBareHost(*url, "https");
    if (!parsed) {
      sink_.AddUnknown("unparseable URL", *url);
      return;
    }
    sink_.AddUrl(*parsed, *url, Source("url"));
  }

  void WebSearch() {
    // The search provider is the client's; only URLs written in the query
    // are recorded (as URLs, not hosts: nothing contacts them directly).
    const std::string* query = Text({"query", "q"}, "query");
    if (query == nullptr) {
      Missing("query");
      return;
    }
    std::size_t pos = 0;
    while ((pos = query->find("://", pos)) != std::string::npos) {
      std::size_t start = pos;
      while (start > 0 && std::isalnum(static_cast<unsigned char>((*query)[start - 1]))) --start;
      std::size_t end = query->find_first_of(" \t\n\"'<>", pos);
      if (end == std::string::npos) end = query->size();
      if (start < pos) sink_.AddUrlText(std::string_view(*query).substr(start, end - start));
      pos = end;
    }
  }

  void ScanText(const std::string& text, std::string_view key) {
    effects::TextScanOptions options;
    std::string source = call_.tool_name.rfind("mcp__", 0) == 0 ? "mcp argument" : Source(key);
    options.source = source;
    options.home = context_.home;
    options.resolve_symlinks = context_.resolve_symlinks;
    effects::ScanText(text, options, sink_);
  }

  void ScanJson(const nlohmann::json& value, int depth) {
    if (depth > kMaxJsonDepth) {
      sink_.AddUnknown("input too deep", call_.tool_name);
      return;
    }
    if (sink_.exhausted()) return;
    if (value.is_string()) {
      if (++scanned_ > kMaxScannedStrings) {
        if (scanned_ == kMaxScannedStrings + 1) sink_.AddUnknown("input too large", call_.tool_name);
        return;
      }
      ScanText(value.get_ref<const std::string&>(), "argument");
      return;
    }
    if (value.is_object() || value.is_array()) {
      for (const nlohmann::json& child : value) ScanJson(child, depth + 1);
    }
  }

  const ToolCall& call_;
  const EffectsContext& context_;
  EffectsSink& sink_;
  const nlohmann::json& input_;
  std::size_t scanned_ = 0;
};

}  // namespace

Effects ExtractEffects(const ToolCall& call, const EffectsContext& context) {
  Effects effects;
  try {
    EffectsSink sink(effects);
    if (!call.tool_input.is_object()) {
      sink.AddUnknown("missing input", call.tool_name + " tool_input");
      return effects;
    }
    ToolExtractor extractor(call, context, sink);
    extractor.Run();
  } catch (const std::exception& error) {
    // Out of memory or a bug: fail closed with what is known so far.
    effects.unknowns.push_back({"internal error", std::string(effects::ShortenUtf8(error.what(), 120))});
  } catch (...) {
    effects.unknowns.push_back({"internal error", ""});
  }
  return effects;
}

}  // namespace toolgate
