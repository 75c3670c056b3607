#include "hooks/mcp/mcp_proxy.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks/mcp/line_reader.h"
#include "util/fd_io.h"

extern char** environ;

namespace toolgate::mcp {
namespace {

using Clock = std::chrono::steady_clock;

// Past this much queued output for one side, the proxy stops reading input
// that could add to it, until the side has taken some.
constexpr std::size_t kBacklog = std::size_t{1} << 20;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kForwardedSignals[] = {SIGTERM, SIGINT, SIGHUP};

class OutQueue {
 public:
  void Push(const std::string& line) {
    if (off_ > 0 && off_ >= data_.size() / 2) {
      data_.erase(0, off_);
      off_ = 0;
    }
    data_ += line;
    data_ += '\n';
  }
  std::size_t size() const { return data_.size() - off_; }
  bool empty() const { return size() == 0; }
  void Clear() {
    data_.clear();
    off_ = 0;
  }
  // One write of at most max bytes. 0, or the errno that broke the pipe.
  int WriteSome(int fd, std::size_t max) {
    const std::size_t n = std::min(size(), max);
    const ssize_t w = ::write(fd, data_.data() + off_, n);
    if (w < 0) return errno == EINTR || errno == EAGAIN ? 0 : errno;
    off_ += static_cast<std::size_t>(w);
    if (off_ == data_.size()) Clear();
    return 0;
  }

 private:
  std::string data_;
  std::size_t off_ = 0;
};

int MsUntil(Clock::time_point when, Clock::time_point now) {
  if (when <= now) return 0;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when - now).count() + 1;
  return static_cast<int>(std::min<long long>(ms, 1000));
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "stopped";
}

class Proxy {
 public:
  Proxy(const McpProxyOptions& options, McpSession* session)
      : o_(options), session_(session), client_reader_(options.max_line_bytes), server_reader_(options.max_line_bytes) {}

  int Run();

 private:
  int Start();
  void Loop();
  int ExitCode() const;
  void Diagnose(const std::string& text) const {
    if (o_.diagnostics >= 0) WriteAll(o_.diagnostics, "toolgate mcp: " + text + "\n");
  }
  void Apply(McpSession::Output& out) {
    for (const std::string& line : out.to_server) {
      if (srv_in_ >= 0) to_server_.Push(line);
    }
    for (const std::string& line : out.to_client) {
      if (client_out_ok_) to_client_.Push(line);
    }
    for (const std::string& d : out.diagnostics) Diagnose(d);
  }
  void ReadClient();
  void ReadServer();
  void Reap();
  void DeclareGone(const std::string& why);
  void CloseServerInput() {
    if (srv_in_ >= 0) ::close(srv_in_);
    srv_in_ = -1;
    to_server_.Clear();
  }
  void ClientClosed() {
    if (!client_in_open_) return;
    client_in_open_ = false;
    if (!gone_) client_left_first_ = true;
    if (child_running_ && !term_at_ && !kill_at_) term_at_ = Clock::now() + o_.exit_grace;
  }

  const McpProxyOptions& o_;
  McpSession* session_;
  LineReader client_reader_;
  LineReader server_reader_;
  OutQueue to_server_;
  OutQueue to_client_;
  pid_t pid_ = -1;
  int sig_fd_ = -1;
  int srv_in_ = -1;
  int srv_out_ = -1;
  bool client_in_open_ = true;
  bool client_out_ok_ = true;
  bool client_left_first_ = false;
  bool child_running_ = false;
  int child_status_ = 0;
  bool we_signalled_ = false;
  int forwarded_signal_ = 0;
  bool gone_ = false;
  std::optional<Clock::time_point> term_at_, kill_at_, drain_until_, flush_until_;
};

int Proxy::Start() {
  int to_srv[2];
  int from_srv[2];
  if (::pipe2(to_srv, O_CLOEXEC) != 0) return errno;
  if (::pipe2(from_srv, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(to_srv[0]);
    ::close(to_srv[1]);
    return e;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, to_srv[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, from_srv[1], STDOUT_FILENO);
  // The server starts with no signal blocked and default dispositions, not
  // with the proxy's blocked set and ignored SIGPIPE.
  sigset_t empty;
  sigset_t defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (const int s : {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const std::string& a : o_.server_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int rc = ::posix_spawnp(&pid_, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(to_srv[0]);
  ::close(from_srv[1]);
  if (rc != 0) {
    ::close(to_srv[1]);
    ::close(from_srv[0]);
    return rc;
  }
  child_running_ = true;
  srv_in_ = to_srv[1];
  srv_out_ = from_srv[0];
  ::fcntl(srv_in_, F_SETFL, ::fcntl(srv_in_, F_GETFL) | O_NONBLOCK);
  ::fcntl(srv_out_, F_SETFL, ::fcntl(srv_out_, F_GETFL) | O_NONBLOCK);
  return 0;
}

int Proxy::Run() {
  sigset_t mask;
  sigset_t old_mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  for (const int s : kForwardedSignals) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, &old_mask);
  struct sigaction ignore {};
  struct sigaction old_pipe {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  sig_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int code = 0;
  if (sig_fd_ < 0) {
    Diagnose(std::string("cannot watch signals: ") + std::strerror(errno));
    code = 1;
  } else if (const int err = Start(); err != 0) {
    Diagnose("cannot start " + o_.server_argv[0] + ": " + std::strerror(err));
    code = err == ENOENT ? kExitCommandNotFound : kExitCannotExecute;
  } else {
    Loop();
    code = ExitCode();
  }
  if (sig_fd_ >= 0) ::close(sig_fd_);
  if (srv_in_ >= 0) ::close(srv_in_);
  if (srv_out_ >= 0) ::close(srv_out_);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  return code;
}

void Proxy::Reap() {
  if (!child_running_) return;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return;
  child_running_ = false;
  child_status_ = status;
  term_at_.reset();
  kill_at_.reset();
  // Its output may still hold replies (or a child of it may hold the pipe):
  // read on for a moment, then count the server as gone.
  if (!gone_) drain_until_ = Clock::now() + o_.drain;
}

void Proxy::DeclareGone(const std::string& why) {
  if (gone_) return;
  gone_ = true;
  McpSession::Output out;
  session_->ServerGone(why, &out);
  Apply(out);
  if (!client_left_first_) Diagnose("the server " + why);  // after the client left, an exit is the normal end
  flush_until_ = Clock::now() + o_.flush;
  CloseServerInput();
  if (child_running_ && !term_at_ && !kill_at_) term_at_ = Clock::now() + o_.kill_grace;
}

void Proxy::ReadClient() {
  char buf[kReadChunk];
  const ssize_t n = ::read(o_.client_in, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  std::vector<LineEvent> events;
  if (n > 0) {
    client_reader_.Feed(std::string_view(buf, static_cast<std::size_t>(n)), &events);
  } else {
    client_reader_.Finish(&events);
  }
  McpSession::Output out;
  for (const LineEvent& e : events) {
    if (e.kind == LineEvent::Kind::kLine) {
      session_->FromClient(e.text, &out);
    } else {
      session_->ClientLineTooLong(&out);
    }
  }
  Apply(out);
  if (n <= 0) ClientClosed();
}

void Proxy::ReadServer() {
  char buf[kReadChunk];
  const ssize_t n = ::read(srv_out_, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  std::vector<LineEvent> events;
  if (n > 0) {
    server_reader_.Feed(std::string_view(buf, static_cast<std::size_t>(n)), &events);
  } else {
    server_reader_.Finish(&events);
  }
  McpSession::Output out;
  for (const LineEvent& e : events) {
    if (e.kind == LineEvent::Kind::kLine) {
      session_->FromServer(e.text, &out);
    } else {
      session_->ServerLineTooLong(&out);
    }
  }
  Apply(out);
  if (n <= 0) {
    ::close(srv_out_);
    srv_out_ = -1;
    // Usually the server is exiting: wait a moment for its status, which
    // says more to the client than "closed its output".
    Reap();
    if (child_running_) {
      if (!drain_until_) drain_until_ = Clock::now() + o_.drain;
    } else {
      DeclareGone(DescribeStatus(child_status_));
    }
  }
}

void Proxy::Loop() {
  for (;;) {
    Reap();
    const Clock::time_point now = Clock::now();
    if (drain_until_ && now >= *drain_until_) {
      drain_until_.reset();
      DeclareGone(child_running_ ? "closed its output" : DescribeStatus(child_status_));
    }
    if (term_at_ && now >= *term_at_ && child_running_) {
      term_at_.reset();
      ::kill(pid_, SIGTERM);
      we_signalled_ = true;
      kill_at_ = now + o_.kill_grace;
    }
    if (kill_at_ && now >= *kill_at_ && child_running_) {
      kill_at_.reset();
      ::kill(pid_, SIGKILL);
      we_signalled_ = true;
    }
    // The client closed its input and everything queued reached the server:
    // close the server's input, the stdio way of saying "shut down".
    if (!client_in_open_ && srv_in_ >= 0 && to_server_.empty()) CloseServerInput();
    const bool flushed = to_client_.empty() || !client_out_ok_ || (flush_until_ && now >= *flush_until_);
    if (gone_ && !child_running_ && flushed) return;
    if (!gone_ && !child_running_ && srv_out_ < 0) DeclareGone(DescribeStatus(child_status_));

    pollfd fds[5];
    nfds_t nfds = 0;
    int i_sig = -1, i_cin = -1, i_cout = -1, i_sin = -1, i_sout = -1;
    fds[i_sig = static_cast<int>(nfds++)] = {sig_fd_, POLLIN, 0};
    if (client_in_open_ && !gone_ && to_server_.size() < kBacklog && to_client_.size() < kBacklog) {
      fds[i_cin = static_cast<int>(nfds++)] = {o_.client_in, POLLIN, 0};
    }
    if (client_out_ok_ && !to_client_.empty()) fds[i_cout = static_cast<int>(nfds++)] = {o_.client_out, POLLOUT, 0};
    if (srv_in_ >= 0 && !to_server_.empty()) fds[i_sin = static_cast<int>(nfds++)] = {srv_in_, POLLOUT, 0};
    if (srv_out_ >= 0 && to_client_.size() < kBacklog) fds[i_sout = static_cast<int>(nfds++)] = {srv_out_, POLLIN, 0};

    int timeout = 1000;
    for (const auto& d : {term_at_, kill_at_, drain_until_, flush_until_}) {
      if (d) timeout = std::min(timeout, MsUntil(*d, now));
    }
    if (::poll(fds, nfds, timeout) < 0) {
      if (errno == EINTR) continue;
      Diagnose(std::string("poll failed: ") + std::strerror(errno));
      client_in_open_ = false;
      DeclareGone("could not be watched");
      if (child_running_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &child_status_, 0);  // SIGKILL cannot be ignored: this returns
        child_running_ = false;
      }
      return;
    }
    const auto ready = [&](int i) { return i >= 0 && fds[i].revents != 0; };

    if (ready(i_sig)) {
      signalfd_siginfo si[8];
      const ssize_t n = ::read(sig_fd_, si, sizeof si);
      for (ssize_t k = 0; n > 0 && k < n / static_cast<ssize_t>(sizeof si[0]); ++k) {
        const int s = static_cast<int>(si[k].ssi_signo);
        if (s == SIGCHLD) continue;  // Reap() runs at the top of every turn
        forwarded_signal_ = s;
        if (child_running_) {
          ::kill(pid_, s);
          if (!kill_at_) kill_at_ = Clock::now() + o_.kill_grace;
        }
      }
    }
    if (ready(i_sout)) ReadServer();
    if (ready(i_cin)) ReadClient();
    if (ready(i_sin) && srv_in_ >= 0) {
      if (const int err = to_server_.WriteSome(srv_in_, std::size_t{1} << 20); err != 0 || (fds[i_sin].revents & POLLERR)) {
        // The server stopped reading; what it already wrote may still come.
        CloseServerInput();
        if (!gone_ && !drain_until_) drain_until_ = Clock::now() + o_.drain;
      }
    }
    if (ready(i_cout) && client_out_ok_) {
      // PIPE_BUF bytes fit in a pipe that polled writable: this never blocks
      // on a client that stopped reading.
      if (const int err = to_client_.WriteSome(o_.client_out, PIPE_BUF); err != 0 || (fds[i_cout].revents & POLLERR)) {
        client_out_ok_ = false;
        to_client_.Clear();
        ClientClosed();
      }
    }
  }
}

int Proxy::ExitCode() const {
  if (forwarded_signal_ != 0) return 128 + forwarded_signal_;
  if (WIFSIGNALED(child_status_)) {
    if (client_left_first_ && we_signalled_) return 0;
    return 128 + WTERMSIG(child_status_);
  }
  const int code = WIFEXITED(child_status_) ? WEXITSTATUS(child_status_) : 1;
  if (code != 0) return code;
  return client_left_first_ ? 0 : kExitServerStopped;
}

}  // namespace

int RunMcpProxy(const McpProxyOptions& options, McpSession* session) {
  Proxy proxy(options, session);
  return proxy.Run();
}

}  // namespace toolgate::mcp
