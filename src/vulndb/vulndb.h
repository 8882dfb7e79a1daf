#pragma once
// The local vulnerability database: advisories from many feeds, normalized into one model and
// stored in one indexed file. Ingesters (src/vulndb/ingest_*.cpp) produce these records; the
// matcher (src/match) queries them by (namespace, package).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::vulndb {

/// Why a package is (or is not) vulnerable when no fixed version applies.
enum class Status {
  kAffected,      // affected in the given ranges; a fixed version may exist
  kFixed,         // fixed at `fixed` (distro trackers: resolved)
  kWillNotFix,    // the vendor will not fix (Debian <no-dsa>/<ignored>, Red Hat "Will not fix")
  kEndOfLife,     // the package is out of support in this release (Debian <end-of-life>)
  kUnimportant,   // Debian urgency "unimportant"
  kUndetermined,  // the tracker has not decided yet (Debian <undetermined>, Red Hat "Under
                  // investigation")
  // Appended after the first six so that stored values keep their meaning.
  kNotAffected,  // the vendor says this package is not affected (CSAF known_not_affected, an OVAL
                 // "is not affected" test): suppresses other records of the same flaw
  kFixDeferred   // affected, a fix is planned later (Red Hat "Fix deferred")
};
std::string_view StatusName(Status status);  // "affected", "fixed", "will_not_fix", ...
/// The last Status value (readers reject larger stored values).
constexpr Status kLastStatus = Status::kFixDeferred;

/// One interval of affected versions, compared with the namespace's version scheme.
/// Empty `introduced` means from the beginning ("0" in OSV). At most one of `fixed` (exclusive)
/// and `last_affected` (inclusive) is set; neither means no fix.
struct VersionRange {
  std::string introduced;
  std::string fixed;
  std::string last_affected;
};

/// "This package in this namespace is affected by this vulnerability".
struct AffectedPackage {
  std::string vuln_id;  // the advisory's id (CVE-..., GHSA-..., PYSEC-..., GO-..., DSA-...)
  /// Where the package lives, lower case: "debian:12", "ubuntu:22.04", "alpine:3.20",
  /// "rhel:9", "rocky:9", "alma:9", "wolfi", "chainguard"; language ecosystems: "pypi", "npm",
  /// "go", "maven", "rubygems", "nuget", "crates.io".
  std::string ns;
  /// Normalized name: deb = source package, apk = origin, rpm = source or binary as the feed
  /// gives it, pypi = PEP 503, npm = as is ("@scope/name"), go = module path, maven =
  /// "group:artifact".
  std::string package;
  /// A version is affected when it falls in any range or equals any of `versions`. Both empty
  /// means every version is affected (e.g. a Debian tracker "open" entry: no fix yet).
  std::vector<VersionRange> ranges;
  std::vector<std::string> versions;  // explicit affected versions (OSV "versions")
  Status status = Status::kAffected;
  std::string severity;  // the distro/vendor's own rating, lower case (e.g. "high"); may be empty
  std::string source;    // the feed: "osv", "debian-tracker", "alpine-secdb", ...
};

struct CvssScore {
  std::string version;  // "3.1", "4.0", "2.0"
  std::string vector;   // "CVSS:3.1/AV:N/..."
  double score = 0;
  std::string source;  // "nvd", "ghsa", the feed that gave it
};

struct Vulnerability {
  std::string id;
  std::vector<std::string> aliases;  // other ids of the same flaw (CVE <-> GHSA <-> PYSEC)
  std::string title;
  std::string description;
  std::vector<std::string> references;
  std::string published;  // RFC 3339
  std::string modified;
  std::string severity;  // best general severity: "critical|high|medium|low|none|unknown"
  std::string severity_source;
  std::vector<CvssScore> cvss;
  std::vector<std::string> cwes;
  bool withdrawn = false;
  bool known_exploited = false;  // CISA KEV
  std::string kev_date_added;
  std::optional<double> epss_score;
  std::optional<double> epss_percentile;
};

struct SourceInfo {
  std::string name;    // "osv:PyPI", "debian-tracker", "nvd", "kev", "epss", ...
  std::string date;    // the feed's own date where it has one, else the file's mtime (RFC 3339)
  uint64_t count = 0;  // records ingested
};

struct Metadata {
  int schema_version = 0;
  std::string built_at;  // RFC 3339 UTC
  std::vector<SourceInfo> sources;
  /// The namespaces that have records ("debian:12", "pypi", ...), sorted: a namespace missing
  /// here is one the database has no data for (the scan reports its OS as not assessed).
  std::vector<std::string> namespaces;
};

/// Read access to a built database. Thread-safe for concurrent lookups.
class Database {
 public:
  virtual ~Database() = default;
  /// Every record for this package in this namespace (ns and package as in AffectedPackage).
  virtual Result<std::vector<AffectedPackage>> Lookup(std::string_view ns,
                                                      std::string_view package) const = 0;
  /// The vulnerability's details, merged with enrichment (NVD, KEV, EPSS); nullopt if unknown.
  virtual Result<std::optional<Vulnerability>> Get(std::string_view id) const = 0;
  virtual const Metadata& metadata() const = 0;
};

/// Opens a database file read-only; an error names the file and what is wrong (not a Moat
/// database, schema version too new, corrupt).
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& path);

/// The default location: $MOAT_DB, else ~/.cache/moat/db/moat.db.
std::string DefaultDatabasePath();

}  // namespace moat::vulndb
