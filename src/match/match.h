#pragma once
// Packages x vulnerability database -> findings. Rules in docs/vulnerabilities.md.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/package.h"
#include "core/result.h"
#include "core/vulnerability.h"
#include "version/version.h"
#include "vulndb/vulndb.h"

namespace moat::match {

/// The vulnerability database namespace of an OS ("debian:12", "ubuntu:22.04", "alpine:3.20",
/// "alpine:edge", "rhel:9", "centos:7", "rocky:9", "alma:9", "ol:8", "amzn:2", "amzn:2023",
/// "sles:15.5", "opensuse-leap:15.5", "sl-micro:6.0", "azurelinux:3.0", "mariner:2.0",
/// "photon:5.0", "wolfi", "chainguard"); "" when unknown. Table in docs/db.md.
std::string OsNamespace(const OsInfo& os);
/// The namespace whose records apply to an OS: `os_ns` itself when the database (its sorted
/// metadata namespaces) has data for it, "rhel:N" for "centos:N" when only Red Hat's data is
/// there; "" when none applies.
std::string DataNamespace(const std::string& os_ns, const std::vector<std::string>& namespaces);
/// The namespace of a language package ("pypi", "npm", "go", "maven"); "" for OS packages.
std::string LanguageNamespace(PackageType type);
/// The version scheme of a package type (deb -> deb, pypi -> pep440, npm -> semver, ...).
version::Scheme SchemeFor(PackageType type);
/// The name the database uses for a package in a namespace (PEP 503 for pypi, ...).
std::string LookupName(std::string_view ns, const Package& package);
/// Every name the package is looked up by in `ns`, LookupName's first: rpm packages by source
/// and binary name; a module stream's package by "module:stream::name" in Red Hat's namespaces;
/// Go's "stdlib" also as "toolchain".
std::vector<std::string> LookupNames(std::string_view ns, const Package& package);
/// The version compared against advisories (deb: the source version when known; rpm:
/// "[epoch:]version-release").
std::string ComparableVersion(const Package& package);

/// The severity of a CVSS base score: critical >= 9, high >= 7, medium >= 4, low > 0, else none.
std::string SeverityFromScore(double score);

struct SeverityChoice {
  std::string severity;
  std::string source;
};
/// The severity rule: the distro/vendor rating of the record (OS packages), else the advisory's
/// own (GHSA database_specific, per-package OSV severity), else CVSS (v4, v3.x, v2), else
/// "unknown".
SeverityChoice ChooseSeverity(bool os_package, const vulndb::AffectedPackage& record,
                              const vulndb::Vulnerability* vuln);

/// Whether `version` is affected by the record: ranges (introduced <= v < fixed, or <=
/// last_affected), the explicit version list, or no ranges at all for an open status. Fills the
/// fixed versions that apply. Errors when a version does not parse under the scheme.
struct RecordMatch {
  bool affected = false;
  std::vector<std::string> fixed_versions;
};
Result<RecordMatch> MatchRecord(version::Scheme scheme, std::string_view version,
                                const vulndb::AffectedPackage& record);

struct MatchOptions {
  size_t threads = 0;  // 0 = one per core
  /// Also match language packages an OS package installed (Package::owned_by) against their
  /// ecosystem's upstream advisories. Off by default: distributions backport fixes without
  /// changing the upstream version, and the OS package's own advisories cover the package.
  bool match_os_owned = false;
};

struct MatchResult {
  std::vector<DetectedVulnerability> findings;  // sorted by package, severity, id
  std::vector<std::string> warnings;            // versions that did not parse, db errors
  /// The OS packages could not be assessed: the database has no data for the OS (kind
  /// kNoVulnerabilityData), or the OS is not recognized.
  std::vector<AssessmentGap> gaps;
};

/// Matches every package of the inventory. OS packages are matched only in the OS namespace,
/// through their source package, and only when the database has data for it (its metadata's
/// namespaces; otherwise the result has a gap); language packages in their ecosystem. Findings of
/// one package whose ids are aliases of each other are merged into one (a CVE id is preferred as
/// primary).
MatchResult MatchInventory(const Inventory& inventory, const vulndb::Database& db,
                           const MatchOptions& options = {});

}  // namespace moat::match
