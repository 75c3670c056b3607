#include "toolgate/state_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "state/state_records.h"
#include "util/fd_io.h"

namespace toolgate {
namespace {

using state::kHeaderBytes;

// A state file larger than this is not one toolgate wrote (100000 entries of
// 8 KiB each is under 1 GiB).
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;

Error StateError(std::string message, std::string location = {}) {
  return Error{ErrorCode::kStateStore, std::move(message), std::move(location)};
}

std::string Errno(int e) { return std::strerror(e); }

std::int64_t ToMs(StateStore::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::int64_t Expiry(std::chrono::seconds ttl, std::int64_t now_ms) {
  return ttl.count() <= 0 ? 0 : now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
}

bool Expired(const StateStore::Entry& e, std::int64_t now_ms) { return e.expires_ms != 0 && e.expires_ms <= now_ms; }

// Never-expiring entries sort last: they are evicted only when nothing else is left.
std::int64_t EvictionOrder(const StateStore::Entry& e) {
  return e.expires_ms == 0 ? INT64_MAX : e.expires_ms;
}

// The whole file, or nullopt when it does not exist.
Result<std::optional<std::string>> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return StateError("cannot open: " + Errno(errno), path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) > kMaxFileBytes) {
    ::close(fd);
    return StateError("larger than 1 GiB, which no state file toolgate writes is", path);
  }
  std::string bytes = ReadBounded(fd, kMaxFileBytes);
  ::close(fd);
  return std::optional<std::string>(std::move(bytes));
}

std::optional<Error> SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return StateError("cannot open the directory to sync it: " + Errno(errno), dir);
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return StateError("cannot sync the directory: " + Errno(e), dir);
  return std::nullopt;
}

// Replaces path with bytes so that a crash leaves either the old file or the
// new one: a temp file, fsync, rename over, directory fsync.
std::optional<Error> WriteFileAtomically(const std::string& dir, const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return StateError("cannot create: " + Errno(errno), tmp);
  int e = WriteAll(fd, bytes);
  if (e == 0 && ::fsync(fd) != 0) e = errno;
  ::close(fd);
  if (e != 0) {
    ::unlink(tmp.c_str());
    return StateError("cannot write: " + Errno(e), tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    e = errno;
    ::unlink(tmp.c_str());
    return StateError("cannot rename into place: " + Errno(e), path);
  }
  return SyncDir(dir);
}

// Takes the directory's lock, waiting up to `wait` for another process.
Result<int> LockDirectory(const std::string& path, std::chrono::milliseconds wait) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return StateError("cannot open the lock file: " + Errno(errno), path);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int e = errno;
      ::close(fd);
      return StateError("cannot lock: " + Errno(e), path);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      char pid[32] = {};
      const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : std::string();
      holder.erase(std::remove(holder.begin(), holder.end(), '\n'), holder.end());
      return StateError("the state directory is in use by another process" +
                            (holder.empty() ? std::string() : " (pid " + holder + ")") + " after waiting " +
                            std::to_string(wait.count()) + " ms; one process (a daemon, or one in-process run at a "
                            "time) uses a state directory",
                        path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Who holds it, for the next process's message; best effort.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return fd;
}

std::optional<Error> PrepareDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return StateError("cannot create the state directory: " + Errno(errno), dir);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return StateError("cannot stat: " + Errno(errno), dir);
  if (!S_ISDIR(st.st_mode)) return StateError("the state path is not a directory", dir);
  // Whoever can write here can reset every rate limit.
  if ((st.st_mode & 022) != 0) {
    return StateError("the state directory is writable by other users; make it private (chmod 700)", dir);
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<StateStore> StateStore::InMemory(std::size_t max_entries) {
  std::unique_ptr<StateStore> store(new StateStore());
  store->max_entries_ = std::max<std::size_t>(max_entries, 1);
  return store;
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const StateStoreOptions& options) {
  std::unique_ptr<StateStore> store = InMemory(options.max_entries);
  store->compact_bytes_ = options.compact_journal_bytes;
  store->sync_ = options.sync;
  if (options.dir.empty()) return store;
  try {
    if (auto e = store->Load(options)) return *e;
  } catch (const std::bad_alloc&) {
    return StateError("out of memory while loading the state", options.dir);
  }
  return store;
}

StateStore::~StateStore() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::optional<Error> StateStore::Load(const StateStoreOptions& options) {
  dir_ = options.dir;
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (auto e = PrepareDirectory(dir_)) return e;
  Result<int> lock = LockDirectory(dir_ + "/lock", options.lock_wait);
  if (!lock) return lock.error();
  lock_fd_ = *lock;

  const std::string snapshot_path = dir_ + "/snapshot";
  const std::string journal_path = dir_ + "/journal";
  const std::int64_t now_ms = ToMs(Clock::now());
  if (options.reset) {
    const std::string suffix = ".reset-" + std::to_string(now_ms / 1000);
    for (const std::string& path : {snapshot_path, journal_path}) {
      if (::rename(path.c_str(), (path + suffix).c_str()) == 0) {
        notes_.push_back("reset: moved " + path + " aside to " + path + suffix);
      } else if (errno != ENOENT) {
        return StateError("cannot move aside for the reset: " + Errno(errno), path);
      }
    }
  }

  // The snapshot: all or nothing (it was renamed into place whole).
  std::uint64_t snapshot_generation = 0;
  Result<std::optional<std::string>> snapshot = ReadWholeFile(snapshot_path);
  if (!snapshot) return snapshot.error();
  if (*snapshot) {
    const std::string& bytes = **snapshot;
    if (bytes.size() < kHeaderBytes || std::string_view(bytes).substr(0, 8) != state::kSnapshotMagic) {
      return StateError("not a toolgate state snapshot (bad header); move it aside or start with a reset",
                        snapshot_path + ": byte 0");
    }
    snapshot_generation = state::LoadU64(bytes.data() + 8);
    std::optional<std::uint64_t> end_count;
    const state::RecordScan scan = state::ScanRecords(bytes, [&](state::Record& r) {
      if (end_count) return false;  // nothing may follow the end record
      if (r.op == state::RecordOp::kEnd) {
        end_count = r.count;
        return true;
      }
      if (r.op == state::RecordOp::kErase) return false;
      entries_.insert_or_assign(std::move(r.key), std::move(r.entry));
      return true;
    });
    if (scan.torn || scan.damage) {
      return StateError("the snapshot is damaged: " + (scan.damage ? *scan.damage : std::string("it is cut short")),
                        snapshot_path + ": byte " + std::to_string(scan.good_end));
    }
    if (!end_count || *end_count != entries_.size()) {
      return StateError("the snapshot is incomplete (its end record is missing or counts other entries)",
                        snapshot_path + ": byte " + std::to_string(scan.good_end));
    }
    snapshot_bytes_ = bytes.size();
  }
  generation_ = snapshot_generation;

  // The journal: every acknowledged update since the snapshot.
  bool fresh_journal = true;
  Result<std::optional<std::string>> journal = ReadWholeFile(journal_path);
  if (!journal) return journal.error();
  if (*journal) {
    std::string& bytes = **journal;
    if (bytes.size() < kHeaderBytes) {
      // Cut short while being created: it held no update yet.
      notes_.push_back(journal_path + ": the header was cut short by a crash; starting a new journal");
    } else if (std::string_view(bytes).substr(0, 8) != state::kJournalMagic) {
      return StateError("not a toolgate state journal (bad header); move it aside or start with a reset",
                        journal_path + ": byte 0");
    } else {
      const std::uint64_t generation = state::LoadU64(bytes.data() + 8);
      if (generation > snapshot_generation) {
        return StateError("the journal continues snapshot generation " + std::to_string(generation) +
                              " but the snapshot is generation " + std::to_string(snapshot_generation) +
                              " (missing or replaced); refusing to load a partial state",
                          journal_path + ": byte 8");
      }
      if (generation < snapshot_generation) {
        // A compaction wrote the snapshot and crashed before starting the new
        // journal: these updates are all in the snapshot already.
        notes_.push_back(journal_path + ": generation " + std::to_string(generation) + " is older than the snapshot's " +
                         std::to_string(snapshot_generation) + " (a compaction was interrupted); its updates are in "
                         "the snapshot");
      } else {
        const state::RecordScan scan = state::ScanRecords(bytes, [&](state::Record& r) {
          if (r.op == state::RecordOp::kEnd) return false;
          if (r.op == state::RecordOp::kErase) {
            entries_.erase(r.key);
          } else {
            entries_.insert_or_assign(std::move(r.key), std::move(r.entry));
          }
          return true;
        });
        if (scan.damage) {
          return StateError("the journal is damaged: " + *scan.damage +
                                "; refusing to guess the counters (start with a reset to discard the state)",
                            journal_path + ": byte " + std::to_string(scan.good_end));
        }
        fresh_journal = false;
        journal_end_ = scan.good_end;
        if (scan.torn) {
          notes_.push_back(journal_path + ": the last update (bytes " + std::to_string(scan.good_end) + ".." +
                           std::to_string(bytes.size()) + ") was cut short by a crash before it was acknowledged; "
                           "it is dropped");
        }
      }
    }
  }

  if (fresh_journal) {
    if (auto e = WriteFileAtomically(dir_, journal_path, state::EncodeHeader(state::kJournalMagic, generation_))) {
      return e;
    }
    journal_end_ = kHeaderBytes;
  }
  journal_fd_ = ::open(journal_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (journal_fd_ < 0) return StateError("cannot open for appending: " + Errno(errno), journal_path);
  struct stat st {};
  if (::fstat(journal_fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) != journal_end_) {
    // Drop the torn tail, so the next append follows the last good record.
    if (::ftruncate(journal_fd_, static_cast<off_t>(journal_end_)) != 0 || ::fdatasync(journal_fd_) != 0) {
      return StateError("cannot cut the torn tail off: " + Errno(errno), journal_path);
    }
  }

  std::erase_if(entries_, [now_ms](const auto& kv) { return Expired(kv.second, now_ms); });
  const bool over = entries_.size() > max_entries_;
  while (entries_.size() > max_entries_) {
    auto victim = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return EvictionOrder(a.second) < EvictionOrder(b.second);
    });
    entries_.erase(victim);
  }
  if (over || journal_end_ > std::max<std::uint64_t>(compact_bytes_, 2 * snapshot_bytes_)) {
    std::lock_guard sync_lock(sync_mu_);
    std::lock_guard lock_(mu_);
    if (auto e = CompactLocked(now_ms)) return e;
  }
  return std::nullopt;
}

std::optional<Error> StateStore::AppendLocked(const std::string& key, const Entry* entry) {
  if (journal_fd_ < 0) return std::nullopt;  // in memory
  if (broken_) return broken_;
  std::string record;
  state::AppendRecord(&record, key, entry);
  std::size_t done = 0;
  while (done < record.size()) {
    const ssize_t n = ::pwrite(journal_fd_, record.data() + done, record.size() - done,
                               static_cast<off_t>(journal_end_ + done));
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int e = n < 0 ? errno : EIO;
    // Take the partial record back, so the journal stays a run of whole records.
    if (::ftruncate(journal_fd_, static_cast<off_t>(journal_end_)) != 0) {
      broken_ = StateError("the journal could not be written (" + Errno(e) + ") nor its partial record removed",
                           dir_ + "/journal");
      return broken_;
    }
    return StateError("cannot append to the state journal: " + Errno(e), dir_ + "/journal");
  }
  journal_end_ += record.size();
  ++written_seq_;
  return std::nullopt;
}

std::optional<Error> StateStore::Commit(std::uint64_t seq) {
  if (!persistent() || !sync_) return std::nullopt;
  if (synced_seq_.load(std::memory_order_acquire) >= seq) return std::nullopt;
  std::lock_guard sync_lock(sync_mu_);
  // Whoever held sync_mu_ before may have synced past seq already (group commit).
  if (synced_seq_.load(std::memory_order_acquire) >= seq) return std::nullopt;
  int fd = -1;
  std::uint64_t target = 0;
  {
    std::lock_guard lock(mu_);
    if (broken_) return broken_;
    fd = journal_fd_;
    target = written_seq_;
  }
  // The fd stays open: only a compaction replaces it, and it holds sync_mu_.
  if (::fdatasync(fd) != 0) {
    const int e = errno;
    std::lock_guard lock(mu_);
    // After a failed fdatasync the kernel may have dropped the dirty pages:
    // no later sync can vouch for them, so nothing is durable any more.
    broken_ = StateError("fdatasync of the state journal failed: " + Errno(e) +
                             "; updates can no longer be made durable (restart to reload)",
                         dir_ + "/journal");
    return broken_;
  }
  synced_seq_.store(target, std::memory_order_release);
  return std::nullopt;
}

std::optional<Error> StateStore::CompactLocked(std::int64_t now_ms) {
  std::erase_if(entries_, [now_ms](const auto& kv) { return Expired(kv.second, now_ms); });
  if (!persistent()) return std::nullopt;
  if (broken_) return broken_;
  const std::uint64_t generation = generation_ + 1;
  std::string snapshot = state::EncodeHeader(state::kSnapshotMagic, generation);
  for (const auto& [key, entry] : entries_) state::AppendRecord(&snapshot, key, &entry);
  state::AppendEndRecord(&snapshot, entries_.size());
  const std::string journal_path = dir_ + "/journal";
  if (auto e = WriteFileAtomically(dir_, dir_ + "/snapshot", snapshot)) return e;  // the old files still hold it all
  // From here the snapshot holds every update and the old journal is stale:
  // appending to it would lose updates at the next start.
  if (auto e = WriteFileAtomically(dir_, journal_path, state::EncodeHeader(state::kJournalMagic, generation))) {
    broken_ = e;
    return e;
  }
  const int fd = ::open(journal_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    broken_ = StateError("cannot open the new journal: " + Errno(errno), journal_path);
    return broken_;
  }
  if (journal_fd_ >= 0) ::close(journal_fd_);
  journal_fd_ = fd;
  journal_end_ = kHeaderBytes;
  generation_ = generation;
  snapshot_bytes_ = snapshot.size();
  synced_seq_.store(written_seq_, std::memory_order_release);  // all in the fsync'd snapshot
  return std::nullopt;
}

std::optional<Error> StateStore::Compact(Clock::time_point now) {
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  return CompactLocked(ToMs(now));
}

void StateStore::MaybeCompact(bool due, Clock::time_point now) {
  if (!due) return;
  std::lock_guard sync_lock(sync_mu_);
  std::lock_guard lock(mu_);
  if (journal_end_ <= std::max<std::uint64_t>(compact_bytes_, 2 * snapshot_bytes_)) return;  // another did it
  if (auto e = CompactLocked(ToMs(now))) {
    spdlog::warn("toolgate state: compaction failed: {} ({}); the journal keeps growing", e->message, e->location);
  }
}

std::optional<Error> StateStore::MakeRoomLocked(std::int64_t now_ms) {
  if (entries_.size() < max_entries_) return std::nullopt;
  std::erase_if(entries_, [now_ms](const auto& kv) { return Expired(kv.second, now_ms); });
  if (entries_.size() < max_entries_) return std::nullopt;
  // Still full: drop the entry closest to expiry (never-expiring ones last).
  auto victim = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    return EvictionOrder(a.second) < EvictionOrder(b.second);
  });
  if (auto e = AppendLocked(victim->first, nullptr)) return e;
  entries_.erase(victim);
  return std::nullopt;
}

Result<double> StateStore::Increment(const std::string& key, double delta, std::chrono::seconds ttl,
                                     Clock::time_point now) {
  if (key.size() > kMaxKeyBytes) return StateError("a state key is longer than 4096 bytes");
  const std::int64_t now_ms = ToMs(now);
  Entry next;
  std::uint64_t seq = 0;
  bool due = false;
  {
    std::lock_guard lock(mu_);
    if (broken_) return *broken_;
    const auto it = entries_.find(key);
    if (it != entries_.end() && !Expired(it->second, now_ms) && std::holds_alternative<double>(it->second.value)) {
      next = it->second;
    } else {
      if (it != entries_.end()) entries_.erase(it);
      if (auto e = MakeRoomLocked(now_ms)) return *e;
      next = Entry{0.0, Expiry(ttl, now_ms)};
    }
    std::get<double>(next.value) += delta;
    if (auto e = AppendLocked(key, &next)) return *e;
    entries_.insert_or_assign(key, next);
    seq = written_seq_;
    due = journal_end_ > std::max<std::uint64_t>(compact_bytes_, 2 * snapshot_bytes_);
  }
  if (auto e = Commit(seq)) return *e;
  MaybeCompact(due, now);
  return std::get<double>(next.value);
}

std::optional<StateStore::Value> StateStore::Get(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (Expired(it->second, ToMs(now))) {
    entries_.erase(it);  // expiry is wall-clock: replaying its record later drops it again
    return std::nullopt;
  }
  return it->second.value;
}

std::optional<Error> StateStore::Set(const std::string& key, Value value, std::chrono::seconds ttl,
                                     Clock::time_point now) {
  if (key.size() > kMaxKeyBytes) return StateError("a state key is longer than 4096 bytes");
  if (const std::string* s = std::get_if<std::string>(&value); s != nullptr && s->size() > kMaxValueBytes) {
    return StateError("a state value is longer than 4096 bytes");
  }
  const std::int64_t now_ms = ToMs(now);
  std::uint64_t seq = 0;
  bool due = false;
  {
    std::lock_guard lock(mu_);
    if (broken_) return broken_;
    if (!entries_.contains(key)) {
      if (auto e = MakeRoomLocked(now_ms)) return e;
    }
    Entry next{std::move(value), Expiry(ttl, now_ms)};
    if (auto e = AppendLocked(key, &next)) return e;
    entries_.insert_or_assign(key, std::move(next));
    seq = written_seq_;
    due = journal_end_ > std::max<std::uint64_t>(compact_bytes_, 2 * snapshot_bytes_);
  }
  if (auto e = Commit(seq)) return e;
  MaybeCompact(due, now);
  return std::nullopt;
}

std::size_t StateStore::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::uint64_t StateStore::journal_bytes() const {
  std::lock_guard lock(mu_);
  return journal_end_;
}

}  // namespace toolgate
