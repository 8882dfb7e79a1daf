#include "vulndb/vulndb.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/bytes.h"
#include "vulndb/build.h"
#include "vulndb/cvss.h"
#include "vulndb/ingest.h"

namespace moat::vulndb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kVuln = fs::path(MOAT_SHARED_DATA_DIR) / "vuln";
const fs::path kFixtures = kVuln / "feeds" / "vunnel-fixtures";

std::string Read(const fs::path& path) {
  auto text = ReadFileToString(path.string());
  EXPECT_TRUE(text.ok()) << path;
  return text.ok() ? *text : "";
}

fs::path TempDir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("moat-vulndb-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

const AffectedPackage* FindRecord(const std::vector<AffectedPackage>& records,
                                  const std::string& id) {
  for (const auto& record : records) {
    if (record.vuln_id == id) return &record;
  }
  return nullptr;
}

// ---- CVSS ----

TEST(Cvss, KnownVectors) {
  EXPECT_EQ(*Cvss3BaseScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), 9.8);
  EXPECT_EQ(*Cvss3BaseScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), 10.0);
  EXPECT_EQ(*Cvss3BaseScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"), 6.1);
  EXPECT_EQ(*Cvss3BaseScore("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"), 7.8);
  EXPECT_EQ(*Cvss3BaseScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), 0.0);
  EXPECT_EQ(*Cvss2BaseScore("AV:N/AC:L/Au:N/C:P/I:P/A:P"), 7.5);
  EXPECT_EQ(*Cvss2BaseScore("(AV:N/AC:L/Au:N/C:C/I:C/A:C)"), 10.0);
  EXPECT_FALSE(Cvss3BaseScore("CVSS:3.1/AV:N/AC:L"));
  EXPECT_FALSE(Cvss3BaseScore("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"));
  EXPECT_FALSE(Cvss3BaseScore("garbage"));
  EXPECT_FALSE(Cvss2BaseScore(""));
  EXPECT_EQ(CvssSeverity(9.8), "critical");
  EXPECT_EQ(CvssSeverity(5.0), "medium");
}

// Every (vectorString, baseScore) pair in the sample feeds (NVD 2.0, Red Hat CSAF) must equal
// the score computed from the vector.
TEST(Cvss, MatchesEveryScoreInTheSampleFeeds) {
  int checked = 0;
  std::function<void(const json&, const std::string&)> walk = [&](const json& j,
                                                                  const std::string& file) {
    if (j.is_object()) {
      auto vector = j.find("vectorString");
      auto score = j.find("baseScore");
      if (vector != j.end() && score != j.end() && vector->is_string() && score->is_number()) {
        std::string v = vector->get<std::string>();
        std::optional<double> computed = v.starts_with("CVSS:3")   ? Cvss3BaseScore(v)
                                         : v.starts_with("CVSS:4") ? std::nullopt
                                                                   : Cvss2BaseScore(v);
        if (!v.starts_with("CVSS:4")) {
          ASSERT_TRUE(computed) << file << ": " << v;
          EXPECT_DOUBLE_EQ(*computed, score->get<double>()) << file << ": " << v;
          ++checked;
        }
      }
      for (const auto& [key, value] : j.items()) walk(value, file);
    } else if (j.is_array()) {
      for (const auto& value : j) walk(value, file);
    }
  };
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".json") continue;
    json doc = json::parse(Read(entry.path()), nullptr, false);
    walk(doc, entry.path().filename().string());
  }
  EXPECT_GE(checked, 3);
}

// ---- Ingesters ----

TEST(Osv, Namespaces) {
  EXPECT_EQ(*OsvNamespace("Debian:12"), "debian:12");
  EXPECT_EQ(*OsvNamespace("Alpine:v3.20"), "alpine:3.20");
  EXPECT_EQ(*OsvNamespace("Ubuntu:22.04:LTS"), "ubuntu:22.04");
  EXPECT_EQ(*OsvNamespace("Ubuntu:Pro:16.04:LTS"), "ubuntu:16.04");
  EXPECT_EQ(*OsvNamespace("Rocky Linux:9"), "rocky:9");
  EXPECT_EQ(*OsvNamespace("AlmaLinux:9"), "alma:9");
  EXPECT_EQ(
      *OsvNamespace("Red Hat:enterprise_linux:9::appstream", "pkg:rpm/redhat/ruby?distro=rhel-9.4"),
      "rhel:9");
  EXPECT_EQ(*OsvNamespace("PyPI"), "pypi");
  EXPECT_EQ(*OsvNamespace("crates.io"), "crates.io");
  EXPECT_EQ(*OsvNamespace("RubyGems"), "rubygems");
  EXPECT_FALSE(OsvNamespace("Debian"));
  EXPECT_EQ(NormalizePackageName("pypi", "Zope.Interface__x"), "zope-interface-x");
}

TEST(Osv, EventsBecomeIntervals) {
  IngestResult out;
  ASSERT_TRUE(ParseOsvJson(Read(kVuln / "osv" / "Go" / "GO-2022-0493.json"), "go", out).ok());
  ASSERT_EQ(out.affected.size(), 2u);
  const auto& stdlib = out.affected[0];
  EXPECT_EQ(stdlib.ns, "go");
  EXPECT_EQ(stdlib.package, "stdlib");
  ASSERT_EQ(stdlib.ranges.size(), 2u);
  EXPECT_EQ(stdlib.ranges[0].introduced, "");
  EXPECT_EQ(stdlib.ranges[0].fixed, "1.17.10");
  EXPECT_EQ(stdlib.ranges[1].introduced, "1.18.0-0");
  EXPECT_EQ(stdlib.ranges[1].fixed, "1.18.2");
  EXPECT_EQ(out.vulnerabilities[0].aliases,
            (std::vector<std::string>{"CVE-2022-29526", "GHSA-p782-xgp4-8hr8"}));
}

TEST(Osv, DistroRecords) {
  IngestResult out;
  for (const char* file : {"rocky__osv_RLSA-2024_3671.json", "ubuntu__osv_usn_USN-5614-1.json",
                           "ubuntu__osv_cve_2021_UBUNTU-CVE-2021-3782.json",
                           "alma__osv-database_advisories_almalinux9_ALSA-2024-2433.json"}) {
    ASSERT_TRUE(ParseOsvJson(Read(kFixtures / file), file, out).ok()) << file;
  }
  bool rocky = false, ubuntu = false, ubuntu_pro = false, alma = false;
  for (const auto& record : out.affected) {
    if (record.ns == "rocky:9" && record.package == "ruby") {
      rocky = true;
      EXPECT_EQ(record.ranges.at(0).fixed, "0:3.3.1-2.module+el9.4.0+20787+4c237fd3");
    }
    if (record.ns == "ubuntu:18.04" && record.package == "wayland") ubuntu = true;
    if (record.ns == "ubuntu:16.04" && record.vuln_id == "UBUNTU-CVE-2021-3782") ubuntu_pro = true;
    if (record.ns == "alma:9" && record.package == "avahi") {
      alma = true;
      EXPECT_EQ(record.ranges.at(0).fixed, "0.8-20.el9");
    }
  }
  EXPECT_TRUE(rocky && ubuntu && ubuntu_pro && alma);
}

TEST(Osv, BadInputs) {
  IngestResult out;
  auto not_json = ParseOsvJson("{not json", "x.json", out);
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.error().message.find("x.json"), std::string::npos);
  EXPECT_FALSE(ParseOsvJson("[1,2]", "a.json", out).ok() && out.records > 0);
  EXPECT_FALSE(ParseOsvJson(R"({"summary":"no id"})", "b.json", out).ok());
  // A bad affected entry is skipped with a warning naming the place; the rest is kept.
  IngestResult partial;
  ASSERT_TRUE(ParseOsvJson(R"({"id":"X-1","affected":[
      {"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":5}]}]},
      {"package":{"ecosystem":"PyPI","name":"b"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1"},{"fixed":"2"}]}]},
      {"package":{"ecosystem":"Nope:1","name":"c"},"versions":["1"]}]})",
                           "c.json", partial)
                  .ok());
  ASSERT_EQ(partial.affected.size(), 1u);
  EXPECT_EQ(partial.affected[0].package, "b");
  ASSERT_EQ(partial.warnings.size(), 2u);
  EXPECT_NE(partial.warnings[0].find("c.json (X-1): /affected/0/ranges/0"), std::string::npos)
      << partial.warnings[0];
  EXPECT_FALSE(IngestOsv("/nonexistent/osv").ok());
}

TEST(DebianTracker, RealSample) {
  auto result = ParseDebianTracker(Read(kFixtures / "debian__input_debian.json"), "debian.json");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const AffectedPackage* sope = nullptr;
  bool prototype_unimportant_skipped = true;
  int open = 0;
  for (const auto& record : result->affected) {
    if (record.vuln_id == "CVE-2025-53603" && record.ns == "debian:12") sope = &record;
    if (record.vuln_id == "CVE-2007-2383" && record.ns == "debian:9") {
      prototype_unimportant_skipped = false;  // fixed_version "0": never affected
    }
    if (record.status != Status::kFixed) ++open;
  }
  ASSERT_NE(sope, nullptr);
  EXPECT_EQ(sope->package, "sope");
  EXPECT_EQ(sope->status, Status::kFixed);
  EXPECT_EQ(sope->ranges.at(0).fixed, "5.8.0-1+deb12u1");
  EXPECT_EQ(sope->source, "debian-tracker");
  EXPECT_TRUE(prototype_unimportant_skipped);
  EXPECT_GT(open, 0);
  EXPECT_EQ(*DebianNamespace("sid"), "debian:unstable");
  EXPECT_EQ(*DebianNamespace("trixie"), "debian:13");
}

TEST(DebianTracker, Statuses) {
  auto result = ParseDebianTracker(R"({"pkg":{"CVE-1":{"releases":{
      "bookworm":{"status":"open","urgency":"unimportant"},
      "bullseye":{"status":"open","urgency":"end-of-life"},
      "buster":{"status":"undetermined","urgency":"not yet assigned"},
      "trixie":{"status":"open","urgency":"low","nodsa":"Minor issue","nodsa_reason":"ignored"},
      "forky":{"status":"open","urgency":"low","nodsa":"Minor issue","nodsa_reason":"postponed"},
      "sid":{"status":"resolved","fixed_version":"1.2-3","urgency":"high**"}}}}})",
                                   "t.json");
  ASSERT_TRUE(result.ok()) << result.error().message;
  std::map<std::string, const AffectedPackage*> by_ns;
  for (const auto& record : result->affected) by_ns[record.ns] = &record;
  EXPECT_EQ(by_ns["debian:12"]->status, Status::kUnimportant);
  EXPECT_EQ(by_ns["debian:11"]->status, Status::kEndOfLife);
  EXPECT_EQ(by_ns["debian:10"]->status, Status::kUndetermined);
  EXPECT_EQ(by_ns["debian:13"]->status, Status::kWillNotFix);
  EXPECT_EQ(by_ns["debian:14"]->status, Status::kAffected);
  EXPECT_EQ(by_ns["debian:unstable"]->status, Status::kFixed);
  EXPECT_EQ(by_ns["debian:unstable"]->severity, "high");
  EXPECT_FALSE(ParseDebianTracker("[]", "a.json").ok());
  EXPECT_FALSE(ParseDebianTracker(R"({"a":1})", "b.json").ok());
}

// The builder reads the tracker as a stream from the file (here gzipped): the same records as
// the whole document in memory, handed over in batches.
TEST(DebianTracker, StreamedFromFileGivesTheSameRecords) {
  fs::path dir = TempDir("tracker-stream");
  std::string text = Read(kFixtures / "debian__input_debian.json");
  WriteFile(dir / "debian.json", text);
  ASSERT_EQ(std::system(("gzip -k " + (dir / "debian.json").string()).c_str()), 0);
  auto whole = ParseDebianTracker(text, "debian.json");
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  for (const char* file : {"debian.json", "debian.json.gz"}) {
    std::vector<AffectedPackage> handed;
    std::vector<std::string> ids;
    RecordSink sink = [&](IngestResult& batch) -> Result<void> {
      for (auto& record : batch.affected) handed.push_back(std::move(record));
      for (auto& vuln : batch.vulnerabilities) ids.push_back(vuln.id);
      return Ok();
    };
    auto streamed = IngestDebianTracker((dir / file).string(), sink);
    ASSERT_TRUE(streamed.ok()) << streamed.error().message;
    EXPECT_TRUE(streamed->affected.empty());  // all handed over
    EXPECT_EQ(streamed->records, whole->records);
    EXPECT_EQ(streamed->affected_total(), whole->affected.size());
    ASSERT_EQ(handed.size(), whole->affected.size());
    for (size_t i = 0; i < handed.size(); ++i) {
      EXPECT_EQ(handed[i].vuln_id, whole->affected[i].vuln_id);
      EXPECT_EQ(handed[i].ns, whole->affected[i].ns);
      EXPECT_EQ(handed[i].package, whole->affected[i].package);
      EXPECT_EQ(handed[i].status, whole->affected[i].status);
    }
    EXPECT_EQ(ids.size(), whole->vulnerabilities.size());
  }
  fs::remove_all(dir);
}

TEST(DebianTracker, StreamErrorsNameTheInputAndThePlace) {
  auto mixed = ParseDebianTracker(
      R"({"a":[1],"b":{"CVE-1":5,"CVE-2":{"releases":{"bookworm":{"status":"open"}}}}})", "t.json");
  ASSERT_TRUE(mixed.ok()) << mixed.error().message;
  EXPECT_EQ(mixed->records, 1u);
  ASSERT_EQ(mixed->warnings.size(), 2u);
  EXPECT_EQ(mixed->warnings[0], "t.json: /a: not an object");
  EXPECT_EQ(mixed->warnings[1], "t.json: /b/CVE-1: not an object");
  auto cut = ParseDebianTracker(R"({"a":{"CVE-1":{"releases":)", "cut.json");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("cut.json: not valid JSON"), std::string::npos)
      << cut.error().message;
  EXPECT_NE(cut.error().message.find("column 27"), std::string::npos) << cut.error().message;
  EXPECT_TRUE(ParseDebianTracker("{}", "empty.json").ok());
  auto missing = IngestDebianTracker("/nonexistent/debian.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/debian.json"), std::string::npos);
  // A gzip file cut short: the decompression error, naming the file.
  fs::path dir = TempDir("tracker-cut");
  WriteFile(dir / "t.json", Read(kFixtures / "debian__input_debian.json"));
  ASSERT_EQ(std::system(("gzip " + (dir / "t.json").string()).c_str()), 0);
  std::string gz = Read(dir / "t.json.gz");
  WriteFile(dir / "t.json.gz", gz.substr(0, gz.size() / 2));
  auto truncated = IngestDebianTracker((dir / "t.json.gz").string());
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message.find((dir / "t.json.gz").string()), std::string::npos);
  fs::remove_all(dir);
}

TEST(Secdb, WolfiAndChainguard) {
  auto wolfi = ParseSecdb(Read(kFixtures / "wolfi__input_secdb_security.json"), "wolfi.json");
  ASSERT_TRUE(wolfi.ok()) << wolfi.error().message;
  const AffectedPackage* binutils = nullptr;
  for (const auto& record : wolfi->affected) {
    if (record.vuln_id == "CVE-2022-38126") binutils = &record;
  }
  ASSERT_NE(binutils, nullptr);
  EXPECT_EQ(binutils->ns, "wolfi");
  EXPECT_EQ(binutils->package, "binutils");
  EXPECT_EQ(binutils->ranges.at(0).fixed, "2.39-r1");
  auto chainguard =
      ParseSecdb(Read(kFixtures / "chainguard__input_secdb_security.json"), "cg.json");
  ASSERT_TRUE(chainguard.ok());
  EXPECT_EQ(chainguard->affected.at(0).ns, "chainguard");
  auto alpine = ParseSecdb(R"({"distroversion":"v3.20","reponame":"main","packages":[
      {"pkg":{"name":"openssl","secfixes":{"3.1.4-r1":["CVE-2023-5678 CVE-2023-5679"],
      "0":["CVE-2000-1"]}}}]})",
                           "main.json");
  ASSERT_TRUE(alpine.ok());
  ASSERT_EQ(alpine->affected.size(), 2u);
  EXPECT_EQ(alpine->affected[0].ns, "alpine:3.20");
  EXPECT_EQ(alpine->affected[1].vuln_id, "CVE-2023-5679");
  EXPECT_FALSE(ParseSecdb(R"({"packages":{}})", "x.json").ok());
  EXPECT_FALSE(ParseSecdb("", "empty.json").ok());
}

TEST(Enrichment, NvdKevEpss) {
  auto nvd = ParseNvdJson(Read(kFixtures / "nvd__single-entry.json"), "nvd.json");
  ASSERT_TRUE(nvd.ok());
  ASSERT_EQ(nvd->vulnerabilities.size(), 1u);
  const auto& cve = nvd->vulnerabilities[0];
  EXPECT_EQ(cve.id, "CVE-2022-1576");
  EXPECT_EQ(cve.cwes, std::vector<std::string>{"CWE-352"});
  ASSERT_GE(cve.cvss.size(), 2u);
  EXPECT_EQ(cve.cvss[0].version, "3.1");
  EXPECT_EQ(cve.cvss[0].score, 6.5);
  EXPECT_EQ(*Cvss3BaseScore(cve.cvss[0].vector), cve.cvss[0].score);

  auto kev = ParseKev(Read(kVuln / "kev" / "known_exploited_vulnerabilities.json"), "kev.json");
  ASSERT_TRUE(kev.ok());
  EXPECT_EQ(kev->entries.size(), 1404u);
  EXPECT_EQ(kev->entries.at("CVE-2020-11651").date_added, "2021-11-03");

  auto epss = ParseEpssCsv(Read(kFixtures / "epss__example-1.csv"), "epss.csv");
  ASSERT_TRUE(epss.ok());
  EXPECT_EQ(epss->date, "2025-02-20T00:00:00+0000");
  EXPECT_DOUBLE_EQ(epss->entries.at("CVE-1999-0002").score, 0.01328);
  EXPECT_DOUBLE_EQ(epss->entries.at("CVE-1999-0002").percentile, 0.85996);
  auto bad = ParseEpssCsv("cve,epss,percentile\nCVE-1,abc,0.1\n", "bad.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad.csv: line 2"), std::string::npos);
  EXPECT_FALSE(ParseEpssCsv("<html>", "x.csv").ok());
  EXPECT_FALSE(ParseKev("{}", "k.json").ok());
  EXPECT_FALSE(ParseNvdJson("[]", "n.json").ok());
}

TEST(Enrichment, NvdStreamedFromGzipFile) {
  fs::path dir = TempDir("nvd-stream");
  std::string text = Read(kFixtures / "nvd__single-entry.json");
  WriteFile(dir / "nvd.json", text);
  ASSERT_EQ(std::system(("gzip " + (dir / "nvd.json").string()).c_str()), 0);
  auto whole = ParseNvdJson(text, "nvd.json");
  auto streamed = IngestNvdFile((dir / "nvd.json.gz").string());
  ASSERT_TRUE(whole.ok() && streamed.ok());
  ASSERT_EQ(streamed->vulnerabilities.size(), 1u);
  EXPECT_EQ(streamed->date, whole->date);
  EXPECT_FALSE(streamed->date.empty());
  const auto& a = whole->vulnerabilities[0];
  const auto& b = streamed->vulnerabilities[0];
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.references, b.references);
  EXPECT_EQ(a.cvss.size(), b.cvss.size());
  auto missing_id = ParseNvdJson(R"({"vulnerabilities":[{"cve":{}},{"cve":{"id":"CVE-1"}}]})", "n");
  ASSERT_TRUE(missing_id.ok());
  EXPECT_EQ(missing_id->records, 1u);
  EXPECT_EQ(missing_id->warnings,
            std::vector<std::string>{"n: /vulnerabilities/0/cve/id: missing"});
  EXPECT_FALSE(ParseNvdJson(R"({"vulnerabilities":{}})", "n.json").ok());
  fs::remove_all(dir);
}

// The builder stores records as they are read and writes the database from that store: records
// of one id from several feeds and packages are merged in the order they came, each package's
// records keep their order across many batches, aliases resolve.
TEST(Build, StagedRecordsMergeAndKeepTheirOrder) {
  fs::path dir = TempDir("staged");
  json tracker = json::object();
  tracker["a"]["CVE-2000-0001"] = {
      {"description", "first"},
      {"releases", {{"bookworm", {{"status", "open"}, {"urgency", "low"}}}}}};
  tracker["b"]["CVE-2000-0001"] = {
      {"description", "second"},
      {"releases",
       {{"bookworm", {{"status", "resolved"}, {"fixed_version", "1.0-1"}, {"urgency", "high"}}}}}};
  // More records for one package than one batch holds.
  for (int i = 0; i < 3000; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "CVE-2001-%05d", i);
    tracker["c"][id] = {{"releases",
                         {{"bookworm", {{"status", "open"}, {"urgency", "low"}}},
                          {"trixie", {{"status", "open"}, {"urgency", "low"}}}}}};
  }
  WriteFile(dir / "debian.json", tracker.dump());
  fs::create_directories(dir / "osv");
  WriteFile(dir / "osv" / "CVE-2000-0001.json", R"({"id":"CVE-2000-0001",
      "aliases":["GHSA-aaaa-bbbb-cccc"],"summary":"from OSV","details":"osv text",
      "affected":[{"package":{"ecosystem":"npm","name":"left-pad"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.0"}]}]}]})");
  std::vector<std::string> progress;
  BuildOptions options;
  options.progress = [&progress](const std::string& line) { progress.push_back(line); };
  auto stats = BuildDatabase({{FeedKind::kDebianTracker, (dir / "debian.json").string(), ""},
                              {FeedKind::kOsv, (dir / "osv").string(), ""}},
                             (dir / "moat.db").string(), options);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_FALSE(
      fs::exists((dir / "moat.db").string() + ".tmp-" + std::to_string(::getpid()) + ".staging"));
  EXPECT_EQ(stats->affected, 2u + 6000u + 1u);
  EXPECT_EQ(stats->packages, 5u);  // a, b, c in debian:12; c in debian:13; left-pad
  EXPECT_EQ(stats->vulnerabilities, 3001u);
  bool counted = false;
  for (const auto& line : progress) {
    counted = counted || line.find("3002 records, 6002 affected packages") != std::string::npos;
  }
  EXPECT_TRUE(counted);
  auto db = OpenDatabase((dir / "moat.db").string());
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto c = (*db)->Lookup("debian:12", "c");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 3000u);
  for (size_t i = 0; i < c->size(); ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "CVE-2001-%05zu", i);
    ASSERT_EQ((*c)[i].vuln_id, id);
  }
  auto b = (*db)->Lookup("debian:12", "b");
  ASSERT_TRUE(b.ok() && b->size() == 1u);
  EXPECT_EQ((*b)[0].status, Status::kFixed);
  EXPECT_EQ((*b)[0].ranges.at(0).fixed, "1.0-1");
  auto merged = (*db)->Get("GHSA-aaaa-bbbb-cccc");
  ASSERT_TRUE(merged.ok() && merged->has_value());
  EXPECT_EQ((*merged)->id, "CVE-2000-0001");
  EXPECT_EQ((*merged)->description, "first");  // the first feed's text wins
  EXPECT_EQ((*merged)->title, "from OSV");     // filled from the later one
  EXPECT_EQ((*merged)->aliases, std::vector<std::string>{"GHSA-aaaa-bbbb-cccc"});
  fs::remove_all(dir);
}

// ---- The database built from every sample and the whole PyPI and Go OSV sets ----

class FullDatabase : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(TempDir("full"));
    // A local advisory aliasing CVEs that the NVD and EPSS samples describe.
    fs::create_directories(*dir_ / "local");
    WriteFile(*dir_ / "local" / "LOCAL-1.json", R"({"id":"LOCAL-1",
        "aliases":["CVE-2022-1576","CVE-1999-0002"],"summary":"local",
        "affected":[{"package":{"ecosystem":"npm","name":"wp-maint"},
        "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.4.5"}]}]}]})");
    std::vector<FeedInput> inputs = {
        {FeedKind::kOsv, (kVuln / "osv" / "PyPI").string(), ""},
        {FeedKind::kOsv, (kVuln / "osv" / "Go").string(), ""},
        {FeedKind::kOsv, (*dir_ / "local").string(), "osv:local"},
        {FeedKind::kDebianTracker, (kFixtures / "debian__input_debian.json").string(), ""},
        {FeedKind::kSecdb, (kFixtures / "wolfi__input_secdb_security.json").string(), ""},
        {FeedKind::kSecdb, (kFixtures / "chainguard__input_secdb_security.json").string(), ""},
        {FeedKind::kNvd, (kFixtures / "nvd__single-entry.json").string(), ""},
        {FeedKind::kKev, (kVuln / "kev" / "known_exploited_vulnerabilities.json").string(), ""},
        {FeedKind::kEpss, (kFixtures / "epss__example-1.csv").string(), ""},
    };
    for (const char* osv : {"rocky__osv_RLSA-2024_3671.json", "ubuntu__osv_usn_USN-5614-1.json",
                            "alma__osv-database_advisories_almalinux9_ALSA-2024-2433.json"}) {
      inputs.push_back({FeedKind::kOsv, (kFixtures / osv).string(), ""});
    }
    path_ = new std::string((*dir_ / "moat.db").string());
    auto stats = BuildDatabase(inputs, *path_);
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    std::fprintf(stderr, "built %s: %llu affected, %llu vulns, %llu bytes in %.1f s\n",
                 path_->c_str(), static_cast<unsigned long long>(stats->affected),
                 static_cast<unsigned long long>(stats->vulnerabilities),
                 static_cast<unsigned long long>(stats->bytes), stats->seconds);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete path_;
  }
  void SetUp() override {
    auto db = OpenDatabase(*path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
  }
  static fs::path* dir_;
  static std::string* path_;
  std::unique_ptr<Database> db_;
};
fs::path* FullDatabase::dir_ = nullptr;
std::string* FullDatabase::path_ = nullptr;

TEST_F(FullDatabase, PypiRecord) {
  auto records = db_->Lookup("pypi", "vyper");
  ASSERT_TRUE(records.ok());
  const AffectedPackage* record = FindRecord(*records, "PYSEC-2022-43053");
  ASSERT_NE(record, nullptr);
  ASSERT_EQ(record->ranges.size(), 1u);
  EXPECT_EQ(record->ranges[0].introduced, "");
  EXPECT_EQ(record->ranges[0].fixed, "0.3.4");
  EXPECT_EQ(record->versions.size(), 37u);
  EXPECT_EQ(record->versions.front(), "0.1.0b1");
  auto vuln = db_->Get("PYSEC-2022-43053");
  ASSERT_TRUE(vuln.ok() && *vuln);
  EXPECT_EQ((*vuln)->aliases, (std::vector<std::string>{"CVE-2022-29255", "GHSA-4v9q-cgpw-cf38"}));
  ASSERT_FALSE((*vuln)->cvss.empty());
  EXPECT_EQ((*vuln)->cvss[0].score, 7.5);
  EXPECT_EQ((*vuln)->severity, "high");
  EXPECT_NE((*vuln)->description.find("Vyper"), std::string::npos);
  // An alias resolves to the advisory.
  auto by_alias = db_->Get("GHSA-4v9q-cgpw-cf38");
  ASSERT_TRUE(by_alias.ok() && *by_alias);
  EXPECT_EQ((*by_alias)->id, "PYSEC-2022-43053");
}

TEST_F(FullDatabase, GoRecordAndKev) {
  auto records = db_->Lookup("go", "stdlib");
  ASSERT_TRUE(records.ok());
  EXPECT_GT(records->size(), 100u);
  const AffectedPackage* record = FindRecord(*records, "GO-2022-0493");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->ranges.size(), 2u);
  auto kev = db_->Get("GO-2022-0535");
  ASSERT_TRUE(kev.ok() && *kev);
  EXPECT_TRUE((*kev)->known_exploited);
  EXPECT_EQ((*kev)->kev_date_added, "2021-11-03");
  auto salt = db_->Get("PYSEC-2020-102");
  ASSERT_TRUE(salt.ok() && *salt);
  EXPECT_TRUE((*salt)->known_exploited);
  auto not_kev = db_->Get("GO-2022-0493");
  ASSERT_TRUE(not_kev.ok() && *not_kev);
  EXPECT_FALSE((*not_kev)->known_exploited);
}

TEST_F(FullDatabase, DistroRecords) {
  auto sope = db_->Lookup("debian:12", "sope");
  ASSERT_TRUE(sope.ok());
  const AffectedPackage* record = FindRecord(*sope, "CVE-2025-53603");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->status, Status::kFixed);
  EXPECT_EQ(record->ranges.at(0).fixed, "5.8.0-1+deb12u1");
  auto cve = db_->Get("CVE-2025-53603");
  ASSERT_TRUE(cve.ok() && *cve);
  EXPECT_NE((*cve)->description.find("SOPE"), std::string::npos);
  auto wolfi = db_->Lookup("wolfi", "binutils");
  ASSERT_TRUE(wolfi.ok());
  EXPECT_NE(FindRecord(*wolfi, "CVE-2022-38126"), nullptr);
  auto rocky = db_->Lookup("rocky:9", "ruby");
  ASSERT_TRUE(rocky.ok());
  EXPECT_NE(FindRecord(*rocky, "RLSA-2024:3671"), nullptr);
  auto none = db_->Lookup("debian:12", "no-such-package");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto unknown = db_->Get("CVE-0000-0000");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(*unknown);
}

TEST_F(FullDatabase, NvdAndEpssEnrichment) {
  auto vuln = db_->Get("LOCAL-1");
  ASSERT_TRUE(vuln.ok() && *vuln);
  EXPECT_EQ((*vuln)->cwes, std::vector<std::string>{"CWE-352"});
  EXPECT_NE((*vuln)->description.find("WP Maintenance Mode"), std::string::npos);
  bool nvd31 = false;
  for (const auto& score : (*vuln)->cvss) {
    if (score.source == "nvd" && score.version == "3.1") {
      nvd31 = true;
      EXPECT_EQ(score.score, 6.5);
    }
  }
  EXPECT_TRUE(nvd31);
  EXPECT_EQ((*vuln)->severity, "medium");
  EXPECT_EQ((*vuln)->severity_source, "nvd");
  ASSERT_TRUE((*vuln)->epss_score);
  EXPECT_DOUBLE_EQ(*(*vuln)->epss_score, 0.01328);
  EXPECT_DOUBLE_EQ(*(*vuln)->epss_percentile, 0.85996);
}

TEST_F(FullDatabase, Metadata) {
  const Metadata& metadata = db_->metadata();
  EXPECT_EQ(metadata.schema_version, 2);
  EXPECT_FALSE(metadata.built_at.empty());
  std::map<std::string, SourceInfo> sources;
  for (const auto& source : metadata.sources) sources[source.name] = source;
  EXPECT_EQ(sources["osv:PyPI"].count, 2661u);
  EXPECT_EQ(sources["osv:Go"].count, 4291u);
  EXPECT_EQ(sources["kev"].count, 1404u);
  EXPECT_EQ(sources["kev"].date, "2025-08-25T17:04:19.9796Z");
  EXPECT_EQ(sources["epss"].date, "2025-02-20T00:00:00+0000");
  EXPECT_TRUE(sources.count("debian-tracker"));
}

TEST_F(FullDatabase, ConcurrentLookups) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto records = db_->Lookup("go", "stdlib");
        auto vuln = db_->Get("GO-2022-0493");
        if (!records.ok() || records->empty() || !vuln.ok() || !*vuln) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(FullDatabase, TruncatedAndCorruptFiles) {
  std::string data = Read(*path_);
  fs::path truncated = *dir_ / "truncated.db";
  WriteFile(truncated, data.substr(0, data.size() / 2));
  auto t = OpenDatabase(truncated.string());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("truncated.db: truncated"), std::string::npos)
      << t.error().message;

  fs::path garbage = *dir_ / "garbage.db";
  WriteFile(garbage,
            "this is not a database at all, not even close to one..." + std::string(200, 'x'));
  auto g = OpenDatabase(garbage.string());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("not a Moat vulnerability database"), std::string::npos);

  // Corrupt pages in the middle: opening may succeed (header intact) but lookups or the full
  // check must report an error, not crash.
  std::string damaged = data;
  for (size_t i = 8192; i < damaged.size(); i += 4096) {
    for (size_t j = 0; j < 64 && i + j < damaged.size(); ++j) damaged[i + j] = '\x5a';
  }
  fs::path corrupt = *dir_ / "corrupt.db";
  WriteFile(corrupt, damaged);
  EXPECT_FALSE(VerifyDatabaseFile(corrupt.string(), true).ok());
  auto c = OpenDatabase(corrupt.string());
  if (c.ok()) {
    auto records = (*c)->Lookup("go", "stdlib");
    (void)records;  // either an error or data; what matters is no crash
  }
  EXPECT_FALSE(OpenDatabase((*dir_ / "missing.db").string()).ok());
}

TEST(Database, SchemaTooNewAndNotMoat) {
  fs::path dir = TempDir("schema");
  std::string path = (dir / "moat.db").string();
  fs::create_directories(dir / "osv");
  WriteFile(
      dir / "osv" / "A.json",
      R"({"id":"A-1","affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1"]}]})");
  ASSERT_TRUE(BuildDatabase({{FeedKind::kOsv, (dir / "osv").string(), ""}}, path).ok());
  ASSERT_TRUE(OpenDatabase(path).ok());
  // Raise user_version with the sqlite3 shell format: patch the header bytes 60..63.
  std::string data = Read(path);
  data[63] = 99;
  WriteFile(dir / "new.db", data);
  auto newer = OpenDatabase((dir / "new.db").string());
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message.find("newer than this moat supports"), std::string::npos)
      << newer.error().message;
  data = Read(path);
  data[68] = 0;  // application_id
  data[69] = 0;
  data[70] = 0;
  data[71] = 1;
  WriteFile(dir / "other.db", data);
  auto other = OpenDatabase((dir / "other.db").string());
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("not a Moat vulnerability database"), std::string::npos);
  // A failed build leaves the previous database alone.
  WriteFile(dir / "bad.json", "{broken");
  EXPECT_FALSE(
      BuildDatabase({{FeedKind::kDebianTracker, (dir / "bad.json").string(), ""}}, path).ok());
  EXPECT_TRUE(OpenDatabase(path).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moat::vulndb
