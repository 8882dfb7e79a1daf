#pragma once
// Follows a JSON-lines file of alerts (the sensor's output) for the agent: each poll returns the
// alerts of the complete lines appended since the last commit. The position is kept in a state
// file beside the spool, so an agent restart neither resends nor skips; a file that was rotated
// or truncated (another inode, or shorter than the position) is read from its start.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace moat::agent {

class AlertsTail {
 public:
  /// `state_dir`: where "alerts.position" is kept (the spool directory).
  AlertsTail(std::string path, std::string state_dir);

  /// The alerts (canonical JSON object texts) of the complete lines after the committed position,
  /// reading at most `max_bytes`. A line that is not a valid alert is logged (file and line
  /// number) and skipped. A missing file is no alerts, not an error.
  Result<std::vector<std::string>> Poll(size_t max_bytes = 4u << 20);

  /// Makes the position after the last Poll durable (call once its alerts are spooled).
  Result<void> Commit();

 private:
  Result<void> LoadState();

  std::string path_;
  std::string state_dir_;
  std::string state_path_;
  bool loaded_ = false;
  uint64_t inode_ = 0;
  uint64_t offset_ = 0;       // committed
  uint64_t line_ = 0;         // lines before offset_, for messages
  uint64_t next_offset_ = 0;  // after the last Poll
  uint64_t next_line_ = 0;
};

/// The body of an `alerts` message: {"alerts":[...]} from canonical alert JSON texts.
std::string AlertsBody(const std::vector<std::string>& alerts);

}  // namespace moat::agent
