#include "effects/sed_script.h"

namespace toolgate::effects {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

class SedScanner {
 public:
  explicit SedScanner(std::string_view script) : s_(script) {}

  SedScriptEffects Run() {
    int depth = 0;
    while (out_.understood) {
      while (pos_ < s_.size() && (IsBlank(s_[pos_]) || s_[pos_] == '\n' || s_[pos_] == ';')) ++pos_;
      if (pos_ >= s_.size()) break;
      if (s_[pos_] == '#') {
        SkipLine();
        continue;
      }
      if (!SkipAddresses()) return Fail();
      SkipBlanks();
      while (Peek() == '!') {
        ++pos_;
        SkipBlanks();
      }
      if (pos_ >= s_.size()) return Fail();  // an address without a command
      char command = s_[pos_++];
      switch (command) {
        case '{':
          ++depth;
          continue;  // the block's first command may follow directly
        case '}':
          if (--depth < 0) return Fail();
          break;
        case '=': case 'd': case 'D': case 'g': case 'G': case 'h': case 'H': case 'n': case 'N':
        case 'p': case 'P': case 'x': case 'z': case 'F':
          break;
        case 'l': case 'L': case 'q': case 'Q':
          SkipBlanks();
          while (IsDigit(Peek())) ++pos_;
          break;
        case ':': case 'b': case 't': case 'T': case 'v':
          // A label (or version). Stopping at the first blank or } as well
          // is the cautious reading: anything after it is parsed as commands.
          SkipBlanks();
          while (pos_ < s_.size() && !IsBlank(s_[pos_]) && s_[pos_] != '\n' && s_[pos_] != ';' &&
                 s_[pos_] != '}') {
            ++pos_;
          }
          break;
        case 'a': case 'i': case 'c':
          SkipText();
          continue;
        case 'r': case 'R': case 'w': case 'W':
          if (!ReadFileName(command, command == 'w' || command == 'W')) return Fail();
          continue;
        case 'e':
          // The rest of the line is the command (none: the pattern space).
          out_.runs_command = true;
          SkipLine();
          continue;
        case 's':
          if (!ReadSubstitute()) return Fail();
          if (ended_line_) continue;
          break;
        case 'y':
          if (!ReadTransliterate()) return Fail();
          break;
        default:
          return Fail();
      }
      if (!EndOfCommand()) return Fail();
    }
    if (depth != 0) return Fail();
    return std::move(out_);
  }

 private:
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void SkipBlanks() {
    while (pos_ < s_.size() && IsBlank(s_[pos_])) ++pos_;
  }
  void SkipLine() {
    while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
  }
  SedScriptEffects Fail() {
    out_.understood = false;
    return std::move(out_);
  }

  // After a command: blanks, then ; newline } # or the end.
  bool EndOfCommand() {
    SkipBlanks();
    if (pos_ >= s_.size()) return true;
    char c = s_[pos_];
    if (c == ';' || c == '\n') {
      ++pos_;
      return true;
    }
    return c == '}' || c == '#';
  }

  // addr1[,addr2]: numbers, first~step, $, /re/ and \cREc with I/M flags,
  // and for addr2 also +N and ~N.
  bool SkipAddresses() {
    bool first = true;
    if (!SkipAddress(first)) return false;
    if (!first) return true;  // no address at all
    SkipBlanks();
    if (Peek() != ',') return true;
    ++pos_;
    SkipBlanks();
    if (Peek() == '+' || Peek() == '~') {
      ++pos_;
      if (!IsDigit(Peek())) return false;
      while (IsDigit(Peek())) ++pos_;
      return true;
    }
    bool second = true;
    return SkipAddress(second) && second;
  }

  // `present` is set to whether an address was there.
  bool SkipAddress(bool& present) {
    present = true;
    char c = Peek();
    if (IsDigit(c)) {
      while (IsDigit(Peek())) ++pos_;
      if (Peek() == '~') {
        ++pos_;
        while (IsDigit(Peek())) ++pos_;
      }
      return true;
    }
    if (c == '$') {
      ++pos_;
      return true;
    }
    if (c == '/' || c == '\\') {
      ++pos_;
      char delim = '/';
      if (c == '\\') {
        if (pos_ >= s_.size() || s_[pos_] == '\n' || s_[pos_] == '\\') return false;
        delim = s_[pos_++];
      }
      if (!SkipRegex(delim)) return false;
      while (Peek() == 'I' || Peek() == 'M') ++pos_;
      return true;
    }
    present = false;
    return true;
  }

  // A regex up to its closing delimiter. A backslash escapes the next
  // character; a bracket expression ([/], [[:alpha:]/]) may hold the
  // delimiter, and a backslash inside one is an ordinary character.
  bool SkipRegex(char delim) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == delim) {
        ++pos_;
        return true;
      }
      if (c == '[') {
        if (!SkipBracket()) return false;
        continue;
      }
      ++pos_;
    }
    return false;
  }

  bool SkipBracket() {
    std::size_t j = pos_ + 1;
    if (j < s_.size() && s_[j] == '^') ++j;
    if (j < s_.size() && s_[j] == ']') ++j;  // a leading ] is literal
    while (j < s_.size()) {
      char c = s_[j];
      if (c == '[' && j + 1 < s_.size() && (s_[j + 1] == ':' || s_[j + 1] == '.' || s_[j + 1] == '=')) {
        char kind = s_[j + 1];
        std::size_t close = j + 2;
        while (close + 1 < s_.size() && !(s_[close] == kind && s_[close + 1] == ']')) ++close;
        if (close + 1 >= s_.size()) return false;
        j = close + 2;
        continue;
      }
      if (c == ']') {
        pos_ = j + 1;
        return true;
      }
      ++j;
    }
    return false;
  }

  // A replacement or y operand: backslash escapes, no bracket expressions.
  bool SkipPlain(char delim) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      ++pos_;
      if (c == delim) return true;
    }
    return false;
  }

  bool ReadDelimiter(char& delim) {
    if (pos_ >= s_.size() || s_[pos_] == '\n' || s_[pos_] == '\\') return false;
    delim = s_[pos_++];
    return true;
  }

  bool ReadSubstitute() {
    ended_line_ = false;
    char delim = 0;
    if (!ReadDelimiter(delim) || !SkipRegex(delim) || !SkipPlain(delim)) return false;
    while (pos_ < s_.size()) {
      char flag = s_[pos_];
      if (flag == 'g' || flag == 'p' || flag == 'i' || flag == 'I' || flag == 'm' || flag == 'M' || IsDigit(flag)) {
        ++pos_;
      } else if (flag == 'e') {
        out_.runs_command = true;
        ++pos_;
      } else if (flag == 'w') {
        ++pos_;
        ended_line_ = true;
        return ReadFileName('s', true);
      } else {
        break;
      }
    }
    return true;
  }

  bool ReadTransliterate() {
    char delim = 0;
    return ReadDelimiter(delim) && SkipPlain(delim) && SkipPlain(delim);
  }

  // r/R/w/W FILE: the name is the rest of the line, ; and } included.
  bool ReadFileName(char command, bool write) {
    SkipBlanks();
    std::size_t start = pos_;
    SkipLine();
    std::string_view name = s_.substr(start, pos_ - start);
    if (name.empty()) return false;  // sed: "missing filename"
    if (!IsSedSpecialFile(name, write)) out_.files.push_back({std::string(name), write, command});
    return true;
  }

  // a/i/c text: `a\` NEWLINE lines, or the one-line `a text`; a backslash
  // at the end of a line continues the text on the next.
  void SkipText() {
    SkipBlanks();
    if (Peek() == '\\' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') pos_ += 2;
    while (pos_ < s_.size() && s_[pos_] != '\n') pos_ += s_[pos_] == '\\' ? 2 : 1;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  bool ended_line_ = false;  // the last s command ended with a w FILE
  SedScriptEffects out_;
};

}  // namespace

bool IsSedSpecialFile(std::string_view name, bool write) {
  return write ? (name == "/dev/stdout" || name == "/dev/stderr") : name == "/dev/stdin";
}

SedScriptEffects AnalyzeSedScript(std::string_view script) { return SedScanner(script).Run(); }

}  // namespace toolgate::effects
