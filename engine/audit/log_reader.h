// Reading a decision log for review: records in chain order across segments,
// filtered. Reading does not verify hashes — `toolgate log verify` does; the
// review commands say so rather than imply it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/log_file_io.h"
#include "toolgate/result.h"

namespace toolgate::audit {

struct RecordLocation {
  const std::string* file = nullptr;
  std::uint64_t line = 0;
};

class LogReader {
 public:
  // Expands directories, orders segments by their first seq. Error when a
  // path is missing or unreadable.
  static Result<LogReader> Open(const std::vector<std::string>& paths);

  // Calls fn for each record that parses (a torn last line or a malformed
  // line becomes a warning). fn returns false to stop.
  using Visitor = std::function<bool(const nlohmann::json& record, std::string_view raw, const RecordLocation& at)>;
  void ForEach(const Visitor& fn, const std::function<bool(std::string_view raw)>& prefilter = nullptr);

  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::vector<std::string> files_;
  std::vector<MappedFile> maps_;
  std::vector<std::string> warnings_;
};

// Which records a review wants. Empty fields match everything; agent, session,
// tool and rule accept '*' wildcards.
struct RecordFilter {
  std::string agent;
  std::string session;
  std::string tool;
  std::string rule;                  // a deciding grant/rule id
  std::vector<std::string> verdicts; // "allow", "ask", "deny"
  std::optional<std::int64_t> since_ns;
  std::optional<std::int64_t> until_ns;
  std::string text;                  // case-insensitive substring of the raw line
  std::string mode;                  // "learn" (records with "mode":"learn") or "enforce" (without)
  bool all_types = false;            // include checkpoint and recovery records

  bool Matches(const nlohmann::json& record) const;
  bool MatchesRaw(std::string_view raw) const;  // the cheap part, before parsing
};

// "2025-06-01", "2025-06-01T12:00:00Z", or an age before now: "90s", "15m", "2h", "7d".
std::optional<std::int64_t> ParseTimeBound(std::string_view text, std::int64_t now_ns);

bool WildcardMatch(std::string_view pattern, std::string_view text);

// A short one-line description of what a call wanted: the command, path, URL…
std::string CallSummary(const nlohmann::json& record, std::size_t max_bytes = 120);

// String member or "" (records come from files anyone may have edited).
std::string Str(const nlohmann::json& j, const char* key);
std::string Str(const nlohmann::json& j, const char* key, const char* inner);

}  // namespace toolgate::audit
