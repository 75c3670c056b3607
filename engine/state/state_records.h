// The byte format of the state store's files (include/toolgate/state_store.h).
//
//   file    = header record*
//   header  = magic[8] ("TGSJRNL1" journal, "TGSSNAP1" snapshot) generation:u64
//   record  = length:u32 crc32c(payload):u32 payload[length]
//   payload = op:u8 expires_ms:i64 key_len:u32 key value
//     op 1 number: value = IEEE-754 bits:u64
//     op 2 string: value = len:u32 bytes
//     op 3 bool:   value = u8 (0 or 1)
//     op 4 erase:  no value
//     op 5 end:    key empty, value = entry count:u64 (the snapshot's last record)
// All integers little-endian. A journal record holds the entry's value after
// the update, so replay is last-write-wins and needs no arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "toolgate/state_store.h"

namespace toolgate::state {

inline constexpr std::string_view kJournalMagic = "TGSJRNL1";
inline constexpr std::string_view kSnapshotMagic = "TGSSNAP1";
inline constexpr std::size_t kHeaderBytes = 16;
inline constexpr std::size_t kFrameBytes = 8;  // length + crc
// Largest payload a valid record can have (a 4 KiB key and a 4 KiB value).
inline constexpr std::size_t kMaxPayloadBytes = 1 + 8 + 4 + StateStore::kMaxKeyBytes + 4 + StateStore::kMaxValueBytes;

enum class RecordOp : std::uint8_t { kNumber = 1, kString = 2, kBool = 3, kErase = 4, kEnd = 5 };

std::uint32_t Crc32c(std::string_view bytes);

std::string EncodeHeader(std::string_view magic, std::uint64_t generation);
// Appends one framed record; entry null = an erase.
void AppendRecord(std::string* out, std::string_view key, const StateStore::Entry* entry);
void AppendEndRecord(std::string* out, std::uint64_t count);

struct Record {
  RecordOp op = RecordOp::kErase;
  std::string key;
  StateStore::Entry entry;  // for number/string/bool
  std::uint64_t count = 0;  // for end
};

// Reads the records of a file's bytes after its header.
struct RecordScan {
  std::size_t good_end = kHeaderBytes;  // offset just past the last valid record
  // Set when the bytes from good_end on are not a valid record: torn means
  // they look like an append a crash cut short (a record running to or past
  // the end, or only zero bytes); otherwise the file is damaged at good_end.
  bool torn = false;
  std::optional<std::string> damage;  // what is wrong at good_end (not torn)
};

// Calls visit(record) for every valid record in order, stopping at the first
// invalid one (described in the returned scan). visit returns false to stop
// with damage (a record that decodes but makes no sense where it is).
template <typename Visit>
RecordScan ScanRecords(std::string_view file, Visit visit);

// Decodes one payload; nullopt when it is malformed.
std::optional<Record> DecodePayload(std::string_view payload);

// Reads a u32/u64 little-endian at p.
std::uint32_t LoadU32(const char* p);
std::uint64_t LoadU64(const char* p);

template <typename Visit>
RecordScan ScanRecords(std::string_view file, Visit visit) {
  RecordScan scan;
  std::size_t at = kHeaderBytes;
  while (at < file.size()) {
    const std::size_t left = file.size() - at;
    const auto all_zero = [&] { return file.substr(at).find_first_not_of('\0') == std::string_view::npos; };
    if (left < kFrameBytes) {
      scan.torn = true;
      break;
    }
    const std::uint32_t length = LoadU32(file.data() + at);
    const std::uint32_t crc = LoadU32(file.data() + at + 4);
    if (length == 0 || length > kMaxPayloadBytes) {
      if (all_zero()) scan.torn = true;
      else scan.damage = "a record length of " + std::to_string(length) + " bytes is impossible";
      break;
    }
    if (length > left - kFrameBytes) {
      scan.torn = true;  // runs past the end: an append cut short
      break;
    }
    const std::string_view payload = file.substr(at + kFrameBytes, length);
    if (Crc32c(payload) != crc) {
      if (at + kFrameBytes + length == file.size() || all_zero()) scan.torn = true;
      else scan.damage = "a record's checksum does not match its bytes";
      break;
    }
    std::optional<Record> record = DecodePayload(payload);
    if (!record) {
      scan.damage = "a record with a valid checksum does not decode";
      break;
    }
    if (!visit(*record)) {
      scan.damage = "a record is out of place";
      break;
    }
    at += kFrameBytes + length;
    scan.good_end = at;
  }
  return scan;
}

}  // namespace toolgate::state
