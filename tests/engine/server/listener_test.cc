#include "server/listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "server_test_util.h"

using namespace toolgate;
using namespace toolgate::server;
using namespace toolgate::server::testing;

namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("the socket is created 0600 in a parent directory created 0700, and removed only while it is ours") {
  TempDir dir;
  const std::string path = dir / "run/sub/toolgate.sock";
  auto l = OpenListener({path, "", 16});
  REQUIRE(l);
  CHECK_FALSE(l->activated);
  CHECK(ModeOf(path) == 0600);
  CHECK(ModeOf(dir / "run") == 0700);
  CHECK(ModeOf(dir / "run/sub") == 0700);
  const int c = ConnectUnix(path);
  CHECK(c >= 0);
  ::close(c);

  // A second daemon on the same path is refused while the first answers.
  auto second = OpenListener({path, "", 16});
  REQUIRE_FALSE(second);
  CHECK(second.error().message.find("another daemon") != std::string::npos);

  RemoveSocketFile(*l);
  CHECK_FALSE(std::filesystem::exists(path));
  ::close(l->fd);
}

TEST_CASE("a stale socket (nobody answers) is replaced; a file that is not a socket is refused") {
  TempDir dir;
  const std::string path = dir / "toolgate.sock";
  {
    auto l = OpenListener({path, "", 16});
    REQUIRE(l);
    ::close(l->fd);  // the daemon died; the file stays
  }
  REQUIRE(std::filesystem::exists(path));
  auto again = OpenListener({path, "", 16});
  REQUIRE(again);
  const int c = ConnectUnix(path);
  CHECK(c >= 0);
  ::close(c);
  ::close(again->fd);

  const std::string regular = dir / "not-a-socket";
  std::ofstream(regular) << "keep me";
  auto refused = OpenListener({regular, "", 16});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("not a socket") != std::string::npos);
  CHECK(std::filesystem::file_size(regular) == 7);
}

TEST_CASE("a group-restricted socket is 0660 with that group; an unknown group is an error") {
  TempDir dir;
  const std::string path = dir / "g.sock";
  auto l = OpenListener({path, "root", 16});
  REQUIRE(l);
  CHECK(ModeOf(path) == 0660);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(st.st_gid == 0);
  ::close(l->fd);
  auto bad = OpenListener({dir / "h.sock", "no-such-group-toolgate", 16});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().location == "--group");
}

TEST_CASE("socket activation: only LISTEN_PID equal to our pid counts, and the variables are cleared") {
  ::setenv("LISTEN_PID", "1", 1);
  ::setenv("LISTEN_FDS", "1", 1);
  CHECK(ListenFdsFromEnvironment() == (::getpid() == 1 ? 1 : 0));
  CHECK(std::getenv("LISTEN_PID") == nullptr);
  CHECK(std::getenv("LISTEN_FDS") == nullptr);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "x", 1);
  CHECK(ListenFdsFromEnvironment() == 0);
}

TEST_CASE("socket activation uses fd 3 when it is a listening Unix socket") {
  TempDir dir;
  const std::string path = dir / "act.sock";
  // Put a listening socket on fd 3, as systemd would.
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(s, 4) == 0);
  const int saved = ::dup(3);  // fd 3 may be in use by the test runner
  if (s != 3) {
    REQUIRE(::dup2(s, 3) == 3);
    ::close(s);
  }
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  auto l = OpenListener({dir / "ignored.sock", "", 16});
  if (!l) FAIL(l.error().message);
  CHECK(l->activated);
  CHECK(l->fd == 3);
  CHECK_FALSE(std::filesystem::exists(dir / "ignored.sock"));
  RemoveSocketFile(*l);  // systemd owns the path
  CHECK(std::filesystem::exists(path));
  if (saved >= 0) {
    ::dup2(saved, 3);
    ::close(saved);
  } else {
    ::close(3);
  }
}
