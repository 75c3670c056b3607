#include "server/framing.h"

#include <string>

#include <doctest/doctest.h>

using toolgate::server::LineSplit;
using toolgate::server::SplitLines;

TEST_CASE("complete lines are split off; an incomplete tail waits") {
  LineSplit s;
  const std::string buf = "{\"a\":1}\n{\"b\":2}\r\n{\"c\"";
  SplitLines(buf, 100, false, &s);
  REQUIRE(s.lines.size() == 2);
  CHECK(s.lines[0] == "{\"a\":1}");
  CHECK(s.lines[1] == "{\"b\":2}");  // a trailing \r is dropped
  CHECK(s.consumed == buf.find("{\"c\""));
  CHECK_FALSE(s.oversized);
}

TEST_CASE("blank lines are consumed without a request") {
  LineSplit s;
  SplitLines("\n  \n\r\nx\n", 100, false, &s);
  REQUIRE(s.lines.size() == 1);
  CHECK(s.lines[0] == "x");
  CHECK(s.consumed == 8);
}

TEST_CASE("at end of input an unterminated tail is the last line") {
  LineSplit s;
  SplitLines("a\nb", 100, true, &s);
  REQUIRE(s.lines.size() == 2);
  CHECK(s.lines[1] == "b");
  CHECK(s.consumed == 3);
}

TEST_CASE("a line over the limit stops the split after the lines before it") {
  LineSplit s;
  const std::string buf = "ok\n" + std::string(11, 'x') + "\nafter\n";
  SplitLines(buf, 10, false, &s);
  CHECK(s.oversized);
  REQUIRE(s.lines.size() == 1);
  CHECK(s.lines[0] == "ok");
  CHECK(s.consumed == 3);

  // Exactly at the limit is fine.
  SplitLines(std::string(10, 'y') + "\n", 10, false, &s);
  CHECK_FALSE(s.oversized);
  CHECK(s.lines.size() == 1);
}

TEST_CASE("an unterminated tail already over the limit is oversized without waiting for its newline") {
  LineSplit s;
  SplitLines("a\n" + std::string(50, 'z'), 10, false, &s);
  CHECK(s.oversized);
  CHECK(s.lines.size() == 1);
}
