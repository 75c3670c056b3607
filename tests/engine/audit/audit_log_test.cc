#include "toolgate/audit.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "audit/record.h"
#include "audit_test_util.h"
#include "util/sha256.h"

using namespace toolgate;
using namespace toolgate::audit::testing;
using nlohmann::json;

namespace {

std::unique_ptr<AuditLog> OpenLog(const AuditLogOptions& o) {
  auto r = AuditLog::Open(o);
  if (!r.ok()) FAIL("open failed: " << r.error().message << " at " << r.error().location);
  return std::move(*r);
}

AuditLogOptions Options(const std::string& path) {
  AuditLogOptions o;
  o.path = path;
  o.lock_timeout = std::chrono::milliseconds(200);
  return o;
}

std::vector<json> Records(const std::string& path) {
  std::vector<json> out;
  for (const std::string& l : ReadLines(path)) {
    json j = json::parse(l);
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

TEST_CASE("a decision record carries the call, the decision and the chain") {
  TempDir dir;
  {
    auto log = OpenLog(Options(dir / "d.jsonl"));
    PeerInfo peer;
    peer.uid = 1000;
    peer.pid = 4242;
    peer.transport = "unix-socket";
    auto r = log->Append(SampleCall("cat ~/.ssh/id_rsa"), SampleDecision(Verdict::kDeny), peer);
    REQUIRE(r.ok());
    CHECK(r->seq == 1);
    CHECK(r->durable);  // deny is in sync_verdicts by default
    auto a = log->Append(SampleCall("git status"), SampleDecision(Verdict::kAllow, "git status"), peer);
    REQUIRE(a.ok());
    CHECK(a->seq == 2);
  }
  const auto recs = Records(dir / "d.jsonl");
  REQUIRE(recs.size() == 2);
  const json& d = recs[0];
  CHECK(d["seq"] == 1);
  CHECK(d["prev_hash"] == std::string(audit::kGenesisHash));
  CHECK(d["type"] == "decision");
  CHECK(d["verdict"] == "deny");
  CHECK(d["agent"]["id"] == "agent-a");
  CHECK(d["agent"]["uid"] == 1000);
  CHECK(d["agent"]["pid"] == 4242);
  CHECK(d["agent"]["via"] == "unix-socket");
  CHECK(d["call"]["tool_name"] == "Bash");
  CHECK(d["call"]["tool_input"]["command"] == "cat ~/.ssh/id_rsa");
  CHECK(d["rules"] == json::array({"base.fs.deny[0]"}));
  CHECK(d["reasons"][0]["grant"]["file"] == "policy.json");
  CHECK(d["policy_digest"] == "sha256:abc");
  CHECK(d["latency_ns"] == 42000);
  CHECK(d["input_sha256"].get<std::string>().size() == 64);
  CHECK(recs[1]["prev_hash"] == d["hash"]);
  CHECK(Verify({dir / "d.jsonl"}).ok());
}

TEST_CASE("the canonical ToolCall in a record parses back for replay") {
  TempDir dir;
  ToolCall call = SampleCall("ls");
  call.call_id = "toolu_1";
  call.timestamp_ms = 1700000000000;
  {
    auto log = OpenLog(Options(dir / "d.jsonl"));
    REQUIRE(log->Append(call, SampleDecision(Verdict::kAllow, "ls"), PeerInfo{}).ok());
  }
  const auto recs = Records(dir / "d.jsonl");
  auto back = ToolCallFromCanonical(recs[0]["call"]);
  REQUIRE(back.ok());
  CHECK(back->tool_name == "Bash");
  CHECK(back->call_id == "toolu_1");
  CHECK(back->timestamp_ms == 1700000000000);
  CHECK(back->tool_input == call.tool_input);
}

TEST_CASE("secrets in the tool input are redacted in the record, and the input hash is of the original") {
  TempDir dir;
  const std::string cmd = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws s3 cp x s3://y --password hunter2";
  {
    auto log = OpenLog(Options(dir / "d.jsonl"));
    REQUIRE(log->Append(SampleCall(cmd), SampleDecision(Verdict::kDeny, cmd), PeerInfo{}).ok());
  }
  const std::string text = ReadFile(dir / "d.jsonl");
  CHECK(text.find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);  // not in input, effects, reasons or message
  CHECK(text.find("hunter2") == std::string::npos);
  const json rec = Records(dir / "d.jsonl")[0];
  CHECK(rec["redactions"].size() >= 2);
  CHECK(rec["input_sha256"] == Sha256Hex(audit::CanonicalJson(json{{"command", cmd}})));
  CHECK(Verify({dir / "d.jsonl"}).ok());
}

TEST_CASE("invalid UTF-8 in the input does not break the log") {
  TempDir dir;
  ToolCall call = SampleCall(std::string("echo \xff\xfe bad"));
  call.tool_input["k\xc3"] = "v";
  {
    auto log = OpenLog(Options(dir / "d.jsonl"));
    REQUIRE(log->Append(call, SampleDecision(Verdict::kAllow, "echo"), PeerInfo{}).ok());
    REQUIRE(log->AppendUnparsed(std::string("{\"tool_name\":\xff"), SampleDecision(Verdict::kDeny), PeerInfo{}).ok());
  }
  const auto recs = Records(dir / "d.jsonl");  // parses: every line is valid UTF-8 JSON
  REQUIRE(recs.size() == 2);
  CHECK(recs[0]["input_invalid_utf8"] == true);
  CHECK(recs[1]["call"].is_null());
  CHECK(recs[1]["raw_input"]["bytes"] == 14);
  CHECK(Verify({dir / "d.jsonl"}).ok());
}

TEST_CASE("reopening a log resumes its chain") {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    auto log = OpenLog(Options(dir / "d.jsonl"));
    CHECK(log->last_seq() == static_cast<std::uint64_t>(round * 2));
    REQUIRE(log->Append(SampleCall("a"), SampleDecision(Verdict::kAllow, "a"), PeerInfo{}).ok());
    REQUIRE(log->Append(SampleCall("b"), SampleDecision(Verdict::kDeny, "b"), PeerInfo{}).ok());
  }
  const VerifyReport r = Verify({dir / "d.jsonl"});
  CHECK(r.ok());
  CHECK(r.records == 6);
  CHECK(r.last_seq == 6);
}

TEST_CASE("concurrent appenders lose nothing and never interleave") {
  TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 400;
  std::vector<std::uint64_t> seqs[kThreads];
  {
    AuditLogOptions o = Options(dir / "d.jsonl");
    o.sync_verdicts = {Verdict::kDeny};
    auto log = OpenLog(o);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const Verdict v = i % 5 == 0 ? Verdict::kDeny : Verdict::kAllow;
          auto r = log->Append(SampleCall("t" + std::to_string(t) + " i" + std::to_string(i)), SampleDecision(v),
                               PeerInfo{});
          if (r.ok()) seqs[t].push_back(r->seq);
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  std::set<std::uint64_t> all;
  for (const auto& s : seqs) {
    CHECK(s.size() == kPerThread);
    CHECK(std::is_sorted(s.begin(), s.end()));  // strictly increasing per thread
    all.insert(s.begin(), s.end());
  }
  CHECK(all.size() == kThreads * kPerThread);
  const VerifyReport r = Verify({dir / "d.jsonl"});
  CHECK(r.ok());
  CHECK(r.decisions == kThreads * kPerThread);
  // Every command appears exactly once.
  std::set<std::string> commands;
  for (const json& rec : Records(dir / "d.jsonl")) commands.insert(rec["call"]["tool_input"]["command"].get<std::string>());
  CHECK(commands.size() == kThreads * kPerThread);
}

TEST_CASE("rotation by size continues the chain across segments, and reopening finds the newest") {
  TempDir dir;
  AuditLogOptions o = Options(dir / "d.jsonl");
  o.rotate_bytes = 4000;
  for (int round = 0; round < 2; ++round) {
    auto log = OpenLog(o);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(log->Append(SampleCall("cmd " + std::to_string(i)), SampleDecision(Verdict::kAllow), PeerInfo{}).ok());
    }
  }
  CHECK_FALSE(std::filesystem::exists(dir / "d.jsonl"));
  CHECK(std::filesystem::exists(dir / "d.000001.jsonl"));
  CHECK(std::filesystem::exists(dir / "d.000003.jsonl"));
  const VerifyReport r = Verify({dir.path()});
  CHECK(r.ok());
  CHECK(r.records == 40);
  CHECK(r.files.size() > 3);
  // The first record of segment 2 carries the last hash of segment 1.
  const auto s1 = ReadLines(dir / "d.000001.jsonl");
  const auto s2 = ReadLines(dir / "d.000002.jsonl");
  CHECK(json::parse(s2.front())["prev_hash"] == json::parse(s1.back())["hash"]);
  // Any order of arguments verifies: segments are ordered by seq.
  CHECK(Verify({dir / "d.000002.jsonl", dir / "d.000001.jsonl", dir / "d.000003.jsonl"}).error.has_value() == false);
}

TEST_CASE("a second writer cannot open a log that is held") {
  TempDir dir;
  auto first = OpenLog(Options(dir / "d.jsonl"));
  auto second = AuditLog::Open(Options(dir / "d.jsonl"));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message.find("another process holds") != std::string::npos);
}

TEST_CASE("fail closed: an unwritable log is an Open error, a full disk an Append error") {
  TempDir dir;
  CHECK_FALSE(AuditLog::Open(Options(dir / "missing-dir/d.jsonl")).ok());
  CHECK_FALSE(AuditLog::Open(Options("")).ok());
  if (::geteuid() != 0) {
    WriteFile(dir / "ro.jsonl", "");
    std::filesystem::permissions(dir / "ro.jsonl", std::filesystem::perms::owner_read);
    CHECK_FALSE(AuditLog::Open(Options(dir / "ro.jsonl")).ok());
  }
  // /dev/full: every write fails with ENOSPC.
  std::filesystem::create_symlink("/dev/full", dir / "full.jsonl");
  auto log = OpenLog(Options(dir / "full.jsonl"));
  auto r = log->Append(SampleCall("x"), SampleDecision(Verdict::kAllow), PeerInfo{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("No space left") != std::string::npos);
  // And again: each append reports its own failure, none is silently dropped.
  CHECK_FALSE(log->Append(SampleCall("y"), SampleDecision(Verdict::kDeny), PeerInfo{}).ok());
  CHECK(log->last_seq() == 0);
}

TEST_CASE("a write that fails part way leaves the file verifiable and the chain resumable") {
  TempDir dir;
  const std::string path = dir / "d.jsonl";
  {
    auto log = OpenLog(Options(path));
    REQUIRE(log->Append(SampleCall("first"), SampleDecision(Verdict::kAllow), PeerInfo{}).ok());
    // Cap the file size just past the current end: the next record is cut short (EFBIG).
    const auto size = std::filesystem::file_size(path);
    struct rlimit old {};
    ::getrlimit(RLIMIT_FSIZE, &old);
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = size + 100;
    ::setrlimit(RLIMIT_FSIZE, &lim);
    auto r = log->Append(SampleCall("second " + std::string(500, 'x')), SampleDecision(Verdict::kAllow), PeerInfo{});
    ::setrlimit(RLIMIT_FSIZE, &old);
    CHECK_FALSE(r.ok());
    CHECK(std::filesystem::file_size(path) == size);  // the partial line was cut
    // Once space is back, the chain continues from the last written record.
    auto again = log->Append(SampleCall("third"), SampleDecision(Verdict::kDeny), PeerInfo{});
    REQUIRE(again.ok());
    CHECK(again->seq == 2);
  }
  CHECK(Verify({path}).ok());
}

TEST_CASE("a torn last line is reported by verify and repaired, with a recovery record, on open") {
  TempDir dir;
  const std::string path = dir / "d.jsonl";
  {
    auto log = OpenLog(Options(path));
    for (int i = 0; i < 3; ++i) {
      REQUIRE(log->Append(SampleCall("c"), SampleDecision(Verdict::kAllow), PeerInfo{}).ok());
    }
  }
  std::string bytes = ReadFile(path);
  const std::string torn = bytes.substr(0, bytes.size() - 40);  // cut the last record mid-line
  WriteFile(path, torn);
  VerifyReport r = Verify({path});
  REQUIRE(r.error.has_value());
  CHECK(r.error->problem == AuditProblem::kTornLine);
  CHECK(r.error->line == 3);
  CHECK(r.only_torn_tail());
  CHECK(r.records == 2);  // everything before it verifies
  {
    auto log = OpenLog(Options(path));
    REQUIRE(log->open_notes().size() == 1);
    CHECK(log->last_seq() == 3);  // seq 3 is the recovery record
    REQUIRE(log->Append(SampleCall("after"), SampleDecision(Verdict::kAllow), PeerInfo{}).ok());
  }
  r = Verify({path});
  CHECK(r.ok());
  CHECK(r.records == 4);
  const auto recs = Records(path);
  CHECK(recs[2]["type"] == "recovery");
  CHECK(std::filesystem::exists(recs[2]["torn_saved_as"].get<std::string>()));
}

TEST_CASE("a damaged last record makes Open refuse to extend the log") {
  TempDir dir;
  const std::string path = dir / "d.jsonl";
  {
    auto log = OpenLog(Options(path));
    REQUIRE(log->Append(SampleCall("c"), SampleDecision(Verdict::kAllow), PeerInfo{}).ok());
  }
  std::string bytes = ReadFile(path);
  bytes[bytes.find("Bash")] = 'b';
  WriteFile(path, bytes);
  auto r = AuditLog::Open(Options(path));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("does not match its hash") != std::string::npos);
}

TEST_CASE("kill -9 of a writer mid-stream leaves a log that verifies up to its last complete record") {
  TempDir dir;
  const std::string path = dir / "d.jsonl";
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(2, 40);
  for (int round = 0; round < 6; ++round) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      AuditLogOptions o = Options(path);
      o.lock_timeout = std::chrono::milliseconds(5000);
      auto opened = AuditLog::Open(o);
      if (!opened.ok()) ::_exit(3);
      std::vector<std::thread> threads;
      for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0;; ++i) {
            const Verdict v = (i + t) % 3 == 0 ? Verdict::kDeny : Verdict::kAllow;
            if (!(*opened)->Append(SampleCall("round " + std::to_string(t) + " " + std::to_string(i)),
                                   SampleDecision(v), PeerInfo{})
                     .ok()) {
              ::_exit(4);
            }
          }
        });
      }
      for (auto& th : threads) th.join();
      ::_exit(0);
    }
    // Mid-stream: once the writer has written (a slow or sanitized build may
    // take longer than any fixed delay to get there), then a random moment later.
    const auto size = [&] {
      std::error_code ec;
      const std::uintmax_t n = std::filesystem::file_size(path, ec);
      return ec ? std::uintmax_t{0} : n;
    };
    const std::uintmax_t before = size();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < give_up && size() <= before) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + delay_ms(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    const VerifyReport r = Verify({path});
    INFO("round " << round << ": " << (r.error ? r.error->why : "ok"));
    CHECK((r.ok() || r.only_torn_tail()));
    CHECK(r.records > 0);
  }
  // The next writer repairs whatever was torn and the whole log verifies.
  {
    auto log = OpenLog(Options(path));
    REQUIRE(log->Append(SampleCall("survivor"), SampleDecision(Verdict::kDeny), PeerInfo{}).ok());
  }
  CHECK(Verify({path}).ok());
}

TEST_CASE("the signing key must be outside the log directory and private") {
  TempDir logs, keys;
  REQUIRE_FALSE(GenerateSigningKeyPair(keys / "k.key", keys / "k.pub").has_value());
  // keygen refuses to write a key into the log directory
  CHECK(GenerateSigningKeyPair(logs / "k.key", logs / "k.pub", logs.path()).has_value());
  // keygen never overwrites
  CHECK(GenerateSigningKeyPair(keys / "k.key", keys / "k2.pub").has_value());

  AuditLogOptions o = Options(logs / "d.jsonl");
  std::filesystem::copy_file(keys / "k.key", logs / "inside.key");
  std::filesystem::permissions(logs / "inside.key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  o.signing_key_path = logs / "inside.key";
  auto inside = AuditLog::Open(o);
  REQUIRE_FALSE(inside.ok());
  CHECK(inside.error().message.find("outside the log directory") != std::string::npos);

  std::filesystem::permissions(keys / "k.key", std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  o.signing_key_path = keys / "k.key";
  auto loose = AuditLog::Open(o);
  REQUIRE_FALSE(loose.ok());
  CHECK(loose.error().message.find("group or others") != std::string::npos);
}

TEST_CASE("checkpoints every N records and on close, verified with the public key") {
  TempDir logs, keys;
  REQUIRE_FALSE(GenerateSigningKeyPair(keys / "k.key", keys / "k.pub").has_value());
  AuditLogOptions o = Options(logs / "d.jsonl");
  o.signing_key_path = keys / "k.key";
  o.checkpoint_every = 10;
  {
    auto log = OpenLog(o);
    for (int i = 0; i < 25; ++i) {
      REQUIRE(log->Append(SampleCall("c"), SampleDecision(Verdict::kAllow), PeerInfo{}).ok());
    }
  }
  const VerifyReport r = Verify({logs / "d.jsonl"}, keys / "k.pub");
  CHECK(r.ok());
  CHECK(r.decisions == 25);
  CHECK(r.checkpoints == 3);  // after 10, after 20 (counting checkpoints), on close
  CHECK(r.checkpoints_verified == 3);
  CHECK(r.sidecar_checkpoints_verified == 3);
  CHECK(r.unsigned_tail == 0);
  // Without the key the chain still verifies and says the signatures were not checked.
  const VerifyReport nokey = Verify({logs / "d.jsonl"});
  CHECK(nokey.ok());
  CHECK(nokey.checkpoints_verified == 0);
}
