// A strict single-pass JSON reader for the tool-call hot path.
//
// nlohmann's parser records every byte for its error messages and builds a DOM
// of the whole document; for a tool call that was two thirds of DecideText.
// This reader walks the text once and lets the caller decide, key by key, what
// becomes a nlohmann::json value (the tool's input) and what is read straight
// into a string (the call's envelope) or only validated (unknown keys).
//
// It accepts exactly what json::parse accepts (RFC 8259, a leading UTF-8 BOM,
// no comments, a NUL byte ending the input) and builds the same values: non-negative integers are unsigned,
// negative ones signed, integers past 64 bits and numbers with a fraction or
// exponent are doubles, a number past a double's range is an error, duplicate
// keys keep the last value. UTF-8 is checked by the caller beforehand.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "toolgate/tool_call.h"

namespace toolgate {

class JsonReader {
 public:
  enum class Failure { kNone, kMalformed, kTooDeep, kNumberOutOfRange };

  JsonReader(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  // Skips a leading UTF-8 byte order mark and whitespace.
  void Begin();
  // True when only whitespace is left (or a NUL byte comes next, as in json::parse).
  bool AtEnd();
  // The next non-whitespace byte, or '\0' at the end.
  char Peek();
  // Consumes `c` (after whitespace) or fails.
  bool Expect(char c);

  // Object members, one at a time: call BeginObject, then NextKey until it
  // returns false; after each key read (or skip) exactly one value.
  bool BeginObject(int depth);
  // Reads the next key into *key (a view of the text, or of *scratch when the
  // key has escapes). Returns false at the closing brace or on failure.
  bool NextKey(std::string_view* key, std::string* scratch);

  // One value of any kind into *out, at nesting `depth` (0 = top level).
  bool ReadValue(nlohmann::json* out, int depth);
  // A string value, unescaped, into *out.
  bool ReadString(std::string* out);
  // One value validated as ReadValue would, kept nowhere.
  bool SkipValue(int depth, std::string* scratch);

  Failure failure() const { return failure_; }
  // Byte offset where reading stopped.
  std::size_t position() const { return pos_; }

 private:
  bool Fail(Failure f) {
    if (failure_ == Failure::kNone) failure_ = f;
    return false;
  }
  void SkipWhitespace();
  bool ReadNumber(nlohmann::json* out);
  bool ReadLiteral(std::string_view word);
  bool ReadHex4(unsigned* out);

  std::string_view text_;
  std::size_t pos_ = 0;
  int max_depth_;
  bool object_first_ = true;
  Failure failure_ = Failure::kNone;
};

// Reads the tool call object starting at the reader's position, nested at
// `depth` (0: the whole text; 1: a call inside a request envelope), exactly as
// ParseToolCall reads a text holding only that object: the call, or the error
// converting it. When the JSON is not well formed, reader->failure() is set
// and the returned error means nothing (the caller reports the failure).
// UTF-8 is checked by the caller beforehand, as for the reader itself.
Result<ToolCall> ReadToolCallObject(JsonReader* reader, int depth);

}  // namespace toolgate
