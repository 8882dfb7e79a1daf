#include "core/bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <streambuf>
#include <vector>

namespace moat {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

/// A stream buffer that hands large chunks to a stdio FILE (which the caller opens and closes).
class FileStreamBuffer : public std::streambuf {
 public:
  explicit FileStreamBuffer(std::FILE* file) : file_(file), buffer_(1 << 16) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }

 protected:
  int_type overflow(int_type ch) override {
    if (!Drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return Drain() && std::fflush(file_) == 0 ? 0 : -1; }

 private:
  bool Drain() {
    const size_t size = static_cast<size_t>(pptr() - pbase());
    const bool ok = size == 0 || std::fwrite(pbase(), 1, size, file_) == size;
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return ok;
  }

  std::FILE* file_;
  std::vector<char> buffer_;
};

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> ReadFileToString(const std::string& path, uint64_t max_bytes) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Fail(path, ": ", ErrnoText());
  std::string out;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(path, ": read: ", ErrnoText());
    }
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > max_bytes) {
      return Fail(path, ": larger than the limit of ", std::to_string(max_bytes), " bytes");
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

Result<void> StreamFileToSink(const std::string& path, ByteSink& sink, uint64_t offset,
                              uint64_t length) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Fail(path, ": ", ErrnoText());
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t remaining = length;
  uint64_t position = offset;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), remaining));
    ssize_t n = ::pread(fd.get(), buffer.data(), want, static_cast<off_t>(position));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(path, ": read at offset ", std::to_string(position), ": ", ErrnoText());
    }
    if (n == 0) {
      if (length != UINT64_MAX) {
        return Fail(path, ": unexpected end of file at offset ", std::to_string(position));
      }
      break;
    }
    MOAT_TRY(sink.Write(ByteSpan(buffer.data(), static_cast<size_t>(n))));
    position += static_cast<uint64_t>(n);
    if (remaining != UINT64_MAX) remaining -= static_cast<uint64_t>(n);
  }
  return sink.Close();
}

Result<void> WriteOutput(const std::string& path, std::string_view text) {
  if (path.empty() || path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
      return Fail("stdout: write failed: ", ErrnoText());
    }
    return Ok();
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return Fail(path, ": ", ErrnoText());
  bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) return Fail(path, ": write failed: ", ErrnoText());
  return Ok();
}

Result<void> WriteOutputStream(const std::string& path,
                               const std::function<Result<void>(std::ostream&)>& write) {
  const bool to_stdout = path.empty() || path == "-";
  std::FILE* file = to_stdout ? stdout : std::fopen(path.c_str(), "wb");
  if (!file) return Fail(path, ": ", ErrnoText());
  Result<void> written = Ok();
  bool ok = false;
  {
    FileStreamBuffer buffer(file);
    std::ostream out(&buffer);
    written = write(out);
    ok = out.flush().good();
  }
  if (!to_stdout) ok = (std::fclose(file) == 0) && ok;
  if (!written.ok()) return written;
  if (!ok) return Fail(to_stdout ? "stdout" : path, ": write failed: ", ErrnoText());
  return Ok();
}

}  // namespace moat
