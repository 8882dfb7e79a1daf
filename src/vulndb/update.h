#pragma once
// `moat db update` (download the public feeds, conditionally, and rebuild atomically) and the
// export/import bundle for air-gapped networks.

#include <string>
#include <vector>

#include "core/result.h"
#include "vulndb/build.h"

namespace moat::vulndb {

struct UpdateSource {
  std::string name;  // unique; also the cache file name and the metadata source name
  FeedKind kind;
  std::string url;
};

/// The official public URLs (documented in docs/db.md).
std::vector<UpdateSource> DefaultUpdateSources();
/// {"sources": [{"name": "osv:PyPI", "kind": "osv", "url": "https://..."}, ...]}
Result<std::vector<UpdateSource>> LoadUpdateSources(const std::string& path);

struct UpdateReport {
  bool rebuilt = false;
  std::vector<std::string> changed;    // sources downloaded anew (200)
  std::vector<std::string> unchanged;  // 304 Not Modified
  BuildStats stats;
};

/// Downloads every source with If-None-Match / If-Modified-Since from the state kept next to
/// the database (<db>.state.json, downloads cached in <db>.sources/), verifies that each parses
/// and is not empty, and rebuilds the database atomically when anything changed. Any failure
/// leaves the previous database, cache and state as they were.
Result<UpdateReport> UpdateDatabase(const std::string& db_path,
                                    const std::vector<UpdateSource>& sources,
                                    const BuildOptions& options = {});

/// Writes a single-file bundle: a header line with the database's size and sha256, then the
/// database compressed with zstd.
Result<void> ExportBundle(const std::string& db_path, const std::string& bundle_path);
/// Checks a bundle (header, size, sha256, database integrity) and only then replaces the
/// database atomically.
Result<void> ImportBundle(const std::string& bundle_path, const std::string& db_path);

}  // namespace moat::vulndb
