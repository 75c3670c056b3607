#include "toolgate/daemon_protocol.h"

#include <unistd.h>

#include <cstdlib>

namespace toolgate {

std::string DefaultSocketPath() {
  const char* explicit_path = std::getenv("TOOLGATE_SOCKET");
  if (explicit_path != nullptr && *explicit_path != '\0') return explicit_path;
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime != nullptr && *runtime != '\0') return std::string(runtime) + "/toolgate.sock";
  const uid_t uid = ::getuid();
  if (uid == 0) return "/run/toolgate/toolgate.sock";
  return "/tmp/toolgate-" + std::to_string(uid) + "/toolgate.sock";
}

}  // namespace toolgate
