#pragma once
// Feed ingesters: each parses one upstream format (from memory, so fuzzers and tests can feed
// bytes) into normalized AffectedPackage + Vulnerability records. Feeds are untrusted input: a
// file that is not the format at all is an Error; a bad record is reported in `warnings` and
// skipped, the rest goes on.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "vulndb/vulndb.h"

namespace moat::vulndb {

/// What one or more feed files gave.
struct IngestResult {
  std::vector<AffectedPackage> affected;
  std::vector<Vulnerability> vulnerabilities;
  std::vector<std::string> warnings;  // "<file>: <place>: <problem>" for each skipped record
  uint64_t records = 0;               // advisories (or CVE entries) read
  uint64_t git_ranges_skipped = 0;    // OSV GIT ranges (commit hashes, not versions)
  std::string date;                   // the feed's own date when it states one
  std::string source_hint;            // a better source name when the file says ("wolfi/os")
};

// ---- OSV (https://ossf.github.io/osv-schema/) ----

/// Maps an OSV ecosystem ("Debian:12", "PyPI", "Ubuntu:Pro:22.04:LTS", ...) and the package's
/// purl to a Moat namespace ("debian:12", "pypi", "ubuntu:22.04"); nullopt when unknown.
std::optional<std::string> OsvNamespace(std::string_view ecosystem, std::string_view purl = {});
/// Normalizes a package name for a namespace (PEP 503 for pypi, lower case for distros, ...).
std::string NormalizePackageName(std::string_view ns, std::string_view name);

/// One OSV JSON document (an object, or an array of objects as some exports give).
Result<void> ParseOsvJson(std::string_view text, const std::string& name, IngestResult& out);
/// A directory of *.json (recursively), a .zip (as OSV's all.zip), or one .json file.
Result<IngestResult> IngestOsv(const std::string& path);

// ---- Debian Security Tracker JSON (https://security-tracker.debian.org/tracker/data/json) ----

/// "bookworm" -> "debian:12", "sid" -> "debian:unstable"; nullopt for unknown codenames.
std::optional<std::string> DebianNamespace(std::string_view codename);
Result<IngestResult> ParseDebianTracker(std::string_view text, const std::string& name);

// ---- Alpine secdb JSON (and the same format from Wolfi, Chainguard) ----

/// ns_hint: "" = detect ("distroversion" -> alpine:X.Y, urlprefix wolfi.dev -> wolfi,
/// cgr.dev/chainguard -> chainguard).
Result<IngestResult> ParseSecdb(std::string_view text, const std::string& name,
                                const std::string& ns_hint = "");

// ---- Enrichment ----

/// NVD CVE JSON 2.0 (a feed file or an API page). Records come back as Vulnerability values
/// with description, CVSS, CWEs, references and dates.
Result<IngestResult> ParseNvdJson(std::string_view text, const std::string& name);

struct KevEntry {
  std::string date_added;
};
struct KevCatalog {
  std::string date;  // dateReleased
  std::unordered_map<std::string, KevEntry> entries;
};
Result<KevCatalog> ParseKev(std::string_view text, const std::string& name);

struct EpssEntry {
  double score = 0;
  double percentile = 0;
};
struct EpssScores {
  std::string date;  // score_date from the header comment
  std::unordered_map<std::string, EpssEntry> entries;
};
Result<EpssScores> ParseEpssCsv(std::string_view text, const std::string& name);

// ---- Files ----

/// Reads a file, transparently gunzipping .gz / gzip-magic content (libarchive).
Result<std::string> ReadFeedFile(const std::string& path, uint64_t max_bytes = 8ull << 30);
/// Calls fn(member_name, bytes) for each regular *.json entry in a zip file.
Result<void> ForEachZipJson(
    const std::string& path,
    const std::function<Result<void>(const std::string&, std::string&&)>& fn);

}  // namespace moat::vulndb
