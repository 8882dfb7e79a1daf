#pragma once
// Compiling feeds into one database file (`moat db build`, `moat db update`).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "vulndb/vulndb.h"

namespace moat::vulndb {

enum class FeedKind {
  kOsv,
  kDebianTracker,
  kSecdb,
  kNvd,
  kKev,
  kEpss,
  kCsaf,
  kOval,
  kAlas,
  kPhoton
};
std::string_view FeedKindName(FeedKind kind);  // "osv", "debian-tracker", "secdb", ...
std::optional<FeedKind> ParseFeedKind(std::string_view name);

struct FeedInput {
  FeedKind kind;
  std::string path;  // file, directory (osv, nvd, csaf) or archive (osv zip, csaf tar)
  std::string name;  // source name in the metadata; "" = derived from kind and path
};

struct BuildOptions {
  /// Fail when a feed yields no records (update's verification); build just warns.
  bool require_records = false;
  /// Progress lines for humans (stderr); may be empty.
  std::function<void(const std::string&)> progress;
};

struct BuildStats {
  uint64_t packages = 0;
  uint64_t affected = 0;
  uint64_t vulnerabilities = 0;
  uint64_t aliases = 0;
  uint64_t warnings = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::vector<SourceInfo> sources;
};

/// Ingests every input and writes the database to `output_path` atomically: the file is built
/// next to it under a temporary name and renamed over it only when complete, so a failure or a
/// crash leaves any previous database untouched.
Result<BuildStats> BuildDatabase(const std::vector<FeedInput>& inputs,
                                 const std::string& output_path, const BuildOptions& options = {});

/// Checks that a file is a complete Moat database this version can read (header, truncation,
/// application id, schema version, metadata, SQLite integrity when `full` is set).
Result<void> VerifyDatabaseFile(const std::string& path, bool full);

}  // namespace moat::vulndb
