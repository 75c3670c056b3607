// Tamper tests: every way of altering a log that the issue names must be
// detected, and reported at the right file and line with a code.
#include "toolgate/audit.h"

#include <doctest/doctest.h>

#include "audit/record.h"
#include "audit_test_util.h"

using namespace toolgate;
using namespace toolgate::audit::testing;
using nlohmann::json;

namespace {

struct SignedLog {
  TempDir logs;
  TempDir keys;
  std::string path;
  std::string pub;

  explicit SignedLog(int records, std::uint64_t checkpoint_every = 10) {
    path = logs / "d.jsonl";
    pub = keys / "k.pub";
    REQUIRE_FALSE(GenerateSigningKeyPair(keys / "k.key", pub).has_value());
    AuditLogOptions o;
    o.path = path;
    o.signing_key_path = keys / "k.key";
    o.checkpoint_every = checkpoint_every;
    auto log = AuditLog::Open(o);
    REQUIRE(log.ok());
    for (int i = 0; i < records; ++i) {
      const Verdict v = i % 4 == 0 ? Verdict::kDeny : Verdict::kAllow;
      REQUIRE((*log)->Append(SampleCall("command number " + std::to_string(i)), SampleDecision(v), PeerInfo{}).ok());
    }
  }
  VerifyReport Check(bool allow_unsigned_tail = false) const { return Verify({path}, pub, allow_unsigned_tail); }
};

// Rebuilds every hash from `from_line` on, as an attacker without the key would.
std::vector<std::string> Rechain(std::vector<std::string> lines) {
  std::string prev(audit::kGenesisHash);
  std::uint64_t seq = 0;
  for (std::string& l : lines) {
    audit::LineView v;
    REQUIRE_FALSE(audit::SplitLine(l, &v).has_value());
    ++seq;
    // The members after the framing prefix.
    const std::string_view head = v.body_head;
    const std::size_t time_end = head.find("\"", head.find("\"time\":\"") + 8);
    std::string rest = "{" + std::string(head.substr(time_end + 2)) + "}";
    if (rest == "{}") rest = "{}";
    audit::ChainedLine c = audit::ChainRecord(seq, prev, v.type, v.time, rest);
    prev = c.hash;
    l = c.line.substr(0, c.line.size() - 1);
  }
  return lines;
}

std::vector<std::string> WithoutCheckpoints(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) {
    if (l.find("\"type\":\"checkpoint\"") == std::string::npos) out.push_back(l);
  }
  return out;
}

}  // namespace

TEST_CASE("an untouched signed log verifies") {
  SignedLog s(30);
  const VerifyReport r = s.Check();
  CHECK(r.ok());
  CHECK(r.decisions == 30);
  CHECK(r.unsigned_tail == 0);
}

TEST_CASE("one changed byte is detected at its line") {
  SignedLog s(30);
  auto lines = ReadLines(s.path);
  const std::size_t at = lines[4].find("command number");
  lines[4][at] = 'C';
  WriteLines(s.path, lines);
  const VerifyReport r = Verify({s.path});  // chain alone is enough
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kBadHash);
  CHECK(r.error->line == 5);
  CHECK(r.error->file == s.path);
  CHECK(r.records == 4);
}

TEST_CASE("a changed byte in the framing or the hash itself is detected") {
  SignedLog s(5, 0);
  auto lines = ReadLines(s.path);
  lines[2][lines[2].size() - 5] = lines[2][lines[2].size() - 5] == 'a' ? 'b' : 'a';  // inside the hash
  WriteLines(s.path, lines);
  VerifyReport r = Verify({s.path});
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kBadHash);
  CHECK(r.error->line == 3);
}

TEST_CASE("a deleted line is detected") {
  SignedLog s(30);
  auto lines = ReadLines(s.path);
  lines.erase(lines.begin() + 7);
  WriteLines(s.path, lines);
  const VerifyReport r = Verify({s.path});
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kSequence);
  CHECK(r.error->line == 8);
  CHECK(r.error->why.find("missing") != std::string::npos);
}

TEST_CASE("two swapped lines are detected") {
  SignedLog s(30);
  auto lines = ReadLines(s.path);
  std::swap(lines[3], lines[4]);
  WriteLines(s.path, lines);
  const VerifyReport r = Verify({s.path});
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kSequence);
  CHECK(r.error->line == 4);
}

TEST_CASE("a line deleted and the seqs renumbered still breaks the chain") {
  SignedLog s(10, 0);
  auto lines = ReadLines(s.path);
  lines.erase(lines.begin() + 2);
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const std::string from = "{\"seq\":" + std::to_string(i + 2) + ",";
    const std::string to = "{\"seq\":" + std::to_string(i + 1) + ",";
    lines[i].replace(0, from.size(), to);
  }
  WriteLines(s.path, lines);
  const VerifyReport r = Verify({s.path});
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kBadHash);  // the renumbered line no longer matches its hash
  CHECK(r.error->line == 3);
}

TEST_CASE("tail truncation past a checkpoint is detected with the key") {
  SignedLog s(30);  // checkpoints after 10 and 20 decisions, and on close
  auto lines = ReadLines(s.path);
  lines.resize(15);  // keeps the first checkpoint, cuts the rest
  WriteLines(s.path, lines);
  SUBCASE("by the sidecar") {
    const VerifyReport r = s.Check(true);
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kTruncated);
    CHECK(r.error->file == s.path + ".sig");
  }
  SUBCASE("by the unsigned tail, when the sidecar was cut too") {
    std::filesystem::remove(s.path + ".sig");
    const VerifyReport r = s.Check();
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kUnsignedTail);
    CHECK(r.error->line == 12);  // the first record after the checkpoint at line 11
    CHECK(r.unsigned_tail == 4);
  }
  SUBCASE("by a copy of the sidecar kept elsewhere") {
    TempDir elsewhere;
    std::filesystem::copy_file(s.path + ".sig", elsewhere / "copy.sig");
    std::filesystem::remove(s.path + ".sig");
    VerifyOptions o;
    o.paths = {s.path};
    o.public_key_path = s.pub;
    o.checkpoint_files = {elsewhere / "copy.sig"};
    o.allow_unsigned_tail = true;
    const VerifyReport r = VerifyLog(o);
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kTruncated);
  }
}

TEST_CASE("a whole chain recomputed without the signing key is detected") {
  SignedLog s(30);
  auto lines = ReadLines(s.path);
  const std::size_t at = lines[2].find("command number 2");
  lines[2].replace(at, 16, "command number X");
  SUBCASE("keeping the checkpoint records") {
    WriteLines(s.path, Rechain(lines));
    // Even without the key, a kept checkpoint names the old head of the chain.
    const VerifyReport chain_only = Verify({s.path});
    REQUIRE(chain_only.error.has_value());
    CHECK(chain_only.error->problem == AuditProblem::kCheckpointMismatch);
    const VerifyReport r = s.Check();
    REQUIRE(r.error.has_value());
    // The sidecar names record 10's true hash, or the in-chain checkpoint signs it.
    CHECK((r.error->problem == AuditProblem::kCheckpointMismatch || r.error->problem == AuditProblem::kBadSignature));
    CHECK(r.error->seq <= 11);
  }
  SUBCASE("dropping every checkpoint record and the sidecar") {
    WriteLines(s.path, Rechain(WithoutCheckpoints(lines)));
    std::filesystem::remove(s.path + ".sig");
    CHECK(Verify({s.path}).ok());
    const VerifyReport r = s.Check();
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kUnsignedTail);
    CHECK(r.checkpoints == 0);
  }
  SUBCASE("forging a checkpoint with another key") {
    TempDir other;
    REQUIRE_FALSE(GenerateSigningKeyPair(other / "o.key", other / "o.pub").has_value());
    auto stripped = Rechain(WithoutCheckpoints(lines));
    WriteLines(s.path, stripped);
    std::filesystem::remove(s.path + ".sig");
    AuditLogOptions o;
    o.path = s.path;
    o.signing_key_path = other / "o.key";
    { REQUIRE(AuditLog::Open(o).ok()); }  // re-signs the forged chain on close
    const VerifyReport r = s.Check();
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kWrongKey);
  }
}

TEST_CASE("an altered checkpoint signature is detected") {
  SignedLog s(12);
  auto lines = ReadLines(s.path);
  for (auto& l : lines) {
    if (l.find("\"type\":\"checkpoint\"") == std::string::npos) continue;
    const std::size_t sig = l.find("\"sig\":\"") + 7;
    l[sig] = l[sig] == 'A' ? 'B' : 'A';
    break;
  }
  WriteLines(s.path, Rechain(lines));
  std::filesystem::remove(s.path + ".sig");
  const VerifyReport r = s.Check();
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kBadSignature);
}

TEST_CASE("bad and partial files give clear errors") {
  TempDir dir;
  SUBCASE("missing file") {
    const VerifyReport r = Verify({dir / "nope.jsonl"});
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kUnreadable);
  }
  SUBCASE("not a log") {
    WriteFile(dir / "x.jsonl", "{\"hello\":\"world\"}\n");
    const VerifyReport r = Verify({dir / "x.jsonl"});
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kMalformedLine);
    CHECK(r.error->line == 1);
  }
  SUBCASE("binary garbage") {
    WriteFile(dir / "g.jsonl", std::string("\x00\x01\x02\xff\n", 5));
    const VerifyReport r = Verify({dir / "g.jsonl"});
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kMalformedLine);
  }
  SUBCASE("empty") {
    WriteFile(dir / "e.jsonl", "");
    const VerifyReport r = Verify({dir / "e.jsonl"});
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kNoRecords);
  }
  SUBCASE("only a torn line") {
    WriteFile(dir / "t.jsonl", "{\"seq\":1,\"prev_ha");
    const VerifyReport r = Verify({dir / "t.jsonl"});
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kTornLine);
  }
  SUBCASE("a garbage public key") {
    SignedLog s(3);
    WriteFile(dir / "bad.pub", "not a key");
    const VerifyReport r = Verify({s.path}, dir / "bad.pub");
    REQUIRE(r.error.has_value());
    CHECK(r.error->problem == AuditProblem::kUnreadable);
  }
}

TEST_CASE("a valid record with a framing-conforming but non-JSON body is caught") {
  TempDir dir;
  // Hash-valid, framed, but the body is not JSON: only a buggy or hostile writer makes this.
  const audit::ChainedLine l = audit::ChainRecord(1, audit::kGenesisHash, "decision", "t", "{\"a\":}");
  WriteFile(dir / "j.jsonl", l.line);
  const VerifyReport r = Verify({dir / "j.jsonl"});
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kBadJson);
}
