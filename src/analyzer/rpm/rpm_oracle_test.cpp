// Differential tests with rpm itself as the oracle. The suite builds real packages with
// rpmbuild, installs them into a fresh database with `rpm -i --justdb` (Debian's rpm 4.18 writes
// SQLite), imports a GPG key (a gpg-pubkey pseudo-package), and requires our parse of the
// database to equal `rpm -qa --qf`. The same headers are then stored in real Berkeley DB hash
// files (db5.3_load, both byte orders, small pages so values span overflow chains) and compared
// with rpm's read-only BDB backend; hand-modified header blobs are compared the same way.

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/rpm/endian.h"
#include "analyzer/rpm/rpm_db.h"
#include "analyzer/rpm/rpm_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace moat::rpm {
namespace {

using testing::kRpmQueryFormat;
using testing::QueryFormatRow;
using testing::ReadBinary;
using testing::RunCommand;
using testing::SharedRpmDir;
using testing::WriteBinary;

bool HaveCommand(const std::string& name) {
  return RunCommand("command -v " + name + " >/dev/null 2>&1").exit_code == 0;
}

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> OurRows(const std::string& image_path, const std::string& bytes) {
  Result<AnalysisResult> parsed = ParseRpmDatabase(image_path, AsBytes(bytes));
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  std::vector<std::string> rows;
  if (!parsed.ok()) return rows;
  EXPECT_TRUE(parsed->problems.empty());
  for (const Package& package : parsed->packages) rows.push_back(QueryFormatRow(package));
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The rows `rpm -qa` prints for a database directory.
std::vector<std::string> RpmRows(const std::string& dbpath, const std::string& extra_options) {
  const testing::CommandResult result =
      RunCommand("rpm --dbpath '" + dbpath + "' " + extra_options + " -qa --qf '" +
                 kRpmQueryFormat + "' 2>/dev/null");
  EXPECT_EQ(result.exit_code, 0) << "rpm -qa failed for " << dbpath;
  return SortedLines(result.output);
}

struct StoredBlob {
  int64_t hnum;
  std::string blob;
};

std::vector<StoredBlob> SqliteBlobs(const std::string& path) {
  std::vector<StoredBlob> blobs;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return blobs;
  }
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum", -1, &statement, nullptr);
  while (statement != nullptr && sqlite3_step(statement) == SQLITE_ROW) {
    blobs.push_back({sqlite3_column_int64(statement, 0),
                     std::string(static_cast<const char*>(sqlite3_column_blob(statement, 1)),
                                 static_cast<size_t>(sqlite3_column_bytes(statement, 1)))});
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return blobs;
}

void SqliteExec(const std::string& path, const std::string& sql,
                const std::vector<std::string>& blob_parameters = {}) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  for (size_t i = 0; i < blob_parameters.size(); ++i) {
    sqlite3_bind_blob(statement, static_cast<int>(i + 1), blob_parameters[i].data(),
                      static_cast<int>(blob_parameters[i].size()), SQLITE_TRANSIENT);
  }
  EXPECT_EQ(sqlite3_step(statement), SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

// The spec files: the shared fixture specs plus ours, which add what those lack: an epoch with a
// compound license, a subpackage (source RPM name differs from the package name), no vendor, a
// dotted release, and (built separately) a modularity label.
constexpr const char* kToolSpec = R"(Name: moat-module-tool
Epoch: 3
Version: 1.2.3
Release: 4.module_el8.9.0+1234+abcdef12
Summary: fixture
License: GPLv2+ and (MIT or BSD)
Vendor: Example Vendor
BuildArch: noarch
%description
fixture
%package libs
Summary: fixture libs
License: LGPLv2+
%description libs
fixture libs
%files
%files libs
)";

constexpr const char* kPlainSpec = R"(Name: moat-plain
Version: 0.9~beta1
Release: 1.el9_2.1
Summary: fixture
License: MIT
%description
fixture
%files
)";

class RpmOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new testing::TempDir();
    for (const char* tool : {"rpm", "rpmbuild", "gpg"}) {
      if (!HaveCommand(tool)) {
        setup_error_ = std::string(tool) +
                       " not found: install the rpm and gpg apt packages "
                       "(scripts/install-deps.sh test)";
        return;
      }
    }
    const std::string top = work_->path() + "/build";
    std::filesystem::create_directories(top + "/SPECS");
    std::string shared_specs;
    for (const auto& entry :
         std::filesystem::directory_iterator(SharedRpmDir() + "/generated_specs")) {
      const std::string target = top + "/SPECS/" + entry.path().filename().string();
      std::filesystem::copy_file(entry.path(), target);
      shared_specs += " '" + target + "'";
    }
    WriteBinary(top + "/SPECS/moat-plain.spec", kPlainSpec);
    WriteBinary(top + "/SPECS/moat-module-tool.spec", kToolSpec);
    const std::string rpmbuild = "rpmbuild --quiet --define '_topdir " + top + "' ";
    if (RunCommand(rpmbuild + "--target x86_64 -bb" + shared_specs + " '" + top +
                   "/SPECS/moat-plain.spec' >/dev/null 2>&1")
                .exit_code != 0 ||
        RunCommand(rpmbuild + "--define 'modularitylabel nodejs:18:8090020230531:abcdef12' -bb '" +
                   top + "/SPECS/moat-module-tool.spec' >/dev/null 2>&1")
                .exit_code != 0) {
      setup_error_ = "rpmbuild failed";
      return;
    }

    dbpath_ = work_->path() + "/db";
    std::filesystem::create_directories(dbpath_);
    const std::string rpm = "rpm --dbpath '" + dbpath_ + "' --define '_db_backend sqlite' ";
    if (RunCommand(rpm + "--initdb >/dev/null 2>&1").exit_code != 0 ||
        RunCommand(rpm + "-i --justdb --nodeps --noscripts --ignorearch --ignoreos " + top +
                   "/RPMS/*/*.rpm >/dev/null 2>&1")
                .exit_code != 0) {
      setup_error_ = "rpm -i --justdb failed";
      return;
    }
    // A signing key, which rpm lists as a gpg-pubkey package.
    const std::string gnupg = work_->path() + "/gnupg";
    std::filesystem::create_directories(gnupg);
    std::filesystem::permissions(gnupg, std::filesystem::perms::owner_all);
    if (RunCommand("gpg --homedir '" + gnupg + "' --batch --passphrase '' --quick-gen-key " +
                   "'Moat Test <test@example.invalid>' ed25519 sign never >/dev/null 2>&1 && " +
                   "gpg --homedir '" + gnupg + "' --armor --export > '" + work_->path() +
                   "/key.asc' 2>/dev/null && " + rpm + "--import '" + work_->path() +
                   "/key.asc' >/dev/null 2>&1")
            .exit_code != 0) {
      setup_error_ = "importing a GPG key with rpm --import failed";
    }
  }

  static void TearDownTestSuite() {
    // gpg started an agent for the temporary home; stop it before the home goes away.
    if (work_ != nullptr && HaveCommand("gpgconf")) {
      (void)RunCommand("gpgconf --homedir '" + work_->path() + "/gnupg' --kill gpg-agent " +
                       ">/dev/null 2>&1");
    }
    delete work_;
    work_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  // Stores header blobs in a Berkeley DB hash file with Berkeley DB's own db_load.
  static void WriteBerkeleyDb(const std::vector<StoredBlob>& blobs, const std::string& dir,
                              const std::string& options) {
    auto escape = [](const std::string& bytes) {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string text;
      for (unsigned char c : bytes) {
        text += '\\';
        text += kHex[c >> 4];
        text += kHex[c & 15];
      }
      return text;
    };
    std::string input;
    for (const StoredBlob& stored : blobs) {
      // rpm's keys are header numbers in the writer's byte order (here: little-endian x86).
      std::string key(4, '\0');
      for (int i = 0; i < 4; ++i) key[i] = static_cast<char>((stored.hnum >> (8 * i)) & 0xff);
      input += escape(key) + "\n" + escape(stored.blob) + "\n";
    }
    std::filesystem::create_directories(dir);
    WriteBinary(dir + "/input.txt", input);
    const testing::CommandResult load = RunCommand("db5.3_load -T -t hash " + options + " '" + dir +
                                                   "/Packages' < '" + dir + "/input.txt' 2>&1");
    ASSERT_EQ(load.exit_code, 0) << load.output;
  }

  static testing::TempDir* work_;
  static std::string dbpath_;
  static std::string setup_error_;
};

testing::TempDir* RpmOracleTest::work_ = nullptr;
std::string RpmOracleTest::dbpath_;
std::string RpmOracleTest::setup_error_;

TEST_F(RpmOracleTest, SqliteDatabaseMatchesRpmQa) {
  const std::vector<std::string> expected = RpmRows(dbpath_, "");
  // Four shared specs, ours (tool, tool-libs, plain) and the key.
  ASSERT_EQ(expected.size(), 8u);
  const std::string bytes = ReadBinary(dbpath_ + "/rpmdb.sqlite");
  // rpm leaves its database in WAL mode; our reader must cope without the -wal file.
  ASSERT_GT(bytes.size(), 100u);
  EXPECT_EQ(bytes[18], 2) << "expected rpm to leave the database in WAL mode";
  const std::vector<std::string> ours = OurRows("usr/lib/sysimage/rpm/rpmdb.sqlite", bytes);
  EXPECT_EQ(ours, expected);

  // The cases the specs were written for are really there.
  std::string all;
  for (const std::string& row : ours) all += row + "\n";
  EXPECT_THAT(all, ::testing::HasSubstr("gpg-pubkey\t(none)"));
  EXPECT_THAT(all, ::testing::HasSubstr("nodejs:18:8090020230531:abcdef12"));
  EXPECT_THAT(all, ::testing::HasSubstr("moat-module-tool-libs\t3\t"));
}

// The file lists (BASENAMES in DIRNAMES by DIRINDEXES) are the files `rpm -qa` lists.
TEST_F(RpmOracleTest, FileListsMatchRpmFilenames) {
  const testing::CommandResult listed = RunCommand(
      "rpm --dbpath '" + dbpath_ + "' -qa --qf '[%{NAME}\\t%{FILENAMES}\\n]' 2>/dev/null");
  ASSERT_EQ(listed.exit_code, 0);
  std::vector<std::string> expected;
  for (const std::string& line : SortedLines(listed.output)) {
    if (!line.ends_with("\t(none)")) expected.push_back(line);  // a package without files
  }
  ASSERT_GE(expected.size(), 4u);
  Result<AnalysisResult> parsed =
      ParseRpmDatabase("var/lib/rpm/rpmdb.sqlite", AsBytes(ReadBinary(dbpath_ + "/rpmdb.sqlite")));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  std::vector<std::string> ours;
  for (const OwnedFiles& owned : parsed->owned_files) {
    for (const std::string& path : owned.paths) ours.push_back(owned.package + "\t" + path);
  }
  std::sort(ours.begin(), ours.end());
  EXPECT_EQ(ours, expected);
}

TEST_F(RpmOracleTest, BerkeleyDbInBothByteOrdersMatchesRpmQa) {
  if (!HaveCommand("db5.3_load")) {
    FAIL() << "db5.3_load not found: install the db5.3-util apt package "
              "(scripts/install-deps.sh test)";
  }
  const std::vector<StoredBlob> blobs = SqliteBlobs(dbpath_ + "/rpmdb.sqlite");
  ASSERT_EQ(blobs.size(), 8u);
  const std::vector<std::string> expected = RpmRows(dbpath_, "");
  for (const char* options :
       {"-c db_pagesize=512", "-c db_pagesize=4096", "-c db_pagesize=1024 -c db_lorder=4321"}) {
    SCOPED_TRACE(options);
    const std::string dir =
        work_->path() + "/bdb" + std::to_string(std::hash<std::string>{}(options));
    WriteBerkeleyDb(blobs, dir, options);
    const std::string bytes = ReadBinary(dir + "/Packages");
    std::filesystem::remove(dir + "/input.txt");
    EXPECT_EQ(RpmRows(dir, "--define '_db_backend bdb_ro'"), expected);
    EXPECT_EQ(OurRows("var/lib/rpm/Packages", bytes), expected);
  }
}

// Header blobs that rpm itself never writes this way, but reads: an added entry after the
// region ("dribble") that replaces a region tag, and a legacy header without a region tag.
TEST_F(RpmOracleTest, HeaderVariantsDecodeLikeRpm) {
  const std::string original = ReadBinary(SharedRpmDir() + "/go-rpmdb_blob.bin");
  ASSERT_GT(original.size(), 8u);
  const auto* bytes = reinterpret_cast<const uint8_t*>(original.data());
  const uint32_t il = LoadBe32(bytes);
  const uint32_t dl = LoadBe32(bytes + 4);
  auto be32 = [](uint32_t value) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (24 - 8 * i)) & 0xff);
    return out;
  };
  const std::string index = original.substr(8, 16 * static_cast<size_t>(il));
  const std::string data = original.substr(8 + 16 * static_cast<size_t>(il));

  const std::string new_name = "moat-dribbled-name";
  const std::string new_license = "Dribble License";
  const std::string dribble_data = new_name + '\0' + new_license + '\0';
  const std::string dribbled =
      be32(il + 2) + be32(dl + static_cast<uint32_t>(dribble_data.size())) + index +
      be32(kTagName) + be32(6) + be32(dl) + be32(1) + be32(kTagLicense) + be32(6) +
      be32(dl + static_cast<uint32_t>(new_name.size() + 1)) + be32(1) + data + dribble_data;
  const std::string legacy = be32(il - 1) + be32(dl) + index.substr(16) + data;

  const std::string dbpath = work_->path() + "/variants";
  std::filesystem::create_directories(dbpath);
  std::filesystem::copy_file(SharedRpmDir() + "/generated_rpmdb.sqlite", dbpath + "/rpmdb.sqlite");
  std::filesystem::permissions(dbpath + "/rpmdb.sqlite", std::filesystem::perms::owner_read |
                                                             std::filesystem::perms::owner_write);
  for (const std::string* blob : {&original, &dribbled, &legacy}) {
    SqliteExec(dbpath + "/rpmdb.sqlite", "INSERT INTO Packages(blob) VALUES (?)", {*blob});
  }
  // The modified blobs no longer match their digests; rpm is told not to check them.
  const std::vector<std::string> expected = RpmRows(dbpath, "--nosignature --nodigest");
  ASSERT_EQ(expected.size(), 7u);
  const std::vector<std::string> ours =
      OurRows("var/lib/rpm/rpmdb.sqlite", ReadBinary(dbpath + "/rpmdb.sqlite"));
  EXPECT_EQ(ours, expected);
  std::string all;
  for (const std::string& row : ours) all += row + "\n";
  // The dribble entries replaced the region's NAME and LICENSE; the legacy copy kept them.
  EXPECT_THAT(all, ::testing::HasSubstr("moat-dribbled-name\t(none)\t20210518\t"));
  EXPECT_THAT(all, ::testing::HasSubstr("\tDribble License\t"));
}

}  // namespace
}  // namespace moat::rpm
