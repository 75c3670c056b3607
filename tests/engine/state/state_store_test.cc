// The persistent state store: journal replay, torn tails, damage, compaction,
// wall-clock expiry across a restart, bounds, and the directory lock.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "state/state_records.h"
#include "tests/temp_dir.h"
#include "toolgate/state_store.h"

namespace toolgate {
namespace {

using std::chrono::seconds;
using testing::TempDir;

// A fixed wall clock, so expiry is tested without sleeping.
const StateStore::Clock::time_point kT0 = StateStore::Clock::time_point(std::chrono::milliseconds(1'800'000'000'000));

std::unique_ptr<StateStore> OpenOk(const std::string& dir, StateStoreOptions o = {}) {
  o.dir = dir;
  Result<std::unique_ptr<StateStore>> r = StateStore::Open(o);
  if (!r) FAIL("open failed: " << r.error().message << " at " << r.error().location);
  return std::move(*r);
}

Error OpenFails(const std::string& dir, StateStoreOptions o = {}) {
  o.dir = dir;
  Result<std::unique_ptr<StateStore>> r = StateStore::Open(o);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

double Number(StateStore& s, const std::string& key, StateStore::Clock::time_point now = kT0) {
  const auto v = s.Get(key, now);
  REQUIRE(v.has_value());
  return std::get<double>(*v);
}

TEST_CASE("records round-trip and CRC-32C matches the standard check value") {
  CHECK(state::Crc32c("123456789") == 0xE3069283u);
  std::string bytes = state::EncodeHeader(state::kJournalMagic, 7);
  const StateStore::Entry n{42.5, 123}, s{std::string("text"), 0}, b{true, 9};
  state::AppendRecord(&bytes, "n", &n);
  state::AppendRecord(&bytes, "s", &s);
  state::AppendRecord(&bytes, "b", &b);
  state::AppendRecord(&bytes, "n", nullptr);
  std::vector<state::Record> seen;
  const state::RecordScan scan = state::ScanRecords(bytes, [&](state::Record& r) {
    seen.push_back(r);
    return true;
  });
  CHECK_FALSE(scan.torn);
  CHECK_FALSE(scan.damage);
  CHECK(scan.good_end == bytes.size());
  REQUIRE(seen.size() == 4);
  CHECK(std::get<double>(seen[0].entry.value) == 42.5);
  CHECK(seen[0].entry.expires_ms == 123);
  CHECK(std::get<std::string>(seen[1].entry.value) == "text");
  CHECK(std::get<bool>(seen[2].entry.value));
  CHECK(seen[3].op == state::RecordOp::kErase);
}

TEST_CASE("counters survive a restart: snapshot plus journal replay") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  {
    auto s = OpenOk(dir);
    CHECK(s->persistent());
    for (int i = 0; i < 5; ++i) CHECK(*s->Increment("emails", 1, seconds(3600), kT0) == i + 1);
    CHECK_FALSE(s->Set("flag", true, seconds(0), kT0));
    CHECK_FALSE(s->Set("name", std::string("x"), seconds(0), kT0));
  }  // closed without compaction: everything is in the journal
  {
    auto s = OpenOk(dir);
    CHECK(s->open_notes().empty());
    CHECK(Number(*s, "emails") == 5);
    CHECK(std::get<bool>(*s->Get("flag", kT0)));
    CHECK(*s->Increment("emails", 1, seconds(3600), kT0) == 6);
    REQUIRE_FALSE(s->Compact(kT0));
    CHECK(s->journal_bytes() == state::kHeaderBytes);
    CHECK(*s->Increment("emails", 1, seconds(3600), kT0) == 7);  // after the snapshot: in the new journal
  }
  auto s = OpenOk(dir);
  CHECK(Number(*s, "emails") == 7);
  CHECK(std::get<std::string>(*s->Get("name", kT0)) == "x");
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("a ttl window is wall-clock time and survives a restart") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  {
    auto s = OpenOk(dir);
    CHECK(*s->Increment("pushes", 1, seconds(60), kT0) == 1);
    CHECK(*s->Increment("pushes", 1, seconds(60), kT0 + seconds(10)) == 2);
  }
  {
    // "Restarted" 30 s later: the window opened at kT0 still holds.
    auto s = OpenOk(dir);
    CHECK(*s->Increment("pushes", 1, seconds(60), kT0 + seconds(30)) == 3);
    CHECK(s->Get("pushes", kT0 + seconds(59)).has_value());
    CHECK_FALSE(s->Get("pushes", kT0 + seconds(60)).has_value());
    // Past the window: a new one starts at 1.
    CHECK(*s->Increment("pushes", 1, seconds(60), kT0 + seconds(61)) == 1);
  }
  auto s = OpenOk(dir);
  CHECK(Number(*s, "pushes", kT0 + seconds(62)) == 1);
}

TEST_CASE("a torn journal tail is dropped and reported; appends continue after the last good record") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  {
    auto s = OpenOk(dir);
    for (int i = 0; i < 3; ++i) REQUIRE(s->Increment("n", 1, seconds(0), kT0));
  }
  const std::string journal = ReadFile(dir + "/journal");
  const std::size_t good = journal.size();
  SUBCASE("cut inside the last record") { WriteFile(dir + "/journal", journal.substr(0, good - 5)); }
  SUBCASE("a frame header alone") {
    std::string torn = journal;
    std::string extra = state::EncodeHeader(state::kJournalMagic, 0);  // any bytes: a length then garbage
    torn += extra.substr(0, 6);
    WriteFile(dir + "/journal", torn);
  }
  SUBCASE("zeros the file system left after a crash") { WriteFile(dir + "/journal", journal + std::string(64, '\0')); }
  SUBCASE("last record's checksum wrong") {
    std::string torn = journal;
    torn[torn.size() - 1] ^= 0x55;
    WriteFile(dir + "/journal", torn);
  }
  {
    auto s = OpenOk(dir);
    REQUIRE(s->open_notes().size() == 1);
    CHECK(s->open_notes()[0].find("cut short") != std::string::npos);
    const double n = Number(*s, "n");
    CHECK((n == 3 || n == 2));  // the damaged record itself may be the one dropped
    REQUIRE(s->Increment("n", 1, seconds(0), kT0));
  }
  auto s = OpenOk(dir);
  CHECK(s->open_notes().empty());  // the tail was cut off before the next append
}

TEST_CASE("damage inside the journal or the snapshot is a located error, never a silent reset") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  {
    auto s = OpenOk(dir);
    for (int i = 0; i < 4; ++i) REQUIRE(s->Increment("k" + std::to_string(i), 1, seconds(0), kT0));
  }
  std::string journal = ReadFile(dir + "/journal");
  const std::string intact = journal;
  journal[state::kHeaderBytes + state::kFrameBytes + 2] ^= 0x01;  // inside the first record's payload
  WriteFile(dir + "/journal", journal);
  Error e = OpenFails(dir);
  CHECK(e.code == ErrorCode::kStateStore);
  CHECK(e.location == dir + "/journal: byte 16");
  CHECK(e.message.find("checksum") != std::string::npos);

  // A bad header is not a journal at all.
  WriteFile(dir + "/journal", "NOTAJRNL" + intact.substr(8));
  CHECK(OpenFails(dir).location == dir + "/journal: byte 0");

  // An explicit reset moves the damage aside and starts empty.
  StateStoreOptions reset;
  reset.reset = true;
  {
    auto s = OpenOk(dir, reset);
    CHECK(s->size() == 0);
    CHECK_FALSE(s->open_notes().empty());
    REQUIRE(s->Increment("k0", 1, seconds(0), kT0));
    REQUIRE_FALSE(s->Compact(kT0));
  }
  // A snapshot with a flipped byte.
  std::string snapshot = ReadFile(dir + "/snapshot");
  snapshot[state::kHeaderBytes + state::kFrameBytes + 1] ^= 0x10;
  WriteFile(dir + "/snapshot", snapshot);
  e = OpenFails(dir);
  CHECK(e.location.rfind(dir + "/snapshot: byte ", 0) == 0);
  // A snapshot cut short (no end record).
  WriteFile(dir + "/snapshot", snapshot.substr(0, state::kHeaderBytes));
  CHECK(OpenFails(dir).message.find("incomplete") != std::string::npos);
}

TEST_CASE("an interrupted compaction: a new snapshot and the old journal load once, not twice") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  std::string old_journal;
  {
    auto s = OpenOk(dir);
    for (int i = 0; i < 3; ++i) REQUIRE(s->Increment("n", 1, seconds(0), kT0));
    old_journal = ReadFile(dir + "/journal");
    REQUIRE_FALSE(s->Compact(kT0));
  }
  // As if the crash came after the snapshot's rename, before the new journal.
  WriteFile(dir + "/journal", old_journal);
  {
    auto s = OpenOk(dir);
    CHECK(Number(*s, "n") == 3);
    REQUIRE(s->open_notes().size() == 1);
    CHECK(s->open_notes()[0].find("interrupted") != std::string::npos);
    CHECK(*s->Increment("n", 1, seconds(0), kT0) == 4);
  }
  CHECK(Number(*OpenOk(dir), "n") == 4);
  // A journal newer than its snapshot means the snapshot was lost: refused.
  std::filesystem::remove(dir + "/snapshot");
  CHECK(OpenFails(dir).message.find("snapshot") != std::string::npos);
}

TEST_CASE("the journal compacts itself when it grows, and stays bounded") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  StateStoreOptions o;
  o.compact_journal_bytes = 4096;
  {
    auto s = OpenOk(dir, o);
    for (int i = 0; i < 2000; ++i) REQUIRE(s->Increment("hot", 1, seconds(0), kT0));
    CHECK(s->journal_bytes() <= 4096 + 128);
  }
  CHECK(std::filesystem::file_size(dir + "/journal") <= 4096 + 128);
  CHECK(Number(*OpenOk(dir, o), "hot") == 2000);
}

TEST_CASE("bounds: entry count, key and value sizes") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  StateStoreOptions o;
  o.max_entries = 3;
  {
    auto s = OpenOk(dir, o);
    for (int i = 0; i < 10; ++i) CHECK_FALSE(s->Set("k" + std::to_string(i), 1.0, seconds(100 + i), kT0));
    CHECK(s->size() == 3);
    CHECK(s->Get("k9", kT0).has_value());  // the ones closest to expiry went first
    CHECK_FALSE(s->Get("k0", kT0).has_value());
    CHECK(s->Set("big", std::string(StateStore::kMaxValueBytes + 1, 'x'), seconds(0), kT0).has_value());
    CHECK_FALSE(s->Increment(std::string(StateStore::kMaxKeyBytes + 1, 'k'), 1, seconds(0), kT0).ok());
  }
  // Evictions are journaled: the same three come back.
  auto s = OpenOk(dir, o);
  CHECK(s->size() == 3);
  CHECK(s->Get("k7", kT0).has_value());
  CHECK_FALSE(s->Get("k6", kT0).has_value());
}

TEST_CASE("one process at a time: a second open waits, then fails naming the holder") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  auto first = OpenOk(dir);
  StateStoreOptions o;
  o.lock_wait = std::chrono::milliseconds(50);
  const Error e = OpenFails(dir, o);
  CHECK(e.message.find("in use by another process") != std::string::npos);
  first.reset();
  CHECK(OpenOk(dir, o) != nullptr);
}

TEST_CASE("a directory other users can write is refused") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  REQUIRE(::mkdir(dir.c_str(), 0777) == 0);
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  CHECK(OpenFails(dir).message.find("writable by other users") != std::string::npos);
}

TEST_CASE("an update that cannot be written fails instead of being forgotten") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  auto s = OpenOk(dir);
  REQUIRE(s->Increment("n", 1, seconds(0), kT0));
  // A file size limit at the journal's current size makes the next append fail (EFBIG).
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit saved {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit small = saved;
  small.rlim_cur = s->journal_bytes();
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const Result<double> failed = s->Increment("n", 1, seconds(0), kT0);
  const std::optional<Error> set_failed = s->Set("flag", true, seconds(0), kT0);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == ErrorCode::kStateStore);
  CHECK(failed.error().message.find("cannot append") != std::string::npos);
  REQUIRE(set_failed.has_value());
  // What failed was not applied, and the journal still ends on a whole record.
  CHECK(Number(*s, "n") == 1);
  CHECK_FALSE(s->Get("flag", kT0).has_value());
  CHECK(*s->Increment("n", 1, seconds(0), kT0) == 2);
  s.reset();
  auto again = OpenOk(dir);
  CHECK(again->open_notes().empty());
  CHECK(Number(*again, "n") == 2);
}

TEST_CASE("concurrent increments from many threads all count (group commit)") {
  TempDir tmp("tg-state");
  const std::string dir = tmp / "state";
  {
    auto s = OpenOk(dir);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) CHECK(s->Increment("shared", 1, seconds(0), kT0).ok());
      });
    }
    for (auto& th : threads) th.join();
    CHECK(Number(*s, "shared") == 200);
  }
  CHECK(Number(*OpenOk(dir), "shared") == 200);
}

}  // namespace
}  // namespace toolgate
