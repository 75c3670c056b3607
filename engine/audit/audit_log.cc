// AuditLog: the writer of the decision log.
//
// Concurrency: appenders build their record's members in parallel, then under
// one mutex take the next seq, chain the line to the head and queue it. The
// first appender to find no write in progress becomes the writer and writes
// every queued line with one write(2) (outside the mutex); the rest wait on a
// condition variable until the written seq passes theirs. A flusher thread
// runs fdatasync: at once for records whose verdict asks for it (after at most
// commit_delay to gather more), and within max_unsynced for the rest. One
// fdatasync covers every line written before it began: that is the group commit.
#include "toolgate/audit.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "audit/decision_record.h"
#include "audit/log_file_io.h"
#include "util/fd_io.h"
#include "audit/record.h"
#include "audit/record_writer.h"
#include "audit/redaction.h"
#include "audit/segment_files.h"
#include "audit/signing.h"
#include "audit/wake_counter.h"
#include "util/sha256.h"

namespace toolgate {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

Error AuditError(const std::string& what, const std::string& where = "") {
  return Error{ErrorCode::kInternal, what, where};
}

// The longest the adaptive group commit waits for appends that are still
// serializing a record that will want the next fdatasync.
constexpr std::chrono::microseconds kGatherLimit{100};

// How many writes an appender makes at most as the writer (its own lines,
// then lines queued during its write): bounds what one Append spends
// writing other threads' records.
constexpr int kWriterPasses = 4;

std::string ErrnoText(int e) { return std::strerror(e); }

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The members of a canonical JSON object: the text between its braces.
std::string_view MembersOf(std::string_view object) {
  if (object.size() >= 2 && object.front() == '{' && object.back() == '}') return object.substr(1, object.size() - 2);
  return object;
}

// A record the fast writer declined: written again, redacting as it goes
// (the common reason to decline), into a cleared buffer.
bool RedactedMembers(std::string* out, const ToolCall& call, const Decision& decision, const PeerInfo& peer,
                     const audit::SecretRedactor& redactor, const std::string& host,
                     const std::string* message = nullptr) {
  out->clear();
  return audit::AppendRedactedDecisionMembers(out, call, decision, peer, redactor, host, message);
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace

PeerInfo PeerInfo::CurrentProcess(std::string transport) {
  PeerInfo p;
  p.uid = static_cast<std::int64_t>(::getuid());
  p.gid = static_cast<std::int64_t>(::getgid());
  p.pid = static_cast<std::int64_t>(::getpid());
  p.transport = std::move(transport);
  return p;
}

struct AuditLog::State {
  AuditLogOptions opt;
  audit::SegmentName name;
  bool rotating = false;
  std::shared_ptr<const audit::SigningKey> key;
  std::shared_ptr<const audit::SecretRedactor> redactor;
  std::string host;
  std::string log_name;  // basename of the configured path, signed into checkpoints
  std::vector<std::string> notes;
  int lock_fd = -1;
  int sidecar_fd = -1;

  mutable std::mutex mu;
  std::condition_variable cv;          // appenders wait here for write/sync progress
  std::condition_variable flusher_cv;  // the flusher waits here for work
  // Durable appends sleep on this counter (a futex, see wake_counter.h) for their sync.
  // It is bumped whenever synced_seq, epoch, broken or closed change. Kept apart
  // from cv so that the writes between two syncs wake no thread waiting for
  // one, and lock-free so that the threads one sync releases do not all queue
  // up on mu just to return.
  audit::WakeCounter sync_gen;
  // The same for appends that wait only for their write: bumped when a write
  // ends (written_seq or epoch changed) or broken is set. A C++20 atomic wait:
  // its short spin and yields suit a wait of microseconds (see wake_counter.h).
  std::atomic<std::uint32_t> write_gen{0};
  std::atomic<std::uint64_t> written_seq{0};  // written.seq, readable without mu
  std::atomic<bool> writing_flag{false};      // writing, likewise
  void WakeWriters() {
    write_gen.fetch_add(1);
    write_gen.notify_all();
  }
  void WakeDurable() { sync_gen.Bump(); }

  // The current segment.
  int fd = -1;
  std::string file_path;
  std::uint32_t segment_index = 0;
  Clock::time_point segment_opened;
  Clock::time_point rotation_retry_after;

  // Assigned (queued) state, and the same state as of the last successful
  // write, which is where the chain resumes if a write fails.
  struct ChainState {
    std::uint64_t seq = 0;
    std::string head = std::string(audit::kGenesisHash);
    std::uint64_t segment_first_seq = 0;  // 0 = no record in the current segment yet
    std::uint64_t segment_bytes = 0;
    std::uint64_t last_checkpoint_seq = 0;
  };
  ChainState assigned;
  ChainState written;
  std::string pending;  // lines assigned but not yet written
  std::string spare;    // the buffer of the previous write, reused
  bool writing = false;
  bool syncing = false;
  bool rotating_now = false;
  std::atomic<std::uint64_t> synced_seq{0};  // written under mu; read without it by durable waiters
  std::uint64_t sync_wanted = 0;
  // Appends that will wait for fdatasync and are serializing their record
  // right now (not yet queued). With the adaptive commit_delay the flusher
  // lets them join the sync it is about to start, for at most kGatherLimit.
  std::atomic<int> durable_building{0};
  std::optional<Clock::time_point> unsynced_since;
  Clock::time_point last_checkpoint_time = Clock::now();
  std::optional<Error> broken;  // sticky: an fdatasync failed
  std::atomic<bool> broken_flag{false};  // broken.has_value(), for durable waiters without the lock
  std::atomic<bool> closed_flag{false};  // closed, likewise
  std::string last_write_error;
  std::atomic<std::uint64_t> epoch{0};          // bumped by every failed write (under mu)
  std::vector<std::uint64_t> rollback_points;   // written seq at each failed write
  std::vector<std::pair<std::uint64_t, std::string>> sidecar_pending;  // (checkpoint seq, line)
  bool closing = false;
  bool closed = false;
  std::thread flusher;

  ~State() {
    // Only reached with descriptors still open when Open failed part way.
    for (int f : {fd, sidecar_fd, lock_fd}) {
      if (f >= 0) ::close(f);
    }
  }

  // ---- chain ----

  // Chains one record to the head and queues its line. members are the
  // record's other members as canonical JSON without the braces, serialized
  // by the caller before it took the lock: only what depends on the chain
  // position (seq, prev_hash, time) and the hash over all of it happen here.
  std::uint64_t AssignLocked(std::string_view type, std::string_view members) {
    const std::uint64_t seq = assigned.seq + 1;
    char time[48];
    const std::size_t time_len = audit::FormatTimeTo(NowNs(), time);
    char hash[64];
    const std::size_t before = pending.size();
    audit::AppendChainedLine(&pending, seq, assigned.head, type, std::string_view(time, time_len), members, hash);
    assigned.seq = seq;
    assigned.head.assign(hash, sizeof hash);
    if (assigned.segment_first_seq == 0) assigned.segment_first_seq = seq;
    assigned.segment_bytes += pending.size() - before;
    return seq;
  }

  // Queues a checkpoint signing the current head; 0 when there is nothing new to sign.
  std::uint64_t AddCheckpointLocked() {
    if (!key || assigned.seq == 0 || assigned.seq == assigned.last_checkpoint_seq) return 0;
    const std::uint64_t count =
        assigned.segment_first_seq == 0 ? 0 : assigned.seq - assigned.segment_first_seq + 1;
    json payload{{"count", count},
                 {"file", fs::path(file_path).filename().string()},
                 {"head", assigned.head},
                 {"key_id", key->key_id()},
                 {"log", log_name},
                 {"seq", assigned.seq},
                 {"time", audit::FormatTime(NowNs())}};
    const std::string sig = key->Sign(audit::CheckpointMessage(payload));
    json members{{"checkpoint", payload}, {"sig", sig}, {"v", audit::kRecordVersion}};
    const std::uint64_t seq = AssignLocked(audit::kTypeCheckpoint, MembersOf(audit::CanonicalJson(members)));
    assigned.last_checkpoint_seq = seq;
    last_checkpoint_time = Clock::now();
    json side{{"checkpoint", std::move(payload)}, {"record_seq", seq}, {"sig", sig}};
    sidecar_pending.emplace_back(seq, audit::CanonicalJson(side) + "\n");
    sync_wanted = std::max(sync_wanted, seq);
    flusher_cv.notify_one();
    return seq;
  }

  // ---- writing ----

  // Writes everything queued with one write(2), outside the lock. With
  // max_passes above 1 the writer stays the writer while lines keep being
  // queued during its write, and writes them too (at most max_passes writes):
  // their appenders then find a write in progress and keep sleeping, instead
  // of all waking to the end of this write only to queue on mu and elect the
  // next writer among themselves (a herd of lock hand-offs per write).
  void WriteOutLocked(std::unique_lock<std::mutex>& lk, int max_passes = 1) {
    writing = true;
    writing_flag = true;
    for (int pass = 1;; ++pass) {
      // Two buffers take turns, so neither is reallocated batch after batch.
      std::string buf = std::move(spare);
      buf.clear();
      buf.swap(pending);
      const ChainState upto = assigned;
      const int wfd = fd;
      const std::uint64_t offset = written.segment_bytes;
      lk.unlock();
      int err = toolgate::WriteAll(wfd, buf);
      if (err != 0) {
        // Cut any partial line so the file stays a verifiable chain.
        if (::ftruncate(wfd, static_cast<off_t>(offset)) != 0) {
          spdlog::critical("audit log {}: cannot cut a partial write: {}", file_path, ErrnoText(errno));
        }
      }
      lk.lock();
      spare = std::move(buf);
      // Another pass only for lines queued meanwhile, never past a rotation
      // or a close that waits for the write to end.
      const bool again = err == 0 && pass < max_passes && !pending.empty() && !rotating_now && !closing;
      if (!again) {
        writing = false;
        writing_flag = false;
      }
      if (err != 0) {
        last_write_error = "cannot write the audit log " + file_path + ": " + ErrnoText(err);
        spdlog::error("{}; {} record(s) not logged", last_write_error, assigned.seq - written.seq);
        rollback_points.push_back(written.seq);
        ++epoch;
        assigned = written;
        pending.clear();
        std::erase_if(sidecar_pending, [&](const auto& p) { return p.first > written.seq; });
      } else {
        written = upto;
        written_seq = written.seq;
        // Wake the flusher only when it has something new to do: the first
        // unsynced write starts its max_unsynced clock, or a sync is wanted.
        // Waking it on every write costs a context switch per record.
        if (!unsynced_since) {
          unsynced_since = Clock::now();
          flusher_cv.notify_one();
        }
      }
      cv.notify_all();
      WakeWriters();
      if (err != 0) WakeDurable();  // durable appends whose records were rolled back fail now
      if (err != 0 || sync_wanted > synced_seq) flusher_cv.notify_one();
      if (!again) return;
    }
  }

  // Waits until seq is written (writing it, and whatever is queued, when no one is).
  // With relock false it may return success with lk unlocked.
  std::optional<Error> WaitWrittenLocked(std::unique_lock<std::mutex>& lk, std::uint64_t seq, std::uint64_t my_epoch,
                                         bool relock = true) {
    for (;;) {
      if (epoch != my_epoch && seq > rollback_points[my_epoch]) {
        return AuditError(last_write_error.empty() ? "audit record was not written" : last_write_error);
      }
      if (written.seq >= seq) return std::nullopt;
      if (broken) return *broken;
      if (!writing) {
        WriteOutLocked(lk, kWriterPasses);
        continue;
      }
      // Someone else is writing: wait for that write to end, without the lock
      // (as for syncs: the threads one write releases need not queue on mu).
      std::uint32_t gen = write_gen.load();
      lk.unlock();
      for (;;) {
        write_gen.wait(gen);
        gen = write_gen.load();
        if (written_seq.load() >= seq && epoch.load() == my_epoch) {
          if (relock) lk.lock();
          return std::nullopt;
        }
        if (!writing_flag.load() || epoch.load() != my_epoch || broken_flag.load()) break;
      }
      lk.lock();
    }
  }

  // For a durable append: waits until an fdatasync covered seq. The flusher
  // writes whatever is queued before it syncs, so the appender does not write
  // (or wait for the write) itself; a sync that covers seq implies its write.
  std::optional<Error> WaitDurableLocked(std::unique_lock<std::mutex>& lk, std::uint64_t seq, std::uint64_t my_epoch) {
    if (sync_wanted < seq) {
      sync_wanted = seq;
      flusher_cv.notify_one();
    }
    for (;;) {
      if (epoch != my_epoch && seq > rollback_points[my_epoch]) {
        return AuditError(last_write_error.empty() ? "audit record was not written" : last_write_error);
      }
      if (synced_seq >= seq) return std::nullopt;
      if (broken) return *broken;
      if (closed) return AuditError("the audit log was closed before the record was synced", file_path);
      std::uint32_t gen = sync_gen.load();
      lk.unlock();
      for (;;) {
        sync_gen.Wait(gen);
        gen = sync_gen.load();
        // The common case, without the lock: a sync covered seq and no failed
        // write rolled the chain back since seq was assigned. synced_seq is
        // read first: a rollback is stored before any later sync's synced_seq,
        // so seeing that synced_seq means seeing the rollback's epoch too.
        if (synced_seq.load() >= seq && epoch.load() == my_epoch) return std::nullopt;
        if (epoch.load() != my_epoch || broken_flag.load() || closed_flag.load()) break;
      }
      lk.lock();
    }
  }

  std::optional<Error> WaitSyncedLocked(std::unique_lock<std::mutex>& lk, std::uint64_t seq) {
    if (synced_seq >= seq) return std::nullopt;
    sync_wanted = std::max(sync_wanted, seq);
    flusher_cv.notify_one();
    cv.wait(lk, [&] { return synced_seq >= seq || broken.has_value(); });
    if (synced_seq >= seq) return std::nullopt;
    return *broken;
  }

  // fdatasync of the current segment; the caller guarantees no rotation runs.
  void SyncLocked(std::unique_lock<std::mutex>& lk) {
    syncing = true;
    const std::uint64_t target = written.seq;
    const int sfd = fd;
    lk.unlock();
    const int rc = ::fdatasync(sfd);
    const int err = errno;
    lk.lock();
    syncing = false;
    if (rc != 0) {
      // After a failed fdatasync the kernel may have dropped the dirty pages;
      // nothing written since the last good sync can be trusted to be on disk.
      broken = AuditError("fdatasync of the audit log failed: " + ErrnoText(err) + "; reopen the log", file_path);
      broken_flag = true;
      WakeWriters();
      spdlog::critical("audit log {}: {}", file_path, broken->message);
    } else {
      synced_seq = std::max(synced_seq.load(), target);
      unsynced_since.reset();
      if (written.seq > synced_seq) unsynced_since = Clock::now();
      FlushSidecarLocked();
    }
    cv.notify_all();
    WakeDurable();
  }

  // Checkpoints go to the sidecar only once their record is on disk, so the
  // sidecar never names a record a crash could lose.
  void FlushSidecarLocked() {
    if (sidecar_fd < 0) return;
    std::string out;
    auto it = sidecar_pending.begin();
    for (; it != sidecar_pending.end() && it->first <= synced_seq; ++it) out += it->second;
    sidecar_pending.erase(sidecar_pending.begin(), it);
    if (out.empty()) return;
    if (int e = toolgate::WriteAll(sidecar_fd, out); e != 0) {
      spdlog::warn("audit log {}: cannot write the checkpoint sidecar: {}", file_path, ErrnoText(e));
    }
  }

  // ---- rotation ----

  bool RotationDueLocked(std::size_t incoming) const {
    if (!rotating || assigned.segment_first_seq == 0 || Clock::now() < rotation_retry_after) return false;
    if (opt.rotate_bytes > 0 && assigned.segment_bytes + incoming > opt.rotate_bytes) return true;
    return opt.rotate_after.count() > 0 && Clock::now() - segment_opened >= opt.rotate_after;
  }

  std::optional<Error> RotateLocked(std::unique_lock<std::mutex>& lk) {
    rotating_now = true;
    struct Done {
      State* s;
      ~Done() {
        s->rotating_now = false;
        s->cv.notify_all();
        s->WakeDurable();
      }
    } done{this};
    cv.wait(lk, [&] { return !writing && !syncing; });
    AddCheckpointLocked();  // a finished segment ends signed
    const std::uint64_t my_epoch = epoch;
    if (!pending.empty()) {
      WriteOutLocked(lk);
      if (epoch != my_epoch) return AuditError(last_write_error);
    }
    if (::fdatasync(fd) != 0) {
      broken = AuditError("fdatasync of the audit log failed: " + ErrnoText(errno), file_path);
      broken_flag = true;
      WakeWriters();
      cv.notify_all();
      WakeDurable();
      return *broken;
    }
    synced_seq = written.seq;
    unsynced_since.reset();
    FlushSidecarLocked();

    const std::string next = audit::SegmentPath(name, segment_index + 1);
    const int nfd = ::open(next.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (nfd < 0) {
      // Keep logging into the full segment rather than deny every call; retry later.
      spdlog::error("audit log: cannot start segment {}: {}; still writing {}", next, ErrnoText(errno), file_path);
      rotation_retry_after = Clock::now() + std::chrono::seconds(10);
      return std::nullopt;
    }
    if (int e = audit::SyncParentDir(next); e != 0) {
      spdlog::warn("audit log: cannot sync the directory of {}: {}", next, ErrnoText(e));
    }
    ::close(fd);
    fd = nfd;
    file_path = next;
    ++segment_index;
    segment_opened = Clock::now();
    assigned.segment_first_seq = written.segment_first_seq = 0;
    assigned.segment_bytes = written.segment_bytes = 0;
    spdlog::info("audit log: rotated to {}", file_path);
    return std::nullopt;
  }

  // ---- appending ----

  Result<AppendReceipt> AppendMembers(std::string_view type, const json& members, bool durable) {
    const std::string rest = audit::CanonicalJson(members);
    return AppendSerialized(type, MembersOf(rest), durable);
  }

  // members: canonical JSON of the record's other members, without the braces.
  // counted_durable: the caller counted this append in durable_building.
  Result<AppendReceipt> AppendSerialized(std::string_view type, std::string_view members, bool durable,
                                         bool counted_durable = false) {
    std::unique_lock<std::mutex> lk(mu);
    struct Uncount {  // on the paths that return before the record is queued
      State* s;
      bool* counted;
      ~Uncount() {
        if (*counted && s->durable_building.fetch_sub(1) == 1) s->flusher_cv.notify_one();
      }
    } uncount{this, &counted_durable};
    cv.wait(lk, [&] { return !rotating_now; });
    if (closing || closed) return AuditError("the audit log is closed", file_path);
    if (broken) return *broken;
    if (RotationDueLocked(members.size() + 2)) {
      if (auto e = RotateLocked(lk)) return *e;
      if (closing || closed) return AuditError("the audit log is closed", file_path);
    }
    const std::uint64_t my_epoch = epoch;
    const std::uint64_t seq = AssignLocked(type, members);
    AppendReceipt receipt;
    receipt.seq = seq;
    receipt.hash = assigned.head;
    if (opt.checkpoint_every > 0 && assigned.seq - assigned.last_checkpoint_seq >= opt.checkpoint_every) {
      AddCheckpointLocked();
    }
    if (counted_durable) {
      counted_durable = false;
      if (durable_building.fetch_sub(1) == 1) flusher_cv.notify_one();
    }
    if (durable) {
      if (auto e = WaitDurableLocked(lk, seq, my_epoch)) return *e;
    } else {
      if (auto e = WaitWrittenLocked(lk, seq, my_epoch, /*relock=*/false)) return *e;
    }
    receipt.durable = synced_seq >= seq;
    return receipt;
  }

  // Chains and queues several records in order under one lock, then waits
  // for the last one (written, or synced when durable). They are queued
  // together, so one write covers them all and a failed write rolls all of
  // them back: the batch is all or nothing.
  Result<AppendReceipt> AppendSerializedBatch(std::span<const std::string> members, bool durable,
                                              bool counted_durable, bool wait_for_sync) {
    std::unique_lock<std::mutex> lk(mu);
    struct Uncount {
      State* s;
      bool* counted;
      ~Uncount() {
        if (*counted && s->durable_building.fetch_sub(1) == 1) s->flusher_cv.notify_one();
      }
    } uncount{this, &counted_durable};
    cv.wait(lk, [&] { return !rotating_now; });
    if (closing || closed) return AuditError("the audit log is closed", file_path);
    if (broken) return *broken;
    std::size_t incoming = 0;
    for (const std::string& m : members) incoming += m.size() + 2;
    if (RotationDueLocked(incoming)) {
      if (auto e = RotateLocked(lk)) return *e;
      if (closing || closed) return AuditError("the audit log is closed", file_path);
    }
    const std::uint64_t my_epoch = epoch;
    std::uint64_t seq = 0;
    for (const std::string& m : members) {
      seq = AssignLocked(audit::kTypeDecision, m);
      if (opt.checkpoint_every > 0 && assigned.seq - assigned.last_checkpoint_seq >= opt.checkpoint_every) {
        AddCheckpointLocked();
      }
    }
    AppendReceipt receipt;
    receipt.seq = seq;
    receipt.hash = assigned.head;
    if (counted_durable) {
      counted_durable = false;
      if (durable_building.fetch_sub(1) == 1) flusher_cv.notify_one();
    }
    if (durable && wait_for_sync) {
      if (auto e = WaitDurableLocked(lk, seq, my_epoch)) return *e;
    } else {
      if (durable && sync_wanted < seq) {
        sync_wanted = seq;  // the flusher syncs it; the caller waits with WaitSynced
        flusher_cv.notify_one();
      }
      if (auto e = WaitWrittenLocked(lk, seq, my_epoch, /*relock=*/false)) return *e;
      receipt.sync_pending = durable;
    }
    receipt.durable = synced_seq >= seq;
    if (receipt.durable) receipt.sync_pending = false;
    return receipt;
  }

  // ---- the flusher thread ----

  void FlusherLoop() {
    std::unique_lock<std::mutex> lk(mu);
    bool delayed = false;
    while (true) {
      if (broken) {
        flusher_cv.wait(lk, [&] { return closing; });
        return;
      }
      const Clock::time_point now = Clock::now();
      if (!rotating_now && key && opt.checkpoint_interval.count() > 0 &&
          assigned.seq > assigned.last_checkpoint_seq && now - last_checkpoint_time >= opt.checkpoint_interval) {
        AddCheckpointLocked();
        continue;
      }
      if (sync_wanted > synced_seq && !rotating_now) {
        if (opt.commit_delay.count() > 0 && !delayed) {
          // The bounded wait of group commit: gather more durable records,
          // then look at everything again (a rotation may have begun).
          const Clock::time_point until = Clock::now() + opt.commit_delay;
          while (!closing && Clock::now() < until) flusher_cv.wait_until(lk, until);
          delayed = true;
          continue;
        }
        if (opt.commit_delay.count() == 0 && !delayed && durable_building.load() > 0) {
          // Adaptive: appends that will wait for this sync are serializing
          // their records right now; let them join it rather than pay for a
          // sync of their own (bounded: a descheduled appender is not waited for).
          const Clock::time_point until = Clock::now() + kGatherLimit;
          while (!closing && durable_building.load() > 0 && Clock::now() < until) flusher_cv.wait_until(lk, until);
          delayed = true;
          continue;
        }
        delayed = false;
        if (written.seq < sync_wanted) {
          if (!writing && !pending.empty()) {
            WriteOutLocked(lk);
          } else if (writing) {
            flusher_cv.wait(lk);
          } else {
            sync_wanted = written.seq;  // what was wanted was rolled back by a failed write
          }
          continue;
        }
        if (!syncing) SyncLocked(lk);
        continue;
      }
      if (written.seq > synced_seq && unsynced_since && now - *unsynced_since >= opt.max_unsynced && !rotating_now &&
          !syncing) {
        SyncLocked(lk);
        continue;
      }
      if (closing) return;
      std::optional<Clock::time_point> deadline;
      if (written.seq > synced_seq && unsynced_since) deadline = *unsynced_since + opt.max_unsynced;
      if (key && opt.checkpoint_interval.count() > 0 && assigned.seq > assigned.last_checkpoint_seq) {
        const Clock::time_point t = last_checkpoint_time + opt.checkpoint_interval;
        deadline = deadline ? std::min(*deadline, t) : t;
      }
      if (deadline) {
        flusher_cv.wait_until(lk, *deadline);
      } else {
        flusher_cv.wait(lk);
      }
    }
  }

  // ---- open / close ----

  std::optional<Error> AcquireLock() {
    const std::string lock_path = audit::LockPath(opt.path);
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) return AuditError("cannot open the log's lock file: " + ErrnoText(errno), lock_path);
    const Clock::time_point give_up = Clock::now() + opt.lock_timeout;
    while (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        return AuditError("cannot lock the audit log: " + ErrnoText(errno), lock_path);
      }
      if (Clock::now() >= give_up) {
        return AuditError("another process holds the audit log (waited " + std::to_string(opt.lock_timeout.count()) +
                              " ms)",
                          lock_path);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return std::nullopt;
  }

  // Finds the segment to append to and the chain head to continue from.
  std::optional<Error> Resume(std::optional<std::pair<std::uint64_t, std::string>>* torn) {
    std::vector<std::string> candidates;  // newest first
    if (rotating) {
      const std::vector<std::uint32_t> idx = audit::ListSegments(name);
      segment_index = idx.empty() ? 1 : idx.back();
      file_path = audit::SegmentPath(name, segment_index);
      for (auto it = idx.rbegin(); it != idx.rend(); ++it) candidates.push_back(audit::SegmentPath(name, *it));
    } else {
      file_path = opt.path;
      candidates.push_back(opt.path);
    }
    bool current = true;
    for (const std::string& path : candidates) {
      int err = 0;
      std::optional<audit::FileTail> tail = audit::ReadFileTail(path, &err);
      if (!tail) {
        if (err == ENOENT && current) {
          current = false;
          continue;
        }
        return AuditError("cannot read the audit log to resume its chain: " + ErrnoText(err), path);
      }
      if (tail->complete_size < tail->size) {
        if (!current) return AuditError("an older segment ends with a torn line; run `toolgate log verify`", path);
        // A crash cut the last write short: keep the bytes for forensics, then cut them.
        std::string torn_bytes(static_cast<std::size_t>(tail->size - tail->complete_size), '\0');
        const int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        const bool read_ok = rfd >= 0 && ::pread(rfd, torn_bytes.data(), torn_bytes.size(),
                                                 static_cast<off_t>(tail->complete_size)) ==
                                             static_cast<ssize_t>(torn_bytes.size());
        if (rfd >= 0) ::close(rfd);
        if (!read_ok) return AuditError("cannot read the torn tail of the audit log", path);
        const std::string saved = path + ".torn-" + std::to_string(NowNs());
        const int sfd = ::open(saved.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (sfd < 0 || toolgate::WriteAll(sfd, torn_bytes) != 0 || ::fsync(sfd) != 0) {
          if (sfd >= 0) ::close(sfd);
          return AuditError("cannot save the torn tail of the audit log aside", saved);
        }
        ::close(sfd);
        if (::truncate(path.c_str(), static_cast<off_t>(tail->complete_size)) != 0) {
          return AuditError("cannot cut the torn tail of the audit log: " + ErrnoText(errno), path);
        }
        notes.push_back("a torn last line of " + std::to_string(torn_bytes.size()) + " bytes (sha256 " +
                        Sha256Hex(torn_bytes) + ") was moved to " + saved);
        spdlog::warn("audit log {}: {}", path, notes.back());
        *torn = std::make_pair(static_cast<std::uint64_t>(torn_bytes.size()), saved + "|" + Sha256Hex(torn_bytes));
        tail->size = tail->complete_size;
      }
      if (current) {
        written.segment_bytes = tail->size;
        if (!tail->first_line.empty()) {
          audit::LineView first;
          if (auto why = audit::SplitLine(tail->first_line, &first)) {
            return AuditError("the first line of the audit log is not a record (" + *why + ")", path);
          }
          written.segment_first_seq = first.seq;
        }
      }
      if (tail->last_line.empty()) {  // an empty segment: the head is in an older one
        current = false;
        continue;
      }
      audit::LineView last;
      if (auto why = audit::SplitLine(tail->last_line, &last)) {
        return AuditError("the last record of the audit log is damaged (" + *why +
                              "); refusing to extend it, run `toolgate log verify`",
                          path);
      }
      if (!audit::HashMatches(last)) {
        return AuditError("the last record of the audit log does not match its hash; refusing to extend it, run "
                          "`toolgate log verify`",
                          path);
      }
      written.seq = last.seq;
      written.head = std::string(last.hash);
      if (last.type == audit::kTypeCheckpoint) written.last_checkpoint_seq = last.seq;
      break;
    }
    synced_seq = written.seq;
    written_seq = written.seq;
    assigned = written;
    return std::nullopt;
  }

  std::optional<Error> OpenFiles() {
    fd = ::open(file_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return AuditError("cannot open the audit log for appending: " + ErrnoText(errno), file_path);
    if (int e = audit::SyncParentDir(file_path); e != 0) {
      return AuditError("cannot sync the audit log's directory: " + ErrnoText(e), file_path);
    }
    struct stat st {};
    if (::fstat(fd, &st) == 0) written.segment_bytes = assigned.segment_bytes = static_cast<std::uint64_t>(st.st_size);
    segment_opened = Clock::now();
    if (key) {
      const std::string side = audit::SidecarPath(opt.path);
      sidecar_fd = ::open(side.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (sidecar_fd < 0) return AuditError("cannot open the checkpoint sidecar: " + ErrnoText(errno), side);
    }
    return std::nullopt;
  }

  std::optional<Error> CloseNow() {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (closed) return std::nullopt;
      closing = true;
    }
    flusher_cv.notify_all();
    if (flusher.joinable()) flusher.join();
    std::unique_lock<std::mutex> lk(mu);
    if (closed) return std::nullopt;
    cv.wait(lk, [&] { return !writing && !syncing && !rotating_now; });
    std::optional<Error> result = broken;
    if (!broken && fd >= 0) {
      if (opt.checkpoint_on_close) AddCheckpointLocked();
      const std::uint64_t my_epoch = epoch;
      if (!pending.empty()) WriteOutLocked(lk);
      if (epoch != my_epoch) result = AuditError(last_write_error);
      if (::fdatasync(fd) != 0) {
        result = AuditError("fdatasync of the audit log failed: " + ErrnoText(errno), file_path);
      } else {
        synced_seq = written.seq;
        FlushSidecarLocked();
        if (sidecar_fd >= 0 && ::fdatasync(sidecar_fd) != 0) {
          spdlog::warn("audit log {}: cannot sync the checkpoint sidecar: {}", file_path, ErrnoText(errno));
        }
      }
    }
    if (fd >= 0) ::close(fd);
    if (sidecar_fd >= 0) ::close(sidecar_fd);
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
    fd = sidecar_fd = lock_fd = -1;
    closed = true;
    closed_flag = true;
    cv.notify_all();
    WakeDurable();
    return result;
  }
};

AuditLog::AuditLog(std::unique_ptr<State> state) : s_(std::move(state)) {}

AuditLog::~AuditLog() {
  if (auto e = Close()) spdlog::error("audit log {}: closing: {}", e->location, e->message);
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options) {
  if (options.path.empty()) return AuditError("no audit log path given");
  auto s = std::make_unique<State>();
  s->opt = std::move(options);
  s->name = audit::SplitLogPath(s->opt.path);
  s->rotating = s->opt.rotate_bytes > 0 || s->opt.rotate_after.count() > 0;
  s->log_name = fs::path(s->opt.path).filename().string();
  s->host = s->opt.host.empty() ? HostName() : s->opt.host;
  std::error_code ec;
  if (!fs::is_directory(s->name.dir, ec)) return AuditError("the audit log's directory does not exist", s->name.dir);

  auto redactor = audit::SecretRedactor::Create(s->opt.redaction);
  if (!redactor) return redactor.error();
  s->redactor = *redactor;
  if (!s->opt.signing_key_path.empty()) {
    auto key = audit::SigningKey::LoadPrivate(s->opt.signing_key_path, s->name.dir);
    if (!key) return key.error();
    s->key = *key;
  }
  if (auto e = s->AcquireLock()) return *e;
  std::optional<std::pair<std::uint64_t, std::string>> torn;
  if (auto e = s->Resume(&torn)) return *e;
  if (auto e = s->OpenFiles()) return *e;
  s->flusher = std::thread([state = s.get()] { state->FlusherLoop(); });
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(s)));
  if (torn) {
    const std::size_t bar = torn->second.find('|');
    json members{{"v", audit::kRecordVersion},
                 {"host", log->s_->host},
                 {"torn_bytes", torn->first},
                 {"torn_saved_as", torn->second.substr(0, bar)},
                 {"torn_sha256", torn->second.substr(bar + 1)},
                 {"note", "the previous writer stopped mid-record; the partial line was moved aside"}};
    auto r = log->s_->AppendMembers(audit::kTypeRecovery, members, true);
    if (!r) return r.error();
  }
  return log;
}

// Whether a decision's record waits for fdatasync: by the policy's verdict,
// so a learning-mode deny (answered allow) is as durable as an enforced one.
namespace {
bool WantsSync(const AuditLogOptions& o, const Decision& d) {
  return std::find(o.sync_verdicts.begin(), o.sync_verdicts.end(), d.PolicyVerdict()) != o.sync_verdicts.end();
}
}  // namespace

Result<AppendReceipt> AuditLog::Append(const ToolCall& call, const Decision& decision, const PeerInfo& peer) {
  const bool durable = WantsSync(s_->opt, decision);
  if (durable) s_->durable_building.fetch_add(1);
  // Serialized here, outside the log's lock, by every appender in parallel.
  // The fast writer covers records with nothing to replace or redact; the rest
  // are built as JSON and redacted (the same bytes either way).
  thread_local std::string members;
  if (members.capacity() > (64u << 10)) members = std::string();  // do not keep a huge record's buffer
  members.clear();
  try {
    if (!audit::AppendDecisionMembers(&members, call, decision, peer, *s_->redactor, s_->host) &&
        !RedactedMembers(&members, call, decision, peer, *s_->redactor, s_->host)) {
      members = std::string(MembersOf(
          audit::CanonicalJson(audit::DecisionMembers(call, decision, peer, *s_->redactor, s_->host))));
    }
  } catch (const std::exception& e) {
    if (durable && s_->durable_building.fetch_sub(1) == 1) s_->flusher_cv.notify_one();
    return AuditError(std::string("cannot build the audit record: ") + e.what());
  }
  return s_->AppendSerialized(audit::kTypeDecision, members, durable, durable);
}

Result<AppendReceipt> AuditLog::AppendUnparsed(std::string_view raw_input, const Decision& decision,
                                               const PeerInfo& peer) {
  json members;
  try {
    members = audit::UnparsedMembers(raw_input, decision, peer, *s_->redactor, s_->host);
  } catch (const std::exception& e) {
    return AuditError(std::string("cannot build the audit record: ") + e.what());
  }
  const bool durable = WantsSync(s_->opt, decision);
  return s_->AppendMembers(audit::kTypeDecision, members, durable);
}

Result<AppendReceipt> AuditLog::AppendBatch(std::span<const AuditEntry> entries, bool wait_for_sync) {
  if (entries.empty()) return AuditError("no records to append");
  bool durable = false;
  for (const AuditEntry& e : entries) {
    if (e.decision == nullptr || e.peer == nullptr) return AuditError("an audit entry without a decision or peer");
    durable = durable || WantsSync(s_->opt, *e.decision);
  }
  if (durable) s_->durable_building.fetch_add(1);
  // Serialized here, outside the log's lock, as Append does; the buffers are
  // kept per thread so a daemon worker reuses them batch after batch.
  thread_local std::vector<std::string> members;
  if (members.size() < entries.size()) members.resize(entries.size());
  try {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const AuditEntry& e = entries[i];
      std::string& m = members[i];
      if (m.capacity() > (64u << 10)) m = std::string();
      m.clear();
      if (e.call == nullptr) {
        m = std::string(MembersOf(audit::CanonicalJson(
            audit::UnparsedMembers(e.raw_input, *e.decision, *e.peer, *s_->redactor, s_->host))));
      } else if (!audit::AppendDecisionMembers(&m, *e.call, *e.decision, *e.peer, *s_->redactor, s_->host, e.message) &&
                 !RedactedMembers(&m, *e.call, *e.decision, *e.peer, *s_->redactor, s_->host, e.message)) {
        m = std::string(MembersOf(
            audit::CanonicalJson(audit::DecisionMembers(*e.call, *e.decision, *e.peer, *s_->redactor, s_->host))));
      }
    }
  } catch (const std::exception& ex) {
    if (durable && s_->durable_building.fetch_sub(1) == 1) s_->flusher_cv.notify_one();
    return AuditError(std::string("cannot build the audit record: ") + ex.what());
  }
  return s_->AppendSerializedBatch(std::span<const std::string>(members.data(), entries.size()), durable, durable,
                                   wait_for_sync);
}

Result<AppendReceipt> AuditLog::AppendEvent(std::string_view type, const json& members) {
  if (!members.is_object()) return AuditError("an event record's members must be a JSON object");
  for (const char* reserved : {"seq", "prev_hash", "type", "time", "hash"}) {
    if (members.contains(reserved)) return AuditError(std::string("an event record may not set \"") + reserved + "\"");
  }
  try {
    bool changed = false;
    return s_->AppendMembers(type, audit::SanitizedJson(members, &changed), true);
  } catch (const std::exception& e) {
    return AuditError(std::string("cannot build the audit record: ") + e.what());
  }
}

std::uint64_t AuditLog::synced_seq() const { return s_->synced_seq.load(); }

Result<std::uint64_t> AuditLog::WaitSynced(std::uint64_t after, std::chrono::milliseconds timeout) {
  State& s = *s_;
  // Sleeps on the sync counter (bumped when synced_seq, broken or closed
  // change), not on cv: every write notifies cv, and the daemon's sync thread
  // would wake, and take the lock, once per write instead of once per sync.
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    const std::uint32_t gen = s.sync_gen.load();
    if (s.synced_seq.load() > after || s.broken_flag.load() || s.closed_flag.load()) break;
    const Clock::duration left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) break;
    s.sync_gen.WaitFor(gen, left);
  }
  if (!s.broken_flag.load() && !s.closed_flag.load()) return s.synced_seq.load();
  std::lock_guard<std::mutex> lk(s.mu);
  if (s.broken) return *s.broken;
  if (s.closed && s.synced_seq < s.written.seq) return AuditError("the audit log was closed", s.file_path);
  return s.synced_seq.load();
}

Result<AppendReceipt> AuditLog::Checkpoint() {
  State& s = *s_;
  std::unique_lock<std::mutex> lk(s.mu);
  if (!s.key) return AuditError("no signing key configured for checkpoints");
  s.cv.wait(lk, [&] { return !s.rotating_now; });
  if (s.closing || s.closed) return AuditError("the audit log is closed", s.file_path);
  if (s.broken) return *s.broken;
  const std::uint64_t my_epoch = s.epoch;
  std::uint64_t seq = s.AddCheckpointLocked();
  if (seq == 0) seq = s.assigned.last_checkpoint_seq;
  if (seq == 0) return AuditError("nothing to sign: the log is empty");
  AppendReceipt receipt{seq, s.assigned.head, true};
  if (auto e = s.WaitWrittenLocked(lk, seq, my_epoch)) return *e;
  if (auto e = s.WaitSyncedLocked(lk, seq)) return *e;
  return receipt;
}

std::optional<Error> AuditLog::Sync() {
  State& s = *s_;
  std::unique_lock<std::mutex> lk(s.mu);
  if (s.closed) return std::nullopt;
  if (s.broken) return *s.broken;
  const std::uint64_t target = s.assigned.seq;
  if (auto e = s.WaitWrittenLocked(lk, target, s.epoch)) return e;
  return s.WaitSyncedLocked(lk, target);
}

std::optional<Error> AuditLog::Close() { return s_->CloseNow(); }

std::uint64_t AuditLog::last_seq() const {
  std::lock_guard<std::mutex> lk(s_->mu);
  return s_->written.seq;
}

std::string AuditLog::head_hash() const {
  std::lock_guard<std::mutex> lk(s_->mu);
  return s_->written.head;
}

std::string AuditLog::current_file() const {
  std::lock_guard<std::mutex> lk(s_->mu);
  return s_->file_path;
}

const std::vector<std::string>& AuditLog::open_notes() const { return s_->notes; }

}  // namespace toolgate
