// End to end for RubyGems, crates.io, NuGet and Packagist: a database built by `moat db build`'s
// code from OSV advisories (the RustSec samples in $MOAT_SHARED_DATA_DIR converted by this test as
// rustsec's own OSV export does, and real GitHub advisories written out here), a tree of real
// package files scanned by the scanner, and the matcher: a package at a vulnerable version is
// found with its fix, the same package at the fixed version is not, and a version its ecosystem
// cannot order is reported as not assessed instead of dropped.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "match/match.h"
#include "match/sbom.h"
#include "scan/scanner.h"
#include "vulndb/build.h"

namespace moat::match {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// RustSec's TOML front matter -> OSV, as rustsec's OSV export maps it: the versions neither
// "patched" nor "unaffected" are affected (a bare requirement is Cargo's caret requirement).
constexpr const char* kRustsecToOsv = R"PY(
import json, os, re, sys, tomllib
def parse(v): return tuple(int(x) for x in v.split('.'))
def caret(v):
    p = list(parse(v))
    i = next((k for k, x in enumerate(p) if x != 0), len(p) - 1)
    return tuple(p[:i] + [p[i] + 1] + [0] * (len(p) - i - 1))
INF = (10**9,)
def interval(req):
    lo, hi = (0,), INF
    for c in [c.strip() for c in req.split(',')]:
        m = re.match(r'(>=|<|=|\^)?\s*([0-9.]+)$', c)
        op, v = m.group(1) or '^', m.group(2)
        if op == '>=': lo = max(lo, parse(v))
        elif op == '<': hi = min(hi, parse(v))
        elif op == '=': lo, hi = parse(v), parse(v) + (0, 1)
        else: lo, hi = max(lo, parse(v)), min(hi, caret(v))
    return lo, hi
def fmt(t): return '.'.join(str(x) for x in t[:3])
for f in sorted(os.listdir(sys.argv[1])):
    text = open(os.path.join(sys.argv[1], f)).read()
    d = tomllib.loads(re.search(r'```toml\n(.*?)```', text, re.S).group(1))
    a, v = d['advisory'], d.get('versions', {})
    safe = sorted(interval(r) for r in v.get('patched', []) + v.get('unaffected', []))
    events, cursor = [], (0,)
    for lo, hi in safe:
        if lo > cursor: events += [{'introduced': fmt(cursor) if cursor != (0,) else '0'}, {'fixed': fmt(lo)}]
        cursor = max(cursor, hi)
    if cursor != INF: events.append({'introduced': fmt(cursor) if cursor != (0,) else '0'})
    osv = {'id': a['id'], 'modified': a['date'] + 'T00:00:00Z', 'published': a['date'] + 'T00:00:00Z',
           'aliases': a.get('aliases', []), 'summary': text.split('\n# ', 1)[-1].split('\n', 1)[0],
           'affected': [{'package': {'ecosystem': 'crates.io', 'name': a['package']},
                         'ranges': [{'type': 'SEMVER', 'events': events}]}]}
    json.dump(osv, open(os.path.join(sys.argv[2], a['id'] + '.json'), 'w'))
)PY";

// GitHub advisories as GitHub publishes them in OSV (abridged to the fields matching reads).
std::string Advisory(const std::string& id, const std::string& cve, const std::string& ecosystem,
                     const std::string& package, const std::string& events) {
  return R"({"schema_version": "1.4.0", "id": ")" + id + R"(", "modified": "2024-01-01T00:00:00Z",
    "published": "2023-01-01T00:00:00Z", "aliases": [")" +
         cve + R"("], "summary": "test",
    "affected": [{"package": {"ecosystem": ")" +
         ecosystem + R"(", "name": ")" + package + R"("},
                  "ranges": [{"type": "ECOSYSTEM", "events": )" +
         events + R"(}]}],
    "database_specific": {"severity": "HIGH"}})";
}

class EcosystemsEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moat-ecosystems-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    const fs::path osv = dir_ / "osv";
    fs::create_directories(osv);
    const std::string rustsec = std::string(MOAT_SHARED_DATA_DIR) + "/vuln/feeds/osv/rustsec";
    ASSERT_TRUE(fs::exists(rustsec)) << rustsec << " (the shared reference data)";
    Write(dir_ / "rustsec_to_osv.py", kRustsecToOsv);
    const std::string command = "/usr/bin/python3 '" + (dir_ / "rustsec_to_osv.py").string() +
                                "' '" + rustsec + "' '" + osv.string() + "' 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    // ActiveSupport ReDoS (CVE-2023-22796), Newtonsoft.Json stack overflow (CVE-2024-21907),
    // Guzzle's cookie domain check (CVE-2022-29248).
    Write(osv / "GHSA-j6gc-792m-qgm2.json",
          Advisory("GHSA-j6gc-792m-qgm2", "CVE-2023-22796", "RubyGems", "activesupport",
                   R"([{"introduced": "0"}, {"fixed": "6.1.7.1"}, {"introduced": "7.0.0"},
                       {"fixed": "7.0.4.1"}])"));
    Write(osv / "GHSA-5crp-9r3c-p9vr.json",
          Advisory("GHSA-5crp-9r3c-p9vr", "CVE-2024-21907", "NuGet", "Newtonsoft.Json",
                   R"([{"introduced": "0"}, {"fixed": "13.0.1"}])"));
    Write(osv / "GHSA-cwmx-hcrq-mhc3.json",
          Advisory("GHSA-cwmx-hcrq-mhc3", "CVE-2022-29248", "Packagist", "guzzlehttp/guzzle",
                   R"([{"introduced": "0"}, {"fixed": "6.5.6"}, {"introduced": "7.0.0"},
                       {"fixed": "7.4.3"}])"));
    auto stats = vulndb::BuildDatabase({{vulndb::FeedKind::kOsv, osv.string(), ""}},
                                       (dir_ / "eco.db").string());
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    auto db = vulndb::OpenDatabase((dir_ / "eco.db").string());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Inventory Scan(const fs::path& root, bool source_tree) {
    AnalyzerRegistry analyzers;
    if (source_tree) {
      RegisterSourceTreeAnalyzers(analyzers);
    } else {
      RegisterBuiltinAnalyzers(analyzers);
    }
    ScanOptions options;
    options.threads = 2;
    auto inventory = ScanRootfs(root.string(), analyzers, options);
    EXPECT_TRUE(inventory.ok()) << inventory.error().message;
    return inventory.ok() ? std::move(*inventory) : Inventory{};
  }

  static const DetectedVulnerability* Finding(const MatchResult& result, const std::string& id,
                                              const std::string& file) {
    for (const auto& f : result.findings) {
      bool named = f.id == id || std::count(f.aliases.begin(), f.aliases.end(), id) > 0;
      if (named && f.file_path == file) return &f;
    }
    return nullptr;
  }

  fs::path dir_;
  std::unique_ptr<vulndb::Database> db_;
};

TEST_F(EcosystemsEndToEnd, NamespacesOfTheDatabase) {
  const auto& namespaces = db_->metadata().namespaces;
  for (PackageType type :
       {PackageType::kGem, PackageType::kCargo, PackageType::kNuget, PackageType::kComposer}) {
    EXPECT_TRUE(std::binary_search(namespaces.begin(), namespaces.end(), LanguageNamespace(type)))
        << LanguageNamespace(type);
  }
}

TEST_F(EcosystemsEndToEnd, InstalledPackagesInARootFilesystem) {
  const fs::path root = dir_ / "rootfs";
  // Debian's own rack specification (ruby-rack): 2.2.22 is past every fix written here.
  Write(root / "usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec",
        Read("/usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec"));
  Write(root / "var/lib/gems/3.1.0/specifications/activesupport-6.1.4.1.gemspec",
        "Gem::Specification.new do |s|\n  s.name = \"activesupport\".freeze\n"
        "  s.version = \"6.1.4.1\"\nend\n");
  Write(root / "opt/fixed/specifications/activesupport-6.1.7.1.gemspec",
        "Gem::Specification.new do |s|\n  s.name = \"activesupport\"\n  s.version = \"6.1.7.1\"\n"
        "end\n");
  const fs::path testdata = fs::path(MOAT_SOURCE_DIR) / "src/analyzer/lang/testdata/dotnet";
  Write(root / "app/api/packages.lock.json", Read(testdata / "packages.lock.json"));  // 12.0.3
  Write(root / "app/web/ExampleApp1.deps.json",
        Read(testdata / "ExampleApp1.deps.json"));  // 13.0.1
  Write(root / "srv/a/Cargo.lock",
        "version = 3\n[[package]]\nname = \"hyper\"\nversion = \"0.14.9\"\n"
        "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n");
  Write(root / "srv/b/Cargo.lock",
        "version = 3\n[[package]]\nname = \"hyper\"\nversion = \"0.14.12\"\n"
        "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n");
  Write(root / "var/www/vendor/composer/installed.json",
        R"({"packages": [{"name": "guzzlehttp/guzzle", "version": "7.4.2"},
                         {"name": "acme/tool", "version": "dev-main"}],
            "dev": true, "dev-package-names": []})");
  Write(root / "var/www2/vendor/composer/installed.json",
        R"({"packages": [{"name": "guzzlehttp/guzzle", "version": "v7.4.3"}]})");
  Inventory inventory = Scan(root, /*source_tree=*/false);
  MatchResult result = MatchInventory(inventory, *db_);

  // RubyGems: Gem::Version order.
  const auto* active = Finding(result, "CVE-2023-22796",
                               "/var/lib/gems/3.1.0/specifications/activesupport-6.1.4.1.gemspec");
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(active->fixed_versions, (std::vector<std::string>{"6.1.7.1"}));
  EXPECT_EQ(active->namespace_, "rubygems");
  EXPECT_EQ(active->package_purl, "pkg:gem/activesupport@6.1.4.1");
  EXPECT_EQ(
      Finding(result, "CVE-2023-22796", "/opt/fixed/specifications/activesupport-6.1.7.1.gemspec"),
      nullptr);
  // NuGet.
  const auto* json = Finding(result, "CVE-2024-21907", "/app/api/packages.lock.json");
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(json->fixed_versions, (std::vector<std::string>{"13.0.1"}));
  EXPECT_EQ(Finding(result, "CVE-2024-21907", "/app/web/ExampleApp1.deps.json"), nullptr);
  // crates.io, from the converted RustSec samples: three advisories fixed in 0.14.10 and 0.14.12.
  const auto* hyper = Finding(result, "RUSTSEC-2021-0078", "/srv/a/Cargo.lock");
  ASSERT_NE(hyper, nullptr);
  EXPECT_EQ(hyper->fixed_versions, (std::vector<std::string>{"0.14.10"}));
  EXPECT_NE(Finding(result, "RUSTSEC-2022-0022", "/srv/a/Cargo.lock"), nullptr);
  EXPECT_EQ(Finding(result, "RUSTSEC-2021-0020", "/srv/a/Cargo.lock"), nullptr);  // >= 0.14.3
  for (const auto& f : result.findings) EXPECT_NE(f.file_path, "/srv/b/Cargo.lock") << f.id;
  // Packagist: Composer normalizes "v7.4.3" before comparing.
  const auto* guzzle = Finding(result, "CVE-2022-29248", "/var/www/vendor/composer/installed.json");
  ASSERT_NE(guzzle, nullptr);
  EXPECT_EQ(guzzle->fixed_versions, (std::vector<std::string>{"7.4.3"}));
  EXPECT_EQ(guzzle->package_purl, "pkg:composer/guzzlehttp/guzzle@7.4.2");
  EXPECT_EQ(Finding(result, "CVE-2022-29248", "/var/www2/vendor/composer/installed.json"), nullptr);
  EXPECT_EQ(Finding(result, "CVE-2023-22796",
                    "/usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec"),
            nullptr);
  EXPECT_TRUE(result.gaps.empty()) << DescribeAssessmentGap(result.gaps.front());
}

// A version the ecosystem cannot order (a Composer branch) is not a silent "not affected": the
// advisories it leaves undecided are an assessment gap naming the package and the advisory.
TEST_F(EcosystemsEndToEnd, UncomparableVersionIsNotAssessedNotDropped) {
  const fs::path root = dir_ / "tree";
  Write(root / "composer.lock", R"({"packages": [
      {"name": "guzzlehttp/guzzle", "version": "dev-master"},
      {"name": "guzzlehttp/psr7", "version": "1.9.0"}],
    "packages-dev": [{"name": "guzzlehttp/guzzle", "version": "7.4.1"}]})");
  Write(root / "Gemfile.lock", Read("/usr/lib/ruby/gems/3.1.0/gems/rbs-2.1.0/steep/Gemfile.lock"));
  Inventory inventory = Scan(root, /*source_tree=*/true);
  MatchResult result = MatchInventory(inventory, *db_);
  ASSERT_EQ(result.gaps.size(), 1u);
  const AssessmentGap& gap = result.gaps[0];
  EXPECT_EQ(gap.kind, AssessmentGap::Kind::kVersionNotCompared);
  EXPECT_EQ(gap.subject, "composer guzzlehttp/guzzle dev-master (/composer.lock)");
  ASSERT_EQ(gap.details.size(), 1u);
  EXPECT_NE(gap.details[0].find("GHSA-cwmx-hcrq-mhc3: not decided"), std::string::npos)
      << gap.details[0];
  EXPECT_NE(DescribeAssessmentGap(gap).find("NOT ASSESSED"), std::string::npos);
  // The dev dependency at a vulnerable version is found, and says it is one.
  const auto* dev = Finding(result, "CVE-2022-29248", "/composer.lock");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->package_version, "7.4.1");
  bool marked_dev = false;
  for (const Package& p : inventory.packages) {
    if (p.name == "guzzlehttp/guzzle" && p.version == "7.4.1") marked_dev = p.dev;
  }
  EXPECT_TRUE(marked_dev);
  // Debian's steep Gemfile.lock pins activesupport 6.1.4.1.
  const auto* active = Finding(result, "CVE-2023-22796", "/Gemfile.lock");
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(active->installed_version, "6.1.4.1");
}

// SBOMs name these packages by purl: the Composer vendor is the purl namespace.
TEST_F(EcosystemsEndToEnd, SbomPurls) {
  auto inventory = ParseSbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"type": "library", "name": "guzzle", "purl": "pkg:composer/guzzlehttp/guzzle@7.4.2"},
    {"type": "library", "name": "hyper", "purl": "pkg:cargo/hyper@0.14.9"},
    {"type": "library", "name": "activesupport", "purl": "pkg:gem/activesupport@6.1.4.1"},
    {"type": "library", "name": "Newtonsoft.Json", "purl": "pkg:nuget/Newtonsoft.Json@12.0.3"}]})",
                             "app.cdx.json");
  ASSERT_TRUE(inventory.ok()) << inventory.error().message;
  MatchResult result = MatchInventory(*inventory, *db_);
  std::vector<std::string> found;
  for (const auto& f : result.findings) {
    if (f.id.starts_with("CVE-2021-3271") || f.id == "CVE-2022-29248" || f.id == "CVE-2023-22796" ||
        f.id == "CVE-2024-21907") {
      found.push_back(f.package_type + " " + f.package_name + " " + f.id);
    }
  }
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::string>{"cargo hyper CVE-2021-32714", "cargo hyper CVE-2021-32715",
                                             "composer guzzlehttp/guzzle CVE-2022-29248",
                                             "gem activesupport CVE-2023-22796",
                                             "nuget Newtonsoft.Json CVE-2024-21907"}));
}

}  // namespace
}  // namespace moat::match
