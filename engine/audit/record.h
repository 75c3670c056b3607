// The record format of the decision log and its hash chain.
//
// A record is one line:
//   {"seq":N,"prev_hash":"<64 hex>","type":"<type>","time":"<time>",<rest>,"hash":"<64 hex>"}\n
// where <rest> is the record's other members as canonical JSON (keys sorted,
// no whitespace, UTF-8, invalid UTF-8 replaced by U+FFFD before hashing).
// The hashed body is the line without its ,"hash":"…" member — itself a JSON
// object — and
//   hash = lower-hex sha256( prev_hash as 64 ASCII hex digits || body bytes ).
// The first record of a chain has seq 1 and prev_hash of 64 zeros. Hashing the
// bytes as written (rather than re-serializing parsed JSON) means any verifier,
// in any language, checks a record with a string slice and one sha256.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace toolgate::audit {

inline constexpr std::string_view kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr int kRecordVersion = 1;
// ,"hash":"<64 hex>"}  — the suffix every line ends with (before '\n').
inline constexpr std::size_t kHashSuffixSize = 9 + 64 + 2;

// Record types.
inline constexpr std::string_view kTypeDecision = "decision";
inline constexpr std::string_view kTypeCheckpoint = "checkpoint";
inline constexpr std::string_view kTypeRecovery = "recovery";

// Canonical JSON: sorted keys, compact, invalid UTF-8 replaced.
std::string CanonicalJson(const nlohmann::json& value);

// "2025-06-01T12:00:00.123456Z" for a system_clock time point in ns.
std::string FormatTime(std::int64_t unix_ns);
inline constexpr std::size_t kTimeSize = 27;  // what FormatTime writes (years 0000-9999)
// The same into buf (kTimeSize bytes); returns the number written.
std::size_t FormatTimeTo(std::int64_t unix_ns, char* buf);
// Parses what FormatTime writes (and shorter RFC 3339 forms: seconds, a date
// alone, a +hh:mm offset); nullopt when it is not a time.
std::optional<std::int64_t> ParseTime(std::string_view text);

struct ChainedLine {
  std::string line;  // including the trailing '\n'
  std::string hash;
};

// Builds a record line. rest is a canonical JSON object of the other members
// (may be "{}"); its braces are dropped.
ChainedLine ChainRecord(std::uint64_t seq, std::string_view prev_hash, std::string_view type, std::string_view time,
                        std::string_view rest_object);

// Appends the line for a record to *out (the same bytes ChainRecord builds);
// members are the record's other members without the braces ("" = none).
// Writes the record's hash, 64 lower-case hex digits, to hash_hex.
void AppendChainedLine(std::string* out, std::uint64_t seq, std::string_view prev_hash, std::string_view type,
                       std::string_view time, std::string_view members, char* hash_hex);

// sha256(prev_hash || body) as lower hex, where body is given in two parts
// (the line without its hash suffix, then the closing brace).
std::string RecordHash(std::string_view prev_hash, std::string_view body_head, std::string_view body_tail);

// A line split into its framing. Views point into the line.
struct LineView {
  std::uint64_t seq = 0;
  std::string_view prev_hash;
  std::string_view type;
  std::string_view time;
  std::string_view hash;
  std::string_view body_head;  // the line up to the hash suffix; body = body_head + "}"
};

// Checks the framing of one line (without '\n'). On failure returns why.
std::optional<std::string> SplitLine(std::string_view line, LineView* out);

// Recomputes the hash of a framed line and compares.
bool HashMatches(const LineView& view);

bool IsLowerHex64(std::string_view s);

}  // namespace toolgate::audit
