// Matching, severity, alias merging, filters, ignore file, VEX and SBOM input, against a small
// in-memory database (test data implementing vulndb::Database) and, end to end, a database
// built with vulndb::BuildDatabase from the real feeds in $MOAT_SHARED_DATA_DIR/vuln.

#include "match/match.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "match/filter.h"
#include "match/sbom.h"
#include "vulndb/build.h"

namespace moat::match {
namespace {

using vulndb::AffectedPackage;
using vulndb::Status;
using vulndb::VersionRange;
using vulndb::Vulnerability;

class MemoryDatabase : public vulndb::Database {
 public:
  void Add(AffectedPackage a) {
    // As the real database lists the namespaces it has records for.
    auto& namespaces = metadata_.namespaces;
    if (!std::binary_search(namespaces.begin(), namespaces.end(), a.ns)) {
      namespaces.insert(std::upper_bound(namespaces.begin(), namespaces.end(), a.ns), a.ns);
    }
    affected_[a.ns + "|" + a.package].push_back(std::move(a));
  }
  void Add(Vulnerability v) { vulns_[v.id] = std::move(v); }
  Result<std::vector<AffectedPackage>> Lookup(std::string_view ns,
                                              std::string_view package) const override {
    auto it = affected_.find(std::string(ns) + "|" + std::string(package));
    if (it == affected_.end()) return std::vector<AffectedPackage>{};
    return it->second;
  }
  Result<std::optional<Vulnerability>> Get(std::string_view id) const override {
    auto it = vulns_.find(std::string(id));
    if (it == vulns_.end()) return std::optional<Vulnerability>{};
    return std::optional<Vulnerability>(it->second);
  }
  const vulndb::Metadata& metadata() const override { return metadata_; }

 private:
  std::map<std::string, std::vector<AffectedPackage>> affected_;
  std::map<std::string, Vulnerability> vulns_;
  vulndb::Metadata metadata_;
};

AffectedPackage Record(std::string id, std::string ns, std::string package,
                       std::vector<VersionRange> ranges, Status status = Status::kFixed,
                       std::string severity = "", std::string source = "osv") {
  AffectedPackage a;
  a.vuln_id = std::move(id);
  a.ns = std::move(ns);
  a.package = std::move(package);
  a.ranges = std::move(ranges);
  a.status = status;
  a.severity = std::move(severity);
  a.source = std::move(source);
  return a;
}

Package Deb(std::string name, std::string version, std::string source = "",
            std::string source_version = "") {
  Package p;
  p.type = PackageType::kDeb;
  p.name = std::move(name);
  p.version = std::move(version);
  p.source_name = std::move(source);
  p.source_version = std::move(source_version);
  p.file_path = "/var/lib/dpkg/status";
  return p;
}

Package Lang(PackageType type, std::string name, std::string version, std::string path) {
  Package p;
  p.type = type;
  p.name = std::move(name);
  p.version = std::move(version);
  p.file_path = std::move(path);
  return p;
}

Inventory Bookworm(std::vector<Package> packages) {
  Inventory inv;
  inv.artifact.name = "test";
  inv.os = OsInfo{"debian", "Debian GNU/Linux 12 (bookworm)", "12", "bookworm"};
  inv.packages = std::move(packages);
  return inv;
}

const DetectedVulnerability* Find(const std::vector<DetectedVulnerability>& findings,
                                  const std::string& id, const std::string& package = "") {
  for (const auto& f : findings) {
    if (f.id == id && (package.empty() || f.package_name == package)) return &f;
  }
  return nullptr;
}

TEST(Namespace, FromOsRelease) {
  EXPECT_EQ(OsNamespace({"debian", "", "12", "bookworm"}), "debian:12");
  EXPECT_EQ(OsNamespace({"debian", "", "", "sid"}), "debian:unstable");
  EXPECT_EQ(OsNamespace({"debian", "", "", ""}), "debian:unstable");
  EXPECT_EQ(OsNamespace({"ubuntu", "", "22.04", "jammy"}), "ubuntu:22.04");
  EXPECT_EQ(OsNamespace({"alpine", "", "3.20.3", ""}), "alpine:3.20");
  EXPECT_EQ(OsNamespace({"rocky", "", "9.3", ""}), "rocky:9");
  EXPECT_EQ(OsNamespace({"almalinux", "", "9.4", ""}), "alma:9");
  EXPECT_EQ(OsNamespace({"rhel", "", "9.2", ""}), "rhel:9");
  EXPECT_EQ(OsNamespace({"centos", "", "7", ""}), "centos:7");
  EXPECT_EQ(OsNamespace({"wolfi", "", "20230201", ""}), "wolfi");
  EXPECT_EQ(OsNamespace({"chainguard", "", "", ""}), "chainguard");
  EXPECT_EQ(OsNamespace({"plan9", "", "4", ""}), "");
}

// ID and VERSION_ID as each distribution's /etc/os-release writes them.
TEST(Namespace, RpmAndOtherDistributions) {
  EXPECT_EQ(OsNamespace({"rhel", "Red Hat Enterprise Linux 8.9 (Ootpa)", "8.9", ""}), "rhel:8");
  EXPECT_EQ(OsNamespace({"ol", "Oracle Linux Server 8.9", "8.9", ""}), "ol:8");
  EXPECT_EQ(OsNamespace({"amzn", "Amazon Linux 2", "2", ""}), "amzn:2");
  EXPECT_EQ(OsNamespace({"amzn", "Amazon Linux 2023.5.20240805", "2023", ""}), "amzn:2023");
  EXPECT_EQ(OsNamespace({"amzn", "Amazon Linux AMI 2018.03", "2018.03", ""}), "amzn:1");
  EXPECT_EQ(OsNamespace({"sles", "SUSE Linux Enterprise Server 15 SP5", "15.5", ""}), "sles:15.5");
  EXPECT_EQ(OsNamespace({"sles", "SUSE Linux Enterprise Server 15", "15", ""}), "sles:15");
  EXPECT_EQ(OsNamespace({"opensuse-leap", "openSUSE Leap 15.5", "15.5", ""}), "opensuse-leap:15.5");
  EXPECT_EQ(OsNamespace({"sl-micro", "SUSE Linux Micro 6.0", "6.0", ""}), "sl-micro:6.0");
  EXPECT_EQ(OsNamespace({"sle-micro", "SUSE Linux Enterprise Micro 5.5", "5.5", ""}),
            "sle-micro:5.5");
  EXPECT_EQ(OsNamespace({"azurelinux", "Microsoft Azure Linux 3.0", "3.0", ""}), "azurelinux:3.0");
  EXPECT_EQ(OsNamespace({"mariner", "CBL-Mariner/Linux", "2.0", ""}), "mariner:2.0");
  EXPECT_EQ(OsNamespace({"photon", "VMware Photon OS/Linux", "5.0", ""}), "photon:5.0");
  EXPECT_EQ(OsNamespace({"alpine", "Alpine Linux edge", "edge", ""}), "alpine:edge");
  // CentOS has no data of its own; Red Hat's applies when the database has it.
  EXPECT_EQ(DataNamespace("centos:7", {"centos:7", "rhel:7"}), "centos:7");
  EXPECT_EQ(DataNamespace("centos:7", {"debian:12", "rhel:7"}), "rhel:7");
  EXPECT_EQ(DataNamespace("centos:7", {"rhel:8"}), "");
  EXPECT_EQ(DataNamespace("rocky:9", {"rhel:9"}), "");
}

Package Rpm(std::string name, std::string epoch, std::string version, std::string release,
            std::string source) {
  Package p;
  p.type = PackageType::kRpm;
  p.name = std::move(name);
  p.epoch = std::move(epoch);
  p.version = std::move(version);
  p.release = std::move(release);
  p.source_name = std::move(source);
  p.source_version = p.version;
  p.source_release = p.release;
  p.file_path = "/var/lib/rpm/rpmdb.sqlite";
  return p;
}

// The issue's example: Rocky's OSV data names the binary rpm (openssl-libs); a record of the
// source rpm for the same flaw (as Red Hat keys them) merges into the same finding.
TEST(Match, RpmLookedUpByBinaryAndSourceNameWithoutDoubleReporting) {
  MemoryDatabase db;
  db.Add(Record("CVE-2021-3712", "rocky:8", "openssl-libs", {{"", "1:1.1.1k-5.el8_5", ""}}));
  db.Add(Record("CVE-2021-3712", "rocky:8", "openssl", {{"", "1:1.1.1k-5.el8_5", ""}}));
  db.Add(Record("CVE-2021-3711", "rocky:8", "openssl", {{"", "1:1.1.1k-5.el8_5", ""}}));
  Inventory inv;
  inv.os = OsInfo{"rocky", "Rocky Linux 8.5 (Green Obsidian)", "8.5", ""};
  inv.packages = {Rpm("openssl-libs", "1", "1.1.1k", "4.el8", "openssl"),
                  Rpm("openssl-libs", "1", "1.1.1k", "5.el8_5", "openssl")};
  auto result = MatchInventory(inv, db);
  ASSERT_EQ(result.findings.size(), 2u);
  for (const auto& f : result.findings) {
    EXPECT_EQ(f.package_version, "1:1.1.1k-4.el8");
    EXPECT_EQ(f.fixed_versions, std::vector<std::string>{"1:1.1.1k-5.el8_5"});
  }
  EXPECT_NE(Find(result.findings, "CVE-2021-3712", "openssl-libs"), nullptr);
  EXPECT_NE(Find(result.findings, "CVE-2021-3711", "openssl-libs"), nullptr);
}

TEST(Match, VendorNotAffectedSuppressesAndCentosUsesRedHatData) {
  MemoryDatabase db;
  db.Add(Record("CVE-2024-0100", "rhel:7", "bind", {{"", "32:9.11.4-26.P2.el7_9.13", ""}}));
  db.Add(Record("CVE-2024-0101", "rhel:7", "bind", {{"", "32:9.11.4-26.P2.el7_9.13", ""}}));
  db.Add(Record("CVE-2024-0101", "rhel:7", "bind-libs", {}, Status::kNotAffected));
  db.Add(Record("CVE-2024-0102", "rhel:7", "bind", {}, Status::kWillNotFix));
  db.Add(Record("CVE-2024-0103", "rhel:7", "bind", {}, Status::kFixDeferred));
  Inventory inv;
  inv.os = OsInfo{"centos", "CentOS Linux 7 (Core)", "7", ""};
  inv.packages = {Rpm("bind-libs", "32", "9.11.4", "26.P2.el7_9.9", "bind")};
  auto result = MatchInventory(inv, db);
  EXPECT_TRUE(result.gaps.empty());
  ASSERT_EQ(result.findings.size(), 3u);
  EXPECT_EQ(Find(result.findings, "CVE-2024-0100")->status, "fixed");
  EXPECT_EQ(Find(result.findings, "CVE-2024-0100")->namespace_, "rhel:7");
  EXPECT_EQ(Find(result.findings, "CVE-2024-0101"), nullptr);
  EXPECT_EQ(Find(result.findings, "CVE-2024-0102")->status, "will_not_fix");
  EXPECT_EQ(Find(result.findings, "CVE-2024-0103")->status, "fix_deferred");
}

// A module stream's package is matched only with that stream's records in Red Hat data.
TEST(Match, RedHatModuleStreamPackages) {
  MemoryDatabase db;
  db.Add(Record("CVE-2024-0200", "rhel:8", "nodejs:18::nodejs",
                {{"", "1:18.20.4-1.module+el8.10.0+22202+761b9a65", ""}}));
  db.Add(Record("CVE-2024-0201", "rhel:8", "nodejs", {{"", "1:22.0.0-1.el8", ""}}));
  Inventory inv;
  inv.os = OsInfo{"rhel", "Red Hat Enterprise Linux 8.10 (Ootpa)", "8.10", ""};
  Package nodejs = Rpm("nodejs", "1", "18.20.2", "1.module+el8.10.0+21869+8bb72b59", "nodejs");
  nodejs.modularity_label = "nodejs:18:8100020240429163011:ad008a3a";
  inv.packages = {nodejs};
  EXPECT_EQ(LookupNames("rhel:8", nodejs), (std::vector<std::string>{"nodejs:18::nodejs"}));
  EXPECT_EQ(LookupNames("rocky:8", nodejs), std::vector<std::string>{"nodejs"});
  auto result = MatchInventory(inv, db);
  ASSERT_EQ(result.findings.size(), 1u);
  EXPECT_EQ(result.findings[0].id, "CVE-2024-0200");
}

TEST(Scheme, FromPackageType) {
  EXPECT_EQ(SchemeFor(PackageType::kDeb), version::Scheme::kDeb);
  EXPECT_EQ(SchemeFor(PackageType::kRpm), version::Scheme::kRpm);
  EXPECT_EQ(SchemeFor(PackageType::kApk), version::Scheme::kApk);
  EXPECT_EQ(SchemeFor(PackageType::kPypi), version::Scheme::kPep440);
  EXPECT_EQ(SchemeFor(PackageType::kNpm), version::Scheme::kSemver);
  EXPECT_EQ(SchemeFor(PackageType::kGolang), version::Scheme::kGo);
  EXPECT_EQ(SchemeFor(PackageType::kMaven), version::Scheme::kMaven);
  EXPECT_EQ(SchemeFor(PackageType::kGem), version::Scheme::kGem);
  EXPECT_EQ(SchemeFor(PackageType::kCargo), version::Scheme::kSemver);
  EXPECT_EQ(SchemeFor(PackageType::kNuget), version::Scheme::kNuget);
  EXPECT_EQ(SchemeFor(PackageType::kComposer), version::Scheme::kComposer);
  EXPECT_EQ(LanguageNamespace(PackageType::kGem), "rubygems");
  EXPECT_EQ(LanguageNamespace(PackageType::kCargo), "crates.io");
  EXPECT_EQ(LanguageNamespace(PackageType::kNuget), "nuget");
  EXPECT_EQ(LanguageNamespace(PackageType::kComposer), "packagist");
}

TEST(Match, DebianBinaryThroughSourcePackageAndSourceVersion) {
  MemoryDatabase db;
  db.Add(Record("CVE-2023-0001", "debian:12", "openssl", {{"", "3.0.11-1~deb12u2", ""}},
                Status::kFixed, "high", "debian-tracker"));
  // A binNMU: binary version 3.0.11-1~deb12u1+b1 of source 3.0.11-1~deb12u1.
  auto inv = Bookworm({Deb("libssl3", "3.0.11-1~deb12u1+b1", "openssl", "3.0.11-1~deb12u1"),
                       Deb("openssl", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2")});
  auto result = MatchInventory(inv, db);
  ASSERT_EQ(result.findings.size(), 1u);
  const auto& f = result.findings[0];
  EXPECT_EQ(f.package_name, "libssl3");
  EXPECT_EQ(f.source_package, "openssl");
  EXPECT_EQ(f.installed_version, "3.0.11-1~deb12u1");
  EXPECT_EQ(f.fixed_versions, std::vector<std::string>{"3.0.11-1~deb12u2"});
  EXPECT_EQ(f.status, "fixed");
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.severity_source, "debian-tracker");
  EXPECT_EQ(f.namespace_, "debian:12");
}

TEST(Match, OsPackagesOnlyAgainstTheirDistro) {
  MemoryDatabase db;
  db.Add(Record("CVE-2023-0002", "debian:11", "zlib", {{"", "1:1.2.13.dfsg-9", ""}}));
  db.Add(Record("CVE-2023-0003", "ubuntu:22.04", "zlib", {{"", "1:1.2.13.dfsg-9", ""}}));
  auto inv = Bookworm({Deb("zlib1g", "1:1.2.13.dfsg-1", "zlib")});
  EXPECT_TRUE(MatchInventory(inv, db).findings.empty());
}

TEST(Match, StatusesWithoutFix) {
  MemoryDatabase db;
  db.Add(Record("CVE-2024-0010", "debian:12", "glibc", {}, Status::kAffected));
  db.Add(Record("CVE-2024-0011", "debian:12", "glibc", {}, Status::kWillNotFix, "low"));
  db.Add(Record("CVE-2024-0012", "debian:12", "glibc", {}, Status::kEndOfLife));
  db.Add(Record("CVE-2024-0013", "debian:12", "glibc", {}, Status::kUnimportant));
  db.Add(Record("CVE-2024-0014", "debian:12", "glibc", {}, Status::kUndetermined));
  // Resolved before this version: not affected.
  db.Add(Record("CVE-2024-0015", "debian:12", "glibc", {{"", "2.36-1", ""}}));
  auto inv = Bookworm({Deb("libc6", "2.36-9+deb12u4", "glibc")});
  auto result = MatchInventory(inv, db);
  ASSERT_EQ(result.findings.size(), 5u);
  EXPECT_EQ(Find(result.findings, "CVE-2024-0010")->status, "affected");
  EXPECT_EQ(Find(result.findings, "CVE-2024-0011")->status, "will_not_fix");
  EXPECT_EQ(Find(result.findings, "CVE-2024-0012")->status, "end_of_life");
  EXPECT_EQ(Find(result.findings, "CVE-2024-0013")->status, "unimportant");
  EXPECT_EQ(Find(result.findings, "CVE-2024-0014")->status, "undetermined");
  EXPECT_TRUE(Find(result.findings, "CVE-2024-0010")->fixed_versions.empty());
  EXPECT_EQ(Find(result.findings, "CVE-2024-0015"), nullptr);
}

TEST(Match, RangeSemantics) {
  AffectedPackage a = Record("GHSA-x", "pypi", "p", {{"1.0", "1.5", ""}, {"2.0", "", "2.3"}});
  a.versions = {"0.9"};
  auto check = [&](const char* v) {
    auto m = MatchRecord(version::Scheme::kPep440, v, a);
    EXPECT_TRUE(m.ok()) << v;
    return m.ok() && m->affected;
  };
  EXPECT_FALSE(check("0.8"));
  EXPECT_TRUE(check("0.9"));  // explicit list
  EXPECT_TRUE(check("1.0"));  // introduced is inclusive
  EXPECT_TRUE(check("1.4.9"));
  EXPECT_FALSE(check("1.5"));  // fixed is exclusive
  EXPECT_FALSE(check("1.9"));
  EXPECT_TRUE(check("2.3"));  // last_affected is inclusive
  EXPECT_FALSE(check("2.3.1"));
  auto fixed = MatchRecord(version::Scheme::kPep440, "1.2", a);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->fixed_versions, std::vector<std::string>{"1.5"});
  // pip orders "not a version!" as a LegacyVersion, before every PEP 440 version; a version no
  // ecosystem tool orders (a Composer branch) is an error, never a silent "not affected".
  auto legacy = MatchRecord(version::Scheme::kPep440, "not a version!", a);
  ASSERT_TRUE(legacy.ok());
  EXPECT_FALSE(legacy->affected);
  EXPECT_FALSE(MatchRecord(version::Scheme::kComposer, "dev-main", a).ok());
}

TEST(Match, AliasesMergedCvePreferred) {
  MemoryDatabase db;
  db.Add(Record("GHSA-aaaa-bbbb-cccc", "pypi", "requests", {{"0", "2.31.0", ""}}));
  db.Add(Record("PYSEC-2023-74", "pypi", "requests", {{"0", "2.31.0", ""}}));
  Vulnerability ghsa;
  ghsa.id = "GHSA-aaaa-bbbb-cccc";
  ghsa.aliases = {"CVE-2023-32681"};
  ghsa.severity = "medium";
  ghsa.severity_source = "ghsa";
  ghsa.title = "Unintended leak of Proxy-Authorization header";
  db.Add(ghsa);
  Vulnerability pysec;
  pysec.id = "PYSEC-2023-74";
  pysec.aliases = {"CVE-2023-32681", "GHSA-aaaa-bbbb-cccc"};
  db.Add(pysec);
  Inventory inv;
  inv.packages = {Lang(PackageType::kPypi, "Requests", "2.28.1", "/app/requests.dist-info")};
  auto result = MatchInventory(inv, db);
  ASSERT_EQ(result.findings.size(), 1u);
  const auto& f = result.findings[0];
  EXPECT_EQ(f.id, "CVE-2023-32681");
  EXPECT_EQ(f.aliases, (std::vector<std::string>{"GHSA-aaaa-bbbb-cccc", "PYSEC-2023-74"}));
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.severity_source, "ghsa");
  EXPECT_EQ(f.title, "Unintended leak of Proxy-Authorization header");
  EXPECT_EQ(f.fixed_versions, std::vector<std::string>{"2.31.0"});
}

TEST(Match, PypiNameNormalizedAndGoStdlib) {
  MemoryDatabase db;
  db.Add(Record("PYSEC-1", "pypi", "zope-interface", {{"0", "5.0", ""}}));
  db.Add(Record("GO-2023-2185", "go", "stdlib", {{"0", "1.21.4", ""}}));
  db.Add(Record("GO-2023-2186", "go", "toolchain", {{"1.21.0-0", "1.21.5", ""}}));
  Inventory inv;
  inv.packages = {Lang(PackageType::kPypi, "Zope.Interface", "4.7", "/x"),
                  Lang(PackageType::kGolang, "stdlib", "v1.21.3", "/usr/bin/app")};
  auto result = MatchInventory(inv, db);
  EXPECT_NE(Find(result.findings, "PYSEC-1"), nullptr);
  EXPECT_NE(Find(result.findings, "GO-2023-2185"), nullptr);
  EXPECT_NE(Find(result.findings, "GO-2023-2186"), nullptr);
}

// A distribution patches the Python library it ships without changing its upstream version:
// such a package is matched through its OS package, not against PyPI advisories, unless asked.
TEST(Match, LanguagePackagesOwnedByAnOsPackageAreLeftToTheirOsPackage) {
  MemoryDatabase db;
  db.Add(Record("GHSA-jfhm-5ghh-2f97", "pypi", "cryptography", {{"0", "41.0.6", ""}}));
  Inventory inv;
  inv.os = {"debian", "Debian GNU/Linux 12 (bookworm)", "12", "bookworm"};
  Package owned;
  owned.type = PackageType::kPypi;
  owned.name = "cryptography";
  owned.version = "38.0.4";
  owned.file_path = "/usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA";
  owned.owned_by = "python3-cryptography";
  Package pip = owned;
  pip.file_path = "/usr/local/lib/python3.11/dist-packages/cryptography-38.0.4.dist-info/METADATA";
  pip.owned_by.clear();
  inv.packages = {owned, pip};
  MatchResult result = MatchInventory(inv, db);
  ASSERT_EQ(result.findings.size(), 1u);
  EXPECT_EQ(result.findings[0].file_path, pip.file_path);
  MatchOptions options;
  options.match_os_owned = true;
  EXPECT_EQ(MatchInventory(inv, db, options).findings.size(), 2u);
}

// The database's own namespaces tell whether an OS can be assessed at all.
TEST(Match, OsWithoutDataInTheDatabaseIsNotAssessed) {
  MemoryDatabase db;
  db.Add(Record("CVE-2024-1", "debian:12", "bash", {{"0", "5.2.15-2+b3", ""}}));
  db.Add(Record("GHSA-x", "pypi", "requests", {{"0", "2.32.0", ""}}));
  Inventory inv;
  inv.packages = {Deb("bash", "5.2.15-2+b2"), Deb("coreutils", "9.1-1")};
  inv.os = {"debian", "Debian GNU/Linux 12 (bookworm)", "12", "bookworm"};
  MatchResult covered = MatchInventory(inv, db);
  EXPECT_TRUE(covered.gaps.empty());
  EXPECT_EQ(covered.findings.size(), 1u);

  inv.os = {"debian", "Debian GNU/Linux 13 (trixie)", "13", "trixie"};
  MatchResult uncovered = MatchInventory(inv, db);
  ASSERT_EQ(uncovered.gaps.size(), 1u);
  EXPECT_EQ(uncovered.gaps[0].kind, AssessmentGap::Kind::kNoVulnerabilityData);
  EXPECT_EQ(uncovered.gaps[0].subject, "Debian GNU/Linux 13 (trixie)");
  EXPECT_EQ(uncovered.gaps[0].packages, 2u);
  EXPECT_THAT(uncovered.gaps[0].details[0], ::testing::HasSubstr("\"debian:13\""));
  EXPECT_TRUE(uncovered.findings.empty());

  inv.os = {"arch", "Arch Linux", "", ""};
  ASSERT_EQ(MatchInventory(inv, db).gaps.size(), 1u);
  // Without OS packages there is nothing the OS data would have covered.
  inv.packages.clear();
  EXPECT_TRUE(MatchInventory(inv, db).gaps.empty());
}

TEST(Severity, Rule) {
  Vulnerability v;
  v.cvss = {{"3.1", "CVSS:3.1/AV:N", 9.8, "nvd"}, {"4.0", "CVSS:4.0/AV:N", 5.1, "ghsa"}};
  v.severity = "critical";
  v.severity_source = "nvd";  // derived from a CVSS score it carries
  auto os_record =
      Record("CVE-1", "debian:12", "x", {}, Status::kAffected, "low", "debian-tracker");
  EXPECT_EQ(ChooseSeverity(true, os_record, &v).severity, "low");  // distro first
  EXPECT_EQ(ChooseSeverity(true, os_record, &v).source, "debian-tracker");
  auto lang = Record("CVE-1", "pypi", "x", {});
  // No advisory rating: CVSS v4 wins over v3.
  EXPECT_EQ(ChooseSeverity(false, lang, &v).severity, "medium");
  EXPECT_EQ(ChooseSeverity(false, lang, &v).source, "ghsa");
  v.severity = "high";
  v.severity_source = "osv:PyPI";  // the advisory's own
  EXPECT_EQ(ChooseSeverity(false, lang, &v).severity, "high");
  v.cvss = {{"2.0", "AV:N/AC:L", 7.5, "nvd"}};
  v.severity = "";
  EXPECT_EQ(ChooseSeverity(false, lang, &v).severity, "high");
  v.cvss.clear();
  EXPECT_EQ(ChooseSeverity(false, lang, &v).severity, "unknown");
  EXPECT_EQ(ChooseSeverity(false, lang, nullptr).severity, "unknown");
  EXPECT_EQ(SeverityFromScore(9.0), "critical");
  EXPECT_EQ(SeverityFromScore(8.9), "high");
  EXPECT_EQ(SeverityFromScore(4.0), "medium");
  EXPECT_EQ(SeverityFromScore(0.1), "low");
  EXPECT_EQ(SeverityFromScore(0), "none");
}

// ---- filters ----

DetectedVulnerability Finding(std::string id, std::string severity, bool fixed,
                              std::string status = "") {
  DetectedVulnerability f;
  f.id = std::move(id);
  f.severity = std::move(severity);
  f.package_name = "openssl";
  f.package_type = "deb";
  f.package_purl = "pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12";
  f.file_path = "/var/lib/dpkg/status";
  if (fixed) f.fixed_versions = {"3.0.13-1"};
  f.status = status.empty() ? (fixed ? "fixed" : "affected") : status;
  return f;
}

Inventory WithFindings(std::vector<DetectedVulnerability> findings) {
  Inventory inv;
  inv.vulnerability_scan = true;
  inv.vulnerabilities = std::move(findings);
  return inv;
}

std::vector<std::string> Ids(const std::vector<DetectedVulnerability>& findings) {
  std::vector<std::string> ids;
  for (const auto& f : findings) ids.push_back(f.id);
  return ids;
}

TEST(Filter, SeverityUnfixedStatus) {
  auto make = [] {
    return WithFindings({Finding("CVE-1", "critical", true), Finding("CVE-2", "high", false),
                         Finding("CVE-3", "low", true),
                         Finding("CVE-4", "", false, "will_not_fix")});
  };
  FilterOptions severity;
  severity.severities = {"CRITICAL", "UNKNOWN"};
  auto a = make();
  ApplyFilters(a, severity);
  EXPECT_EQ(Ids(a.vulnerabilities), (std::vector<std::string>{"CVE-1", "CVE-4"}));
  FilterOptions unfixed;
  unfixed.ignore_unfixed = true;
  auto b = make();
  ApplyFilters(b, unfixed);
  EXPECT_EQ(Ids(b.vulnerabilities), (std::vector<std::string>{"CVE-1", "CVE-3"}));
  FilterOptions status;
  status.ignore_statuses = {"will_not_fix", "affected"};
  auto c = make();
  ApplyFilters(c, status);
  EXPECT_EQ(Ids(c.vulnerabilities), (std::vector<std::string>{"CVE-1", "CVE-3"}));
  EXPECT_TRUE(c.suppressed_vulnerabilities.empty());  // filtered, not suppressed
  FilterOptions bad;
  bad.severities = {"SEVERE"};
  EXPECT_FALSE(ValidateFilterOptions(bad).ok());
  bad.severities.clear();
  bad.ignore_statuses = {"wontfix"};
  EXPECT_FALSE(ValidateFilterOptions(bad).ok());
}

TEST(IgnoreFile, FormatAndExpiry) {
  const char* text =
      "# accepted risks\n"
      "CVE-1\n"
      "CVE-2 pkg=openssl exp=2026-12-31  # until the rebuild\n"
      "CVE-3 pkg=zlib\n"
      "CVE-4 exp=2020-01-01\n"
      "CVE-5 path=/var/lib/*\n"
      "CVE-6 exp:2099-01-01\n"
      "\n";
  auto rules = ParseIgnoreFile(text, ".moatignore");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  ASSERT_EQ(rules->size(), 6u);
  EXPECT_EQ((*rules)[1].package, "openssl");
  EXPECT_EQ((*rules)[1].expires, "2026-12-31");
  EXPECT_EQ((*rules)[1].statement, "until the rebuild");
  EXPECT_EQ((*rules)[1].source, ".moatignore:3");
  EXPECT_EQ((*rules)[5].expires, "2099-01-01");
  FilterOptions options;
  options.ignore_rules = *rules;
  options.today = "2026-06-01";
  auto inv = WithFindings({Finding("CVE-1", "high", true), Finding("CVE-2", "high", true),
                           Finding("CVE-3", "high", true), Finding("CVE-4", "high", true),
                           Finding("CVE-5", "high", true), Finding("CVE-7", "high", true)});
  ApplyFilters(inv, options);
  // CVE-3 names another package, CVE-4 expired, CVE-7 is not listed.
  EXPECT_EQ(Ids(inv.vulnerabilities), (std::vector<std::string>{"CVE-3", "CVE-4", "CVE-7"}));
  EXPECT_EQ(Ids(inv.suppressed_vulnerabilities),
            (std::vector<std::string>{"CVE-1", "CVE-2", "CVE-5"}));
  EXPECT_EQ(inv.suppressed_vulnerabilities[1].suppression->kind, "ignorefile");
  // The day after expiry, CVE-2 is reported again.
  options.today = "2027-01-01";
  auto later = WithFindings({Finding("CVE-2", "high", true)});
  ApplyFilters(later, options);
  EXPECT_EQ(later.vulnerabilities.size(), 1u);
  // Aliases are matched too.
  auto aliased = WithFindings({Finding("CVE-9", "high", true)});
  aliased.vulnerabilities[0].aliases = {"CVE-1"};
  ApplyFilters(aliased, options);
  EXPECT_TRUE(aliased.vulnerabilities.empty());

  auto bad = ParseIgnoreFile("CVE-1 owner=me\n", "x/.moatignore");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("x/.moatignore:1"), std::string::npos);
  EXPECT_FALSE(ParseIgnoreFile("CVE-1 exp=31-12-2026\n", "f").ok());
}

TEST(Vex, OpenVex) {
  const char* doc = R"({
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": "https://example.com/vex/1", "author": "t", "timestamp": "2024-01-01T00:00:00Z",
    "version": 1,
    "statements": [
      {"vulnerability": {"name": "CVE-1"},
       "products": [{"@id": "pkg:oci/app@sha256:abc",
                     "subcomponents": [{"@id": "pkg:deb/debian/openssl@3.0.11-1"}]}],
       "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
       "impact_statement": "TLS is terminated elsewhere"},
      {"vulnerability": {"name": "CVE-2"},
       "products": [{"@id": "pkg:deb/debian/zlib"}], "status": "not_affected",
       "justification": "component_not_present"},
      {"vulnerability": {"name": "CVE-3"},
       "products": [{"@id": "pkg:deb/debian/openssl"}], "status": "affected"},
      {"vulnerability": {"name": "GHSA-x", "aliases": ["CVE-4"]},
       "products": [{"@id": "pkg:oci/app@sha256:abc"}], "status": "not_affected",
       "justification": "inline_mitigations_already_exist"}
    ]})";
  auto statements = ParseVex(doc, "app.openvex.json");
  ASSERT_TRUE(statements.ok()) << statements.error().message;
  ASSERT_EQ(statements->size(), 4u);
  FilterOptions options;
  options.vex = *statements;
  auto inv = WithFindings({Finding("CVE-1", "high", true), Finding("CVE-2", "high", true),
                           Finding("CVE-3", "high", true), Finding("CVE-4", "high", true)});
  ApplyFilters(inv, options);
  EXPECT_EQ(Ids(inv.vulnerabilities), (std::vector<std::string>{"CVE-2", "CVE-3"}));
  ASSERT_EQ(inv.suppressed_vulnerabilities.size(), 2u);
  const auto& s = *inv.suppressed_vulnerabilities[0].suppression;
  EXPECT_EQ(s.kind, "vex");
  EXPECT_EQ(s.state, "not_affected");
  EXPECT_EQ(s.justification, "vulnerable_code_not_in_execute_path");
  EXPECT_EQ(s.statement, "TLS is terminated elsewhere");
  EXPECT_EQ(s.source, "app.openvex.json");
}

TEST(Vex, CycloneDx) {
  const char* doc = R"({
    "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
    "components": [{"bom-ref": "ssl", "type": "library", "name": "openssl",
                    "purl": "pkg:deb/debian/openssl@3.0.11-1?arch=amd64"}],
    "vulnerabilities": [
      {"id": "CVE-1", "analysis": {"state": "false_positive", "detail": "not our build"},
       "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#ssl"}]},
      {"id": "CVE-2", "analysis": {"state": "exploitable"}, "affects": [{"ref": "ssl"}]},
      {"id": "CVE-3", "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
       "affects": [{"ref": "pkg:deb/debian/openssl"}]},
      {"id": "CVE-4", "analysis": {"state": "resolved"},
       "affects": [{"ref": "pkg:deb/debian/openssl@9.9"}]}
    ]})";
  auto statements = ParseVex(doc, "vex.cdx.json");
  ASSERT_TRUE(statements.ok()) << statements.error().message;
  FilterOptions options;
  options.vex = *statements;
  auto inv = WithFindings({Finding("CVE-1", "high", true), Finding("CVE-2", "high", true),
                           Finding("CVE-3", "high", true), Finding("CVE-4", "high", true)});
  ApplyFilters(inv, options);
  // CVE-2 is exploitable; CVE-4's statement is for another version.
  EXPECT_EQ(Ids(inv.vulnerabilities), (std::vector<std::string>{"CVE-2", "CVE-4"}));
  EXPECT_EQ(Ids(inv.suppressed_vulnerabilities), (std::vector<std::string>{"CVE-1", "CVE-3"}));
  EXPECT_EQ(inv.suppressed_vulnerabilities[1].suppression->justification, "code_not_reachable");
  auto bad = ParseVex("{\"statements\": 3}", "bad.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad.json"), std::string::npos);
  EXPECT_FALSE(ParseVex("{", "broken.json").ok());
}

TEST(Vex, TrivyGoldenOpenVex) {
  const std::string path =
      std::string(MOAT_SHARED_DATA_DIR) + "/standards/trivy-golden/openvex.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " missing (the shared reference data, ../shared/data)";
  std::stringstream text;
  text << in.rdbuf();
  auto statements = ParseVex(text.str(), path);
  ASSERT_TRUE(statements.ok()) << statements.error().message;
  EXPECT_FALSE(statements->empty());
}

// ---- SBOM input ----

TEST(Sbom, CycloneDxWithOsComponent) {
  const char* doc = R"({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
    "metadata": {"component": {"type": "container", "name": "app:1"}},
    "components": [
      {"type": "operating-system", "name": "debian", "version": "12.5"},
      {"type": "library", "name": "libssl3",
       "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12.5&upstream=openssl"},
      {"type": "library", "name": "requests", "purl": "pkg:pypi/requests@2.28.1"},
      {"type": "library", "name": "types", "purl": "pkg:npm/%40types/node@20.1.0"},
      {"type": "library", "name": "x", "purl": "pkg:golang/golang.org/x/net@v0.17.0"},
      {"type": "library", "name": "rpm", "purl": "pkg:rpm/redhat/bash@5.1.8-6.el9?epoch=1"},
      {"type": "library", "name": "nopurl"}]})";
  auto inv = ParseSbom(doc, "app.cdx.json");
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  EXPECT_EQ(inv->os.family, "debian");
  EXPECT_EQ(OsNamespace(inv->os), "debian:12");
  EXPECT_EQ(inv->artifact.name, "app:1");
  ASSERT_EQ(inv->packages.size(), 5u);
  std::map<std::string, Package> by_name;
  for (const auto& p : inv->packages) by_name[p.name] = p;
  EXPECT_EQ(by_name["libssl3"].source_name, "openssl");
  EXPECT_EQ(by_name["@types/node"].version, "20.1.0");
  EXPECT_EQ(by_name["golang.org/x/net"].version, "v0.17.0");
  EXPECT_EQ(by_name["bash"].release, "6.el9");
  EXPECT_EQ(by_name["bash"].epoch, "1");
  auto bad = ParseSbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.2"})", "old.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("old.json: /specVersion"), std::string::npos);
}

TEST(Sbom, RealDocuments) {
  const std::string dir = std::string(MOAT_SHARED_DATA_DIR) + "/standards";
  for (const char* file : {"/spdx/SPDXJSONExample-v2.3.spdx.json",
                           "/trivy-golden/fluentd-multiple-lockfiles-short.cdx.json.golden",
                           "/trivy-golden/conda-spdx.json.golden"}) {
    std::ifstream in(dir + file);
    ASSERT_TRUE(in) << dir + file << " missing (the shared reference data, ../shared/data)";
    std::stringstream text;
    text << in.rdbuf();
    auto inv = ParseSbom(text.str(), dir + file);
    EXPECT_TRUE(inv.ok()) << file << ": " << inv.error().message;
  }
}

std::string ReadSharedFile(const std::string& relative) {
  std::ifstream in(std::string(MOAT_SHARED_DATA_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Trivy's golden CycloneDX SBOM of the fluentd image (debian 10.2): the packages Trivy wrote and
// the finding Trivy reported from them (CVE-2019-18224 in libidn2-0 2.0.5-1, fixed in
// 2.0.5-1+deb10u1), then the same component at the fixed version as Trivy writes it, the source
// version split into SrcVersion and SrcRelease: not reported.
TEST(Sbom, TrivyCycloneDxSourceVersionAndRelease) {
  const std::string text =
      ReadSharedFile("standards/trivy-golden/fluentd-multiple-lockfiles-short.cdx.json.golden");
  ASSERT_FALSE(text.empty()) << "the shared reference data (../shared/data) is missing";
  auto inv = ParseSbom(text, "fluentd.cdx.json");
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  EXPECT_EQ(inv->os.family, "debian");
  EXPECT_EQ(inv->os.version, "10.2");
  std::vector<std::string> read;
  for (const auto& p : inv->packages) {
    read.push_back(std::string(PackageTypeName(p.type)) + " " + p.name + " " + p.version + " " +
                   p.source_name + " " + p.source_version + " " + p.file_path);
  }
  EXPECT_THAT(read, ::testing::ElementsAre(
                        "deb bash 5.0-4 bash 5.0-4 ", "deb libidn2-0 2.0.5-1 libidn2 2.0.5-1 ",
                        "gem activesupport 6.0.2.1   "
                        "var/lib/gems/2.5.0/specifications/activesupport-6.0.2.1.gemspec"));
  MemoryDatabase db;
  db.Add(Record("CVE-2019-18224", "debian:10", "libidn2", {{"0", "2.0.5-1+deb10u1", ""}},
                Status::kFixed, "high", "debian-tracker"));
  auto found = MatchInventory(*inv, db);
  const auto* finding = Find(found.findings, "CVE-2019-18224", "libidn2-0");
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ(finding->fixed_versions, std::vector<std::string>{"2.0.5-1+deb10u1"});

  std::string fixed = text;
  auto replace_all = [&fixed](const std::string& from, const std::string& to) {
    for (size_t at = fixed.find(from); at != std::string::npos; at = fixed.find(from, at)) {
      fixed.replace(at, from.size(), to);
      at += to.size();
    }
  };
  replace_all("libidn2-0@2.0.5-1?", "libidn2-0@2.0.5-1%2Bdeb10u1?");
  replace_all(R"("version": "2.0.5-1",)", R"("version": "2.0.5-1+deb10u1",)");
  replace_all(R"({
          "name": "aquasecurity:trivy:SrcVersion",
          "value": "2.0.5-1"
        })",
              R"({"name": "aquasecurity:trivy:SrcVersion", "value": "2.0.5"},
        {"name": "aquasecurity:trivy:SrcRelease", "value": "1+deb10u1"})");
  ASSERT_NE(fixed.find("SrcRelease"), std::string::npos) << "the golden file changed shape";
  auto fixed_inv = ParseSbom(fixed, "fluentd-fixed.cdx.json");
  ASSERT_TRUE(fixed_inv.ok()) << fixed_inv.error().message;
  const Package* libidn2 = nullptr;
  for (const auto& p : fixed_inv->packages) {
    if (p.name == "libidn2-0") libidn2 = &p;
  }
  ASSERT_NE(libidn2, nullptr);
  EXPECT_EQ(libidn2->version, "2.0.5-1+deb10u1");
  EXPECT_EQ(libidn2->source_version, "2.0.5-1+deb10u1");
  EXPECT_EQ(Find(MatchInventory(*fixed_inv, db).findings, "CVE-2019-18224"), nullptr);

  // An epoch comes in SrcEpoch; an rpm keeps version and release apart as Moat's rpm packages do.
  auto split = ParseSbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"type": "library", "purl": "pkg:deb/debian/libgcrypt20@1:1.8.4-5?distro=debian-10",
     "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "libgcrypt20"},
                    {"name": "aquasecurity:trivy:SrcVersion", "value": "1.8.4"},
                    {"name": "aquasecurity:trivy:SrcRelease", "value": "5"},
                    {"name": "aquasecurity:trivy:SrcEpoch", "value": "1"}]},
    {"type": "library", "purl": "pkg:rpm/redhat/openssl-libs@1.1.1k-4.el8?epoch=1",
     "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "openssl"},
                    {"name": "aquasecurity:trivy:SrcVersion", "value": "1.1.1k"},
                    {"name": "aquasecurity:trivy:SrcRelease", "value": "4.el8"}]}]})",
                         "split.cdx.json");
  ASSERT_TRUE(split.ok()) << split.error().message;
  ASSERT_EQ(split->packages.size(), 2u);
  EXPECT_EQ(split->packages[0].source_version, "1:1.8.4-5");
  EXPECT_EQ(split->packages[1].source_version, "1.1.1k");
  EXPECT_EQ(split->packages[1].source_release, "4.el8");
}

// Trivy writes the Go standard library without a purl namespace; it must be read and matched
// (real advisory GO-2024-2687, CVE-2023-45288: stdlib before 1.22.2).
TEST(Sbom, GoStandardLibraryPurlWithoutNamespace) {
  auto inv = ParseSbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"type": "library", "name": "stdlib", "version": "v1.22.1", "purl": "pkg:golang/stdlib@v1.22.1",
     "properties": [{"name": "aquasecurity:trivy:FilePath", "value": "usr/local/bin/app"}]},
    {"type": "library", "name": "net", "purl": "pkg:golang/golang.org/x/net@v0.22.0"}]})",
                       "go.cdx.json");
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  ASSERT_EQ(inv->packages.size(), 2u);
  EXPECT_EQ(inv->packages[0].name, "golang.org/x/net");
  EXPECT_EQ(inv->packages[1].name, "stdlib");
  EXPECT_EQ(inv->packages[1].version, "v1.22.1");
  EXPECT_TRUE(inv->warnings.empty());

  const std::string advisory = ReadSharedFile("vuln/osv/Go/GO-2024-2687.json");
  ASSERT_FALSE(advisory.empty()) << "the shared reference data (../shared/data) is missing";
  const auto dir =
      std::filesystem::temp_directory_path() / ("moat-sbom-go-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "osv");
  std::ofstream(dir / "osv/GO-2024-2687.json") << advisory;
  auto stats = vulndb::BuildDatabase({{vulndb::FeedKind::kOsv, (dir / "osv").string(), ""}},
                                     (dir / "go.db").string());
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  auto db = vulndb::OpenDatabase((dir / "go.db").string());
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto result = MatchInventory(*inv, **db);
  std::vector<std::string> found;
  for (const auto& f : result.findings) found.push_back(f.package_name + " " + f.id);
  EXPECT_THAT(found, ::testing::UnorderedElementsAre("golang.org/x/net CVE-2023-45288",
                                                     "stdlib CVE-2023-45288"));
  std::filesystem::remove_all(dir);
}

// Syft's CycloneDX and SPDX shapes: the source package and version in the purl's "upstream"
// qualifier ("libidn2@2.0.5-1+deb10u1" when it differs from the binary's), Go purls with a
// namespace, and SPDX purls in externalRefs; a component type Moat does not match is skipped.
TEST(Sbom, SyftShapes) {
  auto cdx = ParseSbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"bom-ref": "pkg:deb/debian/libidn2-0@2.0.5-1+deb10u1?arch=amd64&upstream=libidn2&distro=debian-10&package-id=1",
     "type": "library", "name": "libidn2-0", "version": "2.0.5-1+deb10u1",
     "purl": "pkg:deb/debian/libidn2-0@2.0.5-1%2Bdeb10u1?arch=amd64&upstream=libidn2&distro=debian-10",
     "properties": [{"name": "syft:package:type", "value": "deb"}]},
    {"type": "library", "name": "libgcc1",
     "purl": "pkg:deb/debian/libgcc1@1:8.3.0-6?arch=amd64&upstream=gcc-8%408.3.0-6&distro=debian-10"},
    {"type": "library", "name": "readline", "purl": "pkg:gem/readline@0.0.2"},
    {"type": "operating-system", "name": "debian", "version": "10"}]})",
                       "syft.cdx.json");
  ASSERT_TRUE(cdx.ok()) << cdx.error().message;
  EXPECT_EQ(OsNamespace(cdx->os), "debian:10");
  std::map<std::string, Package> by_name;
  for (const auto& p : cdx->packages) by_name[p.name] = p;
  EXPECT_EQ(by_name["libidn2-0"].source_name, "libidn2");
  EXPECT_EQ(by_name["libgcc1"].source_name, "gcc-8");
  EXPECT_EQ(by_name["libgcc1"].source_version, "8.3.0-6");
  EXPECT_EQ(by_name["libgcc1"].version, "1:8.3.0-6");
  MemoryDatabase db;
  db.Add(Record("CVE-2019-18224", "debian:10", "libidn2", {{"0", "2.0.5-1+deb10u1", ""}}));
  EXPECT_EQ(Find(MatchInventory(*cdx, db).findings, "CVE-2019-18224"), nullptr);

  auto spdx = ParseSbom(R"({"spdxVersion": "SPDX-2.3", "name": "app", "packages": [
    {"name": "github.com/gin-gonic/gin", "SPDXID": "SPDXRef-Package-go-module-1",
     "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
       "referenceLocator": "pkg:golang/github.com/gin-gonic/gin@v1.9.0"}]},
    {"name": "stdlib", "SPDXID": "SPDXRef-Package-go-module-stdlib",
     "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
       "referenceLocator": "pkg:golang/stdlib@1.22.1"}]}]})",
                        "syft.spdx.json");
  ASSERT_TRUE(spdx.ok()) << spdx.error().message;
  ASSERT_EQ(spdx->packages.size(), 2u);
  EXPECT_EQ(spdx->packages[0].name, "github.com/gin-gonic/gin");
  EXPECT_EQ(spdx->packages[1].name, "stdlib");
}

// Trivy's golden SPDX of a conda environment: conda packages are not matched (no feed), so
// nothing is read and nothing is an error.
TEST(Sbom, TrivySpdxConda) {
  auto inv =
      ParseSbom(ReadSharedFile("standards/trivy-golden/conda-spdx.json.golden"), "conda.spdx.json");
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  EXPECT_EQ(inv->artifact.name, "testdata/fixtures/repo/conda");
  EXPECT_TRUE(inv->packages.empty());
}

// Real Trivy output (src/match/testdata/trivy, see SOURCE.txt): the same Debian 12 packages in
// Trivy's CycloneDX (source in SrcName/SrcEpoch/SrcVersion/SrcRelease properties) and SPDX (source
// only in sourceInfo, "built package from: llvm-toolchain-14 1:14.0.6-12"). Both must give the
// same source packages, so that advisories filed under the source name reach every binary, and
// dpkg's binary versions: Trivy's purl carries clang-14's epoch in a qualifier
// (pkg:deb/debian/clang-14@14.0.6-12?epoch=1), its version field not at all.
TEST(Sbom, TrivyCycloneDxAndSpdxGiveTheSameSources) {
  const std::string dir = std::string(MOAT_SOURCE_DIR) + "/src/match/testdata/trivy/";
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  auto cdx = ParseSbom(read(dir + "debian12-excerpt.cdx.json"), "debian12-excerpt.cdx.json");
  auto spdx = ParseSbom(read(dir + "debian12-excerpt.spdx.json"), "debian12-excerpt.spdx.json");
  ASSERT_TRUE(cdx.ok()) << cdx.error().message;
  ASSERT_TRUE(spdx.ok()) << spdx.error().message;
  auto sources = [](const Inventory& inv) {
    std::vector<std::string> out;
    for (const auto& p : inv.packages) {
      out.push_back(p.name + " " + p.version + " " + p.source_name + " " + p.source_version);
    }
    return out;
  };
  const std::vector<std::string> expected = {
      "bash 5.2.15-2+b8 bash 5.2.15-2", "clang-14 1:14.0.6-12 llvm-toolchain-14 1:14.0.6-12",
      "less 590-2.1~deb12u2 less 590-2.1~deb12u2", "libjq1 1.6-2.1+deb12u1 jq 1.6-2.1+deb12u1"};
  EXPECT_EQ(sources(*cdx), expected);
  EXPECT_EQ(sources(*spdx), expected);
  for (const Inventory* inv : {&*cdx, &*spdx}) {
    EXPECT_EQ(OsNamespace(inv->os), "debian:12") << inv->artifact.name;
  }

  // jq open (reaches libjq1 only through its source), less fixed one revision above the installed
  // one (affected, with the fix), llvm-toolchain-14 fixed at the installed 1:14.0.6-12 (read
  // without its epoch, 14.0.6-12 would be older and reported).
  MemoryDatabase db;
  db.Add(
      Record("CVE-2099-0101", "debian:12", "jq", {}, Status::kAffected, "high", "debian-tracker"));
  db.Add(Record("CVE-2099-0102", "debian:12", "less", {{"0", "590-2.1~deb12u2+moat1", ""}},
                Status::kFixed, "medium", "debian-tracker"));
  db.Add(Record("CVE-2099-0105", "debian:12", "llvm-toolchain-14", {{"0", "1:14.0.6-12", ""}},
                Status::kFixed, "medium", "debian-tracker"));
  for (const Inventory* inv : {&*cdx, &*spdx}) {
    auto found = MatchInventory(*inv, db).findings;
    std::vector<std::string> ids;
    for (const auto& f : found) ids.push_back(f.id + " " + f.package_name);
    EXPECT_THAT(ids, ::testing::UnorderedElementsAre("CVE-2099-0101 libjq1", "CVE-2099-0102 less"))
        << inv->artifact.name;
    const auto* less = Find(found, "CVE-2099-0102", "less");
    ASSERT_NE(less, nullptr);
    EXPECT_EQ(less->fixed_versions, std::vector<std::string>{"590-2.1~deb12u2+moat1"});
  }

  // sourceInfo that is not Trivy's "built package from:" (Syft writes where it read the package)
  // leaves the source unknown; the binary name and version are still matched.
  auto syft = ParseSbom(R"({"spdxVersion": "SPDX-2.3", "packages": [{"name": "less",
    "sourceInfo": "acquired package info from DPKG DB: /var/lib/dpkg/status",
    "externalRefs": [{"referenceType": "purl",
      "referenceLocator": "pkg:deb/debian/less@590-2.1~deb12u2?distro=debian-12"}]}]})",
                        "syft.spdx.json");
  ASSERT_TRUE(syft.ok()) << syft.error().message;
  ASSERT_EQ(syft->packages.size(), 1u);
  EXPECT_EQ(syft->packages[0].source_name, "");
  EXPECT_EQ(syft->packages[0].source_version, "");
}

// End to end on a database built from real feeds: the whole OSV PyPI database and the Debian
// Security Tracker JSON sample (vunnel fixture). The packages are made up at real versions.
TEST(EndToEnd, RealFeeds) {
  const std::string data = std::string(MOAT_SHARED_DATA_DIR) + "/vuln";
  const std::string tracker = data + "/feeds/vunnel-fixtures/debian__input_debian.json";
  if (!std::filesystem::exists(data + "/osv/PyPI") || !std::filesystem::exists(tracker)) {
    FAIL() << "no feeds under " << data << " (the shared reference data, ../shared/data)";
  }
  const std::string db_path = (std::filesystem::temp_directory_path() /
                               ("moat-match-e2e-" + std::to_string(::getpid()) + ".db"))
                                  .string();
  auto stats = vulndb::BuildDatabase({{vulndb::FeedKind::kOsv, data + "/osv/PyPI", ""},
                                      {vulndb::FeedKind::kDebianTracker, tracker, ""}},
                                     db_path);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  auto db = vulndb::OpenDatabase(db_path);
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto inv = Bookworm({Deb("libsope1", "5.8.0-1", "sope", "5.8.0-1"),
                       Deb("sope4.9-appserver", "5.8.0-1+deb12u1", "sope", "5.8.0-1+deb12u1"),
                       Lang(PackageType::kPypi, "requests", "2.2.1", "/app/requests.dist-info"),
                       Lang(PackageType::kPypi, "requests", "2.3.0", "/b/requests.dist-info")});
  auto result = MatchInventory(inv, **db);
  // sope 5.8.0-1 in bookworm: CVE-2025-53603 resolved in 5.8.0-1+deb12u1.
  const auto* sope = Find(result.findings, "CVE-2025-53603", "libsope1");
  ASSERT_NE(sope, nullptr);
  EXPECT_EQ(sope->fixed_versions, std::vector<std::string>{"5.8.0-1+deb12u1"});
  EXPECT_EQ(sope->data_source, "debian-tracker");
  EXPECT_EQ(Find(result.findings, "CVE-2025-53603", "sope4.9-appserver"), nullptr);
  // PYSEC-2014-14 (aliases CVE-2014-1830, GHSA-652x-xj99-gmcc): fixed in requests 2.3.0.
  const DetectedVulnerability* requests = nullptr;
  for (const auto& f : result.findings) {
    if (f.id == "CVE-2014-1830" && f.file_path == "/app/requests.dist-info") requests = &f;
  }
  ASSERT_NE(requests, nullptr);
  EXPECT_EQ(requests->fixed_versions, std::vector<std::string>{"2.3.0"});
  EXPECT_NE(std::find(requests->aliases.begin(), requests->aliases.end(), "PYSEC-2014-14"),
            requests->aliases.end());
  for (const auto& f : result.findings) {
    EXPECT_FALSE(f.id == "CVE-2014-1830" && f.file_path == "/b/requests.dist-info");
  }
  // The database lists the namespaces its feeds gave records for, sorted: bookworm is covered,
  // a release the tracker fixture does not name is not.
  const std::vector<std::string>& namespaces = (*db)->metadata().namespaces;
  EXPECT_TRUE(std::is_sorted(namespaces.begin(), namespaces.end()));
  EXPECT_TRUE(std::binary_search(namespaces.begin(), namespaces.end(), "debian:12"));
  EXPECT_TRUE(std::binary_search(namespaces.begin(), namespaces.end(), "pypi"));
  EXPECT_FALSE(std::binary_search(namespaces.begin(), namespaces.end(), "alpine:3.20"));
  EXPECT_TRUE(result.gaps.empty());
  inv.os = {"alpine", "Alpine Linux v3.20", "3.20.3", ""};
  inv.packages = {Deb("musl", "1.2.5-r0")};
  inv.packages[0].type = PackageType::kApk;
  ASSERT_EQ(MatchInventory(inv, **db).gaps.size(), 1u);
  std::filesystem::remove(db_path);
}

}  // namespace
}  // namespace moat::match
