#include "auditlog/follower.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "auditlog/state_file.h"
#include "core/bytes.h"
#include "core/sha256.h"

namespace moat::auditlog {
namespace {

// Enough bytes before the offset to tell a file from another: the end of the last event, whose
// timestamps and auditID differ from one event to the next. Only their hash is kept on disk, so
// the position file holds nothing of the log.
constexpr size_t kTailBytes = 128;
constexpr size_t kReadChunk = 1 << 20;

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// The bytes just before an offset, as a length and a SHA-256.
struct TailMark {
  size_t length = 0;
  std::string sha256;
  static TailMark Of(std::string_view bytes) { return {bytes.size(), Sha256Hex(AsBytes(bytes))}; }
};

namespace {

// Keeps the last kTailBytes of everything consumed so far.
void AppendTail(std::string& tail, std::string_view consumed) {
  if (consumed.size() >= kTailBytes) {
    tail.assign(consumed.substr(consumed.size() - kTailBytes));
    return;
  }
  tail.append(consumed);
  if (tail.size() > kTailBytes) tail.erase(0, tail.size() - kTailBytes);
}

}  // namespace

struct LogFollower::OpenFile {
  int fd = -1;
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t offset = 0;    // just after the last line given out
  std::string partial;    // bytes read after `offset`, not yet a whole line
  std::string tail;       // the bytes just before `offset`
  uint64_t line = 0;      // number of the next line, 0 when not counted from the start
  bool skipping = false;  // inside an oversized line, up to its newline
  std::string where;

  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
  uint64_t Size() const {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }
  // Whether the file holds the bytes `expected` stands for just before `at`.
  bool HoldsTailAt(uint64_t at, const TailMark& expected) const {
    if (expected.length > at || Size() < at) return false;
    std::string bytes(expected.length, '\0');
    const ssize_t n = ::pread(fd, bytes.data(), bytes.size(), at - expected.length);
    return n == static_cast<ssize_t>(bytes.size()) && Sha256Hex(AsBytes(bytes)) == expected.sha256;
  }
  // The bytes before `at`, once the file is known to hold the mark there.
  std::string TailBefore(uint64_t at, size_t length) const {
    std::string bytes(length, '\0');
    const ssize_t n = ::pread(fd, bytes.data(), bytes.size(), at - length);
    bytes.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return bytes;
  }
  void SeekTo(uint64_t at, std::string known_tail) {
    offset = at;
    partial.clear();
    tail = std::move(known_tail);
    line = at == 0 ? 1 : 0;
    skipping = false;
  }
};

std::unique_ptr<LogFollower::OpenFile> LogFollower::OpenPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return nullptr;
  }
  auto file = std::make_unique<LogFollower::OpenFile>();
  file->fd = fd;
  file->path = path;
  file->device = st.st_dev;
  file->inode = st.st_ino;
  file->line = 1;
  return file;
}

LogFollower::LogFollower(FollowerOptions options) : options_(std::move(options)) {}
LogFollower::~LogFollower() = default;

Result<std::unique_ptr<LogFollower>> LogFollower::Open(FollowerOptions options,
                                                       std::vector<std::string>* notes) {
  if (options.path.empty()) return Fail("audit-log watch: no log file given");
  std::unique_ptr<LogFollower> follower(new LogFollower(std::move(options)));
  MOAT_TRY(follower->Resume(notes));
  return follower;
}

std::unique_ptr<LogFollower::OpenFile> LogFollower::OpenCurrent() const {
  return OpenPath(options_.path);
}

Result<void> LogFollower::Resume(std::vector<std::string>* notes) {
  auto note = [&](std::string text) {
    if (notes) notes->push_back(std::move(text));
  };
  struct Saved {
    uint64_t device = 0, inode = 0, offset = 0;
    TailMark tail;
  };
  std::optional<Saved> saved;
  if (!options_.position_file.empty() && ::access(options_.position_file.c_str(), F_OK) == 0) {
    MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(options_.position_file, 1 << 16));
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    const auto number = [&](const char* key) -> std::optional<uint64_t> {
      auto it = json.is_object() ? json.find(key) : json.end();
      if (it == json.end() || !it->is_number_unsigned()) return std::nullopt;
      return it->get<uint64_t>();
    };
    const bool has_hash =
        json.is_object() && json.value("tail_sha256", nlohmann::json()).is_string();
    if (!has_hash || !number("tail_bytes") || *number("tail_bytes") > kTailBytes ||
        !number("device") || !number("inode") || !number("offset")) {
      note(options_.position_file + ": not a position file of moat audit-log watch; ignored");
    } else {
      saved = Saved{*number("device"), *number("inode"), *number("offset"),
                    TailMark{*number("tail_bytes"), json["tail_sha256"].get<std::string>()}};
    }
  }

  current_ = OpenCurrent();
  if (!saved) {
    if (current_ && options_.start_at_end) {
      const uint64_t size = current_->Size();
      std::string tail(std::min<uint64_t>(size, kTailBytes), '\0');
      if (::pread(current_->fd, tail.data(), tail.size(), size - tail.size()) !=
          static_cast<ssize_t>(tail.size())) {
        return Fail(options_.path, ": cannot read: ", std::strerror(errno));
      }
      current_->SeekTo(size, std::move(tail));
    }
    return Ok();
  }
  if (current_ && current_->device == saved->device && current_->inode == saved->inode &&
      current_->HoldsTailAt(saved->offset, saved->tail)) {
    current_->SeekTo(saved->offset, current_->TailBefore(saved->offset, saved->tail.length));
    return Ok();
  }
  // The file was rotated (or truncated) while we were not running: finish the old one first.
  if (auto old = FindRotated(saved->device, saved->inode, saved->offset, saved->tail)) {
    note("resuming " + old->path + " at offset " + std::to_string(saved->offset) +
         " (rotated since the last run), then " + options_.path);
    pending_.push_back(std::move(old));
  } else if (saved->offset > 0) {
    ++stats_.lost_rotations;
    note(options_.path + ": the file read up to offset " + std::to_string(saved->offset) +
         " was rotated away and is not beside it any more (compressed or deleted): the events "
         "after that offset in it are lost");
  }
  return Ok();
}

std::unique_ptr<LogFollower::OpenFile> LogFollower::FindRotated(uint64_t device, uint64_t inode,
                                                                uint64_t offset,
                                                                const TailMark& tail) const {
  const std::string dir = ParentDirectory(options_.path);
  const std::string base = BaseName(options_.path);
  // Rotated names keep the name's stem: audit.log.1, audit.log-20240501, audit-2024-05-01T...log.
  const std::string stem = base.substr(0, base.find('.'));
  DIR* listing = ::opendir(dir.c_str());
  if (!listing) return nullptr;
  std::vector<std::string> candidates;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (name == base || name.rfind(stem, 0) != 0) continue;
    candidates.push_back(dir + "/" + name);
  }
  ::closedir(listing);
  std::sort(candidates.begin(), candidates.end());
  std::unique_ptr<OpenFile> by_content;
  for (const std::string& candidate : candidates) {
    auto file = OpenPath(candidate);
    if (!file || (current_ && file->device == current_->device && file->inode == current_->inode)) {
      continue;
    }
    if (!file->HoldsTailAt(offset, tail)) continue;
    const bool same_inode = inode != 0 && file->device == device && file->inode == inode;
    file->SeekTo(offset, file->TailBefore(offset, tail.length));
    if (same_inode) return file;
    if (!by_content) by_content = std::move(file);
  }
  return by_content;
}

Result<void> LogFollower::ReadAvailable(OpenFile& file, bool writer_done,
                                        const std::function<void(const FollowedLine&)>& on_line,
                                        size_t& count) {
  auto emit = [&](std::string_view text) {
    if (file.line) {
      file.where = file.path + ":" + std::to_string(file.line);
    } else {
      file.where = file.path + "@" + std::to_string(file.offset);
    }
    on_line(FollowedLine{text, file.where});
    ++count;
    ++stats_.lines;
    stats_.bytes += text.size();
  };
  std::string chunk(kReadChunk, '\0');
  for (;;) {
    const ssize_t n =
        ::pread(file.fd, chunk.data(), chunk.size(), file.offset + file.partial.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(file.path, ": cannot read: ", std::strerror(errno));
    }
    if (n == 0) break;
    // Truncated (and written again past our offset) between the check in Poll and this read:
    // the bytes are the new file's. Drop them; the next Poll sees the truncation.
    if (!writer_done && file.offset > 0 &&
        !file.HoldsTailAt(file.offset, TailMark::Of(file.tail))) {
      break;
    }
    file.partial.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t newline; (newline = file.partial.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      std::string_view text(file.partial.data() + start, newline - start);
      if (file.skipping) {
        file.skipping = false;
      } else if (text.size() > options_.max_line_bytes) {
        ++stats_.oversized_lines;
      } else if (!text.empty()) {
        if (text.back() == '\r') text.remove_suffix(1);
        emit(text);
      }
      const std::string_view consumed(file.partial.data() + start, newline + 1 - start);
      file.offset += consumed.size();
      AppendTail(file.tail, consumed);
      if (file.line) ++file.line;
    }
    file.partial.erase(0, start);
    if (file.partial.size() > options_.max_line_bytes) {
      if (!file.skipping) ++stats_.oversized_lines;
      file.skipping = true;
      file.offset += file.partial.size();
      AppendTail(file.tail, file.partial);
      file.partial.clear();
    }
  }
  if (writer_done && !file.partial.empty()) {
    if (!file.skipping) emit(file.partial);
    file.offset += file.partial.size();
    AppendTail(file.tail, file.partial);
    file.partial.clear();
  }
  return Ok();
}

Result<size_t> LogFollower::Poll(const std::function<void(const FollowedLine&)>& on_line) {
  notes_.clear();
  size_t count = 0;
  if (!current_) current_ = OpenCurrent();
  // Truncated in place (copytruncate), possibly written again past our offset already: what we
  // had not read yet is in the copy beside it.
  if (current_ && current_->offset > 0 &&
      !current_->HoldsTailAt(current_->offset, TailMark::Of(current_->tail))) {
    ++stats_.truncations;
    if (auto copy = FindRotated(0, 0, current_->offset, TailMark::Of(current_->tail))) {
      notes_.push_back(options_.path + ": truncated; reading the rest of its copy " + copy->path);
      pending_.push_back(std::move(copy));
    } else {
      notes_.push_back(options_.path + ": truncated at offset " + std::to_string(current_->offset) +
                       " and no copy holds what followed; reading it from the start");
    }
    current_->SeekTo(0, "");
  }
  for (auto& old : pending_) {
    const uint64_t lines_before = stats_.lines;
    MOAT_TRY(ReadAvailable(*old, /*writer_done=*/true, on_line, count));
    stats_.recovered_lines += stats_.lines - lines_before;
  }
  pending_.clear();
  if (!current_) return count;
  MOAT_TRY(ReadAvailable(*current_, /*writer_done=*/false, on_line, count));
  // Renamed away and replaced: finish the old file (its writer may have added lines after our
  // read and before the rename), then start the new one.
  struct stat st {};
  if (::stat(options_.path.c_str(), &st) == 0 &&
      (static_cast<uint64_t>(st.st_ino) != current_->inode ||
       static_cast<uint64_t>(st.st_dev) != current_->device)) {
    MOAT_TRY(ReadAvailable(*current_, /*writer_done=*/true, on_line, count));
    ++stats_.rotations;
    if (auto next = OpenCurrent()) {
      current_ = std::move(next);
      MOAT_TRY(ReadAvailable(*current_, /*writer_done=*/false, on_line, count));
    }
  }
  return count;
}

Result<void> LogFollower::SavePosition() {
  if (options_.position_file.empty() || !current_) return Ok();
  // Polls that read nothing leave the file alone (each save is two fsyncs).
  if (saved_inode_ == current_->inode && saved_offset_ == current_->offset) return Ok();
  nlohmann::json json = {{"path", options_.path},
                         {"device", current_->device},
                         {"inode", current_->inode},
                         {"offset", current_->offset},
                         {"tail_bytes", current_->tail.size()},
                         {"tail_sha256", Sha256Hex(AsBytes(current_->tail))}};
  MOAT_TRY(WriteStateFile(options_.position_file, json.dump() + "\n"));
  saved_inode_ = current_->inode;
  saved_offset_ = current_->offset;
  return Ok();
}

}  // namespace moat::auditlog
