// The bridge: inside the sandbox's (otherwise empty) network namespace, a
// process listens on 127.0.0.1:3128 and relays each connection to the egress
// proxy's Unix socket, which the mount view makes visible. Programs see an
// ordinary HTTP proxy; the only way out is the proxy, which judges every
// connection against the profile's network grants.
#pragma once

#include <cstdint>

namespace toolgate::sandbox {

inline constexpr std::uint16_t kBridgePort = 3128;

// Brings up "lo" in the current network namespace. Async-signal-safe. 0 or -errno.
int BringUpLoopback();

// Creates the listening socket on 127.0.0.1:port. Returns the fd or -errno.
int BridgeListen(std::uint16_t port);

// Serves forever (until killed with the sandbox): accepts on listen_fd and
// forks one relay per connection to the Unix socket at unix_path. Async-signal-safe.
[[noreturn]] void RunBridge(int listen_fd, const char* unix_path);

}  // namespace toolgate::sandbox
