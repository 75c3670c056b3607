#include "effects/text_scan.h"

#include "effects/path_normalizer.h"
#include "effects/url.h"

namespace toolgate::effects {
namespace {

bool IsSeparator(char c) {
  switch (c) {
    case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
    case '"': case '\'': case '`': case '<': case '>': case '(': case ')':
    case '[': case ']': case '{': case '}': case ',': case ';': case '|': case '\0':
      return true;
    default:
      return false;
  }
}

void TrimPunctuation(std::string_view& token) {
  while (!token.empty()) {
    char c = token.back();
    if (c == '.' || c == ':' || c == '!' || c == '?' || c == '\\') {
      token.remove_suffix(1);
    } else {
      break;
    }
  }
}

void ScanToken(std::string_view token, const TextScanOptions& options, EffectsSink& sink) {
  TrimPunctuation(token);
  if (token.size() < 2) return;
  std::size_t scheme_sep = token.find("://");
  if (scheme_sep != std::string_view::npos) {
    // Walk back to the start of the scheme ("x=https://..." -> "https://...").
    std::size_t start = scheme_sep;
    while (start > 0) {
      char c = token[start - 1];
      bool scheme_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '+' || c == '-' || c == '.';
      if (!scheme_char) break;
      --start;
    }
    std::string_view url_text = token.substr(start);
    if (auto url = ParseUrl(url_text)) sink.AddUrl(*url, url_text, options.source);
    return;
  }
  std::string_view candidate = token;
  if (candidate.front() != '/' && candidate.front() != '~') {
    std::size_t eq = candidate.find('=');
    if (eq != std::string_view::npos) candidate = candidate.substr(eq + 1);
  }
  if (!candidate.empty() && (candidate.front() == '/' || candidate.substr(0, 2) == "~/") &&
      candidate.substr(0, 2) != "//") {
    NormalizeOptions normalize;
    normalize.home = options.home;
    normalize.expand_tilde = true;
    normalize.resolve_symlinks = options.resolve_symlinks;
    normalize.cache = sink.path_cache();
    NormalizedPath path = NormalizePath(candidate, normalize);
    if (!path.problem.empty()) sink.AddUnknown(path.problem, candidate);
    if (!path.path.empty()) sink.AddPath(std::move(path.path), candidate, options.path_access, options.source);
    return;
  }
  if (token.find('@') != std::string_view::npos && LooksLikeEmail(token)) sink.AddEmail(token);
}

}  // namespace

void ScanText(std::string_view text, const TextScanOptions& options, EffectsSink& sink) {
  if (!sink.Charge(text.size() / 16 + 1)) return;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && IsSeparator(text[pos])) ++pos;
    std::size_t end = pos;
    while (end < text.size() && !IsSeparator(text[end])) ++end;
    if (end > pos) ScanToken(text.substr(pos, end - pos), options, sink);
    pos = end;
  }
}

}  // namespace toolgate::effects
