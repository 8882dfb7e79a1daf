#pragma once
// The inventory model: what analyzers find and what report writers and the matcher consume.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/vulnerability.h"

namespace moat {

/// Package types are named after their purl type.
enum class PackageType {
  kDeb,
  kRpm,
  kApk,
  kPypi,
  kNpm,
  kGolang,
  kMaven,
  kGem,
  kCargo,
  kNuget,
  kComposer,
};

std::string_view PackageTypeName(PackageType type);  // "deb", "rpm", ...
std::optional<PackageType> ParsePackageType(std::string_view name);
/// True for packages of the operating system's package manager (deb, rpm, apk).
bool IsOsPackageType(PackageType type);
/// A Python project name as PEP 503 compares them: lower case, every run of "-", "_" and "."
/// one "-" ("Foo.Bar_baz" -> "foo-bar-baz").
std::string NormalizePythonName(std::string_view name);

struct Package {
  PackageType type = PackageType::kDeb;
  /// The name as the ecosystem writes it: deb/rpm/apk binary package name, PyPI project name as
  /// declared, npm name with scope ("@types/node"), Go module path, Maven "groupId:artifactId".
  std::string name;
  /// deb: the full dpkg version "[epoch:]upstream[-revision]"; rpm: version without epoch and
  /// release; apk: "1.2.3-r0"; others: the version string as declared.
  std::string version;
  std::string epoch;    // rpm only; empty when the header has none
  std::string release;  // rpm only
  std::string arch;
  /// The source package: dpkg Source, rpm source RPM name, apk origin.
  std::string source_name;
  std::string source_version;  // deb: full source version; rpm: source version
  std::string source_release;  // rpm: source release
  std::string maintainer;
  std::vector<std::string> licenses;
  std::string modularity_label;  // rpm modules
  /// Language-specific detail: Go toolchain version of the binary; "main" for a Go main module.
  std::string go_version;
  bool main_module = false;
  /// A development or test dependency, where the file says so (a lock file's dev section, a
  /// .NET test project's packages): not part of what runs in production.
  bool dev = false;
  /// The purl (filled in by the scan once the OS is known).
  std::string purl;
  /// The file the package was found in, absolute in the image ("/var/lib/dpkg/status").
  std::string file_path;
  /// The layer that introduced the package, and that layer's history `created_by`.
  std::string layer_diff_id;
  std::string layer_created_by;
  /// Language packages whose file_path belongs to an OS package's file list: the name of that
  /// OS package. The distribution ships (and backports fixes into) such a package without
  /// changing its upstream version, so its own advisories cover it; the matcher skips it unless
  /// asked to match OS-owned language packages too.
  std::string owned_by;

  /// The version as users read it: deb and others as is; rpm "[epoch:]version-release".
  std::string DisplayVersion() const;
};

struct OsInfo {
  std::string family;    // os-release ID: debian, ubuntu, alpine, rhel, centos, rocky, ...
  std::string name;      // PRETTY_NAME or NAME
  std::string version;   // VERSION_ID (or the release file's version)
  std::string codename;  // VERSION_CODENAME when given
  bool empty() const { return family.empty() && version.empty(); }
};

struct LayerInfo {
  std::string diff_id;     // sha256 of the uncompressed tar
  std::string digest;      // blob digest where the source knows it (registry, OCI layout)
  std::string created_by;  // from the image history
  uint64_t size = 0;       // uncompressed bytes
};

struct ArtifactInfo {
  std::string name;      // the target as the user gave it
  std::string type;      // "container_image" or "filesystem"
  std::string image_id;  // config digest
  std::string manifest_digest;
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  std::string os;
  std::string architecture;
  std::string created;
  std::vector<LayerInfo> layers;
};

/// A part of the target the scan could not assess, so the report is incomplete: a package
/// database or metadata file that was damaged (partly or wholly unreadable) or yielded no
/// packages, or an OS the vulnerability database has no data for.
struct AssessmentGap {
  enum class Kind {
    kPartial,              // read, but damaged parts (named in `detail`) were skipped
    kUnreadable,           // nothing could be read from it
    kEmpty,                // a package database that holds no installed package
    kNoVulnerabilityData,  // the OS packages were not matched: no data for this OS
    /// A package's version, or an advisory's, that its ecosystem's ordering cannot compare: the
    /// advisories named in `details` were neither reported nor cleared for it.
    kVersionNotCompared,
  };
  Kind kind = Kind::kUnreadable;
  /// The file ("/var/lib/dpkg/status") or, for kNoVulnerabilityData, the OS ("alpine 3.99").
  std::string subject;
  /// Who found the gap: the analyzer ("dpkg", "rpm", "python") or "vulnerability database".
  std::string source;
  /// What went wrong, naming the place ("line 12: expected \"Field: value\"; stanza skipped").
  std::vector<std::string> details;
  /// Packages read from the subject despite the damage (kPartial), or left unmatched
  /// (kNoVulnerabilityData).
  size_t packages = 0;
};

std::string_view AssessmentGapKindName(AssessmentGap::Kind kind);  // "partial", ...
std::optional<AssessmentGap::Kind> ParseAssessmentGapKind(std::string_view name);
/// One line for humans: "/var/lib/dpkg/status (dpkg): partly unreadable, 2 damaged parts
/// skipped, 310 packages read".
std::string DescribeAssessmentGap(const AssessmentGap& gap);

/// The files an OS package installed, as its package manager lists them (absolute paths).
struct OwnedFiles {
  std::string package;  // the OS package's name
  std::vector<std::string> paths;
};

struct Inventory {
  ArtifactInfo artifact;
  OsInfo os;
  std::vector<Package> packages;
  /// The file lists of the installed OS packages (dpkg info/*.list, rpm, apk), as the image's
  /// last layer left them: which package a file that runs belongs to (the server's "in use").
  /// Not part of the JSON outputs.
  std::vector<OwnedFiles> os_package_files;
  /// Non-fatal problems (a file that did not parse); the rest of the scan went on.
  std::vector<std::string> warnings;
  /// What could not be assessed (damaged or empty package databases, an OS without vulnerability
  /// data): shown prominently by every report, and an exit code of 2 unless the user accepts it.
  std::vector<AssessmentGap> assessment_gaps;
  /// Vulnerability findings (src/match); empty when no vulnerability scan ran.
  bool vulnerability_scan = false;  // true when the scan looked for vulnerabilities
  std::vector<DetectedVulnerability> vulnerabilities;
  /// Findings suppressed by VEX statements or the ignore file, kept for the record.
  std::vector<DetectedVulnerability> suppressed_vulnerabilities;
};

/// Sorts packages into the canonical order (type, name, version, file) so outputs are stable.
void SortPackages(std::vector<Package>& packages);

}  // namespace moat
