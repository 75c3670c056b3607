// Fuzz target: the other half of the daemon protocol, what the hook side
// (`toolgate hook` and the static shim toolgate-hook) reads back from
// whatever answers on the daemon socket. A fake daemon on a Unix socket in a
// private temporary directory reads the request lines and answers with the
// input's bytes; AnswerViaDaemon (hooks/hook_front.cc) reads, checks and
// turns them into an answer, forwarding an allowed shell call into the
// sandbox when the reply says so. The first byte picks one or two calls.
// Invariants: no exception escapes (the hook's catch-all would hide it as an
// "internal error" deny); an answer is a verdict, and whatever is not a
// complete valid reply is a deny.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fuzz_support.h"
#include "hooks/hook_front.h"
#include "toolgate/tool_call.h"

namespace {

using namespace toolgate;

class FakeDaemon {
 public:
  FakeDaemon() {
    char dir[] = "/tmp/toolgate-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
    path_ = dir_ + "/daemon.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 4) != 0) {
      std::abort();
    }
  }
  ~FakeDaemon() {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

  // Accepts one connection, reads `lines` request lines (or to end of input),
  // writes `reply` and closes.
  void ServeOne(std::size_t lines, std::string_view reply) const {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::size_t seen = 0;
    char buf[4096];
    while (seen < lines) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) seen += buf[i] == '\n' ? 1 : 0;
    }
    std::size_t sent = 0;
    while (sent < reply.size()) {
      const ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the hook stopped reading: it has what it needed, or gave up
      sent += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

 private:
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
};

ToolCall Call(const char* command) {
  ToolCall c;
  c.agent_id = "claude-dev";
  c.tool_name = "Bash";
  c.cwd = "/home/dev/project";
  c.tool_input = {{"command", command}};
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const FakeDaemon daemon;
  fuzz::ByteReader in(data, size);
  const std::size_t count = 1 + in.U8() % 2;
  const std::string_view reply = in.Rest();
  std::vector<ToolCall> calls = {Call("git status")};
  if (count == 2) calls.push_back(Call("ls -la"));

  hooks::HookOptions options;
  options.client = Client::kClaude;
  options.use_daemon = true;
  options.socket_path = daemon.path();
  options.daemon_timeout = std::chrono::milliseconds(5000);
  options.toolgate_path = "/usr/local/bin/toolgate";
  std::thread server([&] { daemon.ServeOne(count, reply); });
  const std::optional<hooks::HookAnswer> answer = hooks::AnswerViaDaemon(options, calls);
  server.join();
  FUZZ_CHECK(answer.has_value());  // the socket is there: never "no daemon"
  if (answer->verdict != Verdict::kDeny) {
    // Anything but a deny needs a complete reply: at least count lines.
    std::size_t lines = 0;
    for (const char c : reply) lines += c == '\n' ? 1 : 0;
    FUZZ_CHECK(lines >= count);
  }
  const hooks::HookOutput out = hooks::ClaudeAdapter().Render(hooks::HookContext{}, *answer);
  if (!out.stdout_text.empty()) FUZZ_CHECK(ParseUntrustedJson(out.stdout_text, {std::size_t{16} << 20, 256}).ok());
  return 0;
}
