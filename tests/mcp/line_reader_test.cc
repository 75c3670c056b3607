// LineReader: lines split at '\n' whatever the chunking, and an over-long line
// is reported once and dropped up to its newline without being buffered.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "hooks/mcp/line_reader.h"

using toolgate::mcp::LineEvent;
using toolgate::mcp::LineReader;

namespace {

std::vector<LineEvent> FeedAll(LineReader& r, const std::vector<std::string>& chunks) {
  std::vector<LineEvent> events;
  for (const std::string& c : chunks) r.Feed(c, &events);
  return events;
}

}  // namespace

TEST_CASE("lines come out whole however the bytes are chunked") {
  const std::string stream = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    LineReader r(1024);
    const auto events = FeedAll(r, {stream.substr(0, cut), stream.substr(cut)});
    REQUIRE(events.size() == 4);
    CHECK(events[0].text == "{\"a\":1}");
    CHECK(events[1].text == "{\"b\":2}\r");  // the session strips the '\r'
    CHECK(events[2].text.empty());
    CHECK(events[3].text == "{\"c\":3}");
    CHECK(r.buffered() == 0);
  }
}

TEST_CASE("an over-long line is reported once and dropped up to its newline") {
  LineReader r(8);
  std::vector<LineEvent> events;
  r.Feed("12345678", &events);  // exactly the limit: still a line in progress
  CHECK(events.empty());
  r.Feed("9", &events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == LineEvent::Kind::kOversized);
  for (int i = 0; i < 1000; ++i) r.Feed("xxxxxxxxxxxxxxxx", &events);  // no newline: nothing is kept
  CHECK(r.buffered() == 0);
  CHECK(events.size() == 1);
  r.Feed("tail\nok\n", &events);
  REQUIRE(events.size() == 2);
  CHECK(events[1].kind == LineEvent::Kind::kLine);
  CHECK(events[1].text == "ok");
}

TEST_CASE("a line of exactly the limit passes; the unterminated last line counts at the end") {
  LineReader r(4);
  std::vector<LineEvent> events;
  r.Feed("abcd\nxy", &events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].text == "abcd");
  r.Finish(&events);
  REQUIRE(events.size() == 2);
  CHECK(events[1].text == "xy");
  r.Finish(&events);
  CHECK(events.size() == 2);
}
