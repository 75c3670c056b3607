// The fast record writer (engine/audit/record_writer.cc) against the reference
// path, CanonicalJson(DecisionMembers(...)): for thousands of random records,
// many with hostile strings, the bytes must be identical whenever the fast
// writer takes a record, and the fast writer must decline exactly the records
// that need U+FFFD replacement or redaction. The log itself must write the
// reference bytes for every record, whichever path built it.
#include "audit/record_writer.h"

#include <cmath>
#include <mutex>
#include <set>
#include <thread>
#include <limits>
#include <random>
#include <algorithm>

#include <doctest/doctest.h>

#include "audit/decision_record.h"
#include "audit/record.h"
#include "audit/redaction.h"
#include "audit_test_util.h"
#include "util/utf8.h"

using namespace toolgate;
using namespace toolgate::audit;
using namespace toolgate::audit::testing;
using nlohmann::json;

namespace {

// Fragments strings are made of. Safe ones are valid UTF-8 and carry no
// secret; they still need every kind of escaping.
const std::vector<std::string> kSafe = {
    "a", "Bash", "git status", " ", "/", "\"", "\\", "\\\"", "\x01", "\x1f", "\x7f", "\n", "\r\n", "\t", "\b", "\f",
    std::string("\0", 1), "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbd", "\xe2\x80\xae", "\xc2\x80",
    "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "{}", "[]",
    ":", ",", "<script>", "%s", "~/.ssh/id_rsa", "https://example.com/x?y=1", "-", "--verbose", "x=1"};
// Invalid UTF-8: stray continuation bytes, overlong forms, surrogates, past
// U+10FFFF, truncated sequences.
const std::vector<std::string> kInvalid = {"\xff", "\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98", "\xc3"};
// Things the redactor acts on, or must look at closely.
const std::vector<std::string> kSecretish = {"AKIAIOSFODNN7EXAMPLE",
                                             "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                                             "password=hunter2",
                                             "--password",
                                             "--token=abcdefgh",
                                             "Authorization: Bearer abcdefghijklmnopqrstuvwx",
                                             "https://user:pa55word@example.com/",
                                             "-----BEGIN RSA PRIVATE KEY-----\nMIIE",
                                             "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI",
                                             "sk-ant-abcdefghijklmnopqrstuvwxyz"};

class Gen {
 public:
  explicit Gen(std::uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(0, 99) < percent; }

  // hostility: 0 = safe only, 1 = may contain invalid UTF-8 or secrets.
  std::string Str(int hostility, int max_parts = 6) {
    std::string s;
    const int n = Int(0, max_parts);
    for (int i = 0; i < n; ++i) {
      if (hostility > 0 && Chance(4)) {
        s += kInvalid[static_cast<std::size_t>(Int(0, static_cast<int>(kInvalid.size()) - 1))];
      } else if (hostility > 0 && Chance(3)) {
        s += kSecretish[static_cast<std::size_t>(Int(0, static_cast<int>(kSecretish.size()) - 1))];
      } else {
        s += kSafe[static_cast<std::size_t>(Int(0, static_cast<int>(kSafe.size()) - 1))];
      }
    }
    return s;
  }

  json Number() {
    switch (Int(0, 11)) {
      case 0: return std::numeric_limits<std::int64_t>::min();
      case 1: return std::numeric_limits<std::int64_t>::max();
      case 2: return std::numeric_limits<std::uint64_t>::max();
      case 3: return 0;
      case 4: return -1;
      case 5: return 0.1;
      case 6: return -0.0;
      case 7: return 1e300;
      case 8: return 5e-324;
      case 9: return std::numeric_limits<double>::quiet_NaN();
      case 10: return 12345678901234567890.0;
      default: return std::uniform_int_distribution<std::int64_t>()(rng_);
    }
  }

  json Value(int hostility, int depth) {
    const int kind = Int(0, depth > 3 ? 4 : 6);
    switch (kind) {
      case 0: return nullptr;
      case 1: return Chance(50);
      case 2: return Number();
      case 3:
      case 4: return Str(hostility);
      case 5: {
        json a = json::array();
        for (int i = Int(0, 4); i > 0; --i) a.push_back(Value(hostility, depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (int i = Int(0, 5); i > 0; --i) {
          std::string key = Chance(20) ? Str(hostility, 2) : "k" + std::to_string(Int(0, 30));
          if (hostility > 0 && Chance(3)) key = Chance(50) ? "password" : "api_key";
          o[key] = Value(hostility, depth + 1);
        }
        return o;
      }
    }
  }

  std::mt19937 rng_;
};

struct Sample {
  ToolCall call;
  Decision decision;
  PeerInfo peer;
  std::string host;
};

// Grants and rules live as long as the test (a Decision points at them).
// One pool per hostility, so that a safe record only meets safe strings.
std::vector<std::unique_ptr<GrantInfo>> g_grant_pools[2];
std::vector<std::unique_ptr<RuleInfo>> g_rule_pools[2];

Sample MakeSample(Gen& g, int hostility) {
  const auto s = [&](int parts = 6) { return g.Str(hostility, parts); };
  auto& g_grants = g_grant_pools[hostility];
  auto& g_rules = g_rule_pools[hostility];
  Sample x;
  ToolCall& c = x.call;
  c.agent_id = g.Chance(20) ? "" : s(3);
  c.session_id = s(3);
  c.client = static_cast<Client>(g.Int(0, 7));
  c.hook_event = s(2);
  c.tool_name = g.Chance(50) ? "Bash" : s(3);
  c.tool_input = g.Chance(90) ? g.Value(hostility, 0) : json::object();
  if (g.Chance(50)) c.tool_input = json{{"command", s(10)}, {"description", s(4)}};
  c.cwd = s(3);
  c.phase = g.Chance(70) ? "" : s(2);
  c.permission_mode = g.Chance(70) ? "" : s(2);
  c.timestamp_ms = g.Chance(20) ? std::numeric_limits<std::int64_t>::min() : g.Int(-5, 2000000000);
  c.call_id = s(2);
  c.client_tool_name = g.Chance(50) ? "" : s(2);  // set by hook adapters that map a tool name

  Decision& d = x.decision;
  d.verdict = static_cast<Verdict>(g.Int(0, 2));
  d.agent_id = g.Chance(30) ? "" : s(2);
  d.profile = s(2);
  d.policy_digest = g.Chance(80) ? "sha256:9b1f0c7e" : s(3);
  d.latency = std::chrono::nanoseconds(g.Chance(10) ? -7 : g.Int(0, 1 << 30));
  for (int i = g.Int(0, 5); i > 0; --i) {
    Finding f;
    f.verdict = g.Chance(60) ? d.verdict : static_cast<Verdict>(g.Int(0, 2));
    f.subject = static_cast<Subject>(g.Int(0, 7));
    f.target = s(8);
    f.note = g.Chance(50) ? "" : s(4);
    f.line = g.Int(-1, 300);
    const int who = g.Int(0, 2);
    if (who == 0) {
      // Reuse an id now and then: deciders and rules list each id once.
      if (g_grants.empty() || g.Chance(60)) {
        g_grants.push_back(std::make_unique<GrantInfo>(
            GrantInfo{g.Chance(70) ? "dev.fs.deny[" + std::to_string(g.Int(0, 3)) + "]" : s(2), s(2), s(2), s(2),
                      s(3), static_cast<Verdict>(g.Int(0, 2))}));
      }
      f.grant = g_grants[static_cast<std::size_t>(g.Int(0, static_cast<int>(g_grants.size()) - 1))].get();
    } else if (who == 1) {
      if (g_rules.empty() || g.Chance(60)) {
        g_rules.push_back(std::make_unique<RuleInfo>(
            RuleInfo{g.Chance(70) ? "pack.rule" + std::to_string(g.Int(0, 3)) : s(2), s(2), s(2), g.Int(0, 99),
                     s(2)}));
      }
      f.rule = g_rules[static_cast<std::size_t>(g.Int(0, static_cast<int>(g_rules.size()) - 1))].get();
      if (g.Chance(20) && !g_grants.empty()) f.grant = g_grants.front().get();  // both set: the grant wins
    }
    d.findings.push_back(std::move(f));
  }
  if (g.Chance(25)) d.error = Error{static_cast<ErrorCode>(g.Int(0, 16)), s(4), s(2)};
  Effects& e = d.effects;
  for (int i = g.Int(0, 3); i > 0; --i) {
    ExecEffect x2{s(2), s(2), {}, s(2)};
    for (int k = g.Int(0, 4); k > 0; --k) x2.argv.push_back(s(3));
    e.execs.push_back(std::move(x2));
  }
  for (int i = g.Int(0, 2); i > 0; --i) {
    e.paths.push_back(PathEffect{s(3), s(3), g.Chance(50) ? PathAccess::kRead : PathAccess::kWrite, s(2)});
  }
  for (int i = g.Int(0, 2); i > 0; --i) e.hosts.push_back(HostEffect{s(2), g.Int(-1, 65535), s(1), s(4), s(2)});
  for (int i = g.Int(0, 2); i > 0; --i) e.urls.push_back(s(3));
  for (int i = g.Int(0, 1); i > 0; --i) e.emails.push_back(s(2));
  e.bytes_written = g.Chance(10) ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(g.Int(0, 99));
  for (int i = g.Int(0, 2); i > 0; --i) e.unknowns.push_back(UnknownEffect{s(2), s(3)});

  PeerInfo& p = x.peer;
  if (g.Chance(80)) p.uid = g.Int(0, 70000);
  if (g.Chance(80)) p.gid = g.Chance(10) ? std::numeric_limits<std::int64_t>::min() : g.Int(0, 70000);
  if (g.Chance(80)) p.pid = g.Int(1, 1 << 22);
  p.transport = g.Chance(20) ? "" : s(2);
  x.host = g.Chance(80) ? "vm" : s(2);
  // Some records are made in learning mode ("mode" and "enforced" members).
  // Chosen from a value already drawn, so the random stream stays the same.
  if (d.latency.count() % 4 == 1) ApplyLearnMode(&d);
  return x;
}

std::string Reference(const Sample& x, const SecretRedactor& r) {
  const std::string obj = CanonicalJson(DecisionMembers(x.call, x.decision, x.peer, r, x.host));
  REQUIRE(obj.size() >= 2);
  return obj.substr(1, obj.size() - 2);
}

std::shared_ptr<const SecretRedactor> Redactor(const RedactionOptions& o) {
  auto r = SecretRedactor::Create(o);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("JSON strings are escaped exactly as nlohmann's dump escapes them") {
  for (int c = 0; c < 0x80; ++c) {
    const std::string s(1, static_cast<char>(c));
    std::string out;
    REQUIRE(AppendJsonString(&out, s));
    CHECK(out == json(s).dump());
  }
  Gen g(7);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = g.Str(1, 12);
    std::string out;
    const bool valid = FindInvalidUtf8(s) == std::string::npos;
    CHECK(AppendJsonString(&out, s) == valid);
    if (valid) CHECK(out == json(s).dump());
  }
}

TEST_CASE("every byte is escaped or rejected wherever it sits in a long plain run") {
  // A byte that needs escaping or UTF-8 checking must be caught at any offset
  // (a faster scan of plain runs, word by word, must keep this true).
  for (int c = 0; c < 0x100; ++c) {
    for (std::size_t at = 0; at < 24; ++at) {
      std::string s(24, 'a');
      s[at] = static_cast<char>(c);
      std::string out;
      const bool valid = FindInvalidUtf8(s) == std::string::npos;
      CHECK(AppendJsonString(&out, s) == valid);
      if (valid) CHECK(out == json(s).dump());
    }
  }
  const std::string two_byte = std::string(13, 'b') + "\xc3\xa9" + std::string(9, 'c') + "\xe2\x82\xac";
  std::string out;
  REQUIRE(AppendJsonString(&out, two_byte));
  CHECK(out == json(two_byte).dump());
}

TEST_CASE("canonical JSON of arbitrary values matches CanonicalJson, numbers included") {
  Gen g(11);
  int fast = 0;
  for (int i = 0; i < 5000; ++i) {
    const json v = g.Value(i % 2, 0);
    std::string out;
    RedactionScan scan;
    if (AppendCanonicalJson(&out, v, &scan)) {
      ++fast;
      CHECK(out == CanonicalJson(v));
    } else {
      // Declined only for text dump() would have to repair.
      CHECK(CanonicalJson(v) != v.dump(-1, ' ', false, json::error_handler_t::ignore));
    }
  }
  CHECK(fast > 3000);
  for (const json& v : {json(std::numeric_limits<std::int64_t>::min()), json(std::numeric_limits<std::uint64_t>::max()),
                        json(1e300), json(-0.0), json(0.1), json(1.0), json(std::nan("")), json(INFINITY),
                        json(123456789.125), json::parse("[1.5e-7,2E+20,-3]"), json::array(), json::object()}) {
    std::string out;
    REQUIRE(AppendCanonicalJson(&out, v, nullptr));
    CHECK(out == CanonicalJson(v));
  }
}

TEST_CASE("the members written from the structs are byte-identical to the reference record") {
  RedactionOptions with_extra;
  with_extra.extra.push_back({"ticket", "TICKET-[0-9]{4}"});
  RedactionOptions off;
  off.enabled = false;
  const std::shared_ptr<const SecretRedactor> redactors[] = {Redactor({}), Redactor(with_extra), Redactor(off)};
  Gen g(20240611);
  int fast = 0, declined = 0, declined_safe = 0;
  for (int i = 0; i < 6000; ++i) {
    const int hostility = i % 3 == 0 ? 0 : 1;
    const Sample x = MakeSample(g, hostility);
    const SecretRedactor& r = *redactors[(i / 3) % 3];
    const std::string ref = Reference(x, r);
    std::string out;
    if (AppendDecisionMembers(&out, x.call, x.decision, x.peer, r, x.host)) {
      ++fast;
      REQUIRE_MESSAGE(out == ref, "record " << i);
      // With the message made beforehand by the caller (the daemon shares it with its reply).
      const std::string message = x.decision.MessageForModel();
      std::string given;
      REQUIRE(AppendDecisionMembers(&given, x.call, x.decision, x.peer, r, x.host, &message));
      REQUIRE_MESSAGE(given == ref, "record " << i << " with its message given");
    } else {
      ++declined;
      if (hostility == 0) ++declined_safe;
    }
  }
  // Both paths are exercised, and clean records take the fast one.
  CHECK(fast > 2000);
  CHECK(declined > 500);
  CHECK(declined_safe < 20);  // a safe record only rarely trips the redaction prefilter
}

TEST_CASE("records the fast writer declines carry what it must not handle") {
  const auto r = Redactor({});
  std::string out;
  Sample x{SampleCall("ls"), SampleDecision(Verdict::kAllow), PeerInfo::CurrentProcess("cli"), "vm"};
  CHECK(AppendDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host));
  CHECK(out == Reference(x, *r));

  x.call.tool_input["command"] = "echo AKIAIOSFODNN7EXAMPLE";  // a secret in the input
  out.clear();
  CHECK_FALSE(AppendDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host));
  x.call.tool_input["command"] = "ls";
  x.call.cwd = "/tmp/\xff";  // invalid UTF-8 outside the input
  out.clear();
  CHECK_FALSE(AppendDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host));
  x.call.cwd = "/tmp";
  x.decision.effects.execs.push_back(ExecEffect{"mysql", "", {"mysql", "--password", "hunter2"}, "command"});
  out.clear();
  CHECK_FALSE(AppendDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host));  // argv after a secret flag
  x.decision.effects.execs.clear();
  x.call.tool_input = json{{"Token", "abc"}};  // a key named like a secret
  out.clear();
  CHECK_FALSE(AppendDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host));
}

TEST_CASE("a secret in any one redacted member makes the fast writer decline, one scan pass or one per member") {
  // With the built-in detectors the members share one prefilter pass; with an
  // extra pattern each member is scanned alone. Either way a secret that only
  // one member holds must send the record to the reference path, which
  // redacts it.
  RedactionOptions with_extra;
  with_extra.extra.push_back({"ticket", "TICKET-[0-9]{4}"});
  const std::shared_ptr<const SecretRedactor> redactors[] = {Redactor({}), Redactor(with_extra)};
  CHECK(redactors[0]->scans_combine());
  CHECK_FALSE(redactors[1]->scans_combine());
  std::vector<std::string> secrets(kSecretish.begin(), kSecretish.end());
  secrets.push_back("-----BEGIN OPENSSH PRIVATE KEY-----");  // unterminated, at the very end of a member
  secrets.push_back("token:abcdefgh");                         // an assignment at the start of a member
  for (const auto& r : redactors) {
    for (const std::string& secret : secrets) {
      for (int where = 0; where < 5; ++where) {
        Sample x{SampleCall("ls"), SampleDecision(Verdict::kDeny), PeerInfo::CurrentProcess("cli"), "vm"};
        switch (where) {
          case 0: x.call.tool_input["command"] = secret; break;
          case 1: x.decision.effects.execs.push_back(ExecEffect{"env", "", {"env", secret}, "command"}); break;
          case 2: x.decision.effects.unknowns.push_back(UnknownEffect{"why", secret}); break;
          case 3: x.decision.error = Error{ErrorCode::kInternal, secret, "here"}; break;
          case 4: {
            Finding f;
            f.verdict = Verdict::kDeny;
            f.subject = Subject::kCall;
            f.note = secret;
            x.decision.findings.push_back(f);
            break;
          }
        }
        std::string out;
        CHECK_MESSAGE(!AppendDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host),
                      "member " << where << ": " << secret);
        if (secret == "--password") continue;  // a flag alone: only the argv element after it is a secret
        CHECK_MESSAGE(Reference(x, *r).find("[REDACTED:") != std::string::npos, "member " << where << ": " << secret);
      }
    }
  }
}

TEST_CASE("none of the writer's own member names looks like a secret to the redaction prefilter") {
  // The fast writer does not feed these fixed keys to the scan; that is only
  // equivalent because none of them can make it suspicious.
  RedactionScan scan;
  for (const char* k : {"bytes_written", "emails", "execs", "argv", "program", "resolved", "source", "hosts", "host",
                        "port", "scheme", "url", "paths", "access", "path", "raw", "unknowns", "detail", "what",
                        "urls", "grant", "file", "id", "json_path", "pattern", "profile", "note", "rule", "line",
                        "pack", "verdict_line", "subject", "target", "verdict", "code", "location", "message"}) {
    scan.Key(k);
    CHECK_MESSAGE(!scan.suspicious, k);
  }
}

TEST_CASE("every line the log writes is the reference line, fast path or not") {
  TempDir dir;
  AuditLogOptions o;
  o.path = dir / "d.jsonl";
  o.host = "vm";
  o.sync_verdicts = {};
  const auto r = Redactor({});
  std::vector<Sample> samples;
  {
    auto log = AuditLog::Open(o);
    REQUIRE(log.ok());
    Gen g(99);
    for (int i = 0; i < 600; ++i) {
      samples.push_back(MakeSample(g, i % 2));
      samples.back().host = "vm";
      REQUIRE((*log)->Append(samples.back().call, samples.back().decision, samples.back().peer).ok());
    }
  }
  const std::vector<std::string> lines = ReadLines(o.path);
  REQUIRE(lines.size() == samples.size());  // no signing key: no checkpoints
  std::string prev(kGenesisHash);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    LineView v;
    REQUIRE_FALSE(SplitLine(lines[i], &v).has_value());
    const ChainedLine want = ChainRecord(i + 1, prev, kTypeDecision, v.time,
                                         "{" + Reference(samples[i], *r) + "}");
    REQUIRE_MESSAGE(want.line == lines[i] + "\n", "line " << i + 1);
    prev = want.hash;
  }
  CHECK(Verify({o.path}).ok());
}

TEST_CASE("concurrent durable appenders, fast and reference records mixed, across rotations") {
  TempDir dir;
  AuditLogOptions o;
  o.path = dir / "d.jsonl";
  o.sync_verdicts = {Verdict::kAllow, Verdict::kAsk, Verdict::kDeny};
  o.rotate_bytes = 64 << 10;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::vector<std::uint64_t> seqs[kThreads];
  int not_durable = 0;
  {
    auto log = AuditLog::Open(o);
    REQUIRE(log.ok());
    std::vector<std::thread> threads;
    std::mutex mu;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          // Every third record carries a secret: the reference path builds it.
          const std::string cmd = "t" + std::to_string(t) + " i" + std::to_string(i) +
                                  (i % 3 == 0 ? " AKIAIOSFODNN7EXAMPLE" : "");
          auto r = (*log)->Append(SampleCall(cmd), SampleDecision(static_cast<Verdict>(i % 3)), PeerInfo{});
          if (!r.ok()) continue;
          seqs[t].push_back(r->seq);
          if (!r->durable) {
            std::lock_guard<std::mutex> lk(mu);
            ++not_durable;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  CHECK(not_durable == 0);
  std::set<std::uint64_t> all;
  for (const auto& s : seqs) {
    CHECK(s.size() == kPerThread);
    CHECK(std::is_sorted(s.begin(), s.end()));
    all.insert(s.begin(), s.end());
  }
  CHECK(all.size() == kThreads * kPerThread);
  const VerifyReport r = Verify({dir.path()});
  CHECK(r.ok());
  CHECK(r.files.size() > 2);
  CHECK(r.decisions == kThreads * kPerThread);
  for (const std::string& f : r.files) CHECK(ReadFile(f).find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
}

TEST_CASE("the redacting writer gives the reference bytes for every record it takes, secrets included") {
  RedactionOptions with_extra;
  with_extra.extra.push_back({"ticket", "TICKET-[0-9]{4}"});
  RedactionOptions off;
  off.enabled = false;
  const std::shared_ptr<const SecretRedactor> redactors[] = {Redactor({}), Redactor(with_extra), Redactor(off)};
  Gen g(20261123);
  int taken = 0, redacted = 0, declined = 0;
  for (int i = 0; i < 6000; ++i) {
    const int hostility = i % 3 == 0 ? 0 : 1;
    const Sample x = MakeSample(g, hostility);
    const SecretRedactor& r = *redactors[(i / 3) % 3];
    const std::string ref = Reference(x, r);
    std::string out;
    if (AppendRedactedDecisionMembers(&out, x.call, x.decision, x.peer, r, x.host)) {
      ++taken;
      if (ref.find("\"redactions\":") != std::string::npos) ++redacted;
      REQUIRE_MESSAGE(out == ref, "record " << i);
      const std::string message = x.decision.MessageForModel();  // made beforehand, as the daemon does
      std::string given;
      REQUIRE(AppendRedactedDecisionMembers(&given, x.call, x.decision, x.peer, r, x.host, &message));
      REQUIRE_MESSAGE(given == ref, "record " << i << " with its message given");
    } else {
      ++declined;
      // Only invalid UTF-8 (or a binary value) sends a record to the reference path.
      CHECK_MESSAGE(hostility == 1, "record " << i);
    }
  }
  CHECK(taken > 2000);
  CHECK(redacted > 150);  // records with a "redactions" list, written byte for byte as the reference
  CHECK(declined > 500);
}

TEST_CASE("the redacting writer redacts a secret in each member as the reference path does") {
  RedactionOptions with_extra;
  with_extra.extra.push_back({"ticket", "TICKET-[0-9]{4}"});
  const std::shared_ptr<const SecretRedactor> redactors[] = {Redactor({}), Redactor(with_extra)};
  std::vector<std::string> secrets(kSecretish.begin(), kSecretish.end());
  secrets.push_back("-----BEGIN OPENSSH PRIVATE KEY-----");
  secrets.push_back("token:abcdefgh");
  secrets.push_back("TICKET-1234");
  for (const auto& r : redactors) {
    for (const std::string& secret : secrets) {
      for (int where = 0; where < 8; ++where) {
        Sample x{SampleCall("ls"), SampleDecision(Verdict::kDeny), PeerInfo::CurrentProcess("cli"), "vm"};
        switch (where) {
          case 0: x.call.tool_input["command"] = secret; break;
          case 1: x.decision.effects.execs.push_back(ExecEffect{"env", "", {"env", secret, "x"}, "command"}); break;
          case 2: x.decision.effects.unknowns.push_back(UnknownEffect{"why", secret}); break;
          case 3: x.decision.error = Error{ErrorCode::kInternal, secret, "here"}; break;
          case 4: {
            Finding f;
            f.verdict = Verdict::kDeny;
            f.subject = Subject::kCall;
            f.note = secret;
            f.target = secret;
            x.decision.findings.push_back(f);
            break;
          }
          case 5: x.call.tool_input = json{{"args", json::array({"run", secret, "next"})}, {"api_key", secret}}; break;
          case 6: x.decision.effects.urls.push_back(secret); break;
          case 7: x.decision.context.push_back(ContextLine{"p.r", "quoted: " + secret}); break;
        }
        const std::string ref = Reference(x, *r);
        std::string out;
        REQUIRE_MESSAGE(AppendRedactedDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host),
                        "member " << where << ": " << secret);
        CHECK_MESSAGE(out == ref, "member " << where << ": " << secret);
      }
    }
  }
}

TEST_CASE("the redacting writer lists at most 32 redactions and then their total") {
  const auto r = Redactor({});
  Sample x{SampleCall("ls"), SampleDecision(Verdict::kDeny), PeerInfo::CurrentProcess("cli"), "vm"};
  json many = json::array();
  for (int i = 0; i < 80; ++i) many.push_back(i % 2 == 0 ? "--password" : "hunter" + std::to_string(i));
  x.call.tool_input = json{{"argv", many}, {"password", "x"}, {"note", "AKIAIOSFODNN7EXAMPLE"}};
  const std::string ref = Reference(x, *r);
  INFO(ref);
  REQUIRE(ref.find("\"redactions_total\":42") != std::string::npos);
  std::string out;
  REQUIRE(AppendRedactedDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host));
  CHECK(out == ref);
}

namespace {

TEST_CASE("context lines are recorded after the call, only when there are some; a tool's result never is") {
  const auto r = Redactor({});
  Sample x{SampleCall("ls"), SampleDecision(Verdict::kAllow), PeerInfo::CurrentProcess("cli"), "vm"};
  std::string without;
  REQUIRE(AppendDecisionMembers(&without, x.call, x.decision, x.peer, *r, x.host));
  CHECK(without.find("\"context\"") == std::string::npos);
  x.call.hook_event = "PostToolUse";
  x.call.tool_response = json{{"stdout", "result-text-never-logged"}};
  std::string with_response;
  REQUIRE(AppendDecisionMembers(&with_response, x.call, x.decision, x.peer, *r, x.host));
  CHECK(with_response.find("result-text-never-logged") == std::string::npos);
  CHECK(with_response == Reference(x, *r));
  x.decision.context = {ContextLine{"p.one", "first \"line\"\nnext"}, ContextLine{"p.two", "second"}};
  const std::string ref = Reference(x, *r);
  std::string out;
  REQUIRE(AppendDecisionMembers(&out, x.call, x.decision, x.peer, *r, x.host));
  CHECK(out == ref);
  CHECK(out.find(",\"context\":[{\"rule\":\"p.one\",\"text\":\"first \\\"line\\\"\\nnext\"},"
                 "{\"rule\":\"p.two\",\"text\":\"second\"}],\"deciders\":") != std::string::npos);
  std::string redacting;
  REQUIRE(AppendRedactedDecisionMembers(&redacting, x.call, x.decision, x.peer, *r, x.host));
  CHECK(redacting == ref);
}

}  // namespace
