// Glob → RE2 translation shared by tool, path and argv patterns. Every
// pattern is compiled for RE2's Latin-1 mode: the subject is a byte string, so
// invalid UTF-8 in a path or argv element is just bytes and can never slip
// past a pattern the way it can past a UTF-8 character class.
#pragma once

#include <string>
#include <string_view>

#include "toolgate/result.h"

namespace toolgate {

// How one glob "character" looks in the subject the regex will run against.
struct GlobFlavor {
  std::string_view any_char;        // regex for one subject character (never crosses a boundary)
  std::string_view neg_class_extra; // escaped bytes a negated class must also exclude ("/" for paths)
  std::string_view neg_class_alt;   // extra alternative for a negated class ("" or "|\\x01[\\x02\\x03]")
  bool slash_is_separator = false;  // '/' may not appear in a class; '**' must be a whole segment
};

// Tool names: '*' any bytes, '?' one character, classes, braces.
extern const GlobFlavor kToolFlavor;
// One path segment: '*' and '?' never match '/'.
extern const GlobFlavor kPathFlavor;

// Glob syntax (all flavors):
//   *        any run of characters (within the flavor's boundary)
//   ?        one character: a whole UTF-8 sequence or any single byte
//   [abc] [a-z] [!a] [^a]   one byte from a class; class members must be
//            printable ASCII (write other bytes as literals outside classes)
//   {a,b}    alternatives, each itself a glob; nesting up to 8 levels
//   \c       the character c, literally
// Control bytes (0x00-0x1F, 0x7F) are rejected anywhere in a pattern.
// Errors are kPolicyPattern with a message saying what was expected.
Result<std::string> GlobToRegex(std::string_view glob, const GlobFlavor& flavor);

// True when the glob has no unescaped metacharacter (*, ?, [, {); backslash
// escapes count as literal text.
bool IsLiteralGlob(std::string_view glob);

// The text a literal glob matches (escapes removed). Only meaningful when
// IsLiteralGlob(glob).
std::string UnescapeGlob(std::string_view glob);

// Regex source matching exactly these bytes (Latin-1 mode).
std::string RegexLiteral(std::string_view bytes);

// Backslash-escapes glob metacharacters so the text is matched literally.
std::string EscapeGlob(std::string_view text);

}  // namespace toolgate
