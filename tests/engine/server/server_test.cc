#include "server/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "server_test_util.h"

using nlohmann::json;
using namespace toolgate;
using namespace toolgate::server;
using namespace toolgate::server::testing;

namespace {

std::string DecideLine(int id, const std::string& command) {
  json call{{"agent_id", "claude-dev"},
            {"tool_name", "Bash"},
            {"cwd", "/home/dev/project"},
            {"tool_input", {{"command", command}}}};
  return json{{"v", 1}, {"id", id}, {"op", "decide"}, {"call", call}}.dump() + "\n";
}

std::vector<json> Parse(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

struct Daemon {
  TempDir dir;
  std::shared_ptr<const Policy> policy = ExamplePolicy();
  EngineHolder engines{policy};
  std::unique_ptr<AuditLog> log;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Server> server;
  std::string socket = dir / "toolgate.sock";

  explicit Daemon(ServerOptions::LogStage stage, std::size_t max_message = 1u << 20) {
    AuditLogOptions o;
    o.path = dir / "decisions.jsonl";
    auto opened = AuditLog::Open(o);
    REQUIRE(opened);
    log = std::move(*opened);
    dispatcher = std::make_unique<Dispatcher>(&engines, log.get(), max_message, /*defer_sync=*/true);
    auto l = OpenListener({socket, "", 64});
    REQUIRE(l);
    ServerOptions so{3, 64};
    so.log_stage = stage;
    server = std::make_unique<Server>(std::move(*l), dispatcher.get(), so);
    REQUIRE_FALSE(server->Start());
  }

  int Records() const {
    std::ifstream in(dir / "decisions.jsonl");
    return static_cast<int>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
  }

  bool LogVerifies() const {
    VerifyOptions vo;
    vo.paths = {dir / "decisions.jsonl"};
    return VerifyLog(vo).ok();
  }
};

// Each daemon test runs with its workers answering every batch themselves,
// and with every batch logged and answered by the log stage.
constexpr ServerOptions::LogStage kStages[] = {ServerOptions::LogStage::kNever, ServerOptions::LogStage::kAlways};

}  // namespace

TEST_CASE("concurrent pipelining clients each get every reply, in order; the log records each with its peer") {
  for (const ServerOptions::LogStage stage : kStages) {
    INFO("log stage " << static_cast<int>(stage));
    Daemon d(stage);
    constexpr int kClients = 6;
    constexpr int kRequests = 200;
    std::vector<std::string> answers(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        const int fd = ConnectUnix(d.socket);
        if (fd < 0) return;
        std::string batch;
        for (int i = 0; i < kRequests; ++i) batch += DecideLine(c * 1000 + i, i % 2 ? "git status" : "cat ~/.ssh/id_rsa");
        SendAll(fd, batch);
        answers[c] = ReadLines(fd, kRequests);
        ::close(fd);
      });
    }
    for (auto& t : clients) t.join();
    for (int c = 0; c < kClients; ++c) {
      const std::vector<json> replies = Parse(answers[c]);
      REQUIRE(replies.size() == kRequests);
      for (int i = 0; i < kRequests; ++i) {
        CHECK(replies[i]["id"] == c * 1000 + i);
        CHECK(replies[i]["decision"]["verdict"] == (i % 2 ? "allow" : "deny"));
      }
    }
    // Every deny was answered, so every deny record is on disk already: the
    // daemon holds a synced verdict's answer until fdatasync covers its record.
    const std::uint64_t synced = d.log->synced_seq();
    {
      std::ifstream in(d.dir / "decisions.jsonl");
      std::string line;
      std::uint64_t last_deny = 0;
      while (std::getline(in, line)) {
        const json r = json::parse(line);
        if (r["verdict"] == "deny") last_deny = std::max(last_deny, r["seq"].get<std::uint64_t>());
      }
      CHECK(last_deny > 0);
      CHECK(synced >= last_deny);
    }
    d.server->Shutdown();
    CHECK_FALSE(std::filesystem::exists(d.socket));
    REQUIRE_FALSE(d.log->Close());
    std::ifstream in(d.dir / "decisions.jsonl");
    std::string line;
    int records = 0;
    while (std::getline(in, line)) {
      const json r = json::parse(line);
      CHECK(r["agent"]["uid"] == static_cast<std::int64_t>(::getuid()));
      CHECK(r["agent"]["pid"] == static_cast<std::int64_t>(::getpid()));
      CHECK(r["agent"]["via"] == "unix-socket");
      ++records;
    }
    CHECK(records == kClients * kRequests);
    CHECK(d.LogVerifies());
  }
}

TEST_CASE("a client that keeps sending while its batches are judged gets every reply in order, lines split anywhere") {
  for (const ServerOptions::LogStage stage : kStages) {
    INFO("log stage " << static_cast<int>(stage));
    // Fewer connections than workers: one worker judges this connection's
    // batches one after another in the same turn while more keep arriving,
    // including a line whose halves arrive in different reads.
    Daemon d(stage);
    constexpr int kRequests = 600;
    std::string all;
    for (int i = 0; i < kRequests; ++i) all += DecideLine(i, i % 3 ? "git status" : "cat ~/.ssh/id_rsa");
    const int fd = ConnectUnix(d.socket);
    REQUIRE(fd >= 0);
    std::thread writer([&] {
      std::size_t at = 0;
      std::size_t piece = 1;
      while (at < all.size()) {
        const std::size_t n = std::min(all.size() - at, piece * 997);  // not on line boundaries
        SendAll(fd, all.substr(at, n));
        at += n;
        piece = piece % 7 + 1;
        if (piece == 4) std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
    });
    const std::string answers = ReadLines(fd, kRequests);
    writer.join();
    ::close(fd);
    const std::vector<json> replies = Parse(answers);
    REQUIRE(replies.size() == kRequests);
    for (int i = 0; i < kRequests; ++i) {
      CHECK(replies[i]["id"] == i);
      CHECK(replies[i]["decision"]["verdict"] == (i % 3 ? "allow" : "deny"));
    }
    d.server->Shutdown();
    REQUIRE_FALSE(d.log->Close());
    std::ifstream in(d.dir / "decisions.jsonl");
    std::string line;
    int records = 0;
    while (std::getline(in, line)) ++records;
    CHECK(records == kRequests);
    CHECK(d.LogVerifies());
  }
}

TEST_CASE("a malformed line gets an error and the connection stays usable; an oversized one closes it") {
  for (const ServerOptions::LogStage stage : kStages) {
    INFO("log stage " << static_cast<int>(stage));
    Daemon d(stage, 4096);
    const int fd = ConnectUnix(d.socket);
    REQUIRE(fd >= 0);
    REQUIRE(SendAll(fd, "{oops\n" + DecideLine(1, "ls") + std::string(5000, 'x') + "\n" + DecideLine(2, "ls")));
    const std::vector<json> replies = Parse(ReadLines(fd, 10));  // ends when the daemon closes
    REQUIRE(replies.size() == 3);
    CHECK(replies[0]["error"]["code"] == "malformed_json");
    CHECK(replies[1]["id"] == 1);
    CHECK(replies[1]["ok"] == true);
    CHECK(replies[2]["error"]["code"] == "input_too_large");
    char c;
    CHECK(::recv(fd, &c, 1, 0) == 0);  // closed after the error; request 2 was never read
    ::close(fd);
  }
}

TEST_CASE("a client that half-closes still gets the replies to everything it sent, even an unterminated last line") {
  for (const ServerOptions::LogStage stage : kStages) {
    INFO("log stage " << static_cast<int>(stage));
    Daemon d(stage);
    const int fd = ConnectUnix(d.socket);
    REQUIRE(fd >= 0);
    std::string last = DecideLine(2, "git status");
    last.pop_back();
    REQUIRE(SendAll(fd, DecideLine(1, "git status") + last));
    ::shutdown(fd, SHUT_WR);
    const std::vector<json> replies = Parse(ReadLines(fd, 2));
    REQUIRE(replies.size() == 2);
    CHECK(replies[1]["id"] == 2);
    ::close(fd);
  }
}

TEST_CASE("more connections than allowed are told so and closed") {
  TempDir dir;
  auto policy = ExamplePolicy();
  EngineHolder engines(policy);
  Dispatcher dispatcher(&engines, nullptr, 1u << 20);
  auto l = OpenListener({dir / "s.sock", "", 16});
  REQUIRE(l);
  Server server(std::move(*l), &dispatcher, ServerOptions{2, 1});
  REQUIRE_FALSE(server.Start());
  const int first = ConnectUnix(dir / "s.sock");
  REQUIRE(SendAll(first, "{\"v\":1,\"id\":1,\"op\":\"ping\"}\n"));
  CHECK(Parse(ReadLines(first, 1)).size() == 1);  // the first is registered
  const int second = ConnectUnix(dir / "s.sock");
  const std::vector<json> r = Parse(ReadLines(second, 5));
  REQUIRE(r.size() == 1);
  CHECK(r[0]["error"]["message"].get<std::string>().find("too many connections") != std::string::npos);
  ::close(first);
  ::close(second);
}

TEST_CASE("no reply arrives before its decision's record is in the log file, whoever logs the batch") {
  for (const ServerOptions::LogStage stage : kStages) {
    INFO("log stage " << static_cast<int>(stage));
    Daemon d(stage);
    constexpr int kRequests = 300;
    std::string all;
    for (int i = 0; i < kRequests; ++i) all += DecideLine(i, i % 5 ? "git status" : "cat ~/.ssh/id_rsa");
    const int fd = ConnectUnix(d.socket);
    REQUIRE(fd >= 0);
    std::thread writer([&] { SendAll(fd, all); });
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int replies = 0;
    bool each_logged_first = true;
    char buf[4096];
    while (replies < kRequests) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      replies += static_cast<int>(std::count(buf, buf + n, '\n'));
      if (d.Records() < replies) each_logged_first = false;
    }
    writer.join();
    ::close(fd);
    CHECK(replies == kRequests);
    CHECK(each_logged_first);
    d.server->Shutdown();
    REQUIRE_FALSE(d.log->Close());
    CHECK(d.Records() == kRequests);
    CHECK(d.LogVerifies());
  }
}

TEST_CASE("a shutdown in the middle of a pipelining client logs every batch judged and answers only what was logged") {
  for (const ServerOptions::LogStage stage : kStages) {
    INFO("log stage " << static_cast<int>(stage));
    Daemon d(stage);
    constexpr int kRequests = 3000;
    std::string all;
    for (int i = 0; i < kRequests; ++i) all += DecideLine(i, i % 4 ? "git status" : "cat ~/.ssh/id_rsa");
    const int fd = ConnectUnix(d.socket);
    REQUIRE(fd >= 0);
    std::thread writer([&] { SendAll(fd, all); });
    std::string answers = ReadLines(fd, 1);
    d.server->Shutdown();
    answers += ReadLines(fd, kRequests);  // the rest of what was answered, up to the close
    writer.join();
    ::close(fd);
    REQUIRE_FALSE(d.log->Close());
    const std::vector<json> replies = Parse(answers.substr(0, answers.rfind('\n') + 1));
    REQUIRE(!replies.empty());
    for (std::size_t i = 0; i < replies.size(); ++i) CHECK(replies[i]["id"] == static_cast<int>(i));
    CHECK(static_cast<std::size_t>(d.Records()) >= replies.size());
    CHECK(d.LogVerifies());
  }
}
