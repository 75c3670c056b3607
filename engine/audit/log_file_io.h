// Small, careful file I/O for the decision log: complete writes, tail reads
// for resuming a chain, directory syncs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::audit {

// fsync of the directory holding path, so a created file's name is durable.
int SyncParentDir(const std::string& path);

struct FileTail {
  std::uint64_t size = 0;           // bytes in the file
  std::uint64_t complete_size = 0;  // bytes up to and including the last '\n'
  std::string last_line;            // the last complete line, without '\n' ("" when none)
  std::string first_line;           // the first complete line, without '\n'
};

// Reads what resuming needs without reading the whole file. Lines longer than
// max_line_bytes are an error (nullopt with errno_out set to EFBIG).
std::optional<FileTail> ReadFileTail(const std::string& path, int* errno_out,
                                     std::uint64_t max_line_bytes = 64u << 20);

// A read-only mapping of a whole file (empty files map to an empty view).
class MappedFile {
 public:
  static std::optional<MappedFile> Open(const std::string& path, int* errno_out);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  ~MappedFile();
  std::string_view bytes() const { return {data_, size_}; }

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  void* map_ = nullptr;
};

// Log files named by the user: files as given, directories expanded to the
// *.jsonl files inside (not recursive). Sorted by name within a directory.
std::vector<std::string> ExpandLogPaths(const std::vector<std::string>& paths, std::string* error);

// Reads a whole file. nullopt with errno_out on failure.
std::optional<std::string> ReadWholeFile(const std::string& path, int* errno_out);

}  // namespace toolgate::audit
