// FixtureHttpServer: a small real HTTP/1.1 server on 127.0.0.1 (ephemeral
// port) for rule pack tests that probe links. Bounded: at most 32 connection
// threads, 8 KiB requests, the slow route sleeps at most 3 s and wakes early
// on Stop. Routes (any method; HEAD gets no body):
//   /ok                200            /not-found        404
//   /error             500            /redirect         302 -> /ok
//   /redirect-broken   302 -> /not-found                /redirect-loop 302 -> itself
//   /slow              200 after 3 s  /head-refused     405 for HEAD, 200 for GET
//   anything else      404
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace toolgate::cli {

class FixtureHttpServer {
 public:
  FixtureHttpServer() = default;
  ~FixtureHttpServer();
  FixtureHttpServer(const FixtureHttpServer&) = delete;
  FixtureHttpServer& operator=(const FixtureHttpServer&) = delete;

  // Binds and starts serving; false (with *error) when it cannot.
  bool Start(std::string* error);
  void Stop();
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> active_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

}  // namespace toolgate::cli
