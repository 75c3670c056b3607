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
//
// The log stage: a worker may hand a judged batch (Dispatcher::Judge) to a
// log-stage thread, which logs it and sends its replies (Dispatcher::Finish)
// while the worker reads and judges the connection's next batch, so one
// pipelining client gets a second core. Decisions are still made in request
// order by one worker at a time; a connection's batches are finished by one
// log-stage thread at a time, oldest first, each record written before its
// reply; at most two batches of a connection wait in the stage. A batch read
// at once is staged in two parts (of 16 lines at least), so the stage logs the
// first while the worker judges the second, and the client, which sends more
// as replies come, keeps both busy.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/dispatcher.h"
#include "server/framing.h"
#include "server/listener.h"

namespace toolgate::server {

struct ServerOptions {
  int workers = 4;
  std::size_t max_connections = 1024;  // more are accepted, told so, and closed
  // Which batches go through the log stage (with a decision log only).
  // kAuto: a batch of several requests, or a later batch of the same turn
  // (a client that pipelines), while no more connections are open than half
  // the CPUs the daemon may run on (each such connection then has two
  // cores); a single request is answered by its worker, with no thread
  // hand-off. kAlways: every batch (tests). kNever: none.
  enum class LogStage { kAuto, kAlways, kNever };
  LogStage log_stage = LogStage::kAuto;
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
  // finish the batch it is in and the log stage log and answer every batch
  // judged, sends the replies already made (bounded wait) and closes every
  // connection. Idempotent.
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
  void LogStageLoop();
  // Whether a batch goes to the log stage (ServerOptions::log_stage);
  // staged: the stage still holds earlier batches of its connection.
  bool UseLogStage(std::size_t lines, int batch_in_turn, bool staged) const;
  // Judges the batch and hands it to the log stage; returns whether the
  // connection may be read on.
  bool Stage(Connection* c, const LineSplit& split, bool eof);
  // Logs and answers the oldest staged batch of the connection.
  void FinishStaged(const std::shared_ptr<Connection>& c);
  // For the sync thread and the log stage, after they sent what they could:
  // re-arms a connection no worker owns for output when a worker must act
  // (send the rest, read on, or close it). Caller holds c->mu.
  void HandOverLocked(Connection* c);
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
  // The log stage: connections with staged batches and no log-stage thread on them.
  std::vector<std::thread> log_stage_;
  std::size_t log_stage_connections_ = 0;  // kAuto: at most this many open connections
  std::mutex stage_mu_;
  std::condition_variable stage_cv_;
  std::deque<std::shared_ptr<Connection>> stage_ready_;  // under stage_mu_
  bool stage_stop_ = false;                               // under stage_mu_: drain, then exit
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
