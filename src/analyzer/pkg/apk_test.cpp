#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/analyzer.h"
#include "core/bytes.h"

namespace moat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kFixtures = std::string(MOAT_SHARED_DATA_DIR) + "/vuln/pkgdb/apk/";
constexpr std::string_view kInstalled = "lib/apk/db/installed";

std::string Fixture(const std::string& name) {
  Result<std::string> content = ReadFileToString(kFixtures + name);
  EXPECT_TRUE(content.ok()) << (content.ok() ? "" : content.error().message);
  return content.ok() ? content.value() : std::string();
}

Result<AnalysisResult> Analyze(std::string_view content, std::string_view path = kInstalled) {
  auto analyzer = MakeApkAnalyzer();
  return analyzer->Analyze(FileMeta{path, 0644, content.size()}, AsBytes(content));
}

/// "name version arch origin | maintainer | license;license": one line per package.
std::vector<std::string> Summaries(const AnalysisResult& result) {
  std::vector<std::string> out;
  for (const Package& p : result.packages) {
    std::string licenses;
    for (const std::string& license : p.licenses) {
      if (!licenses.empty()) licenses += ';';
      licenses += license;
    }
    out.push_back(p.name + " " + p.version + " " + p.arch + " " + p.source_name + " | " +
                  p.maintainer + " | " + licenses);
  }
  return out;
}

std::vector<std::string> AnalyzeFixture(const std::string& name) {
  Result<AnalysisResult> result = Analyze(Fixture(name));
  EXPECT_TRUE(result.ok()) << name << ": " << (result.ok() ? "" : result.error().message);
  if (!result.ok()) return {};
  for (const Package& p : result->packages) {
    EXPECT_EQ(p.type, PackageType::kApk);
    EXPECT_EQ(p.file_path, "/lib/apk/db/installed");
    EXPECT_EQ(p.source_version, p.version);
  }
  return Summaries(result.value());
}

// The expected lists below were written from reading each fixture (its P, V, A, o, m and L
// lines), not from running the parser.

TEST(ApkAnalyzer, Wants) {
  auto analyzer = MakeApkAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "apk");
  auto wants = [&](std::string_view path) { return analyzer->Wants(FileMeta{path, 0644, 10}); };
  EXPECT_TRUE(wants("lib/apk/db/installed"));
  EXPECT_TRUE(wants("usr/lib/apk/db/installed"));
  EXPECT_FALSE(wants("lib/apk/db/triggers"));
  EXPECT_FALSE(wants("lib/apk/db/installed.bak"));
  EXPECT_FALSE(wants("etc/apk/world"));
}

TEST(ApkAnalyzer, SinglePackages) {
  EXPECT_THAT(AnalyzeFixture("syft_base.installed"),
              ElementsAre("alpine-baselayout 3.2.0-r6 x86_64 alpine-baselayout | Natanael Copa "
                          "<ncopa@alpinelinux.org> | GPL-2.0-only"));
  // "L:MIT BSD GPL2+" is a list of three licenses, not an expression.
  EXPECT_THAT(AnalyzeFixture("syft_single.installed"),
              ElementsAre("musl-utils 1.1.24-r2 x86_64 musl | Timo Teräs <timo.teras@iki.fi> | "
                          "MIT;BSD;GPL2+"));
  EXPECT_THAT(AnalyzeFixture("syft_empty-deps-and-provides.installed"),
              ElementsAre("alpine-baselayout-data 3.4.0-r0 x86_64 alpine-baselayout | Natanael "
                          "Copa <ncopa@alpinelinux.org> | GPL-2.0-only"));
  EXPECT_THAT(AnalyzeFixture("syft_extra-file-attributes.installed"),
              ElementsAre("openjdk8-jre 8.212.04-r0 x86_64 openjdk8 | Timo Teras "
                          "<timo.teras@iki.fi> | custom"));
}

TEST(ApkAnalyzer, MultiplePackages) {
  EXPECT_THAT(
      AnalyzeFixture("syft_multiple-2.installed"),
      ElementsAre(
          "alpine-baselayout-data 3.2.0-r22 x86_64 alpine-baselayout | Natanael Copa "
          "<ncopa@alpinelinux.org> | GPL-2.0-only",
          "musl 1.2.3-r0 x86_64 musl | Timo Teräs <timo.teras@iki.fi> | MIT",
          "busybox 1.35.0-r17 x86_64 busybox | Sören Tempel <soeren+alpine@soeren-tempel.net> | "
          "GPL-2.0-only",
          "alpine-baselayout 3.2.0-r22 x86_64 alpine-baselayout | Natanael Copa "
          "<ncopa@alpinelinux.org> | GPL-2.0-only",
          "alpine-keys 2.4-r1 x86_64 alpine-keys | Natanael Copa <ncopa@alpinelinux.org> | MIT",
          // An SPDX expression stays one license.
          "ca-certificates-bundle 20220614-r0 x86_64 ca-certificates | Natanael Copa "
          "<ncopa@alpinelinux.org> | MPL-2.0 AND MIT",
          "libcrypto1.1 1.1.1q-r0 x86_64 openssl | Timo Teras <timo.teras@iki.fi> | OpenSSL",
          "libssl1.1 1.1.1q-r0 x86_64 openssl | Timo Teras <timo.teras@iki.fi> | OpenSSL",
          "ssl_client 1.35.0-r17 x86_64 busybox | Sören Tempel "
          "<soeren+alpine@soeren-tempel.net> | GPL-2.0-only",
          "zlib 1.2.12-r3 x86_64 zlib | Natanael Copa <ncopa@alpinelinux.org> | Zlib",
          "apk-tools 2.12.9-r3 x86_64 apk-tools | Natanael Copa <ncopa@alpinelinux.org> | "
          "GPL-2.0-only",
          "scanelf 1.3.4-r0 x86_64 pax-utils | Natanael Copa <ncopa@alpinelinux.org> | "
          "GPL-2.0-only",
          "musl-utils 1.2.3-r0 x86_64 musl | Timo Teräs <timo.teras@iki.fi> | MIT;BSD;GPL2+",
          "libc-utils 0.7.2-r3 x86_64 libc-dev | Natanael Copa <ncopa@alpinelinux.org> | "
          "BSD-2-Clause AND BSD-3-Clause"));
}

TEST(ApkAnalyzer, TrivyFixtureSkipsRecordWithoutVersion) {
  EXPECT_THAT(
      AnalyzeFixture("trivy_testdata_apk_installed"),
      ElementsAre(
          "musl 1.1.14-r10 x86_64 musl | Timo Teräs <timo.teras@iki.fi> | MIT",
          // "P:invalidPackageWithoutAVersion" is skipped.
          "busybox 1.24.2-r9 x86_64 busybox | Natanael Copa <ncopa@alpinelinux.org> | GPL2",
          "alpine-baselayout 3.0.3-r0 x86_64 alpine-baselayout | Natanael Copa "
          "<ncopa@alpinelinux.org> | GPL2",
          "alpine-keys 1.1-r0 x86_64 alpine-keys | Natanael Copa <ncopa@alpinelinux.org> | GPL",
          "zlib 1.2.8-r2 x86_64 zlib | Natanael Copa <ncopa@alpinelinux.org> | zlib",
          "libcrypto1.0 1.0.2h-r1 x86_64 openssl | Timo Teras <timo.teras@iki.fi> | openssl",
          "libssl1.0 1.0.2h-r1 x86_64 openssl | Timo Teras <timo.teras@iki.fi> | openssl",
          "apk-tools 2.6.7-r0 x86_64 apk-tools | Natanael Copa <ncopa@alpinelinux.org> | GPL2",
          "scanelf 1.1.6-r0 x86_64 pax-utils | Natanael Copa <ncopa@alpinelinux.org> | GPL2",
          "musl-utils 1.1.14-r10 x86_64 musl | Timo Teräs <timo.teras@iki.fi> | MIT;BSD;GPL2+",
          "libc-utils 0.7-r0 x86_64 libc-dev | Natanael Copa <ncopa@alpinelinux.org> | GPL",
          "pkgconf 1.6.0-r0 x86_64 pkgconf | William Pitcock <nenolod@dereferenced.org> | ISC",
          "sqlite-libs 3.26.0-r3 x86_64 sqlite | Carlo Landmeter <clandmeter@gmail.com> | "
          "Public-Domain",
          "test 2.9.11_pre20061021-r2 x86_64 test-parent | Carlo Landmeter "
          "<clandmeter@gmail.com> | Public-Domain",
          "ada-libs 2.7.4-r0 x86_64 ada | Jakub Jirutka <jakub@jirutka.cz> | ( Apache-2.0 OR MIT "
          ") AND MPL-2.0"));
}

TEST(ApkAnalyzer, CorruptFixtureSkipsAndNamesTheDamagedRecord) {
  Result<AnalysisResult> result = Analyze(Fixture("syft_corrupt.installed"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  // Line 1 is "this is a corrupt db", a record of its own; the record after it is intact.
  EXPECT_THAT(result->problems,
              ElementsAre("line 1: expected \"X:value\"; stanza at lines 1-1 skipped"));
  ASSERT_EQ(result->packages.size(), 1u);
  EXPECT_EQ(result->packages[0].name, "alpine-baselayout-data");
  // Nothing but the damaged record: an error naming the file.
  result = Analyze("this is a corrupt db\n");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message,
              HasSubstr("/lib/apk/db/installed: line 1: expected \"X:value\""));
}

// A damaged record in the middle of a real database loses that package only, and is named.
TEST(ApkAnalyzer, DamagedRecordIsSkippedAndNamed) {
  const std::string full = Fixture("trivy_testdata_apk_installed");
  Result<AnalysisResult> intact = Analyze(full);
  ASSERT_TRUE(intact.ok()) << intact.error().message;
  ASSERT_GT(intact->packages.size(), 3u);
  const std::string victim = intact->packages[2].name;
  std::string damaged = full;
  const size_t at = damaged.find("\nP:" + victim + "\n");
  ASSERT_NE(at, std::string::npos);
  damaged.insert(at + 1, "garbage without a key\n");
  Result<AnalysisResult> result = Analyze(damaged);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->packages.size(), intact->packages.size() - 1);
  ASSERT_EQ(result->problems.size(), 1u);
  EXPECT_THAT(result->problems[0], HasSubstr(": expected \"X:value\"; stanza at lines "));
  EXPECT_THAT(result->problems[0], HasSubstr("(package \"" + victim + "\") skipped"));
  EXPECT_TRUE(result->package_database);
}

// F: names a directory, each R: after it a file in it: the files `apk info -L` lists.
TEST(ApkAnalyzer, FileListsFollowTheRecords) {
  Result<AnalysisResult> result = Analyze(Fixture("syft_single.installed"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->owned_files.size(), 1u);
  EXPECT_EQ(result->owned_files[0].package, result->packages[0].name);
  EXPECT_THAT(result->owned_files[0].paths,
              ::testing::IsSupersetOf({"/sbin/ldconfig", "/usr/bin/iconv", "/usr/bin/ldd",
                                       "/usr/bin/getconf", "/usr/bin/getent"}));
}

TEST(ApkAnalyzer, EveryFixtureIsCovered) {
  std::set<std::string> covered = {"syft_base.installed",
                                   "syft_corrupt.installed",
                                   "syft_empty-deps-and-provides.installed",
                                   "syft_extra-file-attributes.installed",
                                   "syft_multiple-2.installed",
                                   "syft_single.installed",
                                   "trivy_testdata_apk_installed"};
  std::set<std::string> present;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures)) {
    present.insert(entry.path().filename().string());
  }
  EXPECT_EQ(present, covered);
}

TEST(ApkAnalyzer, MissingOriginFallsBackToName) {
  Result<AnalysisResult> result = Analyze("P:foo\r\nV:1.0-r0\r\n\r\nP:bar\nV:2-r1\no:baz\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_THAT(Summaries(result.value()),
              ElementsAre("foo 1.0-r0  foo |  | ", "bar 2-r1  baz |  | "));
}

TEST(ApkAnalyzer, BadInputGivesErrorsNamingTheLine) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"P:a\nV:1\nX\n", "/lib/apk/db/installed: line 3: expected \"X:value\""},
      {"P:a\nV:1\n \n", "/lib/apk/db/installed: line 3: expected \"X:value\""},
      {"P:a\nV:1\nP:b\n", "/lib/apk/db/installed: line 3: duplicate field \"P\""},
      {"P:a\nVV:1\n", "/lib/apk/db/installed: line 2: expected \"X:value\""},
      {std::string("\x1f\x8b\x08\0\0\0\0\0", 8), "/lib/apk/db/installed: line 1"},
  };
  for (const Case& c : cases) {
    Result<AnalysisResult> result = Analyze(c.text);
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_THAT(result.error().message, HasSubstr(c.error)) << c.text;
    // After an intact record the damaged one is skipped, the intact one read.
    result = Analyze("P:ok\nV:1-r0\n\n" + c.text);
    ASSERT_TRUE(result.ok()) << c.text;
    ASSERT_EQ(result->packages.size(), 1u) << c.text;
    EXPECT_EQ(result->packages[0].name, "ok");
    ASSERT_EQ(result->problems.size(), 1u) << c.text;
    // The line number moved by the three lines in front; what is wrong did not.
    const size_t what = c.error.find(": ", c.error.find("line "));
    if (what != std::string::npos) {
      EXPECT_THAT(result->problems[0], HasSubstr(c.error.substr(what))) << c.text;
    }
  }
}

TEST(ApkAnalyzer, EmptyAndTruncatedInput) {
  Result<AnalysisResult> empty = Analyze("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->packages.empty());

  // Every prefix of a real file either parses or fails cleanly; none crashes (ASan watches).
  const std::string base = Fixture("syft_base.installed");
  size_t ok_count = 0;
  for (size_t length = 0; length <= base.size(); ++length) {
    Result<AnalysisResult> result = Analyze(std::string_view(base).substr(0, length));
    if (result.ok()) ++ok_count;
  }
  EXPECT_GT(ok_count, 0u);

  const std::string full = Fixture("syft_multiple-2.installed");
  // Cut right after the second record's "V:" line: that record ends early but already has its
  // name and version, so it counts.
  size_t cut = full.find("V:1.2.3-r0\n") + std::string_view("V:1.2.3-r0\n").size();
  Result<AnalysisResult> truncated = Analyze(std::string_view(full).substr(0, cut));
  ASSERT_TRUE(truncated.ok()) << truncated.error().message;
  ASSERT_EQ(truncated->packages.size(), 2u);
  EXPECT_EQ(truncated->packages[1].name, "musl");
}

}  // namespace
}  // namespace moat
