#include "call/json_reader.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "util/utf8.h"

namespace toolgate {
namespace {

using nlohmann::json;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Bytes that end a plain run inside a string: the quote, the backslash and
// the control characters JSON forbids unescaped.
struct StopTable {
  bool stop[256] = {};
  constexpr StopTable() {
    for (int c = 0; c < 0x20; ++c) stop[c] = true;
    stop[static_cast<unsigned char>('"')] = true;
    stop[static_cast<unsigned char>('\\')] = true;
  }
};
constexpr StopTable kStop;

}  // namespace

void JsonReader::SkipWhitespace() {
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
    ++pos_;
  }
}

void JsonReader::Begin() {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  SkipWhitespace();
}

bool JsonReader::AtEnd() {
  SkipWhitespace();
  // json::parse takes a NUL byte for the end of input (text from C strings);
  // so does this reader, so that both accept the same documents.
  return pos_ == text_.size() || text_[pos_] == '\0';
}

char JsonReader::Peek() {
  SkipWhitespace();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

bool JsonReader::Expect(char c) {
  if (Peek() != c) return Fail(Failure::kMalformed);
  ++pos_;
  return true;
}

bool JsonReader::BeginObject(int depth) {
  if (depth + 1 > max_depth_) return Fail(Failure::kTooDeep);
  if (!Expect('{')) return false;
  object_first_ = true;
  return true;
}

bool JsonReader::NextKey(std::string_view* key, std::string* scratch) {
  if (failure_ != Failure::kNone) return false;
  char c = Peek();
  if (object_first_) {
    object_first_ = false;
    if (c == '}') {
      ++pos_;
      return false;
    }
  } else {
    if (c == '}') {
      ++pos_;
      return false;
    }
    if (c != ',') return Fail(Failure::kMalformed);
    ++pos_;
    c = Peek();
  }
  if (c != '"') return Fail(Failure::kMalformed);
  // Keys without escapes are viewed in place; the rest are unescaped.
  const std::size_t start = pos_ + 1;
  std::size_t i = start;
  while (i < text_.size() && !kStop.stop[static_cast<unsigned char>(text_[i])]) ++i;
  if (i < text_.size() && text_[i] == '"') {
    *key = text_.substr(start, i - start);
    pos_ = i + 1;
  } else {
    scratch->clear();
    if (!ReadString(scratch)) return false;
    *key = *scratch;
  }
  return Expect(':');
}

bool JsonReader::ReadHex4(unsigned* out) {
  if (text_.size() - pos_ < 4) return Fail(Failure::kMalformed);
  unsigned v = 0;
  for (int k = 0; k < 4; ++k) {
    const char c = text_[pos_++];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<unsigned>(c - 'A' + 10);
    } else {
      return Fail(Failure::kMalformed);
    }
  }
  *out = v;
  return true;
}

bool JsonReader::ReadString(std::string* out) {
  if (Peek() != '"') return Fail(Failure::kMalformed);
  ++pos_;
  for (;;) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !kStop.stop[static_cast<unsigned char>(text_[pos_])]) ++pos_;
    out->append(text_.data() + start, pos_ - start);
    if (pos_ >= text_.size()) return Fail(Failure::kMalformed);
    const char c = text_[pos_++];
    if (c == '"') return true;
    if (c != '\\') return Fail(Failure::kMalformed);  // an unescaped control character
    if (pos_ >= text_.size()) return Fail(Failure::kMalformed);
    switch (text_[pos_++]) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        unsigned cp = 0;
        if (!ReadHex4(&cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return Fail(Failure::kMalformed);  // a lone low surrogate
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate must be followed by an escaped low one.
          if (text_.size() - pos_ < 2 || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
            return Fail(Failure::kMalformed);
          }
          pos_ += 2;
          unsigned low = 0;
          if (!ReadHex4(&low)) return false;
          if (low < 0xDC00 || low > 0xDFFF) return Fail(Failure::kMalformed);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        return Fail(Failure::kMalformed);
    }
  }
}

bool JsonReader::ReadLiteral(std::string_view word) {
  if (text_.substr(pos_, word.size()) != word) return Fail(Failure::kMalformed);
  pos_ += word.size();
  return true;
}

bool JsonReader::ReadNumber(json* out) {
  const std::size_t start = pos_;
  bool integer = true;
  const bool negative = text_[pos_] == '-';
  if (negative) ++pos_;
  if (pos_ >= text_.size() || !IsDigit(text_[pos_])) return Fail(Failure::kMalformed);
  if (text_[pos_] == '0') {
    ++pos_;
  } else {
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
  }
  if (pos_ < text_.size() && text_[pos_] == '.') {
    integer = false;
    ++pos_;
    if (pos_ >= text_.size() || !IsDigit(text_[pos_])) return Fail(Failure::kMalformed);
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    integer = false;
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (pos_ >= text_.size() || !IsDigit(text_[pos_])) return Fail(Failure::kMalformed);
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
  }
  const char* first = text_.data() + start;
  const char* last = text_.data() + pos_;
  if (integer) {
    // As nlohmann: non-negative integers are unsigned, negative ones signed,
    // and an integer past 64 bits falls through to a double.
    if (negative) {
      std::int64_t v = 0;
      const auto r = std::from_chars(first, last, v);
      if (r.ec == std::errc() && r.ptr == last) {
        *out = v;
        return true;
      }
    } else {
      std::uint64_t v = 0;
      const auto r = std::from_chars(first, last, v);
      if (r.ec == std::errc() && r.ptr == last) {
        *out = v;
        return true;
      }
    }
  }
  double d = 0;
  const auto r = std::from_chars(first, last, d);
  if (r.ec == std::errc() && r.ptr == last) {
    *out = d;
    return true;
  }
  // from_chars refuses both overflow and underflow; strtod tells them apart
  // (an underflow is a finite number to nlohmann, an overflow an error).
  const std::string copy(first, last);
  d = std::strtod(copy.c_str(), nullptr);
  if (!std::isfinite(d)) return Fail(Failure::kNumberOutOfRange);
  *out = d;
  return true;
}

bool JsonReader::ReadValue(json* out, int depth) {
  switch (Peek()) {
    case '{': {
      if (depth + 1 > max_depth_) return Fail(Failure::kTooDeep);
      ++pos_;
      *out = json::object();
      auto& object = out->get_ref<json::object_t&>();
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      std::string key;
      for (;;) {
        key.clear();
        if (!ReadString(&key) || !Expect(':')) return false;
        json value;
        if (!ReadValue(&value, depth + 1)) return false;
        object.insert_or_assign(std::move(key), std::move(value));
        const char c = Peek();
        if (c != ',' && c != '}') return Fail(Failure::kMalformed);
        ++pos_;
        if (c == '}') return true;
      }
    }
    case '[': {
      if (depth + 1 > max_depth_) return Fail(Failure::kTooDeep);
      ++pos_;
      *out = json::array();
      auto& array = out->get_ref<json::array_t&>();
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      for (;;) {
        array.emplace_back();
        if (!ReadValue(&array.back(), depth + 1)) return false;
        const char c = Peek();
        if (c != ',' && c != ']') return Fail(Failure::kMalformed);
        ++pos_;
        if (c == ']') return true;
      }
    }
    case '"': {
      std::string s;
      if (!ReadString(&s)) return false;
      *out = std::move(s);
      return true;
    }
    case 't':
      if (!ReadLiteral("true")) return false;
      *out = true;
      return true;
    case 'f':
      if (!ReadLiteral("false")) return false;
      *out = false;
      return true;
    case 'n':
      if (!ReadLiteral("null")) return false;
      *out = nullptr;
      return true;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      return ReadNumber(out);
    default:
      return Fail(Failure::kMalformed);
  }
}

bool JsonReader::SkipValue(int depth, std::string* scratch) {
  if (Peek() == '"') {
    scratch->clear();
    return ReadString(scratch);
  }
  json ignored;
  return ReadValue(&ignored, depth);
}

}  // namespace toolgate
