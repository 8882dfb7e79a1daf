#pragma once
// The agent's durable outbox: every message is appended here (fsync'd) before it is sent, and
// stays until the server acknowledges it, so nothing is lost across network outages, server
// restarts or agent restarts (docs/agent.md "Spool").
//
// A directory of append-only segment files "seg-<first seq>.spool" of checksummed records, plus
// "acked" (the highest sequence number the server has acknowledged, replaced atomically). A
// record is a 29-byte header (payload length u32, seq u64, through u64, kind u8, the first 8
// bytes of the SHA-256 of header and payload) and the message as a JSON object without its seq.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::agent {

enum class MessageKind : uint8_t {
  kHeartbeat = 1,
  kHostReport = 2,
  kAlerts = 3,
  /// Stands for messages seq..through that were dropped unsent (spool cap, corrupt records).
  kDropped = 4,
  kClusterReport = 5,
  kInUse = 6,  // the sensor's in-use export (agent/in_use.h)
};

/// The wire name: "heartbeat", "host_report", "alerts", "dropped", "cluster_report", "in_use".
std::string_view MessageKindName(MessageKind kind);

struct SpoolOptions {
  /// Beyond this many bytes on disk the oldest unsent heartbeats, then the oldest unsent
  /// messages, are replaced by `dropped` records (down to 90% of the cap).
  uint64_t max_bytes = 256ull << 20;
  /// A new segment file starts once the current one is this large.
  uint64_t segment_bytes = 16ull << 20;
};

/// One message as it goes on the wire: {"seq":N,["through":M,]"type":..,"time":..,"body":..}.
struct SpooledMessage {
  uint64_t seq = 0;
  uint64_t through = 0;  // == seq except for a `dropped` range
  MessageKind kind = MessageKind::kHeartbeat;
  std::string json;
};

/// What the spool has lost to its cap or to corruption since it was opened.
struct SpoolLosses {
  uint64_t heartbeats = 0;
  uint64_t messages = 0;
  uint64_t corrupt_records = 0;
};

/// Writes a small file durably: a temporary file in the same directory, fsync, rename over
/// `path`, fsync of `dir`. A crash leaves the old content or the new, never a mix.
Result<void> ReplaceFileDurably(const std::string& dir, const std::string& path,
                                std::string_view data);

/// Thread-safe: collectors append while the sender reads and acknowledges.
class Spool {
 public:
  /// Opens (creating) the directory. A torn or corrupt record (a crash mid-write, a damaged
  /// disk) is reported in `notes` and cut off with everything after it in its segment; the
  /// messages before it are kept. In a segment that is not the last, the lost sequence numbers
  /// become one `dropped` record so the stream stays gap-free.
  static Result<std::unique_ptr<Spool>> Open(const std::string& dir, SpoolOptions options,
                                             std::vector<std::string>* notes = nullptr);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Appends a message and fsyncs it; returns its seq. `body_json` must be a JSON object text.
  Result<uint64_t> Append(MessageKind kind, std::string_view time, std::string_view body_json);

  /// Messages in order from `seq` (the record that covers it, for a dropped range), at most
  /// `max_messages` and, after the first, `max_bytes` of JSON. A `seq` at or below acked_through()
  /// (the server forgot what it had acknowledged) starts with a `dropped` message covering up to
  /// the first message still held.
  Result<std::vector<SpooledMessage>> ReadFrom(uint64_t seq, size_t max_messages,
                                               size_t max_bytes) const;

  /// Records that the server has applied everything through `seq` (atomically, durably) and
  /// deletes segments wholly acknowledged. A `seq` below acked_through() is ignored.
  Result<void> Acknowledge(uint64_t seq);

  /// The server has acknowledged `server_acked`, beyond any seq this spool ever gave (the spool
  /// was deleted, or another host registered with this name): renumbers the unsent messages to
  /// follow it, since the server would otherwise skip them as already applied.
  Result<void> Rebase(uint64_t server_acked);

  uint64_t acked_through() const;
  /// The seq of the newest message (acked_through() when none is held).
  uint64_t last_seq() const;
  /// Unacknowledged messages held (a dropped range counts once).
  size_t pending() const;
  uint64_t bytes() const;
  SpoolLosses losses() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Entry {
    uint64_t seq, through;
    MessageKind kind;
    uint64_t offset, size;  // of the whole record in its segment
  };
  struct Segment {
    std::string path;
    uint64_t size = 0;
    std::vector<Entry> entries;
  };
  struct Record {
    uint64_t seq, through;
    MessageKind kind;
    std::string payload;
  };
  Spool(std::string dir, SpoolOptions options) : dir_(std::move(dir)), options_(options) {}

  Result<void> Load(std::vector<std::string>* notes);
  Result<void> WriteAcked(uint64_t seq);
  Result<void> RemoveAckedSegments();
  Result<Record> ReadRecord(const Segment& segment, const Entry& entry) const;
  /// Replaces a segment file by `records` (written to a temporary file, fsync'd, renamed).
  Result<void> RewriteSegment(size_t index, const std::vector<Record>& records,
                              const std::string& new_path);
  Result<void> EnforceCap();
  Result<void> OpenActive();
  uint64_t LastSeqLocked() const;

  const std::string dir_;
  const SpoolOptions options_;
  mutable std::mutex mutex_;
  std::vector<Segment> segments_;  // oldest first; the last one is appended to
  int active_fd_ = -1;             // open on segments_.back() while appending
  uint64_t acked_ = 0;
  uint64_t bytes_ = 0;
  SpoolLosses losses_;
};

}  // namespace moat::agent
