#include "grants/glob.h"

#include <cstdio>

namespace toolgate {

const GlobFlavor kToolFlavor{"[\\x00-\\xff]", "", "", false};
const GlobFlavor kPathFlavor{"[^/]", "/", "", true};

namespace {

constexpr int kMaxBraceDepth = 8;

Error PatternError(std::string message) {
  return Error{ErrorCode::kPolicyPattern, std::move(message), ""};
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

void AppendEscapedByte(std::string* out, unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
    out->push_back(static_cast<char>(c));
    return;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out->append(buf);
}

// Recursive-descent translator. Stops at the end of input, or (inside braces)
// at an unescaped ',' or '}' which the caller consumes.
class Translator {
 public:
  Translator(std::string_view glob, const GlobFlavor& flavor) : g_(glob), f_(flavor) {}

  Result<std::string> Run() {
    std::string out;
    if (!Sequence(0, &out)) return PatternError(error_);
    if (pos_ != g_.size()) return PatternError("unbalanced '}' at offset " + std::to_string(pos_));
    return out;
  }

 private:
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  bool Sequence(int depth, std::string* out) {
    while (pos_ < g_.size()) {
      const unsigned char c = static_cast<unsigned char>(g_[pos_]);
      if (IsControl(c)) return Fail("control byte at offset " + std::to_string(pos_) + " is not allowed in a pattern");
      if (depth > 0 && (c == ',' || c == '}')) return true;
      if (depth == 0 && c == '}') return Fail("unbalanced '}' at offset " + std::to_string(pos_));
      switch (c) {
        case '*': {
          std::size_t n = 0;
          while (pos_ < g_.size() && g_[pos_] == '*') ++pos_, ++n;
          if (n > 1 && f_.slash_is_separator) {
            return Fail("'**' must be a whole path segment (write '*' inside a name)");
          }
          out->append("(?:").append(f_.any_char).append(")*");
          break;
        }
        case '?':
          ++pos_;
          out->append("(?:[\\xc0-\\xf7][\\x80-\\xbf]{1,3}|").append(f_.any_char).append(")");
          break;
        case '[':
          if (!Class(out)) return false;
          break;
        case '{':
          if (!Braces(depth, out)) return false;
          break;
        case '\\':
          if (pos_ + 1 >= g_.size()) return Fail("pattern ends with a lone '\\'");
          if (IsControl(static_cast<unsigned char>(g_[pos_ + 1]))) {
            return Fail("control byte at offset " + std::to_string(pos_ + 1) + " is not allowed in a pattern");
          }
          AppendEscapedByte(out, static_cast<unsigned char>(g_[pos_ + 1]));
          pos_ += 2;
          break;
        default:
          AppendEscapedByte(out, c);
          ++pos_;
      }
    }
    if (depth > 0) return Fail("unbalanced '{': expected '}'");
    return true;
  }

  bool Braces(int depth, std::string* out) {
    if (depth + 1 > kMaxBraceDepth) return Fail("braces nested deeper than 8 levels");
    const std::size_t open = pos_;
    ++pos_;  // '{'
    out->append("(?:");
    bool first = true;
    for (;;) {
      if (!first) out->push_back('|');
      first = false;
      if (!Sequence(depth + 1, out)) return false;
      if (pos_ >= g_.size()) return Fail("unbalanced '{' at offset " + std::to_string(open));
      if (g_[pos_] == ',') {
        ++pos_;
        continue;
      }
      ++pos_;  // '}'
      break;
    }
    if (pos_ == open + 2) return Fail("empty '{}' at offset " + std::to_string(open));
    out->push_back(')');
    return true;
  }

  bool Class(std::string* out) {
    const std::size_t open = pos_;
    ++pos_;  // '['
    bool negated = false;
    if (pos_ < g_.size() && (g_[pos_] == '!' || g_[pos_] == '^')) {
      negated = true;
      ++pos_;
    }
    std::string members;
    bool first = true;
    for (;;) {
      if (pos_ >= g_.size()) return Fail("unbalanced '[' at offset " + std::to_string(open) + ": expected ']'");
      unsigned char c = static_cast<unsigned char>(g_[pos_]);
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      if (c == '\\') {
        if (pos_ + 1 >= g_.size()) return Fail("pattern ends with a lone '\\'");
        c = static_cast<unsigned char>(g_[++pos_]);
      }
      if (!ClassMember(c)) return false;
      ++pos_;
      // A range "a-z" (a '-' right before ']' is a literal).
      if (pos_ + 1 < g_.size() && g_[pos_] == '-' && g_[pos_ + 1] != ']') {
        unsigned char hi = static_cast<unsigned char>(g_[pos_ + 1]);
        std::size_t consumed = 2;
        if (hi == '\\') {
          if (pos_ + 2 >= g_.size()) return Fail("pattern ends with a lone '\\'");
          hi = static_cast<unsigned char>(g_[pos_ + 2]);
          consumed = 3;
        }
        if (!ClassMember(hi)) return false;
        if (hi < c) return Fail("reversed range in '[' class at offset " + std::to_string(open));
        if (f_.slash_is_separator && c <= '/' && hi >= '/') {
          return Fail("a '[' class cannot match '/' in a path pattern");
        }
        AppendEscapedByte(&members, c);
        members.push_back('-');
        AppendEscapedByte(&members, hi);
        pos_ += consumed;
      } else {
        AppendEscapedByte(&members, c);
      }
    }
    if (negated) {
      out->append("(?:[^").append(members).append(f_.neg_class_extra).append("]").append(f_.neg_class_alt).append(")");
    } else {
      out->append("[").append(members).append("]");
    }
    return true;
  }

  bool ClassMember(unsigned char c) {
    if (c < 0x20 || c >= 0x7f) {
      return Fail("'[' classes may only contain printable ASCII; write other characters outside a class");
    }
    if (c == '/' && f_.slash_is_separator) return Fail("a '[' class cannot match '/' in a path pattern");
    return true;
  }

  std::string_view g_;
  const GlobFlavor& f_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace

Result<std::string> GlobToRegex(std::string_view glob, const GlobFlavor& flavor) {
  return Translator(glob, flavor).Run();
}

bool IsLiteralGlob(std::string_view glob) {
  for (std::size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '*' || c == '?' || c == '[' || c == '{') return false;
  }
  return true;
}

std::string UnescapeGlob(std::string_view glob) {
  std::string out;
  out.reserve(glob.size());
  for (std::size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '\\' && i + 1 < glob.size()) ++i;
    out.push_back(glob[i]);
  }
  return out;
}

std::string RegexLiteral(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) AppendEscapedByte(&out, static_cast<unsigned char>(c));
  return out;
}

std::string EscapeGlob(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace toolgate
