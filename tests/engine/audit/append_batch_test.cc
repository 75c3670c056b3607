// AuditLog::AppendBatch and WaitSynced, the daemon's way into the log.
#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "audit_test_util.h"

using namespace toolgate;
using namespace toolgate::audit::testing;
using nlohmann::json;

TEST_CASE("AppendBatch chains every record in order, parsed and unparsed, and the log verifies") {
  TempDir dir;
  AuditLogOptions o;
  o.path = dir / "d.jsonl";
  auto log = AuditLog::Open(o);
  REQUIRE(log);
  const ToolCall a = SampleCall("ls");
  const ToolCall b = SampleCall("cat ~/.ssh/id_rsa");
  const Decision allow = SampleDecision(Verdict::kAllow, "ls");
  const Decision deny = SampleDecision(Verdict::kDeny);
  const PeerInfo peer = PeerInfo::CurrentProcess("unix-socket");
  const AuditEntry entries[] = {{&a, {}, &allow, &peer}, {&b, {}, &deny, &peer}, {nullptr, "{not json", &deny, &peer}};
  auto r = (*log)->AppendBatch(entries);
  REQUIRE(r);
  CHECK(r->seq == 3);
  CHECK(r->durable);  // a deny in the batch: synced before it returned
  CHECK_FALSE(r->sync_pending);
  REQUIRE_FALSE((*log)->Close());
  const auto lines = ReadLines(o.path);
  REQUIRE(lines.size() == 3);
  CHECK(json::parse(lines[0])["verdict"] == "allow");
  CHECK(json::parse(lines[1])["verdict"] == "deny");
  CHECK(json::parse(lines[1])["agent"]["via"] == "unix-socket");
  CHECK(json::parse(lines[2])["call"].is_null());
  CHECK(json::parse(lines[2])["raw_input"]["prefix"] == "{not json");
  CHECK(Verify({o.path}).ok());
}

TEST_CASE("AppendBatch without waiting: written at once, synced later, WaitSynced sees it") {
  TempDir dir;
  AuditLogOptions o;
  o.path = dir / "d.jsonl";
  auto log = AuditLog::Open(o);
  REQUIRE(log);
  const ToolCall c = SampleCall("cat ~/.ssh/id_rsa");
  const Decision deny = SampleDecision(Verdict::kDeny);
  const Decision allow = SampleDecision(Verdict::kAllow, "ls");
  const PeerInfo peer = PeerInfo::CurrentProcess();
  const AuditEntry only_allow[] = {{&c, {}, &allow, &peer}};
  auto r0 = (*log)->AppendBatch(only_allow, /*wait_for_sync=*/false);
  REQUIRE(r0);
  CHECK_FALSE(r0->sync_pending);  // nothing in it asks for a sync
  const AuditEntry with_deny[] = {{&c, {}, &allow, &peer}, {&c, {}, &deny, &peer}};
  auto r = (*log)->AppendBatch(with_deny, /*wait_for_sync=*/false);
  REQUIRE(r);
  CHECK(r->seq == 3);
  CHECK(ReadLines(o.path).size() == 3);  // in the file already
  if (r->sync_pending) {
    std::uint64_t synced = (*log)->synced_seq();
    for (int i = 0; i < 100 && synced < r->seq; ++i) {  // bounded: 100 x 100 ms
      auto w = (*log)->WaitSynced(synced, std::chrono::milliseconds(100));
      REQUIRE(w);
      synced = *w;
    }
    CHECK(synced >= r->seq);
  }
  CHECK((*log)->synced_seq() >= r->seq);
}

TEST_CASE("AppendBatch on a closed log fails as a whole, and an empty batch is an error") {
  TempDir dir;
  AuditLogOptions o;
  o.path = dir / "d.jsonl";
  auto log = AuditLog::Open(o);
  REQUIRE(log);
  CHECK_FALSE((*log)->AppendBatch({}));
  REQUIRE_FALSE((*log)->Close());
  const ToolCall c = SampleCall("ls");
  const Decision allow = SampleDecision(Verdict::kAllow, "ls");
  const PeerInfo peer = PeerInfo::CurrentProcess();
  const AuditEntry e[] = {{&c, {}, &allow, &peer}};
  CHECK_FALSE((*log)->AppendBatch(e));
  auto w = (*log)->WaitSynced(0, std::chrono::milliseconds(10));
  CHECK(w);  // closed with everything synced: nothing is lost
}
