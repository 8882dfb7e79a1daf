// Reading feed files: plain or gzip (NVD .json.gz, EPSS .csv.gz) and OSV's all.zip, through
// libarchive so that no archive or compression code of our own handles untrusted bytes.

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <istream>
#include <memory>
#include <sstream>
#include <streambuf>
#include <string>

#include "core/bytes.h"
#include "vulndb/ingest.h"

namespace moat::vulndb {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

std::string ArchiveErrorText(archive* a) {
  const char* text = archive_error_string(a);
  return text ? text : "unknown libarchive error";
}

Result<void> ReadEntry(archive* a, const std::string& place, uint64_t max_bytes, std::string& out) {
  char buffer[1 << 16];
  while (true) {
    la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    if (n < 0) return Fail(place, ": ", ArchiveErrorText(a));
    if (n == 0) return Ok();
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Fail(place, ": larger than ", std::to_string(max_bytes), " bytes");
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

// The data of the archive's current entry as a std::streambuf, 64 KiB at a time.
class ArchiveStreamBuf : public std::streambuf {
 public:
  explicit ArchiveStreamBuf(archive* a) : archive_(a) {}
  const std::string& error() const { return error_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    la_ssize_t n = archive_read_data(archive_, buffer_, sizeof buffer_);
    if (n < 0) error_ = ArchiveErrorText(archive_);
    if (n <= 0) return traits_type::eof();
    setg(buffer_, buffer_, buffer_ + n);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  archive* archive_;
  char buffer_[1 << 16];
  std::string error_;
};

// Records gathered before the builder takes them: big enough to amortize its per-batch work,
// small enough (a few MB of records) not to matter.
constexpr size_t kFlushBatch = 2048;

}  // namespace

Result<void> IngestResult::Flush(bool all) {
  if (!sink) return Ok();
  if (affected.empty() && vulnerabilities.empty()) return Ok();
  if (!all && affected.size() + vulnerabilities.size() < kFlushBatch) return Ok();
  uint64_t handed = affected.size();
  MOAT_TRY(sink(*this));
  affected_handed_over += handed;
  affected.clear();
  vulnerabilities.clear();
  return Ok();
}

Result<void> ReadFeedStream(const std::string& path,
                            const std::function<Result<void>(std::istream&)>& fn) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Fail(path, ": ", std::strerror(errno));
  if (st.st_size == 0) {  // libarchive's raw reader has no entry for an empty file
    std::istringstream empty;
    return fn(empty);
  }
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return Fail(path, ": ", ArchiveErrorText(a.get()));
  }
  archive_entry* entry = nullptr;
  if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    return Fail(path, ": ", ArchiveErrorText(a.get()));
  }
  ArchiveStreamBuf buffer(a.get());
  std::istream in(&buffer);
  auto result = fn(in);
  // A read or decompression error ends the stream early: name it rather than what it cut short.
  if (!buffer.error().empty()) return Fail(path, ": ", buffer.error());
  return result;
}

Result<std::string> ReadFeedFile(const std::string& path, uint64_t max_bytes) {
  auto read = ReadFileToString(path, max_bytes);
  if (!read.ok()) return read;
  const std::string& raw = read.value();
  if (raw.size() < 2 || raw[0] != '\x1f' || raw[1] != '\x8b') return read;
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_memory(a.get(), raw.data(), raw.size()) != ARCHIVE_OK) {
    return Fail(path, ": ", ArchiveErrorText(a.get()));
  }
  archive_entry* entry = nullptr;
  int status = archive_read_next_header(a.get(), &entry);
  if (status == ARCHIVE_EOF) return std::string();
  if (status != ARCHIVE_OK) return Fail(path, ": gzip: ", ArchiveErrorText(a.get()));
  std::string plain;
  MOAT_TRY(ReadEntry(a.get(), path + ": gzip", max_bytes, plain));
  return plain;
}

Result<void> ForEachArchiveJson(
    const std::string& path,
    const std::function<Result<void>(const std::string&, std::string&&)>& fn) {
  ArchivePtr a(archive_read_new());
  archive_read_support_format_zip(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return Fail(path, ": not a zip or tar archive: ", ArchiveErrorText(a.get()));
  }
  archive_entry* entry = nullptr;
  while (true) {
    int status = archive_read_next_header(a.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
      return Fail(path, ": ", ArchiveErrorText(a.get()));
    }
    const char* name_c = archive_entry_pathname(entry);
    std::string name = name_c ? name_c : "";
    if (archive_entry_filetype(entry) != AE_IFREG || !name.ends_with(".json")) continue;
    std::string text;
    MOAT_TRY(ReadEntry(a.get(), path + "!" + name, 256u << 20, text));
    MOAT_TRY(fn(name, std::move(text)));
  }
  return Ok();
}

bool IsArchiveFile(const std::string& path) {
  ArchivePtr a(archive_read_new());
  archive_read_support_format_zip(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) return false;
  archive_entry* entry = nullptr;
  return archive_read_next_header(a.get(), &entry) == ARCHIVE_OK;
}

Result<void> ForEachJsonDocument(
    const std::string& path,
    const std::function<Result<void>(const std::string&, std::string&&)>& fn) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (it->is_regular_file(ec) && (name.ends_with(".json") || name.ends_with(".json.gz"))) {
        files.push_back(it->path().string());
      }
    }
    if (ec) return Fail(path, ": ", ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(file, 1u << 30));
      MOAT_TRY(fn(file, std::move(text)));
    }
    return Ok();
  }
  if (IsArchiveFile(path)) {
    return ForEachArchiveJson(path, [&](const std::string& member, std::string&& text) {
      return fn(path + "!" + member, std::move(text));
    });
  }
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(path, 1u << 30));
  return fn(path, std::move(text));
}

}  // namespace moat::vulndb
