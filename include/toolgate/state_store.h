// StateStore: the values behind tg.state (rate limits, counters, "already
// warned" flags), per agent and per session. Owned by whoever owns the engine
// (the daemon, the C API engine, one CLI run) and handed to every Engine it
// builds, so a policy reload keeps every counter.
//
// In memory, or persistent in a directory:
//   DIR/snapshot   every live entry at one generation (written whole to
//                  snapshot.tmp, fsync, rename, directory fsync)
//   DIR/journal    every update since that snapshot, appended as a
//                  length-prefixed, CRC-32C-checked record and fdatasync'd
//                  before the update returns (group commit: concurrent
//                  updates share one fdatasync)
//   DIR/lock       flock(2): one process uses a directory at a time
// Opening loads the snapshot and replays the journal. A journal whose last
// record was cut short by a crash loses that record (it was never
// acknowledged) and says so in open_notes(); any other damage is an error
// that names the file and byte, never a silent reset: rate limits that reset
// on their own would be a way around them. StateStoreOptions::reset moves
// the old files aside for an operator who decides to start empty.
//
// Expiry times are wall-clock (system_clock), so a window survives a restart.
// An update that cannot be made durable is an error the caller must treat as
// a failure of the call (tg.state raises, the rule fails, the call is denied).
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "toolgate/result.h"

namespace toolgate {

struct StateStoreOptions {
  std::string dir;  // "" = in memory only
  std::size_t max_entries = 100000;
  // How long Open waits for another process to release the directory.
  std::chrono::milliseconds lock_wait{5000};
  // Move an existing snapshot and journal aside (renamed *.reset-<unix time>)
  // and start empty: the explicit way past a damaged or unwanted state.
  bool reset = false;
  // The journal is compacted into a new snapshot when it grows past this
  // (or past twice the last snapshot, whichever is larger).
  std::size_t compact_journal_bytes = std::size_t{4} << 20;
  // fdatasync each update before it returns. Off only for measurements.
  bool sync = true;
};

class StateStore {
 public:
  using Clock = std::chrono::system_clock;
  using Value = std::variant<double, std::string, bool>;

  static constexpr std::size_t kMaxKeyBytes = 4096;
  static constexpr std::size_t kMaxValueBytes = 4096;

  // Opens (creating DIR with mode 0700 when missing) and loads the directory;
  // with an empty dir, an in-memory store. Errors: the directory cannot be
  // made or locked, or is writable by other users; a file is damaged (the
  // message names the file and the byte).
  static Result<std::unique_ptr<StateStore>> Open(const StateStoreOptions& options);
  static std::unique_ptr<StateStore> InMemory(std::size_t max_entries = 100000);

  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Adds delta to a number; a missing or expired entry (or one holding
  // another type) starts at 0 with the given ttl (0 = never expires).
  // Returns the new value once it is durable.
  Result<double> Increment(const std::string& key, double delta, std::chrono::seconds ttl, Clock::time_point now);
  std::optional<Value> Get(const std::string& key, Clock::time_point now);
  // nullopt once durable, else why it is not.
  std::optional<Error> Set(const std::string& key, Value value, std::chrono::seconds ttl, Clock::time_point now);

  // Writes every live entry to a new snapshot and starts an empty journal.
  // Called on its own when the journal grows; public for tests and tools.
  std::optional<Error> Compact(Clock::time_point now);

  std::size_t size() const;
  bool persistent() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // What loading found and repaired (a torn journal tail, a stale journal).
  const std::vector<std::string>& open_notes() const { return notes_; }
  // Bytes in the journal now (its 16-byte header included); 0 in memory.
  std::uint64_t journal_bytes() const;

  struct Entry {
    Value value;
    std::int64_t expires_ms = 0;  // Unix time in ms; 0 = never
  };

 private:
  StateStore() = default;
  std::optional<Error> Load(const StateStoreOptions& options);
  std::optional<Error> AppendLocked(const std::string& key, const Entry* entry);  // null entry = erase
  std::optional<Error> Commit(std::uint64_t seq);
  std::optional<Error> CompactLocked(std::int64_t now_ms);
  std::optional<Error> MakeRoomLocked(std::int64_t now_ms);  // may journal an eviction
  void MaybeCompact(bool due, Clock::time_point now);

  std::string dir_;
  std::size_t max_entries_ = 100000;
  std::size_t compact_bytes_ = std::size_t{4} << 20;
  bool sync_ = true;
  std::vector<std::string> notes_;

  // Lock order: sync_mu_ before mu_.
  mutable std::mutex sync_mu_;  // one fdatasync (or compaction) at a time
  mutable std::mutex mu_;       // the map and the journal's end
  std::map<std::string, Entry, std::less<>> entries_;
  int lock_fd_ = -1;
  int journal_fd_ = -1;
  std::uint64_t journal_end_ = 0;
  std::uint64_t snapshot_bytes_ = 0;
  std::uint64_t generation_ = 0;
  std::uint64_t written_seq_ = 0;
  std::atomic<std::uint64_t> synced_seq_{0};
  std::optional<Error> broken_;  // a failed fdatasync: nothing is durable any more
};

}  // namespace toolgate
