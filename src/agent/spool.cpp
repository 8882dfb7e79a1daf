#include "agent/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/bytes.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/text_format.h"

namespace moat::agent {
namespace {

constexpr size_t kHeaderSize = 4 + 8 + 8 + 1 + 8;
constexpr size_t kChecksumSize = 8;
// A record larger than this is damage, not a message (host reports are well under it).
constexpr uint32_t kMaxPayload = 64u << 20;
// About the size of a dropped record (header and JSON), for the cap's arithmetic.
constexpr size_t kDroppedRecordBytes = 150;
constexpr const char* kSegmentPrefix = "seg-";
constexpr const char* kSegmentSuffix = ".spool";

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

void PutLe(std::string& out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
uint64_t GetLe(const char* data, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(data[i])) << (8 * i);
  }
  return value;
}

std::string Checksum(std::string_view header_without_checksum, std::string_view payload) {
  Sha256 hash;
  hash.Update(AsBytes(header_without_checksum));
  hash.Update(AsBytes(payload));
  std::string hex = hash.HexDigest();
  std::string raw;
  for (size_t i = 0; i < kChecksumSize; ++i) {
    raw.push_back(static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
  }
  return raw;
}

std::string EncodeRecord(uint64_t seq, uint64_t through, MessageKind kind,
                         std::string_view payload) {
  std::string record;
  record.reserve(kHeaderSize + payload.size());
  PutLe(record, payload.size(), 4);
  PutLe(record, seq, 8);
  PutLe(record, through, 8);
  record.push_back(static_cast<char>(kind));
  record += Checksum(record, payload);
  record += payload;
  return record;
}

bool ValidKind(uint8_t kind) { return kind >= 1 && kind <= 6; }

std::string SegmentName(uint64_t first_seq) {
  char name[64];
  std::snprintf(name, sizeof name, "%s%020llu%s", kSegmentPrefix,
                static_cast<unsigned long long>(first_seq), kSegmentSuffix);
  return name;
}

Result<void> FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Fail(Errno("cannot open", path));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Fail(Errno("cannot fsync", path));
  return Ok();
}

Result<void> WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(Errno("cannot write", path));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

std::string DroppedPayload(uint64_t heartbeats, uint64_t messages, std::string_view reason) {
  nlohmann::json message = {
      {"type", "dropped"},
      {"time", NowRfc3339Utc()},
      {"body",
       {{"heartbeats", heartbeats}, {"messages", messages}, {"reason", std::string(reason)}}}};
  return message.dump();
}

}  // namespace

Result<void> ReplaceFileDurably(const std::string& dir, const std::string& path,
                                std::string_view data) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(Errno("cannot create", temporary));
  Result<void> written = WriteAll(fd, data, temporary);
  if (written.ok() && ::fsync(fd) != 0) written = Fail(Errno("cannot fsync", temporary));
  ::close(fd);
  if (written.ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
    written = Fail(Errno("cannot rename over", path));
  }
  if (!written.ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  return FsyncPath(dir, O_RDONLY | O_DIRECTORY);
}

std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kHeartbeat:
      return "heartbeat";
    case MessageKind::kHostReport:
      return "host_report";
    case MessageKind::kAlerts:
      return "alerts";
    case MessageKind::kDropped:
      return "dropped";
    case MessageKind::kClusterReport:
      return "cluster_report";
    case MessageKind::kInUse:
      return "in_use";
  }
  return "unknown";
}

Result<std::unique_ptr<Spool>> Spool::Open(const std::string& dir, SpoolOptions options,
                                           std::vector<std::string>* notes) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(Errno("cannot create the spool directory", dir));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail("spool ", dir, ": not a directory");
  }
  std::unique_ptr<Spool> spool(new Spool(dir, options));
  MOAT_TRY(spool->Load(notes));
  return spool;
}

Spool::~Spool() {
  if (active_fd_ >= 0) ::close(active_fd_);
}

Result<void> Spool::Load(std::vector<std::string>* notes) {
  auto note = [&](const std::string& text) {
    if (notes != nullptr) notes->push_back(text);
  };
  std::string acked_path = dir_ + "/acked";
  if (::access(acked_path.c_str(), F_OK) == 0) {
    MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(acked_path, 64));
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || end == text.c_str() || (*end != '\n' && *end != '\0')) {
      return Fail("spool ", acked_path, ": not a sequence number: \"", text.substr(0, 40), "\"");
    }
    acked_ = value;
  }

  std::vector<std::string> names;
  DIR* listing = ::opendir(dir_.c_str());
  if (listing == nullptr) return Fail(Errno("cannot list", dir_));
  while (dirent* item = ::readdir(listing)) {
    std::string name = item->d_name;
    if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
      ::unlink((dir_ + "/" + name).c_str());  // an interrupted rewrite: the original is intact
    } else if (name.rfind(kSegmentPrefix, 0) == 0 && name.size() > 10 &&
               name.substr(name.size() - 6) == kSegmentSuffix) {
      names.push_back(name);
    }
  }
  ::closedir(listing);
  std::sort(names.begin(), names.end());  // zero-padded first seq: name order is seq order

  for (size_t index = 0; index < names.size(); ++index) {
    Segment segment;
    segment.path = dir_ + "/" + names[index];
    MOAT_ASSIGN_OR_RETURN(std::string data, ReadFileToString(segment.path, 1ull << 40));
    uint64_t offset = 0;
    std::string damage;
    uint64_t expected_seq = 0;  // within a segment; holes between segments are sent as dropped
    while (offset < data.size()) {
      if (data.size() - offset < kHeaderSize) {
        damage = "a record header is cut short";
        break;
      }
      const char* header = data.data() + offset;
      uint32_t length = static_cast<uint32_t>(GetLe(header, 4));
      uint64_t seq = GetLe(header + 4, 8);
      uint64_t through = GetLe(header + 12, 8);
      uint8_t kind = static_cast<uint8_t>(header[20]);
      if (length > kMaxPayload || data.size() - offset - kHeaderSize < length) {
        damage = "a record is cut short (length " + std::to_string(length) + ")";
        break;
      }
      std::string_view payload(header + kHeaderSize, length);
      if (Checksum(std::string_view(header, kHeaderSize - kChecksumSize), payload) !=
          std::string_view(header + kHeaderSize - kChecksumSize, kChecksumSize)) {
        damage = "a record's checksum does not match";
        break;
      }
      if (!ValidKind(kind) || through < seq || (expected_seq != 0 && seq != expected_seq)) {
        damage =
            "a record's sequence number or kind is out of place (seq " + std::to_string(seq) + ")";
        break;
      }
      segment.entries.push_back(
          {seq, through, static_cast<MessageKind>(kind), offset, kHeaderSize + length});
      expected_seq = through + 1;
      offset += kHeaderSize + length;
    }
    segment.size = offset;
    bool last = index + 1 == names.size();
    if (!damage.empty()) {
      std::string kept =
          segment.entries.empty()
              ? "no message before it"
              : "messages through seq " + std::to_string(segment.entries.back().through) + " kept";
      note("spool " + segment.path + ": " + damage + " at offset " + std::to_string(offset) +
           " (a crash during a write, or a damaged disk); " + std::to_string(data.size() - offset) +
           " bytes cut off, " + kept);
      ++losses_.corrupt_records;
      if (::truncate(segment.path.c_str(), static_cast<off_t>(offset)) != 0) {
        return Fail(Errno("cannot truncate", segment.path));
      }
      MOAT_TRY(FsyncPath(segment.path, O_RDONLY));
    }
    if (segment.entries.empty()) {
      ::unlink(segment.path.c_str());
      continue;
    }
    segments_.push_back(std::move(segment));
    if (!damage.empty() && !last) {
      // Later segments continue the stream; ReadFrom sends the hole as a dropped range.
      uint64_t next_first = std::strtoull(names[index + 1].c_str() + 4, nullptr, 10);
      uint64_t from = segments_.back().entries.back().through + 1;
      if (next_first > from) losses_.messages += next_first - from;
    }
  }
  for (const Segment& segment : segments_) bytes_ += segment.size;
  MOAT_TRY(RemoveAckedSegments());
  return OpenActive();
}

Result<void> Spool::OpenActive() {
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = -1;
  if (segments_.empty()) return Ok();
  const std::string& path = segments_.back().path;
  active_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (active_fd_ < 0) return Fail(Errno("cannot open", path));
  return Ok();
}

uint64_t Spool::LastSeqLocked() const {
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    if (!it->entries.empty()) return std::max(acked_, it->entries.back().through);
  }
  return acked_;
}

Result<uint64_t> Spool::Append(MessageKind kind, std::string_view time,
                               std::string_view body_json) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t seq = LastSeqLocked() + 1;
  std::string payload = "{\"type\":\"" + std::string(MessageKindName(kind)) +
                        "\",\"time\":" + nlohmann::json(std::string(time)).dump() + ",\"body\":";
  payload += body_json;
  payload += "}";
  if (payload.size() > kMaxPayload) {
    return Fail("spool ", dir_, ": a ", MessageKindName(kind), " message of ",
                std::to_string(payload.size()), " bytes is over the limit of ",
                std::to_string(kMaxPayload));
  }
  std::string record = EncodeRecord(seq, seq, kind, payload);
  if (segments_.empty() || segments_.back().size >= options_.segment_bytes) {
    Segment segment;
    segment.path = dir_ + "/" + SegmentName(seq);
    int fd = ::open(segment.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Fail(Errno("cannot create", segment.path));
    ::close(fd);
    MOAT_TRY(FsyncPath(dir_, O_RDONLY | O_DIRECTORY));
    segments_.push_back(std::move(segment));
    MOAT_TRY(OpenActive());
  }
  Segment& segment = segments_.back();
  Result<void> written = WriteAll(active_fd_, record, segment.path);
  if (written.ok() && ::fdatasync(active_fd_) != 0) {
    written = Fail(Errno("cannot fsync", segment.path));
  }
  if (!written.ok()) {
    // Leave no partial record behind for the next append to follow.
    if (::ftruncate(active_fd_, static_cast<off_t>(segment.size)) != 0) {
      log::Warn(Errno("cannot truncate", segment.path));
    }
    return written.error();
  }
  segment.entries.push_back({seq, seq, kind, segment.size, record.size()});
  segment.size += record.size();
  bytes_ += record.size();
  if (bytes_ > options_.max_bytes) MOAT_TRY(EnforceCap());
  return seq;
}

Result<Spool::Record> Spool::ReadRecord(const Segment& segment, const Entry& entry) const {
  int fd = ::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(Errno("cannot open", segment.path));
  std::string data(entry.size, '\0');
  ssize_t n = ::pread(fd, data.data(), data.size(), static_cast<off_t>(entry.offset));
  ::close(fd);
  if (n != static_cast<ssize_t>(data.size())) {
    return Fail("spool ", segment.path, ": cannot read the record of seq ",
                std::to_string(entry.seq), " at offset ", std::to_string(entry.offset));
  }
  std::string_view payload = std::string_view(data).substr(kHeaderSize);
  if (Checksum(std::string_view(data).substr(0, kHeaderSize - kChecksumSize), payload) !=
      std::string_view(data).substr(kHeaderSize - kChecksumSize, kChecksumSize)) {
    return Fail("spool ", segment.path, ": the record of seq ", std::to_string(entry.seq),
                " changed on disk (checksum mismatch)");
  }
  return Record{entry.seq, entry.through, entry.kind, std::string(payload)};
}

Result<std::vector<SpooledMessage>> Spool::ReadFrom(uint64_t seq, size_t max_messages,
                                                    size_t max_bytes) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SpooledMessage> messages;
  size_t total = 0;
  auto add = [&](uint64_t first, uint64_t through, MessageKind kind, std::string_view payload) {
    SpooledMessage message{first, through, kind, "{\"seq\":" + std::to_string(first) + ","};
    if (through != first) message.json += "\"through\":" + std::to_string(through) + ",";
    message.json += payload.substr(1);
    total += message.json.size();
    messages.push_back(std::move(message));
  };
  if (seq == 0) seq = 1;
  // Sequence numbers not held (acknowledged and deleted, or lost to a damaged segment) go as one
  // dropped range, so that the server's stream stays gap-free.
  uint64_t expected = seq;
  auto add_hole = [&](uint64_t through) {
    if (through < expected) return;
    add(expected, through, MessageKind::kDropped,
        DroppedPayload(0, through - expected + 1,
                       expected <= acked_ ? "acknowledged before and deleted from the spool"
                                          : "missing from the spool (damaged segment)"));
  };
  auto full = [&] {
    return messages.size() >= max_messages || (!messages.empty() && total >= max_bytes);
  };
  for (const Segment& segment : segments_) {
    for (const Entry& entry : segment.entries) {
      if (entry.through < seq) continue;
      if (full()) return messages;
      if (entry.seq > expected) {
        add_hole(entry.seq - 1);
        if (full()) return messages;
      }
      MOAT_ASSIGN_OR_RETURN(Record record, ReadRecord(segment, entry));
      add(record.seq, record.through, record.kind, record.payload);
      expected = record.through + 1;
    }
  }
  if (!full()) add_hole(LastSeqLocked());
  return messages;
}

Result<void> Spool::WriteAcked(uint64_t seq) {
  return ReplaceFileDurably(dir_, dir_ + "/acked", std::to_string(seq) + "\n");
}

Result<void> Spool::Acknowledge(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (seq <= acked_) return Ok();
  MOAT_TRY(WriteAcked(seq));
  acked_ = seq;
  return RemoveAckedSegments();
}

Result<void> Spool::RemoveAckedSegments() {
  size_t removed = 0;
  while (removed < segments_.size()) {
    const Segment& segment = segments_[removed];
    if (!segment.entries.empty() && segment.entries.back().through > acked_) break;
    ++removed;
  }
  if (removed == 0) return Ok();
  if (removed == segments_.size() && active_fd_ >= 0) {
    ::close(active_fd_);
    active_fd_ = -1;
  }
  for (size_t i = 0; i < removed; ++i) {
    if (::unlink(segments_[i].path.c_str()) != 0 && errno != ENOENT) {
      return Fail(Errno("cannot delete", segments_[i].path));
    }
    bytes_ -= segments_[i].size;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
  return FsyncPath(dir_, O_RDONLY | O_DIRECTORY);
}

Result<void> Spool::RewriteSegment(size_t index, const std::vector<Record>& records,
                                   const std::string& new_path) {
  Segment& segment = segments_[index];
  std::string data;
  Segment rewritten;
  rewritten.path = new_path;
  for (const Record& record : records) {
    std::string encoded = EncodeRecord(record.seq, record.through, record.kind, record.payload);
    rewritten.entries.push_back(
        {record.seq, record.through, record.kind, data.size(), encoded.size()});
    data += encoded;
  }
  rewritten.size = data.size();
  MOAT_TRY(ReplaceFileDurably(dir_, new_path, data));
  if (new_path != segment.path && ::unlink(segment.path.c_str()) != 0) {
    return Fail(Errno("cannot delete", segment.path));
  }
  bytes_ = bytes_ - segment.size + rewritten.size;
  segment = std::move(rewritten);
  if (index + 1 == segments_.size()) MOAT_TRY(OpenActive());
  return Ok();
}

Result<void> Spool::EnforceCap() {
  const uint64_t target = options_.max_bytes / 10 * 9;
  // Which unsent records to drop: heartbeats first, then the oldest messages; never the newest
  // record (the one just appended) nor an existing dropped range. Each run of dropped records
  // costs one dropped record, so a lone heartbeat is only dropped with the messages around it.
  struct Mark {
    size_t segment, entry;
  };
  std::vector<Mark> marks;
  std::set<std::pair<size_t, size_t>> marked;
  int64_t projected = static_cast<int64_t>(bytes_);
  const int64_t wanted = static_cast<int64_t>(target);
  const Entry* newest = &segments_.back().entries.back();
  auto droppable = [&](size_t s, size_t e) {
    if (e >= segments_[s].entries.size() || marked.count({s, e}) > 0) return false;
    const Entry& entry = segments_[s].entries[e];
    return &entry != newest && entry.through > acked_ && entry.kind != MessageKind::kDropped;
  };
  auto is_heartbeat = [&](size_t s, size_t e) {
    return droppable(s, e) && segments_[s].entries[e].kind == MessageKind::kHeartbeat;
  };
  for (int pass = 0; pass < 2 && projected > wanted; ++pass) {
    for (size_t s = 0; s < segments_.size() && projected > wanted; ++s) {
      for (size_t e = 0; e < segments_[s].entries.size() && projected > wanted; ++e) {
        if (!droppable(s, e)) continue;
        if (pass == 0) {
          bool in_run = marked.count({s, e - 1}) > 0 || (e > 0 && is_heartbeat(s, e - 1)) ||
                        is_heartbeat(s, e + 1);
          if (!is_heartbeat(s, e) || !in_run) continue;
        }
        bool starts_run = e == 0 || marked.count({s, e - 1}) == 0;
        projected -= static_cast<int64_t>(segments_[s].entries[e].size) -
                     (starts_run ? static_cast<int64_t>(kDroppedRecordBytes) : 0);
        marks.push_back({s, e});
        marked.insert({s, e});
      }
    }
  }
  if (marks.empty()) return Ok();
  std::sort(marks.begin(), marks.end(), [](const Mark& a, const Mark& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.entry < b.entry;
  });
  uint64_t heartbeats = 0, messages = 0, first_lost = 0, last_lost = 0;
  size_t next_mark = 0;
  while (next_mark < marks.size()) {
    size_t s = marks[next_mark].segment;
    std::vector<Record> records;
    // Consecutive marked records of one segment collapse into one dropped record.
    uint64_t run_first = 0, run_through = 0, run_heartbeats = 0, run_messages = 0;
    auto flush_run = [&] {
      if (run_first == 0) return;
      records.push_back(
          {run_first, run_through, MessageKind::kDropped,
           DroppedPayload(run_heartbeats, run_messages, "the spool was over its size cap")});
      run_first = run_heartbeats = run_messages = 0;
    };
    for (size_t e = 0; e < segments_[s].entries.size(); ++e) {
      const Entry& entry = segments_[s].entries[e];
      bool marked =
          next_mark < marks.size() && marks[next_mark].segment == s && marks[next_mark].entry == e;
      if (marked) {
        ++next_mark;
        if (run_first == 0) run_first = entry.seq;
        run_through = entry.through;
        (entry.kind == MessageKind::kHeartbeat ? run_heartbeats : run_messages) += 1;
        (entry.kind == MessageKind::kHeartbeat ? heartbeats : messages) += 1;
        if (first_lost == 0) first_lost = entry.seq;
        last_lost = entry.through;
        continue;
      }
      flush_run();
      MOAT_ASSIGN_OR_RETURN(Record record, ReadRecord(segments_[s], entry));
      records.push_back(std::move(record));
    }
    flush_run();
    MOAT_TRY(RewriteSegment(s, records, segments_[s].path));
  }
  losses_.heartbeats += heartbeats;
  losses_.messages += messages;
  log::Warn("spool " + dir_ + ": over its cap of " + std::to_string(options_.max_bytes) +
            " bytes (the server has been unreachable for a while): dropped " +
            std::to_string(heartbeats) + " unsent heartbeats and " + std::to_string(messages) +
            " unsent messages between seq " + std::to_string(first_lost) + " and " +
            std::to_string(last_lost) + "; the server is told of the loss");
  return Ok();
}

Result<void> Spool::Rebase(uint64_t server_acked) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t last = LastSeqLocked();
  if (server_acked <= last) return Ok();
  uint64_t shift = server_acked - acked_;
  for (size_t s = 0; s < segments_.size(); ++s) {
    std::vector<Record> records;
    for (const Entry& entry : segments_[s].entries) {
      if (entry.through <= acked_) continue;  // acknowledged: not needed any more
      MOAT_ASSIGN_OR_RETURN(Record record, ReadRecord(segments_[s], entry));
      record.seq += shift;
      record.through += shift;
      records.push_back(std::move(record));
    }
    if (records.empty()) continue;
    MOAT_TRY(RewriteSegment(s, records, dir_ + "/" + SegmentName(records.front().seq)));
  }
  MOAT_TRY(WriteAcked(server_acked));
  log::Warn("spool " + dir_ + ": the server has acknowledged seq " + std::to_string(server_acked) +
            ", beyond this spool's last seq " + std::to_string(last) +
            " (a new spool, or another agent with this name): unsent messages renumbered from " +
            std::to_string(server_acked + 1));
  acked_ = server_acked;
  return RemoveAckedSegments();
}

uint64_t Spool::acked_through() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return acked_;
}

uint64_t Spool::last_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return LastSeqLocked();
}

size_t Spool::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t count = 0;
  for (const Segment& segment : segments_) {
    for (const Entry& entry : segment.entries) count += entry.through > acked_ ? 1 : 0;
  }
  return count;
}

uint64_t Spool::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

SpoolLosses Spool::losses() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return losses_;
}

}  // namespace moat::agent
