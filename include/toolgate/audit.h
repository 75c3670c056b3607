// The decision log: one hash-chained JSON line per decision, written before
// the answer is returned, with signed checkpoints so that truncation or a
// rewritten chain is caught by anyone holding the public key.
//
// Record line (the bytes on disk, one per line, see engine/audit/record.h):
//   {"seq":N,"prev_hash":"<64 hex>","type":"decision","time":"<RFC 3339 UTC>",<other keys sorted>,"hash":"<64 hex>"}
//   hash = sha256(prev_hash_hex || line without its ,"hash":"…" member)
//
// AuditLog is safe to share between threads: Append may be called from many
// threads at once. One process holds a log at a time (an flock on PATH.lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "toolgate/decision.h"
#include "toolgate/result.h"
#include "toolgate/tool_call.h"

namespace toolgate {

// Who sent the call, as the transport saw it (SO_PEERCRED for the daemon's
// socket, the parent process for `toolgate check`). Unknown fields stay empty.
struct PeerInfo {
  std::optional<std::int64_t> uid;
  std::optional<std::int64_t> gid;
  std::optional<std::int64_t> pid;
  std::string transport;  // "in-process", "unix-socket", "cli", ...

  static PeerInfo CurrentProcess(std::string transport = "in-process");
};

// One extra secret pattern: RE2 syntax; every match is replaced by [REDACTED:kind].
struct RedactionPattern {
  std::string kind;
  std::string regex;
};

struct RedactionOptions {
  bool enabled = true;  // built-in detectors: AWS keys, GitHub/Slack/OpenAI-style tokens,
                        // private key blocks, JWTs, URL credentials, password= assignments
  std::vector<RedactionPattern> extra;
};

struct AuditLogOptions {
  // The log file. With rotation on, segments are named STEM.NNNNNN.EXT beside it
  // (decisions.jsonl -> decisions.000001.jsonl, ...) and PATH itself is not written.
  std::string path;

  // Rotation: a new segment starts when the current one would pass rotate_bytes,
  // or is older than rotate_after. 0 disables each. The chain continues across
  // segments: a segment's first record carries the previous segment's last hash.
  std::uint64_t rotate_bytes = 0;
  std::chrono::seconds rotate_after{0};

  // Durability. Every Append returns after write(2) put the record in the file.
  // For these verdicts it also waits until fdatasync covered it (group commit:
  // one fdatasync serves every record written before it started).
  std::vector<Verdict> sync_verdicts = {Verdict::kDeny, Verdict::kAsk};
  // How long the committer waits to gather more durable records before one
  // fdatasync covers them all (the bounded wait of group commit); 0 = adaptive:
  // records arriving while a sync runs share the next one.
  std::chrono::microseconds commit_delay{0};
  // Records of other verdicts reach the disk within this bound.
  std::chrono::milliseconds max_unsynced{100};

  // Signed checkpoints (Ed25519). Empty = none. The key file must not be inside
  // the log's directory and must not be readable by group or others.
  std::string signing_key_path;
  std::uint64_t checkpoint_every = 1000;        // records between checkpoints (0 = never by count)
  std::chrono::seconds checkpoint_interval{60};  // sign an unsigned tail this old (0 = never by time)
  bool checkpoint_on_close = true;

  RedactionOptions redaction;

  // How long Open waits for another process that holds the log.
  std::chrono::milliseconds lock_timeout{5000};
  std::string host;  // recorded in every record; "" = gethostname()
};

// One decision for AuditLog::AppendBatch. call == nullptr means the input never
// parsed: raw_input is recorded as AppendUnparsed would record it.
struct AuditEntry {
  const ToolCall* call = nullptr;
  std::string_view raw_input;
  const Decision* decision = nullptr;  // required
  const PeerInfo* peer = nullptr;      // required
  // decision->MessageForModel(), when the caller has already made it (a
  // daemon writes the same text into its reply); null: the log makes it.
  const std::string* message = nullptr;
};

struct AppendReceipt {
  std::uint64_t seq = 0;
  std::string hash;
  bool durable = false;       // fdatasync covered the record before Append returned
  bool sync_pending = false;  // AppendBatch without waiting: a sync of seq was requested, wait with WaitSynced
};

class AuditLog {
 public:
  // Opens (or creates) the log and resumes its chain from the last complete
  // record. A torn last line (a crash mid-write) is moved to FILE.torn-<time>
  // and a "recovery" record naming its sha256 is appended; a last line that is
  // complete but does not verify makes Open fail (fail closed: an operator looks).
  static Result<std::unique_ptr<AuditLog>> Open(AuditLogOptions options);

  ~AuditLog();  // Close(), errors go to the operational log
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one decision record; returns once it is written (and synced when
  // the verdict asks for it). An error means the record is NOT in the log: the
  // caller must deny the call. Errors from write(2) (ENOSPC, EIO) fail only the
  // records not yet written; an fdatasync error fails every later append too,
  // because the kernel may have dropped written pages (reopen to recover).
  Result<AppendReceipt> Append(const ToolCall& call, const Decision& decision, const PeerInfo& peer);

  // For input that could not be parsed into a ToolCall: records a redacted,
  // truncated copy of the raw text and the sha256 of all of it.
  Result<AppendReceipt> AppendUnparsed(std::string_view raw_input, const Decision& decision, const PeerInfo& peer);

  // Appends several decision records at once, for a caller that judged a
  // batch (the daemon: every request one read brought in). Each record is
  // serialized in the caller's thread; under the lock they are chained in
  // order and queued together, so one write(2) puts them all in the file and,
  // when any of them has a verdict in sync_verdicts, one fdatasync covers the
  // batch before it returns. All or nothing: an error means none of them is in
  // the log. The receipt names the last record of the batch.
  //
  // With wait_for_sync false it returns once the batch is written: when any
  // record wants fdatasync, the sync is requested (receipt.sync_pending) and
  // the caller holds those answers until WaitSynced says seq is on disk. The
  // daemon uses this to keep judging a connection's next requests meanwhile.
  Result<AppendReceipt> AppendBatch(std::span<const AuditEntry> entries, bool wait_for_sync = true);

  // Appends a record that is not a decision (type "session": a phase change,
  // a temporary grant created, revoked or expired), chained like every other
  // record and synced before it returns. members must not hold "seq",
  // "prev_hash", "type", "time" or "hash".
  Result<AppendReceipt> AppendEvent(std::string_view type, const nlohmann::json& members);

  // The highest seq an fdatasync has covered.
  std::uint64_t synced_seq() const;
  // Waits until synced_seq() passes `after`, the log breaks or closes, or the
  // timeout passes; returns synced_seq(). An error when the log is broken
  // (a failed fdatasync) or closed with records not synced.
  Result<std::uint64_t> WaitSynced(std::uint64_t after, std::chrono::milliseconds timeout);

  // Signs the current head now (and syncs). Error when no signing key is set.
  Result<AppendReceipt> Checkpoint();

  // Syncs everything written so far. nullopt on success.
  std::optional<Error> Sync();

  // Checkpoint (when configured), sync and release the log. Idempotent.
  std::optional<Error> Close();

  std::uint64_t last_seq() const;
  std::string head_hash() const;
  std::string current_file() const;
  // What Open found and did (e.g. a torn tail moved aside), for the operator.
  const std::vector<std::string>& open_notes() const;

  struct State;  // engine/audit/audit_log.cc

 private:
  explicit AuditLog(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// ---- verification ---------------------------------------------------------

enum class AuditProblem {
  kNone,
  kUnreadable,          // a file cannot be opened or read
  kTornLine,            // the last line has no newline: a crash mid-write, or a cut
  kMalformedLine,       // a line is not in the record framing at all
  kBadJson,             // the framing is right but the body is not valid JSON
  kBadHash,             // the line's hash does not match its bytes (a changed byte)
  kBrokenChain,         // prev_hash is not the previous record's hash (deleted, inserted, reordered)
  kSequence,            // seq does not follow the previous record's seq
  kBadGenesis,          // seq 1 whose prev_hash is not the genesis value
  kBadSignature,        // a checkpoint signature does not verify under the key
  kWrongKey,            // a checkpoint was signed by a different key
  kCheckpointMismatch,  // a checkpoint signs a head or count the chain does not have (rewritten chain)
  kTruncated,           // a signed checkpoint names a record past the end of the log
  kUnsignedTail,        // records after the last signed checkpoint (with a key, unless allowed)
  kNoRecords,           // nothing to verify
};
const char* AuditProblemName(AuditProblem problem);  // "bad_hash", "torn_line", ...

struct VerifyOptions {
  // Log files or directories (every *.jsonl inside). Order does not matter:
  // segments are ordered by their first sequence number.
  std::vector<std::string> paths;
  // Ed25519 public key (PEM). Empty = chain only; checkpoints are not checked.
  std::string public_key_path;
  // Checkpoint sidecars (LOG.sig) besides those found next to the logs; a copy
  // shipped off the host is what catches a truncation that also cut the sidecar.
  std::vector<std::string> checkpoint_files;
  bool allow_unsigned_tail = false;  // a live log: records after the last checkpoint are fine
};

struct VerifyIssue {
  AuditProblem problem = AuditProblem::kNone;
  std::string file;
  std::uint64_t line = 0;  // 1-based; 0 when not about one line
  std::uint64_t seq = 0;   // 0 when unknown
  std::string why;
};

struct VerifyReport {
  std::optional<VerifyIssue> error;  // the first bad record; verification stops there
  std::vector<std::string> notes;    // things worth knowing that are not failures
  std::vector<std::string> files;    // in chain order
  std::uint64_t records = 0;         // records that verified (before the error, if any)
  std::uint64_t decisions = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t checkpoints_verified = 0;  // signatures checked with the key
  std::uint64_t sidecar_checkpoints_verified = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string head;                       // hash of the last verified record
  std::uint64_t unsigned_tail = 0;        // records after the last signed checkpoint
  bool ok() const { return !error.has_value(); }
  // Only a torn last line is wrong, everything before it verified: a crash, most likely.
  bool only_torn_tail() const { return error && error->problem == AuditProblem::kTornLine; }
};

VerifyReport VerifyLog(const VerifyOptions& options);

// Writes a new Ed25519 key pair as PEM (private: PKCS#8, mode 0600, never
// overwritten; public: SubjectPublicKeyInfo). Refuses a private key path inside
// forbidden_dir (the log directory) when that is given.
std::optional<Error> GenerateSigningKeyPair(const std::string& private_key_path, const std::string& public_key_path,
                                            const std::string& forbidden_dir = "");

}  // namespace toolgate
