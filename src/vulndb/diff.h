#pragma once
// What a database update changed, as the matcher sees it: the (namespace, package) keys whose
// records differ between two database files. The security center re-matches only the stored
// images holding one of these keys.

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::vulndb {

/// The (namespace, package) keys whose affected records were added, removed or changed between
/// `old_path` and `new_path`, or whose records reference a vulnerability whose data (severity,
/// CVSS, KEV, EPSS, title, ...) changed; sorted. Computed in SQLite with the old file ATTACHed to
/// the new one, so nothing is decoded.
Result<std::vector<std::pair<std::string, std::string>>> ChangedPackages(
    const std::string& old_path, const std::string& new_path);

}  // namespace moat::vulndb
