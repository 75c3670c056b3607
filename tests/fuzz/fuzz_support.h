// Shared pieces of the fuzz targets (tests/fuzz/*_fuzz.cc): where the source
// tree is, the example policy, a byte reader for inputs that carry more than
// one value, and the check that turns a broken invariant into a crash the
// fuzzer (or the corpus replay test) reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "toolgate/policy.h"

// Every target defines this; libFuzzer calls it once per input, and so does
// the corpus replay main (fuzz_replay_main.cc) when built without libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

// A broken invariant: print where and abort, so libFuzzer saves the input.
#define FUZZ_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace toolgate::fuzz {

// $TOOLGATE_SOURCE_ROOT, else the source tree this target was built from.
std::string SourceRoot();

// rules/examples/default.json, loaded once (aborts when it does not load).
std::shared_ptr<const Policy> ExamplePolicy();

// Silences spdlog (tg.log, the engine's warnings) once per process.
void QuietLogs();

// Reads typed values off the front of an input; past the end every read
// returns zeros / empty, so any input decodes.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::size_t remaining() const { return size_ - pos_; }
  std::uint8_t U8() { return empty() ? 0 : data_[pos_++]; }
  std::uint64_t U64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | U8();
    return v;
  }
  // Up to max_len bytes; the length comes from the input itself.
  std::string_view Bytes(std::size_t max_len) {
    const std::size_t want = max_len == 0 ? 0 : (static_cast<std::size_t>(U8()) << 8 | U8()) % (max_len + 1);
    const std::size_t n = want < remaining() ? want : remaining();
    std::string_view out(reinterpret_cast<const char*>(data_) + pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view Rest() {
    std::string_view out(reinterpret_cast<const char*>(data_) + pos_, remaining());
    pos_ = size_;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace toolgate::fuzz
