#include "state/state_records.h"

#include <array>
#include <bit>
#include <cstring>

namespace toolgate::state {
namespace {

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78: catches every burst
// error up to 32 bits, which is what a torn or bit-flipped record looks like.
constexpr std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = MakeCrcTable();

void PutU32(std::string* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Frame(std::string* out, const std::string& payload) {
  PutU32(out, static_cast<std::uint32_t>(payload.size()));
  PutU32(out, Crc32c(payload));
  out->append(payload);
}

void PutHead(std::string* payload, RecordOp op, std::int64_t expires_ms, std::string_view key) {
  payload->push_back(static_cast<char>(op));
  PutU64(payload, static_cast<std::uint64_t>(expires_ms));
  PutU32(payload, static_cast<std::uint32_t>(key.size()));
  payload->append(key);
}

}  // namespace

std::uint32_t Crc32c(std::string_view bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char ch : bytes) c = kCrcTable[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::uint32_t LoadU32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::uint64_t LoadU64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string EncodeHeader(std::string_view magic, std::uint64_t generation) {
  std::string out(magic);
  PutU64(&out, generation);
  return out;
}

void AppendRecord(std::string* out, std::string_view key, const StateStore::Entry* entry) {
  std::string payload;
  payload.reserve(1 + 8 + 4 + key.size() + 16);
  if (entry == nullptr) {
    PutHead(&payload, RecordOp::kErase, 0, key);
  } else if (const double* d = std::get_if<double>(&entry->value)) {
    PutHead(&payload, RecordOp::kNumber, entry->expires_ms, key);
    PutU64(&payload, std::bit_cast<std::uint64_t>(*d));
  } else if (const std::string* s = std::get_if<std::string>(&entry->value)) {
    PutHead(&payload, RecordOp::kString, entry->expires_ms, key);
    PutU32(&payload, static_cast<std::uint32_t>(s->size()));
    payload.append(*s);
  } else {
    PutHead(&payload, RecordOp::kBool, entry->expires_ms, key);
    payload.push_back(std::get<bool>(entry->value) ? '\1' : '\0');
  }
  Frame(out, payload);
}

void AppendEndRecord(std::string* out, std::uint64_t count) {
  std::string payload;
  PutHead(&payload, RecordOp::kEnd, 0, "");
  PutU64(&payload, count);
  Frame(out, payload);
}

std::optional<Record> DecodePayload(std::string_view p) {
  if (p.size() < 13) return std::nullopt;
  Record r;
  const auto op = static_cast<std::uint8_t>(p[0]);
  if (op < 1 || op > 5) return std::nullopt;
  r.op = static_cast<RecordOp>(op);
  r.entry.expires_ms = static_cast<std::int64_t>(LoadU64(p.data() + 1));
  const std::uint32_t key_len = LoadU32(p.data() + 9);
  if (key_len > StateStore::kMaxKeyBytes || key_len > p.size() - 13) return std::nullopt;
  r.key.assign(p.data() + 13, key_len);
  std::string_view rest = p.substr(13 + key_len);
  switch (r.op) {
    case RecordOp::kNumber:
      if (rest.size() != 8) return std::nullopt;
      r.entry.value = std::bit_cast<double>(LoadU64(rest.data()));
      break;
    case RecordOp::kString: {
      if (rest.size() < 4) return std::nullopt;
      const std::uint32_t len = LoadU32(rest.data());
      if (len > StateStore::kMaxValueBytes || rest.size() != 4 + std::size_t{len}) return std::nullopt;
      r.entry.value = std::string(rest.substr(4));
      break;
    }
    case RecordOp::kBool:
      if (rest.size() != 1 || static_cast<unsigned char>(rest[0]) > 1) return std::nullopt;
      r.entry.value = rest[0] == '\1';
      break;
    case RecordOp::kErase:
      if (!rest.empty()) return std::nullopt;
      break;
    case RecordOp::kEnd:
      if (rest.size() != 8 || key_len != 0) return std::nullopt;
      r.count = LoadU64(rest.data());
      break;
  }
  return r;
}

}  // namespace toolgate::state
