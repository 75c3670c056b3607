// Gemini CLI's hook dialect: BeforeTool / AfterTool with snake_case keys
// (session_id, cwd, timestamp as ISO 8601, tool_name, tool_input, mcp_context).
// Answers {"decision":"allow|deny","reason":...}; never "ask", which hangs a
// headless session: ask becomes a deny saying a human must approve.
#pragma once

#include "hooks/adapter.h"

namespace toolgate::hooks {

// run_shell_command -> Bash, write_file -> Write, replace -> Edit, read_file ->
// Read, list_directory -> LS, glob -> Glob, search_file_content/grep_search ->
// Grep, web_fetch -> WebFetch, google_web_search -> WebSearch.
const std::vector<ToolMapping>& GeminiToolMappings();

}  // namespace toolgate::hooks
