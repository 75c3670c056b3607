#include "audit/json_check.h"
#include "audit/record.h"

#include <doctest/doctest.h>

#include "util/sha256.h"

using namespace toolgate::audit;

TEST_CASE("a chained line splits back into its framing and its hash verifies") {
  const ChainedLine l = ChainRecord(1, kGenesisHash, "decision", "2025-01-02T03:04:05.000006Z",
                                    R"({"a":1,"verdict":"deny"})");
  CHECK(l.line.back() == '\n');
  const std::string line = l.line.substr(0, l.line.size() - 1);
  LineView v;
  REQUIRE_FALSE(SplitLine(line, &v).has_value());
  CHECK(v.seq == 1);
  CHECK(v.prev_hash == kGenesisHash);
  CHECK(v.type == "decision");
  CHECK(v.time == "2025-01-02T03:04:05.000006Z");
  CHECK(v.hash == l.hash);
  CHECK(HashMatches(v));
  // The documented definition, computed independently.
  const std::string body = line.substr(0, line.size() - kHashSuffixSize) + "}";
  CHECK(toolgate::Sha256Hex(std::string(kGenesisHash) + body) == l.hash);
  CHECK(nlohmann::json::accept(body));
}

TEST_CASE("an empty rest still makes a valid JSON body") {
  const ChainedLine l = ChainRecord(7, kGenesisHash, "recovery", "2025-01-02T03:04:05.000000Z", "{}");
  const std::string line = l.line.substr(0, l.line.size() - 1);  // LineView points into it
  LineView v;
  REQUIRE_FALSE(SplitLine(line, &v).has_value());
  CHECK(nlohmann::json::accept(std::string(v.body_head) + "}"));
}

TEST_CASE("framing errors are named") {
  LineView v;
  CHECK(SplitLine("", &v).has_value());
  CHECK(SplitLine("not a record at all, but long enough to pass the first size check easily......", &v).has_value());
  const ChainedLine l = ChainRecord(3, kGenesisHash, "decision", "t", "{}");
  std::string line = l.line.substr(0, l.line.size() - 1);
  std::string bad = line;
  bad[bad.size() - 5] = 'Z';  // upper-case hex in the hash
  CHECK(SplitLine(bad, &v).has_value());
  bad = line;
  bad.replace(0, 8, "{\"seq\":0");  // seq 0
  CHECK(SplitLine(bad, &v).has_value());
}

TEST_CASE("canonical JSON sorts keys and replaces invalid UTF-8 deterministically") {
  nlohmann::json j = nlohmann::json::object();
  j["b"] = 1;
  j["a"] = std::string("x\xff" "y");
  CHECK(CanonicalJson(j) == "{\"a\":\"x\xEF\xBF\xBDy\",\"b\":1}");
}

TEST_CASE("times format and parse") {
  const std::int64_t t = 1735787045000006000;  // 2025-01-02T03:04:05.000006Z
  CHECK(FormatTime(t) == "2025-01-02T03:04:05.000006Z");
  CHECK(ParseTime("2025-01-02T03:04:05.000006Z") == t);
  CHECK(ParseTime("2025-01-02T03:04:05Z") == t - 6000);
  CHECK(ParseTime("2025-01-02T05:04:05+02:00") == t - 6000);
  CHECK(ParseTime("2025-01-02") == 1735776000LL * 1000000000);
  CHECK_FALSE(ParseTime("yesterday").has_value());
  CHECK_FALSE(ParseTime("2025-13-02").has_value());
}

TEST_CASE("the record JSON validator agrees with a full parser") {
  const char* valid[] = {R"({})", R"([])", R"({"a":[1,-2.5e+3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]})",
                         "{\"k\":\"h\xC3\xA9llo \xF0\x9F\x98\x80\"}", R"( {"a" : { "b" : [ ] } } )", R"(0)", R"("s")"};
  const char* invalid[] = {R"({)", R"({"a":})", R"({"a":1,})", R"([1,])", R"({'a':1})", R"({"a":01})",
                           R"({"a":1.})", R"({"a":-})", R"({"a":tru})", R"({"a":"\x"})", R"({"a":"\ud800"})",
                           R"({"a":"\udc00"})", "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", R"({"a":1} x)",
                           R"({"a" 1})", R"({1:2})", ""};
  for (const char* v : valid) {
    INFO(v);
    CHECK(IsValidJson(v));
    CHECK(nlohmann::json::accept(v));
  }
  for (const char* v : invalid) {
    INFO(v);
    CHECK_FALSE(IsValidJson(v));
  }
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  CHECK_FALSE(IsValidJson(deep));
}
