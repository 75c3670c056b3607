#include "audit/record.h"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>

namespace toolgate::audit {
namespace {

constexpr std::string_view kSeqKey = "{\"seq\":";
constexpr std::string_view kPrevKey = ",\"prev_hash\":\"";
constexpr std::string_view kTypeKey = "\",\"type\":\"";
constexpr std::string_view kTimeKey = "\",\"time\":\"";
constexpr std::string_view kHashKey = ",\"hash\":\"";

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

bool ConsumeLiteral(std::string_view* s, std::string_view lit) {
  if (s->substr(0, lit.size()) != lit) return false;
  s->remove_prefix(lit.size());
  return true;
}

}  // namespace

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string CanonicalJson(const nlohmann::json& value) {
  // nlohmann's object_t is a std::map: keys come out sorted.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::size_t FormatTimeTo(std::int64_t unix_ns, char* buf) {
  std::int64_t secs = unix_ns / 1000000000;
  std::int64_t rem = unix_ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  // The date and time of day change once a second; the writer formats many
  // records a second, under its lock.
  thread_local std::int64_t cached_secs = INT64_MIN;
  thread_local char cached[32];
  thread_local std::size_t cached_len = 0;
  if (secs != cached_secs) {
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    const int n = std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_len = n > 0 && static_cast<std::size_t>(n) < sizeof cached ? static_cast<std::size_t>(n) : 0;
    cached_secs = secs;
  }
  std::memcpy(buf, cached, cached_len);
  int us = static_cast<int>(rem / 1000);
  char* p = buf + cached_len + 6;
  for (int k = 0; k < 6; ++k) {
    *--p = static_cast<char>('0' + us % 10);
    us /= 10;
  }
  buf[cached_len + 6] = 'Z';
  return cached_len + 7;
}

std::string FormatTime(std::int64_t unix_ns) {
  char buf[48];
  return std::string(buf, FormatTimeTo(unix_ns, buf));
}

std::optional<std::int64_t> ParseTime(std::string_view text) {
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  std::int64_t frac_ns = 0;
  std::size_t i = 0;
  const auto num = [&](int width, int* out) {
    if (i + static_cast<std::size_t>(width) > text.size()) return false;
    int v = 0;
    for (int k = 0; k < width; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += static_cast<std::size_t>(width);
    *out = v;
    return true;
  };
  const auto lit = [&](char c) {
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  if (!num(4, &year) || !lit('-') || !num(2, &mon) || !lit('-') || !num(2, &day)) return std::nullopt;
  if (i < text.size() && (text[i] == 'T' || text[i] == 't' || text[i] == ' ')) {
    ++i;
    if (!num(2, &hour) || !lit(':') || !num(2, &min)) return std::nullopt;
    if (lit(':')) {
      if (!num(2, &sec)) return std::nullopt;
      if (lit('.')) {
        std::int64_t scale = 100000000;
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
          if (digits < 9) frac_ns += (text[i] - '0') * scale;
          scale /= 10;
          ++digits;
          ++i;
        }
        if (digits == 0) return std::nullopt;
      }
    }
  }
  std::int64_t offset_s = 0;
  if (lit('Z') || lit('z')) {
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const int sign = text[i] == '-' ? -1 : 1;
    ++i;
    int oh = 0, om = 0;
    if (!num(2, &oh) || !lit(':') || !num(2, &om)) return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  }
  if (i != text.size()) return std::nullopt;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::int64_t secs = static_cast<std::int64_t>(timegm(&tm)) - offset_s;
  return secs * 1000000000 + frac_ns;
}

namespace {

// sha256(prev_hash || body_head || body_tail) as 64 lower-case hex digits.
void RecordHashHex(std::string_view prev_hash, std::string_view body_head, std::string_view body_tail, char* hex) {
  // Fetched once: an implicit fetch on every init costs a provider lookup.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  // One context per thread: verification hashes millions of short records.
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (sha256 == nullptr || !ctx || EVP_DigestInit_ex(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), prev_hash.data(), prev_hash.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), body_head.data(), body_head.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), body_tail.data(), body_tail.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md.data(), &len) != 1 || len != 32) {
    throw std::runtime_error("sha256 failed in libcrypto");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int k = 0; k < len; ++k) {
    hex[2 * k] = kHex[md[k] >> 4];
    hex[2 * k + 1] = kHex[md[k] & 0xf];
  }
}

}  // namespace

std::string RecordHash(std::string_view prev_hash, std::string_view body_head, std::string_view body_tail) {
  std::string out(64, '0');
  RecordHashHex(prev_hash, body_head, body_tail, out.data());
  return out;
}

void AppendChainedLine(std::string* out, std::uint64_t seq, std::string_view prev_hash, std::string_view type,
                       std::string_view time, std::string_view members, char* hash_hex) {
  const std::size_t start = out->size();
  char seq_buf[24];
  const auto seq_end = std::to_chars(seq_buf, seq_buf + sizeof seq_buf, seq).ptr;
  out->reserve(start + kSeqKey.size() + 20 + kPrevKey.size() + 64 + kTypeKey.size() + type.size() +
               kTimeKey.size() + time.size() + members.size() + kHashSuffixSize + 4);
  out->append(kSeqKey);
  out->append(seq_buf, seq_end);
  out->append(kPrevKey);
  out->append(prev_hash);
  out->append(kTypeKey);
  out->append(type);
  out->append(kTimeKey);
  out->append(time);
  out->push_back('"');
  if (!members.empty()) {
    out->push_back(',');
    out->append(members);
  }
  RecordHashHex(prev_hash, std::string_view(*out).substr(start), "}", hash_hex);
  out->append(kHashKey);
  out->append(hash_hex, 64);
  out->append("\"}\n");
}

ChainedLine ChainRecord(std::uint64_t seq, std::string_view prev_hash, std::string_view type, std::string_view time,
                        std::string_view rest_object) {
  // Strip the braces of the canonical object; "{}" contributes nothing.
  std::string_view rest = rest_object;
  if (rest.size() >= 2 && rest.front() == '{' && rest.back() == '}') rest = rest.substr(1, rest.size() - 2);
  ChainedLine out;
  out.hash.resize(64);
  AppendChainedLine(&out.line, seq, prev_hash, type, time, rest, out.hash.data());
  return out;
}

std::optional<std::string> SplitLine(std::string_view line, LineView* out) {
  if (line.size() < kSeqKey.size() + kHashSuffixSize) return "line too short to be a record";
  const std::string_view suffix = line.substr(line.size() - kHashSuffixSize);
  if (suffix.substr(0, kHashKey.size()) != kHashKey || suffix.substr(suffix.size() - 2) != "\"}") {
    return "line does not end with the hash member";
  }
  out->hash = suffix.substr(kHashKey.size(), 64);
  if (!IsLowerHex64(out->hash)) return "hash is not 64 lower-case hex digits";
  out->body_head = line.substr(0, line.size() - kHashSuffixSize);

  std::string_view s = out->body_head;
  if (!ConsumeLiteral(&s, kSeqKey)) return "line does not start with {\"seq\":";
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19 || (digits > 1 && s[0] == '0')) return "seq is not a positive integer";
  std::from_chars(s.data(), s.data() + digits, out->seq);
  if (out->seq == 0) return "seq is not a positive integer";
  s.remove_prefix(digits);
  if (!ConsumeLiteral(&s, kPrevKey)) return "prev_hash does not follow seq";
  if (s.size() < 64 || !IsLowerHex64(s.substr(0, 64))) return "prev_hash is not 64 lower-case hex digits";
  out->prev_hash = s.substr(0, 64);
  s.remove_prefix(64);
  if (!ConsumeLiteral(&s, kTypeKey)) return "type does not follow prev_hash";
  std::size_t n = 0;
  while (n < s.size() && s[n] >= 'a' && s[n] <= 'z') ++n;
  if (n == 0) return "type is not a lower-case word";
  out->type = s.substr(0, n);
  s.remove_prefix(n);
  if (!ConsumeLiteral(&s, kTimeKey)) return "time does not follow type";
  n = 0;
  while (n < s.size() && s[n] != '"' && s[n] != '\\') ++n;
  if (n == 0 || n == s.size() || s[n] != '"') return "time is not a plain string";
  out->time = s.substr(0, n);
  s.remove_prefix(n + 1);
  if (!s.empty() && s.front() != ',') return "unexpected bytes after time";
  return std::nullopt;
}

bool HashMatches(const LineView& view) { return RecordHash(view.prev_hash, view.body_head, "}") == view.hash; }

}  // namespace toolgate::audit
