// The rpm analyzer against the real databases in the shared data (each with the package list
// its producer recorded), and against damaged copies of them.

#include "analyzer/rpm/rpm_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "analyzer/analysis_test_util.h"
#include "analyzer/analyzer.h"
#include "analyzer/rpm/endian.h"
#include "analyzer/rpm/rpm_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace moat::rpm {
namespace {

using moat::testing::Damage;
using ::testing::HasSubstr;
using testing::ReadBinary;
using testing::SharedRpmDir;
using testing::SplitTabs;

// Where each fixture kind lives in an image; the format itself is detected by content.
std::string ImagePathFor(const std::string& fixture) {
  if (fixture.ends_with(".sqlite")) return "var/lib/rpm/rpmdb.sqlite";
  if (fixture.ends_with(".ndb")) return "usr/lib/sysimage/rpm/Packages.db";
  return "var/lib/rpm/Packages";
}

// Expected lists come in two layouts: with a header row naming the columns ("name epoch version
// release arch", epoch empty when absent), or headerless in the order of the recipe in
// make_rpmdb_sqlite.sh (NAME EPOCHNUM VERSION RELEASE ARCH SOURCERPM VENDOR).
struct ExpectedList {
  std::vector<std::string> columns;
  std::vector<std::string> rows;
};

ExpectedList ReadExpected(const std::string& path) {
  ExpectedList expected;
  std::istringstream in(ReadBinary(path));
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (first && line.starts_with("name\t")) {
      expected.columns = SplitTabs(line);
    } else {
      expected.rows.push_back(line);
    }
    first = false;
  }
  if (expected.columns.empty()) {
    expected.columns = {"name", "epochnum", "version", "release", "arch", "sourcerpm", "vendor"};
  }
  std::sort(expected.rows.begin(), expected.rows.end());
  return expected;
}

std::string Column(const Package& package, const std::string& column) {
  if (column == "name") return package.name;
  if (column == "epoch") return package.epoch;
  if (column == "epochnum") return package.epoch.empty() ? "0" : package.epoch;
  if (column == "version") return package.version;
  if (column == "release") return package.release;
  if (column == "arch") return package.arch;
  if (column == "vendor") return package.maintainer;
  if (column == "sourcerpm") {
    return package.source_name + "-" + package.source_version + "-" + package.source_release +
           ".src.rpm";
  }
  ADD_FAILURE() << "unknown expected column " << column;
  return "";
}

std::vector<std::string> Rows(const std::vector<Package>& packages,
                              const std::vector<std::string>& columns) {
  std::vector<std::string> rows;
  for (const Package& package : packages) {
    std::string row;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) row += '\t';
      row += Column(package, columns[i]);
    }
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<std::string> Fixtures() {
  std::vector<std::string> fixtures;
  for (const auto& entry : std::filesystem::directory_iterator(SharedRpmDir())) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".expected.tsv")) {
      fixtures.push_back(name.substr(0, name.size() - std::string(".expected.tsv").size()));
    }
  }
  std::sort(fixtures.begin(), fixtures.end());
  return fixtures;
}

Result<AnalysisResult> AnalyzeBytes(const std::string& image_path, const std::string& bytes) {
  auto analyzer = MakeRpmAnalyzer();
  FileMeta meta{image_path, 0644, bytes.size()};
  return analyzer->Analyze(meta, AsBytes(bytes));
}

TEST(RpmAnalyzerTest, EveryReferenceDatabaseGivesItsExpectedList) {
  const std::vector<std::string> fixtures = Fixtures();
  // Two SQLite, two Berkeley DB, one NDB database.
  ASSERT_GE(fixtures.size(), 5u);
  for (const std::string& fixture : fixtures) {
    SCOPED_TRACE(fixture);
    const std::string bytes = ReadBinary(SharedRpmDir() + "/" + fixture);
    ASSERT_FALSE(bytes.empty());
    const std::string image_path = ImagePathFor(fixture);
    auto analyzer = MakeRpmAnalyzer();
    ASSERT_TRUE(analyzer->Wants(FileMeta{image_path, 0644, bytes.size()}));
    Result<AnalysisResult> result = AnalyzeBytes(image_path, bytes);
    ASSERT_TRUE(result.ok()) << result.error().message;

    const ExpectedList expected = ReadExpected(SharedRpmDir() + "/" + fixture + ".expected.tsv");
    EXPECT_EQ(Rows(result->packages, expected.columns), expected.rows);
    for (const Package& package : result->packages) {
      EXPECT_EQ(package.type, PackageType::kRpm);
      EXPECT_EQ(package.file_path, "/" + image_path);
      EXPECT_EQ(package.licenses.size(), 1u) << package.name;
    }
  }
}

TEST(RpmAnalyzerTest, FormatIsDetectedByContentNotName) {
  // A SQLite database under the Berkeley DB name and an NDB one under the SQLite name.
  const std::string sqlite = ReadBinary(SharedRpmDir() + "/generated_rpmdb.sqlite");
  const std::string ndb = ReadBinary(SharedRpmDir() + "/go-rpmdb_sle15-bci_Packages.ndb");
  Result<AnalysisResult> from_sqlite = AnalyzeBytes("var/lib/rpm/Packages", sqlite);
  ASSERT_TRUE(from_sqlite.ok()) << from_sqlite.error().message;
  EXPECT_EQ(from_sqlite->packages.size(),
            ReadExpected(SharedRpmDir() + "/generated_rpmdb.sqlite.expected.tsv").rows.size());
  Result<AnalysisResult> from_ndb = AnalyzeBytes("var/lib/rpm/rpmdb.sqlite", ndb);
  ASSERT_TRUE(from_ndb.ok()) << from_ndb.error().message;
  EXPECT_EQ(
      from_ndb->packages.size(),
      ReadExpected(SharedRpmDir() + "/go-rpmdb_sle15-bci_Packages.ndb.expected.tsv").rows.size());
}

TEST(RpmAnalyzerTest, WantsOnlyTheDatabaseFiles) {
  auto analyzer = MakeRpmAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "rpm");
  for (const char* path :
       {"var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", "var/lib/rpm/Packages",
        "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db"}) {
    EXPECT_TRUE(analyzer->Wants(FileMeta{path, 0644, 4096})) << path;
  }
  for (const char* path : {"var/lib/rpm/Name", "var/lib/rpm/rpmdb.sqlite-wal",
                           "var/lib/rpm/Index.db", "etc/Packages", "x/var/lib/rpm/Packages"}) {
    EXPECT_FALSE(analyzer->Wants(FileMeta{path, 0644, 4096})) << path;
  }
}

TEST(RpmAnalyzerTest, EmptyFileHasNoPackages) {
  Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages", "");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->packages.empty());
}

TEST(RpmAnalyzerTest, UnknownContentIsAnErrorNamingTheFile) {
  Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages", std::string(5000, 'x'));
  EXPECT_THAT(Damage(result), HasSubstr("/var/lib/rpm/Packages"));
  EXPECT_THAT(Damage(result), HasSubstr("not an rpm database"));
}

// --- Berkeley DB ---------------------------------------------------------------------------

std::string LibuuidBdb() { return ReadBinary(SharedRpmDir() + "/go-rpmdb_libuuid_Packages.bdb"); }
constexpr size_t kLibuuidPageSize = 4096;  // read from the metadata below, checked in the test

// Finds the first overflow page (type 7) of a little-endian Berkeley DB file.
size_t FirstOverflowPage(const std::string& bytes, size_t page_size) {
  for (size_t page = 1; (page + 1) * page_size <= bytes.size(); ++page) {
    if (static_cast<uint8_t>(bytes[page * page_size + 25]) == 7) return page;
  }
  return 0;
}

void StoreLe32(std::string& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
void StoreLe16(std::string& bytes, size_t at, uint16_t value) {
  bytes[at] = static_cast<char>(value & 0xff);
  bytes[at + 1] = static_cast<char>(value >> 8);
}

TEST(RpmBerkeleyDbTest, TruncatedFileIsAnError) {
  const std::string bytes = LibuuidBdb();
  ASSERT_EQ(LoadLe32(reinterpret_cast<const uint8_t*>(bytes.data()) + 20), kLibuuidPageSize);
  for (size_t size :
       {size_t{10}, size_t{100}, kLibuuidPageSize + 100, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(size);
    Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages", bytes.substr(0, size));
    EXPECT_THAT(Damage(result), HasSubstr("/var/lib/rpm/Packages"));
  }
  Result<AnalysisResult> half =
      AnalyzeBytes("var/lib/rpm/Packages", bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT(Damage(half), HasSubstr("truncated"));
}

TEST(RpmBerkeleyDbTest, LoopingOverflowChainEndsWithAnError) {
  std::string bytes = LibuuidBdb();
  const size_t page = FirstOverflowPage(bytes, kLibuuidPageSize);
  ASSERT_NE(page, 0u);
  // The page links to itself and carries no data, so only the walk bound can stop it.
  StoreLe32(bytes, page * kLibuuidPageSize + 16, static_cast<uint32_t>(page));
  StoreLe16(bytes, page * kLibuuidPageSize + 22, 0);
  Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages", bytes);
  EXPECT_THAT(Damage(result), HasSubstr("loops"));

  // Linked to itself with data: stopped by the announced length.
  bytes = LibuuidBdb();
  StoreLe32(bytes, page * kLibuuidPageSize + 16, static_cast<uint32_t>(page));
  result = AnalyzeBytes("var/lib/rpm/Packages", bytes);
  EXPECT_THAT(Damage(result), HasSubstr("overflow"));
}

TEST(RpmBerkeleyDbTest, OverflowChainLinkPastTheFileIsAnError) {
  std::string bytes = LibuuidBdb();
  const size_t page = FirstOverflowPage(bytes, kLibuuidPageSize);
  ASSERT_NE(page, 0u);
  StoreLe32(bytes, page * kLibuuidPageSize + 16, 0x7fffffff);
  Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages", bytes);
  EXPECT_THAT(Damage(result), HasSubstr("past the last page"));
}

TEST(RpmBerkeleyDbTest, HashItemOffsetOutOfPageIsAnError) {
  std::string bytes = LibuuidBdb();
  // Page 1 is the hash bucket of this single-package database.
  ASSERT_EQ(static_cast<uint8_t>(bytes[kLibuuidPageSize + 25]), 13);
  StoreLe16(bytes, kLibuuidPageSize + 26, 2);  // first item offset inside the page header
  Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages", bytes);
  EXPECT_THAT(Damage(result), HasSubstr("page 1 (offset 4096)"));
  EXPECT_THAT(Damage(result), HasSubstr("out of bounds"));
}

TEST(RpmBerkeleyDbTest, BadPageSizeIsAnError) {
  std::string bytes = LibuuidBdb();
  StoreLe32(bytes, 20, 1000);
  Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages", bytes);
  EXPECT_THAT(Damage(result), HasSubstr("page size"));
}

// --- NDB -----------------------------------------------------------------------------------

std::string SleNdb() { return ReadBinary(SharedRpmDir() + "/go-rpmdb_sle15-bci_Packages.ndb"); }

// Each damaged slot or blob loses its own package: the others are read and the damage named.
TEST(RpmNdbTest, DamagedSlotsAndBlobsAreSkippedAndNamed) {
  const std::string original = SleNdb();
  const size_t first_slot = 32;
  const uint32_t blkoff = LoadLe32(reinterpret_cast<const uint8_t*>(original.data()) + 40);
  ASSERT_NE(blkoff, 0u);
  Result<AnalysisResult> intact = AnalyzeBytes("var/lib/rpm/Packages.db", original);
  ASSERT_TRUE(intact.ok()) << intact.error().message;
  const size_t all = intact->packages.size();
  ASSERT_GT(all, 10u);

  auto expect_one_lost = [&](const std::string& bytes, const std::string& damage) {
    Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/Packages.db", bytes);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->packages.size(), all - 1);
    EXPECT_EQ(result->problems.size(), 1u);
    EXPECT_THAT(Damage(result), HasSubstr(damage));
  };
  std::string bytes = original;
  StoreLe32(bytes, first_slot + 8, 0x0fffffff);  // blob past the end of the file
  expect_one_lost(bytes, "offset 32: slot of pkgidx");
  EXPECT_THAT(Damage(AnalyzeBytes("var/lib/rpm/Packages.db", bytes)), HasSubstr("truncated"));

  bytes = original;
  bytes[first_slot] = 'X';  // slot magic
  expect_one_lost(bytes, "offset 32: bad slot magic");

  bytes = original;
  bytes[static_cast<size_t>(blkoff) * 16 + 100] ^= 0x55;  // a byte inside the first blob
  expect_one_lost(bytes, "adler32");

  bytes = original;
  StoreLe32(bytes, static_cast<size_t>(blkoff) * 16 + 12, 7);  // blob length
  expect_one_lost(bytes, "blob length");

  // Truncated: the packages whose blobs remain are read.
  Result<AnalysisResult> result =
      AnalyzeBytes("var/lib/rpm/Packages.db", original.substr(0, original.size() - 4096));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_LT(result->packages.size(), all);
  EXPECT_GT(result->packages.size(), 0u);
  EXPECT_THAT(Damage(result), HasSubstr("truncated"));

  // Nothing readable is an error naming the file.
  result = AnalyzeBytes("var/lib/rpm/Packages.db", original.substr(0, 20));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("/var/lib/rpm/Packages.db"));
}

// --- SQLite --------------------------------------------------------------------------------

// Builds a SQLite file with the given schema statements (test data for bad-input cases).
std::string MakeSqliteFile(const std::string& sql) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/db.sqlite";
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
      << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
  return ReadBinary(path);
}

TEST(RpmSqliteTest, MissingTableAndWrongColumnTypeAreErrors) {
  Result<AnalysisResult> result =
      AnalyzeBytes("var/lib/rpm/rpmdb.sqlite", MakeSqliteFile("CREATE TABLE Other(x);"));
  EXPECT_THAT(Damage(result), HasSubstr("/var/lib/rpm/rpmdb.sqlite"));
  EXPECT_THAT(Damage(result), HasSubstr("no such table"));

  result = AnalyzeBytes("var/lib/rpm/rpmdb.sqlite",
                        MakeSqliteFile("CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob);"
                                       "INSERT INTO Packages VALUES (7, 'text');"));
  EXPECT_THAT(Damage(result), HasSubstr("hnum 7"));

  result = AnalyzeBytes("var/lib/rpm/rpmdb.sqlite",
                        MakeSqliteFile("CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob);"
                                       "INSERT INTO Packages VALUES (9, x'0000000100000010');"));
  EXPECT_THAT(Damage(result), HasSubstr("package record hnum 9"));
  EXPECT_THAT(Damage(result), HasSubstr("header offset 0"));
}

TEST(RpmSqliteTest, TruncatedAndCorruptFilesNeverCrash) {
  const std::string original = ReadBinary(SharedRpmDir() + "/generated_rpmdb.sqlite");
  // Truncated below one page: SQLite sees a short, damaged file.
  for (size_t size : {size_t{16}, size_t{100}, size_t{5000}, original.size() / 2}) {
    SCOPED_TRACE(size);
    Result<AnalysisResult> result =
        AnalyzeBytes("var/lib/rpm/rpmdb.sqlite", original.substr(0, size));
    if (!result.ok()) {
      EXPECT_THAT(Damage(result), HasSubstr("/var/lib/rpm/rpmdb.sqlite"));
    }
  }
  Result<AnalysisResult> result = AnalyzeBytes("var/lib/rpm/rpmdb.sqlite", original.substr(0, 16));
  EXPECT_FALSE(result.ok());

  // Garbage over every page after the first: corrupt b-trees must be reported, not crash.
  std::string corrupt = original;
  std::mt19937 random(42);
  for (size_t i = 4096; i < corrupt.size(); ++i) corrupt[i] = static_cast<char>(random());
  result = AnalyzeBytes("var/lib/rpm/rpmdb.sqlite", corrupt);
  EXPECT_THAT(Damage(result), HasSubstr("sqlite"));
}

// --- Any format: random damage never crashes -----------------------------------------------

TEST(RpmAnalyzerTest, RandomByteDamageNeverCrashes) {
  std::mt19937 random(1234);
  for (const char* fixture : {"go-rpmdb_libuuid_Packages.bdb", "syft_dive_Packages.bdb",
                              "go-rpmdb_sle15-bci_Packages.ndb", "generated_rpmdb.sqlite"}) {
    SCOPED_TRACE(fixture);
    const std::string original = ReadBinary(SharedRpmDir() + "/" + fixture);
    int errors = 0;
    for (int round = 0; round < 60; ++round) {
      std::string bytes = original;
      for (int flips = 0; flips < 1 + round % 8; ++flips) {
        bytes[random() % bytes.size()] = static_cast<char>(random());
      }
      Result<AnalysisResult> result = AnalyzeBytes(ImagePathFor(fixture), bytes);
      if (!result.ok()) {
        ++errors;
        EXPECT_THAT(Damage(result), HasSubstr("rpm database /"));
      }
    }
    RecordProperty(fixture, errors);
  }
}

}  // namespace
}  // namespace moat::rpm
