// `toolgate serve`: the daemon's connection handling.
//
// One epoll set is shared by a small pool of worker threads. Every descriptor
// is registered EPOLLONESHOT, so exactly one worker owns a connection from the
// event until it re-arms it: per-connection state needs no lock, and replies
// keep request order. A worker reads what the connection has (up to a budget),
// judges every complete line as one batch (Dispatcher: one AuditLog::AppendBatch,
// so the batch shares one write and one fdatasync), and sends every reply of
// the batch with one send.
//
// With a dispatcher in defer_sync mode, a batch whose records must be synced
// (deny and ask by default) is queued on its connection until the log's
// fdatasync covers it; the worker moves on at once, and the connection keeps
// being read and judged meanwhile, so a pipelining client is not held to one
// batch per disk sync. A sync thread releases queued replies as syncs finish.
// Replies always leave in request order. A connection whose replies are not
// being read, or pile up past a bound, stops being read (backpressure).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/dispatcher.h"
#include "server/listener.h"

namespace toolgate::server {

struct ServerOptions {
  int workers = 4;
  std::size_t max_connections = 1024;  // more are accepted, told so, and closed
};

class Server {
 public:
  // The listener is taken over (closed, and its file removed, by Shutdown).
  Server(Listener listener, const Dispatcher* dispatcher, ServerOptions options);
  ~Server();  // Shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the workers. Error when epoll or the threads cannot be set up.
  std::optional<Error> Start();

  // Stops accepting (the socket file is removed at once), lets every worker
  // finish the batch it is in, sends the replies already made (bounded wait)
  // and closes every connection. Idempotent.
  void Shutdown();

  std::size_t connections() const;

  const Listener& listener() const { return listener_; }

  // Takes a freshly bound listener in place of the current one (whose socket
  // file was removed): the same descriptor number, so workers never see a
  // closed one; the old socket is closed. Call from one thread at a time.
  std::optional<Error> ReplaceListener(Listener fresh);

  struct Connection;  // server.cc

 private:
  void WorkerLoop();
  void SyncLoop();
  void Accept();
  void Serve(Connection* c);
  void Close(Connection* c);

  Listener listener_;
  const Dispatcher* dispatcher_;
  ServerOptions options_;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd: readable once Shutdown begins, wakes every worker
  std::atomic<bool> stopping_{false};
  bool shut_down_ = false;
  std::vector<std::thread> workers_;
  std::thread sync_thread_;
  // Connections by id; epoll events carry the id, so an event that arrives
  // after its connection closed finds nothing (ids are never reused) and the
  // object lives while any thread still holds it.
  mutable std::mutex conns_mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> conns_;
  std::uint64_t next_id_ = 16;  // below: the stop eventfd and the listener
  // conns_.size(), readable without conns_mu_: a worker keeps serving one
  // connection batch after batch only while no connection can be left
  // waiting for a worker (no more connections than workers).
  std::atomic<std::size_t> live_connections_{0};
};

}  // namespace toolgate::server
