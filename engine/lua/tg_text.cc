// tg.text: text folding so a phrase matches however it is disguised.
//
//   tg.text.fold(s [, {leet = true}]) -> folded
//     lower-case; fullwidth and mathematical alphanumeric letters to ASCII;
//     accented Latin letters to their base letter; Cyrillic and Greek
//     lookalikes (а е о р с у х і ѕ ј, Α Β Ε Ι Κ Μ Ν Ο Ρ Τ Χ Υ Ζ Η ...) to Latin;
//     zero-width and soft-hyphen characters removed; every run of spaces,
//     punctuation, symbols and emoji becomes one space; trimmed. With leet: 0 1 3 4 5 7 @ $
//     read as o i e a s t a s (before punctuation is collapsed).
//   tg.text.entropy(s) -> Shannon entropy in bits per byte
#include <array>
#include <cmath>
#include <cstdint>

#include "lua/sandbox.h"
#include "lua/tg_api.h"
#include "util/utf8.h"

namespace toolgate::lua {
namespace {

constexpr std::size_t kMaxFoldBytes = std::size_t{4} << 20;

// Decodes one UTF-8 sequence at s[i]; invalid bytes decode as U+FFFD, 1 byte.
std::uint32_t Decode(std::string_view s, std::size_t* i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(*i);
  if (c < 0x80) return (*i)++, c;
  int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (len == 0 || *i + static_cast<std::size_t>(len) > s.size()) return (*i)++, 0xFFFD;
  std::uint32_t cp = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    if ((b(*i + static_cast<std::size_t>(k)) & 0xC0) != 0x80) return (*i)++, 0xFFFD;
    cp = (cp << 6) | (b(*i + static_cast<std::size_t>(k)) & 0x3F);
  }
  *i += static_cast<std::size_t>(len);
  return cp;
}

bool Invisible(std::uint32_t cp) {
  return cp == 0x00AD || cp == 0x034F || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF;
}

// Punctuation, arrows, dingbats, emoji and variation selectors separate words.
bool Separator(std::uint32_t cp) {
  return (cp >= 0x2010 && cp <= 0x2BFF) || (cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
         (cp >= 0x00A1 && cp <= 0x00BF) || cp == 0x00D7 || cp == 0x00F7 || (cp >= 0x3000 && cp <= 0x303F);
}

bool Space(std::uint32_t cp) {
  return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Lookalikes and accents to ASCII; 0 when there is no mapping.
char Confusable(std::uint32_t cp) {
  struct Map {
    std::uint32_t cp;
    char to;
  };
  static constexpr Map kMap[] = {
      // Cyrillic
      {0x0430, 'a'}, {0x0410, 'a'}, {0x0432, 'b'}, {0x0412, 'b'}, {0x0435, 'e'}, {0x0415, 'e'}, {0x0451, 'e'},
      {0x043A, 'k'}, {0x041A, 'k'}, {0x043C, 'm'}, {0x041C, 'm'}, {0x043D, 'h'}, {0x041D, 'h'}, {0x043E, 'o'},
      {0x041E, 'o'}, {0x0440, 'p'}, {0x0420, 'p'}, {0x0441, 'c'}, {0x0421, 'c'}, {0x0442, 't'}, {0x0422, 't'},
      {0x0443, 'y'}, {0x0423, 'y'}, {0x0445, 'x'}, {0x0425, 'x'}, {0x0456, 'i'}, {0x0406, 'i'}, {0x0458, 'j'},
      {0x0408, 'j'}, {0x0455, 's'}, {0x0405, 's'}, {0x0501, 'd'}, {0x051B, 'q'}, {0x051D, 'w'}, {0x04BB, 'h'},
      {0x0261, 'g'}, {0x0269, 'i'}, {0x026A, 'i'},
      // Greek
      {0x0391, 'a'}, {0x03B1, 'a'}, {0x0392, 'b'}, {0x03B2, 'b'}, {0x0395, 'e'}, {0x03B5, 'e'}, {0x0396, 'z'},
      {0x0397, 'h'}, {0x0399, 'i'}, {0x03B9, 'i'}, {0x039A, 'k'}, {0x03BA, 'k'}, {0x039C, 'm'}, {0x039D, 'n'},
      {0x03BD, 'v'}, {0x039F, 'o'}, {0x03BF, 'o'}, {0x03A1, 'p'}, {0x03C1, 'p'}, {0x03A4, 't'}, {0x03C4, 't'},
      {0x03A5, 'y'}, {0x03C5, 'u'}, {0x03A7, 'x'}, {0x03C7, 'x'},
      // Latin-1 and Latin Extended-A accents
      {0x00E0, 'a'}, {0x00E1, 'a'}, {0x00E2, 'a'}, {0x00E3, 'a'}, {0x00E4, 'a'}, {0x00E5, 'a'}, {0x00C0, 'a'},
      {0x00C1, 'a'}, {0x00C2, 'a'}, {0x00C3, 'a'}, {0x00C4, 'a'}, {0x00C5, 'a'}, {0x00E7, 'c'}, {0x00C7, 'c'},
      {0x00E8, 'e'}, {0x00E9, 'e'}, {0x00EA, 'e'}, {0x00EB, 'e'}, {0x00C8, 'e'}, {0x00C9, 'e'}, {0x00CA, 'e'},
      {0x00CB, 'e'}, {0x00EC, 'i'}, {0x00ED, 'i'}, {0x00EE, 'i'}, {0x00EF, 'i'}, {0x00CC, 'i'}, {0x00CD, 'i'},
      {0x00CE, 'i'}, {0x00CF, 'i'}, {0x00F1, 'n'}, {0x00D1, 'n'}, {0x00F2, 'o'}, {0x00F3, 'o'}, {0x00F4, 'o'},
      {0x00F5, 'o'}, {0x00F6, 'o'}, {0x00F8, 'o'}, {0x00D2, 'o'}, {0x00D3, 'o'}, {0x00D4, 'o'}, {0x00D5, 'o'},
      {0x00D6, 'o'}, {0x00D8, 'o'}, {0x00F9, 'u'}, {0x00FA, 'u'}, {0x00FB, 'u'}, {0x00FC, 'u'}, {0x00D9, 'u'},
      {0x00DA, 'u'}, {0x00DB, 'u'}, {0x00DC, 'u'}, {0x00FD, 'y'}, {0x00FF, 'y'}, {0x00DD, 'y'}, {0x0131, 'i'},
      {0x0142, 'l'}, {0x0141, 'l'}, {0x015B, 's'}, {0x0161, 's'}, {0x017C, 'z'}, {0x017E, 'z'}, {0x0107, 'c'},
      {0x010D, 'c'}, {0x0119, 'e'}, {0x011B, 'e'}, {0x0144, 'n'}, {0x0148, 'n'}, {0x0159, 'r'}, {0x016F, 'u'},
      // Letterlike
      {0x2113, 'l'}, {0x212F, 'e'}, {0x2134, 'o'}, {0x210E, 'h'}, {0x2170, 'i'}, {0x217C, 'l'},
  };
  for (const Map& m : kMap) {
    if (m.cp == cp) return m.to;
  }
  if (cp >= 0xFF01 && cp <= 0xFF5E) return static_cast<char>(cp - 0xFEE0);  // fullwidth ASCII
  if (cp >= 0x1D400 && cp <= 0x1D6A3) {  // mathematical alphanumerics: 52-letter blocks
    const std::uint32_t k = (cp - 0x1D400) % 52;
    return static_cast<char>(k < 26 ? 'a' + k : 'a' + (k - 26));
  }
  if (cp >= 0x1D7CE && cp <= 0x1D7FF) return static_cast<char>('0' + (cp - 0x1D7CE) % 10);
  if (cp >= 0x24D0 && cp <= 0x24E9) return static_cast<char>('a' + (cp - 0x24D0));  // circled letters
  if (cp >= 0x24B6 && cp <= 0x24CF) return static_cast<char>('a' + (cp - 0x24B6));
  return 0;
}

char Leet(char c) {
  switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    case '@': return 'a';
    case '$': return 's';
    default: return c;
  }
}

int Fold(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.text.fold", "text");
  if (s.size() > kMaxFoldBytes) throw HostError("tg.text.fold: text larger than 4 MiB");
  bool leet = false;
  if (!lua_isnoneornil(L, 2)) {
    ArgTable(L, 2, "tg.text.fold", "options");
    leet = RawFieldBoolean(L, 2, "leet", false);
  }
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint32_t cp = Decode(s, &i);
    if (Invisible(cp)) continue;
    char c = 0;
    if (cp < 0x80) {
      c = static_cast<char>(cp);
    } else if (Space(cp) || Separator(cp)) {
      c = ' ';
    } else {
      c = Confusable(cp);
    }
    if (c == 0) {  // a character with no ASCII reading: keep it
      if (pending_space && !out.empty()) out.push_back(' ');
      pending_space = false;
      AppendUtf8(cp, &out);
      continue;
    }
    if (leet) c = Leet(c);
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  Push(L, out);
  return 1;
}

int Entropy(lua_State* L) {
  const std::string_view s = ArgString(L, 1, "tg.text.entropy", "text");
  if (s.empty()) {
    lua_pushnumber(L, 0);
    return 1;
  }
  std::array<std::size_t, 256> counts{};
  for (const char c : s) ++counts[static_cast<unsigned char>(c)];
  double h = 0;
  for (const std::size_t n : counts) {
    if (n == 0) continue;
    const double p = static_cast<double>(n) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  lua_pushnumber(L, h);
  return 1;
}

}  // namespace

void OpenTgText(lua_State* L) {
  lua_createtable(L, 0, 2);
  SetFunction(L, "fold", HostFunction<Fold>);
  SetFunction(L, "entropy", HostFunction<Entropy>);
}

}  // namespace toolgate::lua
