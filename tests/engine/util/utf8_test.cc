#include "util/utf8.h"

#include <doctest/doctest.h>

#include "util/sha256.h"

using toolgate::FindInvalidUtf8;

TEST_CASE("FindInvalidUtf8 accepts UTF-8 and locates the first bad byte") {
  CHECK(FindInvalidUtf8("plain ascii") == std::string_view::npos);
  CHECK(FindInvalidUtf8("g\xd1\x96t") == std::string_view::npos);          // Cyrillic i
  CHECK(FindInvalidUtf8("\xf0\x9f\x98\x80") == std::string_view::npos);    // emoji
  CHECK(FindInvalidUtf8("ab\xff") == 2);
  CHECK(FindInvalidUtf8("ab\xc0\xaf") == 2);            // overlong
  CHECK(FindInvalidUtf8("\xed\xa0\x80") == 0);          // surrogate
  CHECK(FindInvalidUtf8("\xf4\x90\x80\x80") == 0);      // past U+10FFFF
  CHECK(FindInvalidUtf8("x\xe2\x82") == 1);             // truncated
}

TEST_CASE("SanitizeUtf8 replaces each bad byte and keeps good text") {
  CHECK(toolgate::SanitizeUtf8("a\xffz") == "a\xEF\xBF\xBDz");
  CHECK(toolgate::SanitizeUtf8("g\xd1\x96t") == "g\xd1\x96t");
  CHECK(toolgate::IsAscii("rm -rf"));
  CHECK_FALSE(toolgate::IsAscii("g\xd1\x96t"));
}

TEST_CASE("Sha256Hex matches the published test vector") {
  CHECK(toolgate::Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(toolgate::Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("FindInvalidUtf8 locates a bad byte wherever the eight-byte ASCII stride meets it") {
  for (std::size_t length = 0; length < 40; ++length) {
    CHECK(FindInvalidUtf8(std::string(length, 'a')) == std::string_view::npos);
    for (std::size_t at = 0; at < length; ++at) {
      std::string text(length, 'a');
      text[at] = '\xff';
      CHECK(FindInvalidUtf8(text) == at);
      if (at + 2 <= length) {
        text[at] = '\xc3';  // é, valid
        text[at + 1] = '\xa9';
        CHECK(FindInvalidUtf8(text) == std::string_view::npos);
      }
    }
  }
}
