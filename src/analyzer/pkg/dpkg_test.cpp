#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/analyzer.h"
#include "core/bytes.h"

namespace moat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kFixtures = std::string(MOAT_SHARED_DATA_DIR) + "/vuln/pkgdb/dpkg/";

std::string Fixture(const std::string& name) {
  Result<std::string> content = ReadFileToString(kFixtures + name);
  EXPECT_TRUE(content.ok()) << (content.ok() ? "" : content.error().message);
  return content.ok() ? content.value() : std::string();
}

Result<AnalysisResult> Analyze(std::string_view path, std::string_view content) {
  auto analyzer = MakeDpkgAnalyzer();
  FileMeta meta{path, 0644, content.size()};
  return analyzer->Analyze(meta, AsBytes(content));
}

/// "name version arch source source_version | maintainer": one line per package, compared
/// whole so a wrong field in any package shows in the failure.
std::vector<std::string> Summaries(const AnalysisResult& result) {
  std::vector<std::string> out;
  for (const Package& p : result.packages) {
    out.push_back(p.name + " " + p.version + " " + p.arch + " " + p.source_name + " " +
                  p.source_version + " | " + p.maintainer);
  }
  return out;
}

std::vector<std::string> AnalyzeFixture(const std::string& name, std::string_view path) {
  Result<AnalysisResult> result = Analyze(path, Fixture(name));
  EXPECT_TRUE(result.ok()) << name << ": " << (result.ok() ? "" : result.error().message);
  if (!result.ok()) return {};
  for (const Package& p : result->packages) {
    EXPECT_EQ(p.type, PackageType::kDeb);
    EXPECT_EQ(p.file_path, "/" + std::string(path));
    EXPECT_THAT(p.licenses, IsEmpty());
  }
  return Summaries(result.value());
}

constexpr std::string_view kStatus = "var/lib/dpkg/status";

// The expected lists below were written by reading each fixture by eye (not by running the
// parser): every paragraph with Package, Version and an on-disk Status, in file order.

TEST(DpkgAnalyzer, WantsStatusAndStatusDirEntries) {
  auto analyzer = MakeDpkgAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "dpkg");
  auto wants = [&](std::string_view path) { return analyzer->Wants(FileMeta{path, 0644, 10}); };
  EXPECT_TRUE(wants("var/lib/dpkg/status"));
  EXPECT_TRUE(wants("var/lib/dpkg/status.d/libssl3"));
  EXPECT_TRUE(wants("var/lib/dpkg/status.d/base"));
  EXPECT_FALSE(wants("var/lib/dpkg/status.d/libssl3.md5sums"));
  EXPECT_FALSE(wants("var/lib/dpkg/status.d/"));
  EXPECT_FALSE(wants("var/lib/dpkg/status.d/sub/file"));
  EXPECT_FALSE(wants("var/lib/dpkg/status-old"));
  EXPECT_FALSE(wants("var/lib/dpkg/available"));
  EXPECT_FALSE(wants("usr/var/lib/dpkg/status"));
  EXPECT_FALSE(wants("var/lib/dpkg/info/libc6.md5sums"));
  EXPECT_FALSE(wants("var/lib/dpkg/info/sub/libc6.list"));
  // File lists tell which files each package installed.
  EXPECT_TRUE(wants("var/lib/dpkg/info/libc6.list"));
}

TEST(DpkgAnalyzer, DistrolessStatusDirFileWithoutStatusField) {
  EXPECT_THAT(
      AnalyzeFixture("syft_distroless_status.d_libsqlite3-0", "var/lib/dpkg/status.d/libsqlite3-0"),
      ElementsAre("libsqlite3-0 3.34.1-3 arm64 sqlite3 3.34.1-3 | Laszlo Boszormenyi "
                  "(GCS) <gcs@debian.org>"));
  // In the status file proper, a paragraph without Status is not an installed package.
  EXPECT_THAT(AnalyzeFixture("syft_distroless_status.d_libsqlite3-0", kStatus), IsEmpty());
}

TEST(DpkgAnalyzer, CoreutilsRelationships) {
  EXPECT_THAT(
      AnalyzeFixture("syft_status.d_coreutils-relationships", "var/lib/dpkg/status.d/coreutils"),
      ElementsAre(
          "coreutils 9.1-1 arm64 coreutils 9.1-1 | Michael Stone <mstone@debian.org>",
          "libacl1 2.3.1-3 arm64 acl 2.3.1-3 | Guillem Jover <guillem@debian.org>",
          "libc6 2.36-9+deb12u1 arm64 glibc 2.36-9+deb12u1 | GNU Libc Maintainers "
          "<debian-glibc@lists.debian.org>",
          "libgcc-s1 12.2.0-14 arm64 gcc-12 12.2.0-14 | Debian GCC Maintainers "
          "<debian-gcc@lists.debian.org>",
          "gcc-12-base 12.2.0-14 arm64 gcc-12 12.2.0-14 | Debian GCC Maintainers "
          "<debian-gcc@lists.debian.org>",
          "libattr1 1:2.5.1-4 arm64 attr 1:2.5.1-4 | Guillem Jover <guillem@debian.org>",
          "libgmp10 2:6.2.1+dfsg1-1.1 arm64 gmp 2:6.2.1+dfsg1-1.1 | Debian Science Team "
          "<debian-science-maintainers@lists.alioth.debian.org>",
          // "Source: libselinux (3.4-1)": a binNMU, source version differs from the binary's.
          "libselinux1 3.4-1+b6 arm64 libselinux 3.4-1 | Debian SELinux maintainers "
          "<selinux-devel@lists.alioth.debian.org>",
          "libpcre2-8-0 10.42-1 arm64 pcre2 10.42-1 | Matthew Vernon <matthew@debian.org>"));
}

TEST(DpkgAnalyzer, ConfigFilesOnlyPackageIsNotInstalled) {
  EXPECT_THAT(AnalyzeFixture("syft_status.d_deinstall", kStatus),
              ElementsAre("linux-image-6.14.0-1012-aws 6.14.0-1012.12~24.04.1 amd64 "
                          "linux-signed-aws-6.14 6.14.0-1012.12~24.04.1 | Canonical Kernel Team "
                          "<kernel-team@lists.ubuntu.com>"));
}

TEST(DpkgAnalyzer, SinglePackages) {
  const std::string apt =
      "apt 1.8.2 amd64 apt-dev 1.8.2 | APT Development Team <deity@lists.debian.org>";
  EXPECT_THAT(AnalyzeFixture("syft_status.d_single", kStatus), ElementsAre(apt));
  // "Installed-Size: 4KB" and an empty "Conffiles:" do not disturb the fields we read.
  EXPECT_THAT(AnalyzeFixture("syft_status.d_installed-size-4KB", kStatus), ElementsAre(apt));
}

TEST(DpkgAnalyzer, ParagraphsWithoutNameOrVersionAreSkipped) {
  EXPECT_THAT(
      AnalyzeFixture("syft_status.d_multiple", kStatus),
      ElementsAre("tzdata 2020a-0+deb10u1 all tzdata-dev 2020a-0+deb10u1 | GNU Libc Maintainers "
                  "<debian-glibc@lists.debian.org>",
                  "util-linux 2.33.1-0.1 amd64 util-linux 2.33.1-0.1 | LaMont Jones "
                  "<lamont@debian.org>"));
  // The dependency stubs after libpam-runtime ("Package: debconf1") have no version.
  EXPECT_THAT(AnalyzeFixture("syft_status.d_libpam-runtime", "var/lib/dpkg/status.d/pam"),
              ElementsAre("libpam-runtime 1.5.2-6+deb12u1 all pam 1.5.2-6+deb12u1 | Sam Hartman "
                          "<hartmans@debian.org>"));
}

TEST(DpkgAnalyzer, OpkgStatusHasTheSameShape) {
  // opkg writes "install user installed"; the third word is the state dpkg-query reports.
  EXPECT_THAT(AnalyzeFixture("syft_opkg_status", kStatus),
              ElementsAre("dropbear 2024.85-r0 x86_64 dropbear 2024.85-r0 | ",
                          "busybox 1.36.1-r3 x86_64 busybox 1.36.1-r3 | ",
                          "kernel-modules 6.6.0-r0 x86_64 kernel-modules 6.6.0-r0 | "));
}

TEST(DpkgAnalyzer, CorruptFixtureNamesFileAndLine) {
  Result<AnalysisResult> result =
      Analyze("var/lib/dpkg/status.d/corrupt", Fixture("syft_status.d_corrupt"));
  ASSERT_FALSE(result.ok());
  // Line 5, "Insterface to the configuration settings", has no colon; the file is one stanza.
  EXPECT_EQ(result.error().message,
            "/var/lib/dpkg/status.d/corrupt: line 5: expected \"Field: value\"; stanza at lines "
            "1-6 skipped; no stanza could be read");
}

/// Reads the files of a txtar archive ("-- name --" lines start each file).
std::vector<std::pair<std::string, std::string>> ReadTxtar(std::string_view archive) {
  std::vector<std::pair<std::string, std::string>> files;
  size_t pos = 0;
  while (pos < archive.size()) {
    size_t end = archive.find('\n', pos);
    if (end == std::string_view::npos) end = archive.size();
    std::string_view line = archive.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > 6 && line.substr(0, 3) == "-- " && line.substr(line.size() - 3) == " --") {
      files.emplace_back(std::string(line.substr(3, line.size() - 6)), "");
    } else if (!files.empty()) {
      files.back().second.append(line).append("\n");
    }
  }
  return files;
}

TEST(DpkgAnalyzer, TrivyThirdPartyTxtar) {
  auto files = ReadTxtar(Fixture("trivy_third-party.txtar"));
  ASSERT_EQ(files.size(), 1u);
  ASSERT_EQ(files[0].first, "var/lib/dpkg/status");
  Result<AnalysisResult> result = Analyze(files[0].first, files[0].second);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_THAT(Summaries(result.value()),
              ElementsAre("docker-ce 5:20.10.7~3-0~debian-buster amd64 docker-ce "
                          "5:20.10.7~3-0~debian-buster | Docker <support@docker.com>",
                          "apt 1.6.3ubuntu0.1 amd64 apt 1.6.3ubuntu0.1 | Ubuntu Developers "
                          "<ubuntu-devel-discuss@lists.ubuntu.com>"));
}

TEST(DpkgAnalyzer, EveryFixtureIsCovered) {
  // A new fixture dropped into the folder must get its own expectation above.
  std::set<std::string> covered = {"syft_distroless_status.d_libsqlite3-0",
                                   "syft_distroless_status.d_libsqlite3-0.md5sums",
                                   "syft_opkg_status",
                                   "syft_status.d_coreutils-relationships",
                                   "syft_status.d_corrupt",
                                   "syft_status.d_deinstall",
                                   "syft_status.d_installed-size-4KB",
                                   "syft_status.d_libpam-runtime",
                                   "syft_status.d_multiple",
                                   "syft_status.d_single",
                                   "trivy_third-party.txtar"};
  std::set<std::string> present;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures)) {
    present.insert(entry.path().filename().string());
  }
  EXPECT_EQ(present, covered);
}

TEST(DpkgAnalyzer, FieldsAreCaseInsensitiveAndContinuationsSkipped) {
  Result<AnalysisResult> result = Analyze(kStatus,
                                          "PACKAGE: foo\r\n"
                                          "status: hold ok installed\r\n"
                                          "Description: a\r\n"
                                          " long\r\n"
                                          "\tdescription\r\n"
                                          "version: 1.0-1\r\n"
                                          "source: bar (0.9-2)\r\n"
                                          "ARCHITECTURE: amd64\r\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_THAT(Summaries(result.value()), ElementsAre("foo 1.0-1 amd64 bar 0.9-2 | "));
}

TEST(DpkgAnalyzer, StatesWithFilesOnDisk) {
  std::string text;
  for (std::string_view status :
       {"install ok installed", "hold ok installed", "deinstall ok installed",
        "install ok triggers-pending", "install ok unpacked", "install ok half-installed",
        "deinstall ok config-files", "purge ok not-installed",
        "install reinstreq half-configured"}) {
    text += "Package: p" + std::to_string(text.size()) + "\nVersion: 1\nStatus: ";
    text.append(status).append("\n\n");
  }
  Result<AnalysisResult> result = Analyze(kStatus, text);
  ASSERT_TRUE(result.ok()) << result.error().message;
  // installed x3, triggers-pending, unpacked, half-configured.
  EXPECT_EQ(result->packages.size(), 6u);
}

std::string RunCommand(const std::string& command);

TEST(DpkgAnalyzer, BadInputIsReportedWithItsLine) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {" Package: apt\n\n", "line 1: continuation line outside a field"},
      {"Package: apt\nPackage: apt-get\n\n", "line 2: duplicate field"},
      {"Package: apt\nno colon here\n", "line 2: expected \"Field: value\""},
      {": value\n", "line 1: invalid field name"},
      {"Pack\x01ge: x\n", "line 1: invalid field name"},
      {"Package: a\nVersion: 1\nStatus: installed\n", "line 3: Status must be"},
      {"Package: a\nVersion: 1\nStatus: install ok installed\nSource: b (1\n",
       "line 4: Source must be"},
      {"Package: a\nVersion: 1\nStatus: install ok installed\nSource: (1)\n",
       "line 4: Source must be"},
      {std::string("\x7f"
                   "ELF\x02\x01\x01\0\0\0",
                   10),
       "line 1"},
  };
  for (const Case& c : cases) {
    // Nothing readable: an error naming the file, the line and the stanza.
    Result<AnalysisResult> result = Analyze(kStatus, c.text);
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_THAT(result.error().message, HasSubstr("/var/lib/dpkg/status: " + c.error)) << c.text;
    EXPECT_THAT(result.error().message, HasSubstr("no stanza could be read")) << c.text;
    // After an intact stanza: that one is read, the damaged one skipped and named.
    result = Analyze(kStatus, "Package: ok\nVersion: 1\nStatus: install ok installed\n\n" + c.text);
    ASSERT_TRUE(result.ok()) << c.text;
    EXPECT_THAT(Summaries(result.value()), ElementsAre("ok 1  ok 1 | ")) << c.text;
    ASSERT_EQ(result->problems.size(), 1u) << c.text;
  }
  Result<AnalysisResult> result = Analyze(kStatus,
                                          "Package: a\nVersion: 1\nStatus: install ok installed\n"
                                          "\n continued\nPackage: b\nVersion: 2\n");
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->problems,
              ElementsAre("line 5: continuation line outside a field; stanza at lines 5-7 "
                          "(package \"b\") skipped"));
}

// A hostile file can hold millions of damaged stanzas: the first ones are listed, the rest
// counted.
TEST(DpkgAnalyzer, ManyDamagedStanzasAreCountedNotAllListed) {
  std::string text = "Package: ok\nVersion: 1\nStatus: install ok installed\n\n";
  for (int i = 0; i < 150; ++i) text += "garbage\n\n";
  Result<AnalysisResult> result = Analyze(kStatus, text);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->packages.size(), 1u);
  EXPECT_EQ(result->problems.size(), AnalysisResult::kMaxListedProblems);
  EXPECT_EQ(result->unlisted_problems, 150 - AnalysisResult::kMaxListedProblems);
}

// One bad line in a real status file (this machine's) loses that package only: the others are
// read, and the damaged stanza is named by its line and package.
TEST(DpkgAnalyzer, DamagedStanzaOfARealStatusFileIsSkippedAndNamed) {
  Result<std::string> status = ReadFileToString("/var/lib/dpkg/status");
  if (!status.ok()) GTEST_SKIP() << status.error().message;
  Result<AnalysisResult> intact = Analyze(kStatus, *status);
  ASSERT_TRUE(intact.ok()) << intact.error().message;
  ASSERT_TRUE(intact->problems.empty());
  ASSERT_GT(intact->packages.size(), 10u);

  // Break the line after the tenth package's "Package:" line.
  const std::string& victim = intact->packages[9].name;
  const size_t at = status->find("\nPackage: " + victim + "\n");
  ASSERT_NE(at, std::string::npos);
  std::string damaged = *status;
  const size_t line_end = damaged.find('\n', at + 1);
  damaged.insert(line_end + 1, "this line has no colon\n");
  const size_t damaged_line =
      static_cast<size_t>(
          std::count(damaged.begin(), damaged.begin() + static_cast<long>(line_end) + 1, '\n')) +
      1;

  Result<AnalysisResult> result = Analyze(kStatus, damaged);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->packages.size(), intact->packages.size() - 1);
  for (const Package& p : result->packages) EXPECT_NE(p.name, victim);
  ASSERT_EQ(result->problems.size(), 1u);
  EXPECT_THAT(result->problems[0],
              HasSubstr("line " + std::to_string(damaged_line) + ": expected \"Field: value\""));
  EXPECT_THAT(result->problems[0], HasSubstr("(package \"" + victim + "\") skipped"));
}

// A real file list of this machine: every path dpkg -L prints for the package.
TEST(DpkgAnalyzer, FileListsAreTheFilesOfTheirPackage) {
  const std::string list_path = "/var/lib/dpkg/info/dpkg.list";
  Result<std::string> list = ReadFileToString(list_path);
  if (!list.ok()) GTEST_SKIP() << list.error().message;
  auto analyzer = MakeDpkgAnalyzer();
  FileMeta meta{"var/lib/dpkg/info/dpkg.list", 0644, list->size()};
  EXPECT_TRUE(analyzer->Wants(meta));
  EXPECT_TRUE(analyzer->Wants({"var/lib/dpkg/info/libc6:amd64.list", 0644, 10}));
  EXPECT_FALSE(analyzer->Wants({"var/lib/dpkg/info/dpkg.md5sums", 0644, 10}));
  Result<AnalysisResult> result = analyzer->Analyze(meta, AsBytes(*list));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->packages.empty());
  EXPECT_FALSE(result->package_database);
  ASSERT_EQ(result->owned_files.size(), 1u);
  EXPECT_EQ(result->owned_files[0].package, "dpkg");
  std::set<std::string> expected;
  std::istringstream dpkg_l(RunCommand("dpkg -L dpkg 2>/dev/null"));
  for (std::string line; std::getline(dpkg_l, line);) {
    if (line.size() > 2 && line[0] == '/') expected.insert(line);
  }
  // dpkg -L adds diversions' notes; every listed path is one of ours.
  std::set<std::string> ours(result->owned_files[0].paths.begin(),
                             result->owned_files[0].paths.end());
  EXPECT_TRUE(std::includes(ours.begin(), ours.end(), expected.begin(), expected.end()));
  EXPECT_GT(ours.count("/usr/bin/dpkg"), 0u);

  // The arch qualifier is not part of the package name.
  result = analyzer->Analyze({"var/lib/dpkg/info/libc6:amd64.list", 0644, 12},
                             AsBytes(std::string_view("/.\n/usr/lib\n")));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->owned_files.size(), 1u);
  EXPECT_EQ(result->owned_files[0].package, "libc6");
}

TEST(DpkgAnalyzer, EmptyAndTruncatedInput) {
  Result<AnalysisResult> empty = Analyze(kStatus, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->packages.empty());
  Result<AnalysisResult> blank = Analyze(kStatus, "\n\n  \n");
  ASSERT_TRUE(blank.ok());
  EXPECT_TRUE(blank->packages.empty());

  // Every prefix of a real file either parses or fails cleanly; none crashes (ASan watches).
  const std::string full = Fixture("syft_status.d_coreutils-relationships");
  size_t ok_count = 0;
  for (size_t length = 0; length <= full.size(); ++length) {
    Result<AnalysisResult> result = Analyze(kStatus, std::string_view(full).substr(0, length));
    if (result.ok()) ++ok_count;
  }
  EXPECT_GT(ok_count, 0u);
  // Cut in the middle of "Version: 9.1-1": the truncated version is reported as it stands,
  // exactly what dpkg would read from such a file.
  size_t cut = full.find("Version: 9.1-1") + std::string_view("Version: 9.1").size();
  Result<AnalysisResult> truncated = Analyze(kStatus, std::string_view(full).substr(0, cut));
  ASSERT_TRUE(truncated.ok());
  EXPECT_THAT(Summaries(truncated.value()),
              ElementsAre("coreutils 9.1 arm64 coreutils 9.1 | Michael Stone <mstone@debian.org>"));
}

/// Runs a command and returns its standard output.
std::string RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  pclose(pipe);
  return output;
}

TEST(DpkgAnalyzer, MatchesDpkgQueryOnThisMachine) {
  ASSERT_FALSE(RunCommand("command -v dpkg-query").empty())
      << "dpkg-query not installed (apt dpkg)";
  Result<std::string> status = ReadFileToString("/var/lib/dpkg/status");
  ASSERT_TRUE(status.ok()) << status.error().message;

  // Same predicate as the analyzer: the package's state is one with its files on disk.
  const std::string query =
      "dpkg-query -W -f='${db:Status-Status}\\t${Package}\\t${Version}\\t${Architecture}\\t"
      "${source:Package}\\t${source:Version}\\n' 2>/dev/null";
  const std::set<std::string> on_disk = {"installed", "triggers-pending", "triggers-awaited",
                                         "half-configured", "unpacked"};
  std::multiset<std::string> expected;
  std::string output = RunCommand(query);
  size_t pos = 0;
  while (pos < output.size()) {
    size_t end = output.find('\n', pos);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(pos, end - pos);
    pos = end + 1;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    if (on_disk.count(line.substr(0, tab)) != 0) expected.insert(line.substr(tab + 1));
  }
  ASSERT_GT(expected.size(), 50u) << "dpkg-query gave too few packages to compare";

  Result<AnalysisResult> result = Analyze(kStatus, status.value());
  ASSERT_TRUE(result.ok()) << result.error().message;
  std::multiset<std::string> actual;
  for (const Package& p : result->packages) {
    actual.insert(p.name + "\t" + p.version + "\t" + p.arch + "\t" + p.source_name + "\t" +
                  p.source_version);
  }
  EXPECT_EQ(actual, expected);
}

}  // namespace
}  // namespace moat
