#pragma once
// The small state files of `moat audit-log` (the follower's position, the baseline), replaced
// atomically and durably: a crash leaves the old state or the new, never a mix.

#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::auditlog {

/// The directory part of `path` ("." when it has none).
std::string ParentDirectory(const std::string& path);

/// Writes `text` to `path` through a temporary file in the same directory, fsync and rename
/// (agent/spool.h ReplaceFileDurably).
Result<void> WriteStateFile(const std::string& path, std::string_view text);

}  // namespace moat::auditlog
