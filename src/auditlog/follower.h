#pragma once
// Follows a JSON-lines log that another process appends to (the API server's audit log backend,
// `moat audit-log watch`), across rotation, and remembers where it stopped so that a restart
// resumes there (docs/audit-log.md "watch").
//
// Rotation by rename (lumberjack, logrotate's create): the old file is read to its end before
// the new one is opened. Rotation by copy and truncate (logrotate's copytruncate): the lines
// written between the last read and the truncation are read from the copy, which is found by the
// bytes just before the remembered offset. The same two cases are handled across a restart: the
// position names the file by device and inode, and a renamed file is found by its inode.
//
// The position file is JSON ({"device", "inode", "offset", "tail_bytes", "tail_sha256"})
// replaced atomically; the tail is the SHA-256 of the bytes just before `offset`, which tells the
// same file (and a copy of it) from a new one that reuses the inode.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::auditlog {

struct FollowerOptions {
  std::string path;
  /// Where the position is kept; "" keeps none (every start begins as `start_at_end` says).
  std::string position_file;
  /// Without a saved position: skip what the file holds now and follow only new lines (tail -f),
  /// or read it from its start (the default: nothing already logged is missed).
  bool start_at_end = false;
  /// A longer line is skipped (counted in oversized_lines) up to its newline.
  size_t max_line_bytes = 8 * 1024 * 1024;
};

struct FollowerStats {
  uint64_t lines = 0;
  uint64_t bytes = 0;
  uint64_t rotations = 0;        // renamed away and replaced
  uint64_t truncations = 0;      // truncated in place
  uint64_t recovered_lines = 0;  // read from a rotated copy or renamed file found by search
  uint64_t oversized_lines = 0;
  uint64_t lost_rotations = 0;  // the rest of a rotated file could not be found (lines lost)
};

/// One line as given to the callback: the text without its newline, and where it was, for error
/// messages: "audit.log:17" when counted from the start of the file, else "audit.log@4096".
struct FollowedLine {
  std::string_view text;
  std::string_view where;
};

struct TailMark;

class LogFollower {
 public:
  /// Opens the log (which may not exist yet) and the saved position. Anything noteworthy about
  /// the resume (a rotated file read first, a position that no longer fits) goes to `notes`.
  static Result<std::unique_ptr<LogFollower>> Open(FollowerOptions options,
                                                   std::vector<std::string>* notes = nullptr);
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  /// Reads every complete line there is now, in order, across any rotation since the last call,
  /// and calls `on_line` for each. Returns the number of lines. A line is complete at its
  /// newline, or at the end of a file that has been rotated away (its writer is done with it).
  Result<size_t> Poll(const std::function<void(const FollowedLine&)>& on_line);

  /// Writes the position after the last line given to `on_line` (atomically, durably).
  Result<void> SavePosition();

  const FollowerStats& stats() const { return stats_; }
  /// Notes from the last Poll (rotations, lost rotated files), cleared by each Poll.
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  struct OpenFile;
  explicit LogFollower(FollowerOptions options);
  Result<void> Resume(std::vector<std::string>* notes);
  Result<void> ReadAvailable(OpenFile& file, bool writer_done,
                             const std::function<void(const FollowedLine&)>& on_line,
                             size_t& count);
  /// Looks beside the log for a file that holds `tail` just before `offset` (a copy made by
  /// copytruncate) or has `inode`; opens it at `offset`.
  std::unique_ptr<OpenFile> FindRotated(uint64_t device, uint64_t inode, uint64_t offset,
                                        const TailMark& tail) const;
  std::unique_ptr<OpenFile> OpenCurrent() const;
  static std::unique_ptr<OpenFile> OpenPath(const std::string& path);

  FollowerOptions options_;
  std::unique_ptr<OpenFile> current_;
  /// Rotated files still to read to their end before current_ (oldest first).
  std::vector<std::unique_ptr<OpenFile>> pending_;
  FollowerStats stats_;
  std::vector<std::string> notes_;
  uint64_t saved_inode_ = 0;  // the position last written
  uint64_t saved_offset_ = UINT64_MAX;
};

}  // namespace moat::auditlog
