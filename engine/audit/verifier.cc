// VerifyLog: walks the chain across segments, checks every hash and link, the
// checkpoint signatures in the chain and in the sidecars, and reports the first
// record that is wrong.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "audit/json_check.h"
#include "audit/log_file_io.h"
#include "audit/record.h"
#include "audit/segment_files.h"
#include "audit/signing.h"
#include "toolgate/audit.h"

namespace toolgate {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Segment {
  std::string path;
  audit::MappedFile map;
  std::uint64_t first_seq = 0;  // 0: no complete line
};

struct SidecarEntry {
  std::string file;
  std::uint64_t line = 0;
  std::string head;
  bool checked = false;
};

VerifyIssue Issue(AuditProblem p, const std::string& file, std::uint64_t line, std::uint64_t seq, std::string why) {
  return VerifyIssue{p, file, line, seq, std::move(why)};
}

std::string Short(std::string_view hash) { return std::string(hash.substr(0, 12)); }

class Verifier {
 public:
  explicit Verifier(const VerifyOptions& o) : opt_(o) {}

  VerifyReport Run() {
    if (!LoadKey() || !LoadSegments() || !LoadSidecars()) return std::move(r_);
    for (std::size_t i = 0; i < segments_.size(); ++i) {
      if (!WalkSegment(segments_[i], i + 1 == segments_.size())) break;
    }
    Finish();
    return std::move(r_);
  }

 private:
  bool Fail(VerifyIssue issue) {
    if (!r_.error) r_.error = std::move(issue);
    return false;
  }

  bool LoadKey() {
    if (opt_.public_key_path.empty()) return true;
    auto k = audit::VerifyKey::LoadPublic(opt_.public_key_path);
    if (!k) return Fail(Issue(AuditProblem::kUnreadable, opt_.public_key_path, 0, 0, k.error().message));
    key_ = *k;
    return true;
  }

  bool LoadSegments() {
    std::string err;
    std::vector<std::string> files = audit::ExpandLogPaths(opt_.paths, &err);
    if (!err.empty()) return Fail(Issue(AuditProblem::kUnreadable, "", 0, 0, err));
    for (const std::string& f : files) {
      int e = 0;
      auto m = audit::MappedFile::Open(f, &e);
      if (!m) return Fail(Issue(AuditProblem::kUnreadable, f, 0, 0, std::string("cannot read: ") + std::strerror(e)));
      Segment s{f, std::move(*m), 0};
      const std::string_view b = s.map.bytes();
      const std::size_t nl = b.find('\n');
      if (nl != std::string_view::npos) {
        audit::LineView v;
        if (auto why = audit::SplitLine(b.substr(0, nl), &v)) {
          return Fail(Issue(AuditProblem::kMalformedLine, f, 1, 0, "not a toolgate decision log: " + *why));
        }
        s.first_seq = v.seq;
      } else if (b.empty()) {
        r_.notes.push_back(f + ": empty file");
        continue;
      }
      segments_.push_back(std::move(s));
    }
    // Chain order; a file with only a torn line goes last, where a crash leaves it.
    std::stable_sort(segments_.begin(), segments_.end(), [](const Segment& a, const Segment& b) {
      const std::uint64_t ka = a.first_seq == 0 ? UINT64_MAX : a.first_seq;
      const std::uint64_t kb = b.first_seq == 0 ? UINT64_MAX : b.first_seq;
      return ka < kb;
    });
    for (const Segment& s : segments_) r_.files.push_back(s.path);
    // Sidecars next to the logs: LOG.sig, and BASE.sig for rotated segments.
    std::set<std::string> seen(opt_.checkpoint_files.begin(), opt_.checkpoint_files.end());
    sidecars_ = opt_.checkpoint_files;
    for (const Segment& s : segments_) {
      std::vector<std::string> candidates = {audit::SidecarPath(s.path)};
      if (auto base = audit::BaseOfSegment(s.path)) candidates.push_back(audit::SidecarPath(*base));
      for (const std::string& c : candidates) {
        std::error_code ec;
        if (fs::exists(c, ec) && seen.insert(c).second) sidecars_.push_back(c);
      }
    }
    return true;
  }

  bool LoadSidecars() {
    for (const std::string& path : sidecars_) {
      int e = 0;
      auto text = audit::ReadWholeFile(path, &e);
      if (!text) {
        return Fail(Issue(AuditProblem::kUnreadable, path, 0, 0, std::string("cannot read: ") + std::strerror(e)));
      }
      std::uint64_t line_no = 0;
      std::size_t pos = 0;
      while (pos < text->size()) {
        ++line_no;
        std::size_t nl = text->find('\n', pos);
        if (nl == std::string::npos) {
          r_.notes.push_back(path + ":" + std::to_string(line_no) + ": torn last line ignored");
          break;
        }
        const std::string_view line(text->data() + pos, nl - pos);
        pos = nl + 1;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("checkpoint") || !j["checkpoint"].is_object() ||
            !j.contains("sig") || !j["sig"].is_string()) {
          return Fail(Issue(AuditProblem::kMalformedLine, path, line_no, 0, "not a checkpoint sidecar line"));
        }
        const json& p = j["checkpoint"];
        if (!p.contains("seq") || !p["seq"].is_number_unsigned() || !p.contains("head") || !p["head"].is_string()) {
          return Fail(Issue(AuditProblem::kMalformedLine, path, line_no, 0, "checkpoint lacks seq or head"));
        }
        const std::uint64_t seq = p["seq"].get<std::uint64_t>();
        if (key_ && !CheckSignature(p, j["sig"].get<std::string>(), path, line_no, seq)) return false;
        sidecar_[seq] = SidecarEntry{path, line_no, p["head"].get<std::string>(), false};
      }
    }
    return true;
  }

  bool CheckSignature(const json& payload, const std::string& sig, const std::string& file, std::uint64_t line,
                      std::uint64_t seq) {
    const std::string kid = payload.contains("key_id") && payload["key_id"].is_string()
                                ? payload["key_id"].get<std::string>()
                                : std::string();
    if (kid != key_->key_id()) {
      return Fail(Issue(AuditProblem::kWrongKey, file, line, seq,
                        "checkpoint was signed by key " + kid + ", not by the given key " + key_->key_id()));
    }
    if (!key_->Verify(audit::CheckpointMessage(payload), sig)) {
      return Fail(Issue(AuditProblem::kBadSignature, file, line, seq,
                        "checkpoint signature does not verify: the checkpoint was forged or altered"));
    }
    return true;
  }

  // Returns false to stop (an error was recorded).
  bool WalkSegment(const Segment& seg, bool last_segment) {
    const std::string_view b = seg.map.bytes();
    std::size_t pos = 0;
    std::uint64_t line_no = 0;
    std::uint64_t file_first_seq = 0;
    while (pos < b.size()) {
      ++line_no;
      const std::size_t nl = b.find('\n', pos);
      if (nl == std::string_view::npos) {
        const std::uint64_t torn = b.size() - pos;
        return Fail(Issue(AuditProblem::kTornLine, seg.path, line_no, prev_seq_ + 1,
                          "the last line has no newline (" + std::to_string(torn) + " bytes): " +
                              (last_segment ? "the writer stopped mid-record (a crash) or the file was cut"
                                            : "a segment that is not the last one was cut")));
      }
      const std::string_view line = b.substr(pos, nl - pos);
      pos = nl + 1;
      audit::LineView v;
      if (auto why = audit::SplitLine(line, &v)) {
        return Fail(Issue(AuditProblem::kMalformedLine, seg.path, line_no, prev_seq_ + 1, *why));
      }
      if (!audit::HashMatches(v)) {
        return Fail(Issue(AuditProblem::kBadHash, seg.path, line_no, v.seq,
                          "the record's bytes do not match its hash " + Short(v.hash) + "…: it was altered"));
      }
      if (r_.records == 0) {
        if (v.seq == 1 && v.prev_hash != audit::kGenesisHash) {
          return Fail(Issue(AuditProblem::kBadGenesis, seg.path, line_no, v.seq,
                            "the first record's prev_hash is not the genesis value"));
        }
        if (v.seq != 1) {
          r_.notes.push_back("the chain starts at seq " + std::to_string(v.seq) + " in " + seg.path +
                             ": earlier records were not given (or were removed)");
        }
        r_.first_seq = v.seq;
      } else {
        if (v.seq != prev_seq_ + 1) {
          return Fail(Issue(AuditProblem::kSequence, seg.path, line_no, v.seq,
                            "seq " + std::to_string(v.seq) + " follows seq " + std::to_string(prev_seq_) +
                                (v.seq > prev_seq_ ? ": records are missing" : ": records were reordered or repeated")));
        }
        if (v.prev_hash != prev_hash_) {
          return Fail(Issue(AuditProblem::kBrokenChain, seg.path, line_no, v.seq,
                            "prev_hash " + Short(v.prev_hash) + "… is not the hash of record " +
                                std::to_string(prev_seq_) + " (" + Short(prev_hash_) +
                                "…): a record was removed, inserted or replaced"));
        }
      }
      if (file_first_seq == 0) file_first_seq = v.seq;
      if (v.type == audit::kTypeCheckpoint) {
        if (!CheckCheckpointRecord(v, seg.path, line_no, file_first_seq)) return false;
      } else {
        if (!audit::IsValidJson(BodyOf(v))) {
          return Fail(Issue(AuditProblem::kBadJson, seg.path, line_no, v.seq, "the record body is not valid JSON"));
        }
        if (v.type == audit::kTypeDecision) ++r_.decisions;
      }
      if (auto it = sidecar_.find(v.seq); it != sidecar_.end()) {
        if (it->second.head != v.hash) {
          return Fail(Issue(AuditProblem::kCheckpointMismatch, seg.path, line_no, v.seq,
                            "a signed checkpoint (" + it->second.file + ":" + std::to_string(it->second.line) +
                                ") says record " + std::to_string(v.seq) + " has hash " + Short(it->second.head) +
                                "…, the log has " + Short(v.hash) + "…: the chain was rewritten"));
        }
        it->second.checked = true;
        if (key_) ++r_.sidecar_checkpoints_verified;
      }
      prev_seq_ = v.seq;
      prev_hash_.assign(v.hash);
      ++r_.records;
      r_.last_seq = v.seq;
      if (!first_unsigned_ && !(key_ && v.type == audit::kTypeCheckpoint)) {
        first_unsigned_ = std::make_pair(seg.path, line_no);
      }
    }
    return true;
  }

  static std::string BodyOf(const audit::LineView& v) {
    std::string body(v.body_head);
    body += '}';
    return body;
  }

  bool CheckCheckpointRecord(const audit::LineView& v, const std::string& file, std::uint64_t line,
                             std::uint64_t file_first_seq) {
    json j = json::parse(BodyOf(v), nullptr, false);
    if (j.is_discarded() || !j.contains("checkpoint") || !j["checkpoint"].is_object() || !j.contains("sig") ||
        !j["sig"].is_string()) {
      return Fail(Issue(AuditProblem::kBadJson, file, line, v.seq, "checkpoint record is not a checkpoint"));
    }
    const json& p = j["checkpoint"];
    const auto u64 = [&](const char* k) -> std::optional<std::uint64_t> {
      if (!p.contains(k) || !p[k].is_number_unsigned()) return std::nullopt;
      return p[k].get<std::uint64_t>();
    };
    const auto seq = u64("seq");
    const auto count = u64("count");
    if (!seq || !count || !p.contains("head") || !p["head"].is_string()) {
      return Fail(Issue(AuditProblem::kBadJson, file, line, v.seq, "checkpoint lacks seq, count or head"));
    }
    ++r_.checkpoints;
    if (key_ && !CheckSignature(p, j["sig"].get<std::string>(), file, line, v.seq)) return false;
    if (*seq != v.seq - 1 || p["head"].get<std::string>() != prev_hash_) {
      return Fail(Issue(AuditProblem::kCheckpointMismatch, file, line, v.seq,
                        "the checkpoint signs seq " + std::to_string(*seq) + " head " +
                            Short(p["head"].get<std::string>()) + "…, but the record before it is seq " +
                            std::to_string(v.seq - 1) + " with hash " + Short(prev_hash_) +
                            "…: the chain before it was rewritten"));
    }
    const std::uint64_t expected = file_first_seq < v.seq ? v.seq - file_first_seq : 0;
    if (*count != expected) {
      return Fail(Issue(AuditProblem::kCheckpointMismatch, file, line, v.seq,
                        "the checkpoint counts " + std::to_string(*count) + " records in this file, the file has " +
                            std::to_string(expected) + " before it"));
    }
    if (p.contains("file") && p["file"].is_string() && p["file"].get<std::string>() != fs::path(file).filename()) {
      r_.notes.push_back(file + ":" + std::to_string(line) + ": checkpoint names file " +
                         p["file"].get<std::string>() + " (renamed since?)");
    }
    if (key_) {
      ++r_.checkpoints_verified;
      first_unsigned_.reset();
      last_signed_seq_ = v.seq;
    }
    return true;
  }

  void Finish() {
    // A signed checkpoint naming a record past the end: the tail was cut.
    for (const auto& [seq, e] : sidecar_) {
      if (seq > r_.last_seq && (!r_.error || r_.error->problem == AuditProblem::kTornLine)) {
        r_.error = Issue(AuditProblem::kTruncated, e.file, e.line, seq,
                         "a signed checkpoint covers seq " + std::to_string(seq) + " but the log ends at seq " +
                             std::to_string(r_.last_seq) + ": the tail was truncated");
        break;
      }
      if (seq < r_.first_seq && !e.checked) {
        r_.notes.push_back(e.file + ":" + std::to_string(e.line) + ": checkpoint for seq " + std::to_string(seq) +
                           " is before the first record given; not checked");
      }
    }
    r_.head = prev_hash_;
    if (r_.records == 0 && !r_.error) {
      r_.error = Issue(AuditProblem::kNoRecords, opt_.paths.empty() ? "" : opt_.paths.front(), 0, 0,
                       "no records to verify");
      return;
    }
    if (key_) {
      r_.unsigned_tail = r_.last_seq - std::max(last_signed_seq_, r_.first_seq - 1);
      if (r_.unsigned_tail > 0 && !r_.error && !opt_.allow_unsigned_tail) {
        const std::string where = first_unsigned_ ? first_unsigned_->first : "";
        const std::uint64_t line = first_unsigned_ ? first_unsigned_->second : 0;
        r_.error = Issue(AuditProblem::kUnsignedTail, where, line, r_.last_seq - r_.unsigned_tail + 1,
                         std::to_string(r_.unsigned_tail) + " record(s) after the last signed checkpoint" +
                             (last_signed_seq_ ? " (seq " + std::to_string(last_signed_seq_) + ")" : std::string()) +
                             " are not covered by a signature: the tail may have been cut and rewritten; pass "
                             "--allow-unsigned-tail for a log that is still being written");
      }
    } else if (r_.checkpoints > 0 || !sidecar_.empty()) {
      r_.notes.push_back(std::to_string(r_.checkpoints) +
                         " checkpoint signature(s) not checked: give the public key to check them");
    }
  }

  const VerifyOptions& opt_;
  VerifyReport r_;
  std::shared_ptr<const audit::VerifyKey> key_;
  std::vector<Segment> segments_;
  std::vector<std::string> sidecars_;
  std::map<std::uint64_t, SidecarEntry> sidecar_;
  std::uint64_t prev_seq_ = 0;
  std::string prev_hash_;
  std::uint64_t last_signed_seq_ = 0;
  std::optional<std::pair<std::string, std::uint64_t>> first_unsigned_;
};

}  // namespace

const char* AuditProblemName(AuditProblem problem) {
  switch (problem) {
    case AuditProblem::kNone: return "none";
    case AuditProblem::kUnreadable: return "unreadable";
    case AuditProblem::kTornLine: return "torn_line";
    case AuditProblem::kMalformedLine: return "malformed_line";
    case AuditProblem::kBadJson: return "bad_json";
    case AuditProblem::kBadHash: return "bad_hash";
    case AuditProblem::kBrokenChain: return "broken_chain";
    case AuditProblem::kSequence: return "sequence";
    case AuditProblem::kBadGenesis: return "bad_genesis";
    case AuditProblem::kBadSignature: return "bad_signature";
    case AuditProblem::kWrongKey: return "wrong_key";
    case AuditProblem::kCheckpointMismatch: return "checkpoint_mismatch";
    case AuditProblem::kTruncated: return "truncated";
    case AuditProblem::kUnsignedTail: return "unsigned_tail";
    case AuditProblem::kNoRecords: return "no_records";
  }
  return "none";
}

VerifyReport VerifyLog(const VerifyOptions& options) { return Verifier(options).Run(); }

}  // namespace toolgate
