#include "audit/log_reader.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "audit/record.h"
#include "util/utf8.h"

namespace toolgate::audit {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Truncate(std::string s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  s.resize(cut);
  return s + "…";
}

}  // namespace

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Str(const json& j, const char* key, const char* inner) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it == j.end() ? std::string() : Str(*it, inner);
}

Result<LogReader> LogReader::Open(const std::vector<std::string>& paths) {
  std::string err;
  std::vector<std::string> files = ExpandLogPaths(paths, &err);
  if (!err.empty()) return Error{ErrorCode::kInternal, err, ""};
  struct Item {
    std::string path;
    std::uint64_t first_seq;
    MappedFile map;
  };
  std::vector<Item> items;
  for (const std::string& f : files) {
    int e = 0;
    auto m = MappedFile::Open(f, &e);
    if (!m) return Error{ErrorCode::kInternal, f + ": cannot read: " + std::strerror(e), f};
    std::uint64_t first = UINT64_MAX;
    const std::string_view b = m->bytes();
    const std::size_t nl = b.find('\n');
    LineView v;
    if (nl != std::string_view::npos && !SplitLine(b.substr(0, nl), &v)) first = v.seq;
    items.push_back(Item{f, first, std::move(*m)});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.first_seq < b.first_seq; });
  LogReader r;
  for (Item& i : items) {
    r.files_.push_back(std::move(i.path));
    r.maps_.push_back(std::move(i.map));
  }
  return r;
}

void LogReader::ForEach(const Visitor& fn, const std::function<bool(std::string_view)>& prefilter) {
  for (std::size_t i = 0; i < maps_.size(); ++i) {
    const std::string_view b = maps_[i].bytes();
    std::size_t pos = 0;
    std::uint64_t line_no = 0;
    while (pos < b.size()) {
      ++line_no;
      const std::size_t nl = b.find('\n', pos);
      if (nl == std::string_view::npos) {
        warnings_.push_back(files_[i] + ":" + std::to_string(line_no) + ": torn last line skipped");
        break;
      }
      const std::string_view raw = b.substr(pos, nl - pos);
      pos = nl + 1;
      if (prefilter && !prefilter(raw)) continue;
      json rec = json::parse(raw, nullptr, false);
      if (rec.is_discarded() || !rec.is_object()) {
        warnings_.push_back(files_[i] + ":" + std::to_string(line_no) + ": not a JSON record, skipped");
        continue;
      }
      if (!fn(rec, raw, RecordLocation{&files_[i], line_no})) return;
    }
  }
}

bool WildcardMatch(std::string_view pattern, std::string_view text) {
  // Iterative '*' matching with backtracking to the last star.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool RecordFilter::MatchesRaw(std::string_view raw) const {
  if (!text.empty() && Lower(raw).find(Lower(text)) == std::string::npos) return false;
  if (!all_types && raw.find("\"type\":\"decision\"") == std::string_view::npos) return false;
  return true;
}

bool RecordFilter::Matches(const json& rec) const {
  if (!all_types && Str(rec, "type") != "decision") return false;
  if (!agent.empty() && !WildcardMatch(agent, Str(rec, "agent", "id"))) return false;
  if (!session.empty() && !WildcardMatch(session, Str(rec, "call", "session_id"))) return false;
  if (!tool.empty() && !WildcardMatch(tool, Str(rec, "call", "tool_name"))) return false;
  if (!verdicts.empty() && std::find(verdicts.begin(), verdicts.end(), Str(rec, "verdict")) == verdicts.end()) {
    return false;
  }
  if (!mode.empty() && (Str(rec, "mode") == "learn") != (mode == "learn")) return false;
  if (!rule.empty()) {
    bool any = false;
    if (auto it = rec.find("rules"); it != rec.end() && it->is_array()) {
      for (const json& r : *it) any |= r.is_string() && WildcardMatch(rule, r.get<std::string>());
    }
    if (!any) return false;
  }
  if (since_ns || until_ns) {
    const auto t = ParseTime(Str(rec, "time"));
    if (!t) return false;
    if (since_ns && *t < *since_ns) return false;
    if (until_ns && *t > *until_ns) return false;
  }
  return true;
}

std::optional<std::int64_t> ParseTimeBound(std::string_view text, std::int64_t now_ns) {
  if (text.size() >= 2) {
    const char unit = text.back();
    const std::string_view digits = text.substr(0, text.size() - 1);
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        digits.size() <= 9) {
      const std::int64_t n = std::stoll(std::string(digits));
      const std::int64_t s = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
      if (s != 0) return now_ns - n * s * 1000000000;
    }
  }
  return ParseTime(text);
}

std::string CallSummary(const json& rec, std::size_t max_bytes) {
  const json* call = nullptr;
  if (auto it = rec.find("call"); it != rec.end() && it->is_object()) call = &*it;
  if (call == nullptr) {
    return Truncate("(unparsed input) " + Str(rec, "raw_input", "prefix"), max_bytes);
  }
  const json* input = nullptr;
  if (auto it = call->find("tool_input"); it != call->end() && it->is_object()) input = &*it;
  if (input != nullptr) {
    for (const char* k : {"command", "file_path", "notebook_path", "path", "url", "pattern", "query"}) {
      const std::string v = Str(*input, k);
      if (!v.empty()) return Truncate(v, max_bytes);
    }
    return Truncate(input->dump(-1, ' ', false, json::error_handler_t::replace), max_bytes);
  }
  return "";
}

}  // namespace toolgate::audit
