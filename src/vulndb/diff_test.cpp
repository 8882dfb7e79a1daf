// ChangedPackages on databases built from small OSV and Debian tracker feeds, as `moat db build`
// builds them.

#include "vulndb/diff.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "vulndb/build.h"

namespace moat::vulndb {
namespace {

namespace fs = std::filesystem;
using Keys = std::vector<std::pair<std::string, std::string>>;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string OsvAdvisory(const std::string& id, const std::string& package, const std::string& fixed,
                        const std::string& severity) {
  return R"({"id": ")" + id + R"(", "modified": "2024-01-01T00:00:00Z", "summary": ")" + id +
         R"( in )" + package + R"(", "database_specific": {"severity": ")" + severity +
         R"("}, "affected": [{"package": {"ecosystem": "npm", "name": ")" + package +
         R"("}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": ")" +
         fixed + R"("}]}]}]})";
}

constexpr const char* kDebian = R"({"zlib": {"CVE-2023-45853": {"description": "zlib overflow",
  "releases": {"bookworm": {"status": "resolved", "fixed_version": "1:1.2.13.dfsg-2",
  "urgency": "low", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}}}}}})";

class ChangedPackagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moat-vulndb-diff-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A database from three npm advisories and one Debian tracker entry; `tweak` edits the feeds
  // before the build.
  std::string Build(const std::string& name,
                    const std::function<void(std::map<std::string, std::string>&)>& tweak) {
    std::map<std::string, std::string> osv = {
        {"GHSA-aaaa-0001", OsvAdvisory("GHSA-aaaa-0001", "left-pad", "1.3.1", "HIGH")},
        {"GHSA-aaaa-0002", OsvAdvisory("GHSA-aaaa-0002", "lodash", "4.17.21", "MEDIUM")},
        {"GHSA-aaaa-0003", OsvAdvisory("GHSA-aaaa-0003", "minimist", "1.2.6", "LOW")}};
    tweak(osv);
    const fs::path feeds = dir_ / name;
    for (const auto& [id, json] : osv) WriteFile(feeds / "osv" / (id + ".json"), json);
    WriteFile(feeds / "debian.json", kDebian);
    const std::string path = (dir_ / (name + ".db")).string();
    auto built = BuildDatabase({{FeedKind::kOsv, (feeds / "osv").string(), ""},
                                {FeedKind::kDebianTracker, (feeds / "debian.json").string(), ""}},
                               path);
    EXPECT_TRUE(built.ok()) << built.error().message;
    return path;
  }

  Keys Changed(const std::string& a, const std::string& b) {
    auto keys = ChangedPackages(a, b);
    EXPECT_TRUE(keys.ok()) << keys.error().message;
    return keys.ok() ? *keys : Keys{{"error", ""}};
  }

  fs::path dir_;
};

auto kSame = [](std::map<std::string, std::string>&) {};

TEST_F(ChangedPackagesTest, ARebuildOfTheSameFeedsChangesNothing) {
  const std::string a = Build("a", kSame);
  const std::string b = Build("b", kSame);
  EXPECT_EQ(Changed(a, b), Keys{});
}

TEST_F(ChangedPackagesTest, AChangedRangeReportsExactlyItsPackage) {
  const std::string old_db = Build("old", kSame);
  const std::string new_db = Build("new", [](auto& osv) {
    osv["GHSA-aaaa-0002"] = OsvAdvisory("GHSA-aaaa-0002", "lodash", "4.17.22", "MEDIUM");
  });
  EXPECT_EQ(Changed(old_db, new_db), (Keys{{"npm", "lodash"}}));
  EXPECT_EQ(Changed(new_db, old_db), (Keys{{"npm", "lodash"}}));
}

TEST_F(ChangedPackagesTest, AddedAndRemovedAdvisoriesReportTheirPackages) {
  const std::string old_db = Build("old", kSame);
  const std::string new_db = Build("new", [](auto& osv) {
    osv.erase("GHSA-aaaa-0003");
    osv["GHSA-aaaa-0004"] = OsvAdvisory("GHSA-aaaa-0004", "express", "4.19.2", "HIGH");
  });
  EXPECT_EQ(Changed(old_db, new_db), (Keys{{"npm", "express"}, {"npm", "minimist"}}));
}

TEST_F(ChangedPackagesTest, ChangedVulnerabilityDataReportsThePackagesReferencingIt) {
  const std::string old_db = Build("old", kSame);
  // Same affected ranges, a new title: only the vulnerability record differs.
  const std::string new_db = Build("new", [](auto& osv) {
    std::string& json = osv["GHSA-aaaa-0001"];
    const std::string title = "GHSA-aaaa-0001 in left-pad";
    json.replace(json.find(title), title.size(), "left-pad: padding overflow (updated)");
  });
  EXPECT_EQ(Changed(old_db, new_db), (Keys{{"npm", "left-pad"}}));
  // A new severity changes the record's own rating and the vulnerability's.
  const std::string critical = Build("critical", [](auto& osv) {
    osv["GHSA-aaaa-0003"] = OsvAdvisory("GHSA-aaaa-0003", "minimist", "1.2.6", "CRITICAL");
  });
  EXPECT_EQ(Changed(old_db, critical), (Keys{{"npm", "minimist"}}));
}

TEST_F(ChangedPackagesTest, AMissingOrForeignFileIsAnError) {
  const std::string db = Build("a", kSame);
  auto missing = ChangedPackages((dir_ / "missing.db").string(), db);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing.db"), std::string::npos)
      << missing.error().message;
  WriteFile(dir_ / "text.db",
            "not a database at all, but long enough to have a header........"
            "..........................................................");
  EXPECT_FALSE(ChangedPackages(db, (dir_ / "text.db").string()).ok());
}

}  // namespace
}  // namespace moat::vulndb
