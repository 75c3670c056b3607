// The MCP stdio proxy's process side: starts the server with pipes for its
// stdin and stdout (its stderr is the proxy's), and pumps newline-delimited
// JSON-RPC both ways through an McpSession in one poll() loop.
//
// Nothing here waits on a peer without a deadline:
//   * writes to the server are non-blocking and writes to the client go in
//     chunks a pipe that polled writable always takes, so a stuck peer stalls
//     only its own direction; at most a bounded backlog is held before the
//     proxy stops reading from the other side (backpressure, not memory).
//   * when the server's output closes, or it exits (its output is drained for
//     a moment in case a child still holds the pipe), every pending request
//     gets an error reply, the replies are flushed for a bounded time, and the
//     proxy exits.
//   * when the client closes its input, the server's input is closed after
//     what was queued for it; a server still running after exit_grace gets
//     SIGTERM, and SIGKILL after kill_grace.
//   * SIGTERM, SIGINT and SIGHUP are passed to the server, which is always
//     reaped before the proxy returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "hooks/mcp/mcp_session.h"

namespace toolgate::mcp {

// Exit codes of RunMcpProxy besides the server's own.
inline constexpr int kExitServerStopped = 69;    // the server stopped (status 0) while the client was still there
inline constexpr int kExitCannotExecute = 126;   // the server command exists but cannot run
inline constexpr int kExitCommandNotFound = 127;

struct McpProxyOptions {
  std::vector<std::string> server_argv;  // argv[0] is looked up in PATH
  std::size_t max_line_bytes = std::size_t{8} << 20;
  std::chrono::milliseconds exit_grace{3000};  // client input closed -> SIGTERM to a server still running
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM -> SIGKILL
  std::chrono::milliseconds drain{500};        // server exited -> its output counts as closed
  std::chrono::milliseconds flush{2000};       // the last replies to the client, at most this long
  int client_in = 0;
  int client_out = 1;
  int diagnostics = 2;  // "toolgate mcp: ..." lines; -1 = none
};

// Runs the proxy until the session ends. Returns the exit code:
//   * the client closed its input first (a normal shutdown): 0, or the
//     server's own non-zero exit status;
//   * the server went away while the client was still there: its exit status
//     when non-zero, 128+N for signal N, kExitServerStopped for a clean exit;
//   * a signal N passed on to the server: 128+N;
//   * the server could not be started: 127 (not found) or 126.
int RunMcpProxy(const McpProxyOptions& options, McpSession* session);

}  // namespace toolgate::mcp
