// The relay under the egress proxy's tunnels, on its own, over real loopback
// TCP (the splice path): large transfers both ways at once checked by length
// and checksum, half-closes, a peer that resets mid-transfer, and the pipes a
// connection thread keeps between tunnels. Every wait is bounded by socket
// timeouts and the relay's idle timeout; nothing here measures time.
#include "sandbox/tunnel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

using namespace toolgate::sandbox;

namespace {

void SetTimeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Two connected TCP sockets on loopback: [0] the connecting end, [1] the accepted one.
std::pair<int, int> TcpPair() {
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(l, 1) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len);
  const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  const int s = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(s >= 0);
  ::close(l);
  SetTimeouts(c, 10000);
  SetTimeouts(s, 10000);
  return {c, s};
}

// A reproducible byte stream (xorshift) and its FNV-1a checksum.
struct Stream {
  std::uint64_t state;
  explicit Stream(std::uint64_t seed) : state(seed) {}
  void Fill(char* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      out[i] = static_cast<char>(state >> 56);
    }
  }
};

struct Sum {
  std::uint64_t hash = 1469598103934665603ULL;
  std::uint64_t bytes = 0;
  void Add(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) hash = (hash ^ static_cast<unsigned char>(p[i])) * 1099511628211ULL;
    bytes += n;
  }
  bool operator==(const Sum&) const = default;
};

// Sends bytes of Stream(seed) in chunks of at most chunk, then shuts down writing.
Sum SendStream(int fd, std::uint64_t seed, std::size_t bytes, std::size_t chunk = 256 << 10) {
  Stream s(seed);
  Sum sum;
  std::vector<char> buf(chunk);
  while (bytes > 0) {
    const std::size_t n = std::min(bytes, chunk);
    s.Fill(buf.data(), n);
    std::size_t off = 0;
    while (off < n) {
      const ssize_t w = ::send(fd, buf.data() + off, n - off, MSG_NOSIGNAL);
      if (w <= 0) return sum;
      off += static_cast<std::size_t>(w);
    }
    sum.Add(buf.data(), n);
    bytes -= n;
  }
  ::shutdown(fd, SHUT_WR);
  return sum;
}

// Reads until EOF (or an error or timeout) and sums what came.
Sum RecvStream(int fd) {
  Sum sum;
  std::vector<char> buf(256 << 10);
  while (true) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return sum;
    sum.Add(buf.data(), static_cast<std::size_t>(n));
  }
}

// client <-> a [Relay] b <-> server, the relay on its own thread.
struct Rig {
  int client, a, b, server;
  RelayEnd end = RelayEnd::kError;
  RelayStats stats;
  std::thread relay;

  Rig(std::pair<int, int> left, std::pair<int, int> right, RelayPipes* pipes = nullptr,
      std::chrono::milliseconds idle = std::chrono::milliseconds(5000))
      : client(left.first), a(left.second), b(right.first), server(right.second) {
    relay = std::thread([this, pipes, idle] { end = Relay(a, b, idle, -1, &stats, pipes); });
  }
  void Join() {
    if (relay.joinable()) relay.join();
  }
  ~Rig() {
    Join();
    for (int fd : {client, a, b, server}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

void BothWays(Rig& rig, std::size_t up, std::size_t down, std::size_t chunk) {
  Sum sent_up, sent_down, got_up, got_down;
  std::thread t1([&] { sent_up = SendStream(rig.client, 1, up, chunk); });
  std::thread t2([&] { sent_down = SendStream(rig.server, 2, down, chunk); });
  std::thread t3([&] { got_up = RecvStream(rig.server); });
  got_down = RecvStream(rig.client);
  t1.join();
  t2.join();
  t3.join();
  rig.Join();
  CHECK(sent_up.bytes == up);
  CHECK(sent_down.bytes == down);
  CHECK(got_up == sent_up);
  CHECK(got_down == sent_down);
  CHECK(rig.end == RelayEnd::kClosed);
  CHECK(rig.stats.a_to_b == up);
  CHECK(rig.stats.b_to_a == down);
}

}  // namespace

TEST_CASE("relay over TCP (splice): 48 MiB each way at once, every byte in order") {
  Rig rig(TcpPair(), TcpPair());
  BothWays(rig, 48u << 20, 48u << 20, 256 << 10);
}

TEST_CASE("relay over TCP (splice): odd sizes and small writes") {
  Rig rig(TcpPair(), TcpPair());
  BothWays(rig, (3u << 20) + 7, 1234567, 1000);
}

TEST_CASE("relay half-close: one side done sending, the other still answers") {
  Rig rig(TcpPair(), TcpPair());
  // The client sends a request and shuts down writing; the server sees EOF
  // through the relay, then sends a large answer and closes.
  const Sum request = SendStream(rig.client, 3, 100000);
  CHECK(RecvStream(rig.server) == request);
  Sum answer;
  std::thread t([&] { answer = SendStream(rig.server, 4, 20u << 20); });
  const Sum got = RecvStream(rig.client);
  t.join();
  rig.Join();
  CHECK(got == answer);
  CHECK(got.bytes == (20u << 20));
  CHECK(rig.end == RelayEnd::kClosed);
}

TEST_CASE("relay: a peer that resets mid-transfer ends the relay with an error, and the other side sees the end") {
  Rig rig(TcpPair(), TcpPair());
  std::thread sender([&] { SendStream(rig.client, 5, 256u << 20); });  // more than the buffers hold
  // The server reads a little, then resets the connection with data unread.
  std::vector<char> buf(1 << 20);
  std::size_t got = 0;
  while (got < (4u << 20)) {
    const ssize_t n = ::recv(rig.server, buf.data(), buf.size(), 0);
    REQUIRE(n > 0);
    got += static_cast<std::size_t>(n);
  }
  linger hard{1, 0};
  ::setsockopt(rig.server, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(rig.server);
  rig.server = -1;
  rig.Join();  // bounded: the relay's idle timeout is 5 s, the sockets' 10 s
  CHECK(rig.end == RelayEnd::kError);
  // The relay does not close a or b; closing a (as the proxy does) ends the
  // client's sending, which then stops with an error instead of hanging.
  ::close(rig.a);
  rig.a = -1;
  sender.join();
  CHECK(rig.stats.a_to_b >= got);
}

TEST_CASE("relay: an idle tunnel ends after the idle timeout") {
  Rig rig(TcpPair(), TcpPair(), nullptr, std::chrono::milliseconds(100));
  rig.Join();
  CHECK(rig.end == RelayEnd::kIdle);
}

TEST_CASE("relay pipes: kept only when empty, and reused by the next relay") {
  RelayPipes pipes;
  int r = -1, w = -1;
  std::size_t capacity = 0;
  CHECK_FALSE(pipes.Take(0, &r, &w, &capacity));

  {
    Rig rig(TcpPair(), TcpPair(), &pipes);
    BothWays(rig, 5u << 20, 3u << 20, 65536);
  }
  // A clean relay gives both pipes back, empty.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(pipes.Take(i, &r, &w, &capacity));
    CHECK(capacity >= 65536);
    int queued = -1;
    CHECK(::ioctl(r, FIONREAD, &queued) == 0);
    CHECK(queued == 0);
    pipes.Give(i, r, w, capacity);
  }
  {
    // The next relay runs on the kept pipes and carries only its own bytes.
    Rig rig(TcpPair(), TcpPair(), &pipes);
    BothWays(rig, 2u << 20, (1u << 20) + 1, 4096);
  }

  // A pipe with bytes in it is never kept: they belong to another tunnel.
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
  REQUIRE(::write(p[1], "left over", 9) == 9);
  REQUIRE(pipes.Take(0, &r, &w, &capacity));
  ::close(r);
  ::close(w);
  pipes.Give(0, p[0], p[1], 65536);
  CHECK_FALSE(pipes.Take(0, &r, &w, &capacity));
  CHECK(::fcntl(p[0], F_GETFD) == -1);  // closed
}
