#include "audit/log_file_io.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace toolgate::audit {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool PreadAll(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

}  // namespace

int SyncParentDir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  Fd d{::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0) return errno;
  return ::fsync(d.fd) == 0 ? 0 : errno;
}

std::optional<FileTail> ReadFileTail(const std::string& path, int* errno_out, std::uint64_t max_line_bytes) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    *errno_out = errno;
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    *errno_out = errno;
    return std::nullopt;
  }
  FileTail tail;
  tail.size = static_cast<std::uint64_t>(st.st_size);
  if (tail.size == 0) return tail;

  // Scan backwards for the last two newlines.
  constexpr std::size_t kChunk = 64 * 1024;
  std::string buf;
  std::optional<std::uint64_t> last_nl, prev_nl;
  std::uint64_t end = tail.size;
  while (end > 0 && !prev_nl) {
    const std::uint64_t start = end > kChunk ? end - kChunk : 0;
    buf.resize(static_cast<std::size_t>(end - start));
    if (!PreadAll(f.fd, buf.data(), buf.size(), start)) {
      *errno_out = EIO;
      return std::nullopt;
    }
    for (std::size_t i = buf.size(); i-- > 0;) {
      if (buf[i] != '\n') continue;
      if (!last_nl) {
        last_nl = start + i;
      } else {
        prev_nl = start + i;
        break;
      }
    }
    end = start;
    if (!prev_nl && tail.size - end > 2 * max_line_bytes + kChunk) {
      *errno_out = EFBIG;  // a torn tail or a last line longer than any record can be
      return std::nullopt;
    }
  }
  if (!last_nl) return tail;  // no complete line at all: everything is torn
  tail.complete_size = *last_nl + 1;
  const std::uint64_t line_start = prev_nl ? *prev_nl + 1 : 0;
  if (*last_nl - line_start > max_line_bytes) {
    *errno_out = EFBIG;
    return std::nullopt;
  }
  tail.last_line.resize(static_cast<std::size_t>(*last_nl - line_start));
  if (!PreadAll(f.fd, tail.last_line.data(), tail.last_line.size(), line_start)) {
    *errno_out = EIO;
    return std::nullopt;
  }
  // The first line: read forward until its newline.
  std::string first;
  std::uint64_t off = 0;
  while (off < tail.complete_size) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, tail.complete_size - off));
    const std::size_t old = first.size();
    first.resize(old + n);
    if (!PreadAll(f.fd, first.data() + old, n, off)) {
      *errno_out = EIO;
      return std::nullopt;
    }
    const std::size_t nl = first.find('\n', old);
    if (nl != std::string::npos) {
      first.resize(nl);
      break;
    }
    off += n;
    if (first.size() > max_line_bytes) {
      *errno_out = EFBIG;
      return std::nullopt;
    }
  }
  tail.first_line = std::move(first);
  return tail;
}

std::optional<MappedFile> MappedFile::Open(const std::string& path, int* errno_out) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    *errno_out = errno;
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    *errno_out = errno;
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *errno_out = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return std::nullopt;
  }
  MappedFile m;
  if (st.st_size == 0) return m;
  void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (p == MAP_FAILED) {
    *errno_out = errno;
    return std::nullopt;
  }
  ::madvise(p, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
  m.map_ = p;
  m.data_ = static_cast<const char*>(p);
  m.size_ = static_cast<std::size_t>(st.st_size);
  return m;
}

MappedFile::MappedFile(MappedFile&& other) noexcept : data_(other.data_), size_(other.size_), map_(other.map_) {
  other.map_ = nullptr;
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(size_, other.size_);
  std::swap(map_, other.map_);
  return *this;
}

MappedFile::~MappedFile() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

std::vector<std::string> ExpandLogPaths(const std::vector<std::string>& paths, std::string* error) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> inside;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.is_regular_file(ec) && e.path().extension() == ".jsonl") inside.push_back(e.path().string());
      }
      if (ec) {
        *error = p + ": cannot list directory: " + ec.message();
        return {};
      }
      std::sort(inside.begin(), inside.end());
      out.insert(out.end(), inside.begin(), inside.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      *error = p + ": no such file";
      return {};
    }
  }
  return out;
}

std::optional<std::string> ReadWholeFile(const std::string& path, int* errno_out) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    *errno_out = errno;
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    *errno_out = errno;
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    *errno_out = EISDIR;
    return std::nullopt;
  }
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (true) {
    if (got == out.size()) out.resize(out.size() + 65536);  // the file may have grown
    const ssize_t r = ::read(f.fd, out.data() + got, out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *errno_out = errno;
      return std::nullopt;
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

}  // namespace toolgate::audit
