// Continuous assessment on both stores: re-matching after a database update (only the images
// holding a changed package), the daily rescan selection, the scheduler's passes and advisory
// lock, and polling a real docker-registry on loopback.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "artifact/test_fixture.h"
#include "core/bytes.h"
#include "core/http.h"
#include "core/sha256.h"
#include "core/test_http_server.h"
#include "core/text.h"
#include "match/match.h"
#include "server/center.h"
#include "server/monitor/image_scan.h"
#include "server/monitor/registry_listing.h"
#include "server/monitor/registry_poll.h"
#include "server/monitor/scheduler.h"
#include "server/store/secret_box.h"
#include "server/store/test_postgres.h"
#include "vulndb/build.h"
#include "vulndb/vulndb.h"

namespace moat::server {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kDay = 24 * 3600;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string NpmAdvisory(const std::string& id, const std::string& package,
                        const std::string& fixed) {
  return R"({"id": ")" + id + R"(", "modified": "2024-01-01T00:00:00Z", "summary": ")" + id +
         R"(", "database_specific": {"severity": "HIGH"}, "affected": [{"package": {"ecosystem":)" +
         R"( "npm", "name": ")" + package +
         R"("}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": ")" +
         fixed + R"("}]}]}]})";
}

// A database as `moat db build` makes it from OSV advisories for npm left-pad and lodash and a
// Debian tracker entry for zlib; `lodash_fixed` and `left_pad_fixed` vary between updates.
void BuildTestDatabase(const fs::path& feeds, const std::string& output,
                       const std::string& lodash_fixed, const std::string& left_pad_fixed) {
  fs::remove_all(feeds);
  WriteFile(feeds / "osv" / "GHSA-test-0001.json",
            NpmAdvisory("GHSA-test-0001", "left-pad", left_pad_fixed));
  WriteFile(feeds / "osv" / "GHSA-test-0002.json",
            NpmAdvisory("GHSA-test-0002", "lodash", lodash_fixed));
  WriteFile(feeds / "debian.json", R"({"zlib": {"CVE-2023-45853": {"description": "zlib overflow",
    "releases": {"bookworm": {"status": "resolved", "fixed_version": "1:1.2.13.dfsg-2",
    "urgency": "low", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}}}}}})");
  auto built = vulndb::BuildDatabase(
      {{vulndb::FeedKind::kOsv, (feeds / "osv").string(), ""},
       {vulndb::FeedKind::kDebianTracker, (feeds / "debian.json").string(), ""}},
      output);
  ASSERT_TRUE(built.ok()) << built.error().message;
}

Package Npm(const std::string& name, const std::string& version) {
  Package p;
  p.type = PackageType::kNpm;
  p.name = name;
  p.version = version;
  p.file_path = "/app/node_modules/" + name + "/package.json";
  return p;
}

Package Deb(const std::string& name, const std::string& source, const std::string& version) {
  Package p;
  p.type = PackageType::kDeb;
  p.name = name;
  p.version = version;
  p.source_name = source;
  p.source_version = version;
  p.file_path = "/var/lib/dpkg/status";
  return p;
}

class MonitorTest : public testing::StoreUrlTest {
 protected:
  void SetUp() override {
    StoreUrlTest::SetUp();
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    test = test.substr(0, test.find('/'));
    dir_ = fs::temp_directory_path() /
           ("moat-monitor-" + std::to_string(::getpid()) + "-" + GetParam() + "-" + test);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    key_ = NewSecretKey();
  }
  void TearDown() override {
    center_.reset();
    fs::remove_all(dir_);
  }

  void OpenCenter(const std::string& db_path) {
    center_.reset();
    CenterOptions options;
    options.store_url = url();
    options.secret_key = key_;
    options.db_path = db_path;
    options.database_copy_dir = (dir_ / "copies").string();
    auto opened = Center::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    center_ = std::move(*opened);
  }

  // Scans an inventory as the scan job does (without the pull) and stores it at `time`.
  void StoreImage(const std::string& digest, std::vector<Package> packages, int64_t time,
                  bool debian = false) {
    Inventory inventory;
    inventory.artifact.manifest_digest = digest;
    inventory.artifact.os = "linux";
    inventory.artifact.architecture = "amd64";
    if (debian) inventory.os = OsInfo{"debian", "Debian GNU/Linux 12 (bookworm)", "12", "bookworm"};
    inventory.packages = std::move(packages);
    auto database = center_->database();
    ImageScan scan = MatchImage(std::move(inventory), database.get());
    auto saved =
        center_->store().SaveImageScan(digest, debian ? "debian 12" : "", "linux/amd64",
                                       scan.inventory_json, scan.package_keys, scan.findings, time);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
  }

  std::vector<FindingRecord> Findings(const std::string& digest) {
    FindingFilter filter;
    filter.resource_kind = "image";
    filter.resource_id = digest;
    auto page = center_->store().ListFindings(filter, FindingSort::kSeverity, PageRequest{});
    EXPECT_TRUE(page.ok()) << page.error().message;
    return page.ok() ? page->items : std::vector<FindingRecord>{};
  }

  std::vector<std::string> QueuedJobKeys() {
    auto sql = center_->store().pool().Acquire();
    auto rows = sql->Query("SELECT job_key FROM jobs WHERE state = 'queued' ORDER BY job_key");
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    std::vector<std::string> keys;
    if (rows.ok()) {
      for (const auto& row : rows->rows) keys.push_back(row.Text(0));
    }
    return keys;
  }

  void ClearJobs() {
    auto sql = center_->store().pool().Acquire();
    ASSERT_TRUE(sql->Query("DELETE FROM jobs").ok());
  }

  size_t DatabaseCopies() {
    size_t count = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "copies"))
      count += entry.is_regular_file();
    return count;
  }

  fs::path dir_;
  std::string key_;
  std::unique_ptr<Center> center_;
};

constexpr const char* kLeftPadImage =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kLodashImage =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
constexpr const char* kDebianImage =
    "sha256:3333333333333333333333333333333333333333333333333333333333333333";

TEST_P(MonitorTest, DatabaseUpdateRematchesOnlyTheImageHoldingTheChangedPackage) {
  const std::string db = (dir_ / "db" / "moat.db").string();
  fs::create_directories(dir_ / "db");
  BuildTestDatabase(dir_ / "feeds", db, "4.17.21", "1.3.1");
  OpenCenter(db);
  ASSERT_NE(center_->database(), nullptr);
  const int64_t t0 = 1'000'000;
  StoreImage(kLeftPadImage, {Npm("left-pad", "1.3.0")}, t0);
  StoreImage(kLodashImage, {Npm("lodash", "4.17.20")}, t0);
  StoreImage(kDebianImage, {Deb("zlib1g", "zlib", "1:1.2.13.dfsg-1")}, t0, /*debian=*/true);
  for (const char* digest : {kLeftPadImage, kLodashImage, kDebianImage}) {
    ASSERT_EQ(Findings(digest).size(), 1u) << digest;
  }
  EXPECT_EQ(Findings(kLodashImage)[0].fixed_version, "4.17.21");

  // Nothing changed yet: no work.
  auto same = center_->CheckDatabase();
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_FALSE(same->changed);

  // An update that touches lodash only.
  BuildTestDatabase(dir_ / "feeds", db, "4.17.22", "1.3.1");
  auto check = center_->CheckDatabase();
  ASSERT_TRUE(check.ok()) << check.error().message;
  EXPECT_TRUE(check->changed);
  EXPECT_EQ(check->changed_packages, 1u);
  EXPECT_EQ(check->match_jobs, 1u);
  EXPECT_EQ(QueuedJobKeys(), std::vector<std::string>{std::string("match:") + kLodashImage});
  EXPECT_EQ(DatabaseCopies(), 1u);  // the previous copy went with its last user

  auto ran = center_->RunOneJob("test");
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  EXPECT_TRUE(*ran);
  EXPECT_FALSE(*center_->RunOneJob("test"));
  auto counts = center_->store().CountJobs();
  EXPECT_EQ(counts->done, 1);
  EXPECT_EQ(counts->failed, 0);

  auto lodash = Findings(kLodashImage);
  ASSERT_EQ(lodash.size(), 1u);
  EXPECT_EQ(lodash[0].fixed_version, "4.17.22");
  EXPECT_EQ(lodash[0].first_seen, t0);  // the same finding, re-matched
  EXPECT_GT(lodash[0].last_seen, t0);
  for (const char* untouched : {kLeftPadImage, kDebianImage}) {
    auto findings = Findings(untouched);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].last_seen, t0) << untouched;
  }
  auto image = center_->store().GetImage(kLodashImage);
  ASSERT_TRUE(image.ok() && image->has_value());
  EXPECT_GT((*image)->scanned_at, t0);
  EXPECT_EQ((*image)->package_count, 1);

  // An update while the server is down is noticed at the next start: left-pad now.
  center_.reset();
  BuildTestDatabase(dir_ / "feeds", db, "4.17.22", "1.3.2");
  OpenCenter(db);
  auto after_restart = center_->CheckDatabase();
  ASSERT_TRUE(after_restart.ok()) << after_restart.error().message;
  EXPECT_EQ(after_restart->changed_packages, 1u);
  EXPECT_EQ(QueuedJobKeys(), std::vector<std::string>{std::string("match:") + kLeftPadImage});
  ASSERT_TRUE(*center_->RunOneJob("test"));
  EXPECT_EQ(Findings(kLeftPadImage)[0].fixed_version, "1.3.2");
  EXPECT_EQ(DatabaseCopies(), 1u);
}

TEST_P(MonitorTest, FirstDatabaseMatchesEveryScannedImage) {
  const std::string db = (dir_ / "db" / "moat.db").string();
  OpenCenter(db);  // no database yet: inventories only
  EXPECT_EQ(center_->database(), nullptr);
  StoreImage(kLeftPadImage, {Npm("left-pad", "1.3.0")}, 1000);
  StoreImage(kLodashImage, {Npm("lodash", "4.17.20")}, 1000);
  EXPECT_TRUE(Findings(kLeftPadImage).empty());
  fs::create_directories(dir_ / "db");
  BuildTestDatabase(dir_ / "feeds", db, "4.17.21", "1.3.1");
  auto check = center_->CheckDatabase();
  ASSERT_TRUE(check.ok()) << check.error().message;
  EXPECT_EQ(check->match_jobs, 2u);
  while (*center_->RunOneJob("test")) {
  }
  EXPECT_EQ(Findings(kLeftPadImage).size(), 1u);
  EXPECT_EQ(Findings(kLodashImage).size(), 1u);
}

// A database update re-matches by batches (CenterOptions::match_batch): each image gets what a
// match of its own inventory gives, first-seen times kept; an image whose stored inventory
// cannot be read fails alone, and one deleted meanwhile is done without a result.
TEST_P(MonitorTest, BatchedRematchStoresWhatEachImagesOwnMatchGives) {
  const std::string db = (dir_ / "db" / "moat.db").string();
  fs::create_directories(dir_ / "db");
  BuildTestDatabase(dir_ / "feeds", db, "4.17.21", "1.3.1");
  OpenCenter(db);
  ASSERT_NE(center_->database(), nullptr);
  std::map<std::string, std::vector<Package>> images;
  for (int i = 0; i < 37; ++i) {
    const std::string digest = "sha256:" + Sha256Hex(AsBytes(std::to_string(i)));
    images[digest] = {i % 3 == 0 ? Npm("left-pad", "1.3.0") : Npm("lodash", "4.17.20"),
                      Npm("express", "4.18." + std::to_string(i))};
    if (i % 5 == 0) images[digest].push_back(Deb("zlib1g", "zlib", "1:1.2.13.dfsg-1"));
    StoreImage(digest, images[digest], 1000, i % 5 == 0);
  }
  const std::string unreadable = images.begin()->first;
  const std::string deleted = std::next(images.begin())->first;
  {
    auto sql = center_->store().pool().Acquire();
    ASSERT_TRUE(
        sql->Query("UPDATE image_inventories SET inventory = '{' WHERE digest = $1", {unreadable})
            .ok());
  }
  ClearJobs();
  BuildTestDatabase(dir_ / "feeds", db, "4.17.22", "1.3.2");  // both npm packages changed
  auto check = center_->CheckDatabase();
  ASSERT_TRUE(check.ok()) << check.error().message;
  ASSERT_EQ(check->match_jobs, 37u);
  {
    auto sql = center_->store().pool().Acquire();
    ASSERT_TRUE(sql->Query("DELETE FROM image_inventories WHERE digest = $1", {deleted}).ok());
    ASSERT_TRUE(sql->Query("DELETE FROM images WHERE digest = $1", {deleted}).ok());
  }
  int batches = 0;
  while (*center_->RunOneJob("test")) ++batches;
  EXPECT_EQ(batches, 3);  // 16 + 16 + 5
  EXPECT_EQ(center_->stats().matches_done.load(), 36);
  EXPECT_EQ(center_->stats().matches_failed.load(), 1);
  auto counts = center_->store().CountJobs();
  EXPECT_EQ(counts->done, 36);
  EXPECT_EQ(counts->queued, 1);  // the unreadable one, queued again after its backoff
  auto database = center_->database();
  for (const auto& [digest, packages] : images) {
    if (digest == unreadable || digest == deleted) continue;
    Inventory inventory;
    inventory.artifact.manifest_digest = digest;
    if (packages.size() == 3) {
      inventory.os = OsInfo{"debian", "Debian GNU/Linux 12 (bookworm)", "12", "bookworm"};
    }
    inventory.packages = packages;
    ImageScan expected = MatchImage(std::move(inventory), database.get());
    std::set<std::string> want, got;
    for (const auto& f : expected.findings) {
      want.insert(f.finding_id + " " + f.package + " " + f.fixed_version + " " +
                  AsciiLower(f.severity));
    }
    for (const auto& f : Findings(digest)) {  // the store keeps severities upper case
      got.insert(f.finding_id + " " + f.package + " " + f.fixed_version + " " +
                 AsciiLower(f.severity));
      EXPECT_EQ(f.first_seen, 1000) << digest;
      EXPECT_GT(f.last_seen, 1000) << digest;
    }
    EXPECT_EQ(got, want) << digest;
    EXPECT_FALSE(want.empty()) << digest;
  }
  EXPECT_FALSE(center_->store().GetImage(deleted)->has_value());  // not brought back
  EXPECT_EQ(Findings(unreadable)[0].last_seen, 1000);             // untouched
}

// A digest is pulled once: a scan job for an image inventoried since the job was queued (another
// repository's push, a worker that finished just as its lease ran out) completes without a pull;
// the registry here does not even answer.
TEST_P(MonitorTest, AScanJobForAnInventoriedDigestDoesNotPullAgain) {
  OpenCenter((dir_ / "no.db").string());
  RegistryRecord registry;
  registry.name = "unreachable";
  registry.url = "http://127.0.0.1:1";
  auto added = center_->store().AddRegistry(registry);
  ASSERT_TRUE(added.ok()) << added.error().message;
  auto payload = [&](const std::string& digest) {
    return R"({"registry_id": )" + std::to_string(added->id) +
           R"(, "repository": "app", "digest": ")" + digest + R"("})";
  };
  StoreImage(kLeftPadImage, {Npm("left-pad", "1.3.0")}, 1000);
  const std::string key = std::string("scan:") + kLeftPadImage;
  ASSERT_TRUE(*center_->store().EnqueueJob("scan", key, payload(kLeftPadImage), 0));
  ASSERT_TRUE(*center_->RunOneJob("test"));
  EXPECT_EQ(center_->store().CountJobs()->done, 1);
  EXPECT_EQ(center_->stats().scans_failed.load(), 0);
  // A digest never inventoried is pulled (and that fails here: it is queued again for later).
  ASSERT_TRUE(*center_->store().EnqueueJob("scan", std::string("scan:") + kLodashImage,
                                           payload(kLodashImage), 0));
  ASSERT_TRUE(*center_->RunOneJob("test"));
  EXPECT_EQ(center_->stats().scans_failed.load(), 1);
  EXPECT_EQ(center_->store().CountJobs()->queued, 1);
  EXPECT_EQ((*center_->store().GetImage(kLodashImage))->scan_status, "failed");
}

// A registry listing page is parsed on its own (fuzz/registry_poll_fuzz.cpp): the next page is
// followed only on the same registry, and a repository whose tags were all deleted lists none.
TEST(RegistryListingTest, NextPageStaysOnTheRegistry) {
  const std::string origin = "http://127.0.0.1:5000";
  auto page = ParseRegistryListing(origin, "/v2/_catalog?n=2", RegistryListing::kCatalog,
                                   R"({"repositories": ["a", "b/c"]})",
                                   "<" + origin + "/v2/_catalog?last=b%2Fc&n=2>; rel=\"next\"");
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->items, (std::vector<std::string>{"a", "b/c"}));
  EXPECT_EQ(page->next_path, "/v2/_catalog?last=b%2Fc&n=2");
  auto elsewhere = ParseRegistryListing(origin, "/v2/_catalog?n=2", RegistryListing::kCatalog,
                                        R"({"repositories": ["a"]})",
                                        "<http://evil.example/v2/_catalog?n=2>; rel=\"next\"");
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere->next_path, "");
  auto emptied = ParseRegistryListing(origin, "/v2/app/tags/list", RegistryListing::kTags,
                                      R"({"name": "app", "tags": null})", "");
  ASSERT_TRUE(emptied.ok());
  EXPECT_TRUE(emptied->items.empty());
  auto digest =
      ParseContentDigest(origin, "/v2/app/manifests/v1", "sha256:" + std::string(64, 'A'));
  ASSERT_FALSE(digest.ok());
  EXPECT_NE(digest.error().message.find(origin + "/v2/app/manifests/v1: Docker-Content-Digest"),
            std::string::npos)
      << digest.error().message;
}

TEST_P(MonitorTest, DailyRescanSelectsPushedPulledAndRunningImages) {
  OpenCenter((dir_ / "no.db").string());
  Store& store = center_->store();
  RegistryRecord registry;
  registry.name = "local";
  registry.url = "http://127.0.0.1:5000";
  auto added = store.AddRegistry(registry);
  ASSERT_TRUE(added.ok()) << added.error().message;
  const int64_t now = std::time(nullptr);
  auto digest = [](char c) { return "sha256:" + std::string(64, c); };
  struct Case {
    std::string digest;
    int64_t pushed_at;  // 0: not in a registry
    int64_t pulled_at;  // 0: never
    int64_t scanned_at;
    bool running;
    bool due;
  };
  const std::vector<Case> cases = {
      {digest('a'), now - 10 * kDay, 0, now - 2 * kDay, false, true},   // pushed 10 days ago
      {digest('b'), now - 89 * kDay, 0, now - 25 * 3600, false, true},  // pushed 89 days ago
      {digest('c'), now - 91 * kDay, 0, now - 2 * kDay, false, false},  // too old, not pulled
      {digest('d'), now - 200 * kDay, now - 29 * kDay, now - 2 * kDay, false, true},  // pulled
      {digest('e'), now - 200 * kDay, now - 31 * kDay, now - 2 * kDay, false, false},
      {digest('f'), 0, 0, now - 2 * kDay, true, true},         // runs on a host
      {digest('g'), 0, 0, now - 2 * kDay, false, false},       // stopped
      {digest('h'), now - kDay, 0, now - 3600, false, false},  // scanned an hour ago
  };
  std::vector<ContainerRecord> containers;
  for (const auto& c : cases) {
    if (c.pushed_at > 0) {
      ASSERT_TRUE(store.RecordPush(added->id, "app", c.digest, "", c.pushed_at).ok());
    }
    if (c.pulled_at > 0) {
      ASSERT_TRUE(store.RecordPull(added->id, "app", c.digest, c.pulled_at).ok());
    }
    StoreImage(c.digest, {Npm("left-pad", "1.3.0")}, c.scanned_at);
    containers.push_back(ContainerRecord{"host-1", "c-" + c.digest.substr(7, 4), "", "", "",
                                         c.digest, c.running ? "running" : "exited", ""});
  }
  ASSERT_TRUE(store.RegisterAgent("agent-1", "host", "1", "host-1", now).ok());
  HostRecord host;
  host.id = "host-1";
  host.name = "host-1";
  auto applied =
      store.ApplyAgentMessages("agent-1", {Store::AgentMessage{1, "report", "{}"}}, now,
                               [&](SqlConnection& sql, const Store::AgentMessage&) {
                                 return Store::SaveHostReport(sql, host, containers, {}, now);
                               });
  ASSERT_TRUE(applied.ok()) << applied.error().message;

  std::vector<std::string> expected;
  for (const auto& c : cases) {
    if (c.due) expected.push_back(c.digest);
  }
  auto due = store.DueRescanDigests(now);
  ASSERT_TRUE(due.ok()) << due.error().message;
  EXPECT_EQ(*due, expected);
  // A day later, the image scanned an hour ago is due too; 91 days later, only the running one.
  EXPECT_EQ(store.DueRescanDigests(now + kDay)->size(), expected.size() + 1);
  EXPECT_EQ(*store.DueRescanDigests(now + 91 * kDay), std::vector<std::string>{digest('f')});

  auto queued = center_->EnqueueDueRescans(now);
  ASSERT_TRUE(queued.ok()) << queued.error().message;
  EXPECT_EQ(*queued, expected.size());
  while (*center_->RunOneJob("test")) {
  }
  EXPECT_EQ(center_->store().CountJobs()->done, static_cast<int64_t>(expected.size()));
  // Re-matched now: not due again until tomorrow.
  EXPECT_TRUE(store.DueRescanDigests(now)->empty());
}

TEST_P(MonitorTest, PassesRunUnderAnAdvisoryLockOnPostgres) {
  OpenCenter((dir_ / "no.db").string());
  int runs = 0;
  auto pass = [&runs]() -> Result<void> {
    ++runs;
    return Ok();
  };
  constexpr int64_t kKey = 4242;
  if (dialect() == SqlDialect::kPostgres) {
    // Another replica holds the pass: it is skipped, then runs once the lock is free.
    auto other = OpenSqlConnection(url());
    ASSERT_TRUE(other.ok()) << other.error().message;
    ASSERT_TRUE((*other)->Query("SELECT pg_advisory_lock($1)", {kKey}).ok());
    auto skipped = RunExclusive(center_->store(), kKey, pass);
    ASSERT_TRUE(skipped.ok()) << skipped.error().message;
    EXPECT_FALSE(*skipped);
    EXPECT_EQ(runs, 0);
    ASSERT_TRUE((*other)->Query("SELECT pg_advisory_unlock($1)", {kKey}).ok());
  }
  auto ran = RunExclusive(center_->store(), kKey, pass);
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  EXPECT_TRUE(*ran);
  EXPECT_EQ(runs, 1);
  // A failing pass releases the lock too.
  auto failed = RunExclusive(center_->store(), kKey, []() -> Result<void> { return Fail("boom"); });
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(*RunExclusive(center_->store(), kKey, pass));
  EXPECT_EQ(runs, 2);
}

TEST_P(MonitorTest, AFailingPassIsReportedAndTheOthersGoOn) {
  const std::string db = (dir_ / "db" / "moat.db").string();
  fs::create_directories(dir_ / "db");
  BuildTestDatabase(dir_ / "feeds", db, "4.17.21", "1.3.1");
  OpenCenter(db);
  auto port = testing::postgres_detail::FreePort();  // nothing listens there
  ASSERT_TRUE(port.ok());
  RegistryRecord registry;
  registry.name = "down";
  registry.url = "http://127.0.0.1:" + std::to_string(*port);
  registry.poll_seconds = 60;
  auto added = center_->store().AddRegistry(registry);
  ASSERT_TRUE(added.ok());
  const int64_t now = std::time(nullptr);
  ASSERT_TRUE(center_->store().RecordPush(added->id, "app", kLodashImage, "v1", now - kDay).ok());
  StoreImage(kLodashImage, {Npm("lodash", "4.17.20")}, now - 2 * kDay);
  BuildTestDatabase(dir_ / "feeds", db, "4.17.22", "1.3.1");

  Scheduler scheduler(*center_, SchedulerOptions{});
  SchedulerRound round = scheduler.RunOnce(now);
  ASSERT_EQ(round.errors.size(), 1u);
  EXPECT_NE(round.errors[0].find("registry down"), std::string::npos) << round.errors[0];
  EXPECT_EQ(round.registries_polled, 1u);
  EXPECT_EQ(round.rescans_queued, 1u);  // the rescan pass ran
  EXPECT_TRUE(round.skipped.empty());
  auto stored = center_->store().GetRegistry(added->id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_FALSE((*stored)->last_error.empty());
  EXPECT_GT((*stored)->last_polled_at, 0);
  // The database check ran too; the lodash image's match job was queued already by the rescan.
  EXPECT_EQ(QueuedJobKeys(), std::vector<std::string>{std::string("match:") + kLodashImage});
  // Polled just now: not due again within poll_seconds.
  SchedulerRound second = scheduler.RunOnce(now + 1);
  EXPECT_EQ(second.registries_polled, 0u);
}

// ---- polling a real docker-registry ---------------------------------------------------------

// Pushes to a real docker-registry with plain HTTP requests (the distribution API), as a
// client would: blobs by POST + PUT, manifests by PUT.
class RegistryPusher {
 public:
  RegistryPusher(std::string url, std::string authorization = "")
      : url_(std::move(url)), authorization_(std::move(authorization)) {}

  void PushBlob(const std::string& repository, const std::string& data) {
    HttpRequest start = Request("POST", "/v2/" + repository + "/blobs/uploads/");
    auto started = HttpFetch(start);
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_EQ(started->status, 202) << started->body;
    std::string location = started->Header("Location");
    if (location.rfind("http", 0) == 0) location = location.substr(url_.size());
    HttpRequest put =
        Request("PUT", location + (location.find('?') == std::string::npos ? "?" : "&") +
                           "digest=sha256:" + Sha256Hex(AsBytes(data)));
    put.headers.emplace_back("Content-Type", "application/octet-stream");
    put.body = data;
    auto done = HttpFetch(put);
    ASSERT_TRUE(done.ok()) << done.error().message;
    ASSERT_EQ(done->status, 201) << done->body;
  }

  // Pushes a one-layer OCI image whose config carries `label`, under `tag`; returns its digest.
  std::string PushImage(const std::string& repository, const std::string& tag,
                        const std::string& label) {
    const std::string layer(1024, '\0');  // an empty tar archive
    const std::string layer_digest = "sha256:" + Sha256Hex(AsBytes(layer));
    const std::string config =
        R"({"architecture":"amd64","os":"linux","config":{"Labels":{"build":")" + label +
        R"("}},"rootfs":{"type":"layers","diff_ids":[")" + layer_digest + R"("]}})";
    PushBlob(repository, layer);
    PushBlob(repository, config);
    const std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
        R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
        Sha256Hex(AsBytes(config)) + R"(","size":)" + std::to_string(config.size()) +
        R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
        layer_digest + R"(","size":1024}]})";
    PutManifest(repository, tag, manifest);
    return "sha256:" + Sha256Hex(AsBytes(manifest));
  }

  // Points `tag` at the manifest of `digest` (a moved tag).
  void Retag(const std::string& repository, const std::string& digest, const std::string& tag) {
    HttpRequest get = Request("GET", "/v2/" + repository + "/manifests/" + digest);
    get.headers.emplace_back("Accept", "application/vnd.oci.image.manifest.v1+json");
    auto manifest = HttpFetch(get);
    ASSERT_TRUE(manifest.ok() && manifest->status == 200);
    PutManifest(repository, tag, manifest->body);
  }

  void DeleteManifest(const std::string& repository, const std::string& digest) {
    auto done = HttpFetch(Request("DELETE", "/v2/" + repository + "/manifests/" + digest));
    ASSERT_TRUE(done.ok() && done->status == 202) << (done.ok() ? done->body : "");
  }

 private:
  HttpRequest Request(const std::string& method, const std::string& path) const {
    HttpRequest request;
    request.method = method;
    request.url = url_ + path;
    request.follow_redirects = false;
    if (!authorization_.empty()) request.headers.emplace_back("Authorization", authorization_);
    return request;
  }

  void PutManifest(const std::string& repository, const std::string& tag,
                   const std::string& manifest) {
    HttpRequest put = Request("PUT", "/v2/" + repository + "/manifests/" + tag);
    put.headers.emplace_back("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    put.body = manifest;
    auto done = HttpFetch(put);
    ASSERT_TRUE(done.ok()) << done.error().message;
    ASSERT_EQ(done->status, 201) << done->body;
  }

  std::string url_;
  std::string authorization_;
};

std::map<std::string, std::vector<std::string>> TagsByImage(Store& store, int64_t registry_id) {
  std::map<std::string, std::vector<std::string>> tags;
  auto images = store.ListRepositoryImages(registry_id);
  EXPECT_TRUE(images.ok()) << images.error().message;
  for (const auto& image : *images) tags[image.repository + "@" + image.digest] = image.tags;
  return tags;
}

TEST_P(MonitorTest, PollingARegistryRecordsChangedDigestsOnly) {
  moat::testing::RegistryProcess process((dir_ / "registry").string());
  ASSERT_TRUE(process.ready()) << "docker-registry (package docker-registry): " << process.Log();
  auto registry = std::make_unique<RegistryPusher>("http://" + process.HostPort());
  const std::string a = registry->PushImage("team/app", "v1", "a");
  const std::string b = registry->PushImage("team/app", "v2", "b");
  const std::string c = registry->PushImage("tools", "latest", "c");
  OpenCenter((dir_ / "no.db").string());
  RegistryRecord record;
  record.name = "local";
  record.url = "http://" + process.HostPort();
  record.poll_seconds = 300;
  auto added = center_->store().AddRegistry(record);
  ASSERT_TRUE(added.ok()) << added.error().message;

  const int64_t now = std::time(nullptr);
  auto first = PollRegistry(*center_, *added, now);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->repositories, 2u);
  EXPECT_EQ(first->tags, 3u);
  EXPECT_EQ(first->new_digests, 3u);
  using Tags = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(
      TagsByImage(center_->store(), added->id),
      (Tags{{"team/app@" + a, {"v1"}}, {"team/app@" + b, {"v2"}}, {"tools@" + c, {"latest"}}}));
  std::vector<std::string> scans = {"scan:" + a, "scan:" + b, "scan:" + c};
  std::sort(scans.begin(), scans.end());
  EXPECT_EQ(QueuedJobKeys(), scans);

  // Nothing changed: nothing queued.
  ClearJobs();
  auto again = PollRegistry(*center_, *added, now + 1);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->new_digests + again->moved_tags + again->deleted, 0u);
  EXPECT_TRUE(QueuedJobKeys().empty());

  // A new tag on a new image, and v1 moved onto b: only the new digest is scanned; a stays
  // (untagged, still in the registry) with its findings.
  const std::string d = registry->PushImage("team/app", "v3", "d");
  registry->Retag("team/app", b, "v1");
  auto moved = PollRegistry(*center_, *added, now + 2);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->new_digests, 1u);
  EXPECT_EQ(moved->moved_tags, 1u);
  EXPECT_EQ(moved->deleted, 0u);
  EXPECT_EQ(QueuedJobKeys(), std::vector<std::string>{"scan:" + d});
  EXPECT_EQ(TagsByImage(center_->store(), added->id), (Tags{{"team/app@" + a, {}},
                                                            {"team/app@" + b, {"v1", "v2"}},
                                                            {"team/app@" + d, {"v3"}},
                                                            {"tools@" + c, {"latest"}}}));

  // Deleted manifests are removed.
  ClearJobs();
  registry->DeleteManifest("tools", c);
  registry->DeleteManifest("team/app", a);
  auto deleted = PollRegistry(*center_, *added, now + 3);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(deleted->deleted, 2u);
  EXPECT_EQ(deleted->new_digests, 0u);
  EXPECT_TRUE(QueuedJobKeys().empty());
  EXPECT_EQ(TagsByImage(center_->store(), added->id),
            (Tags{{"team/app@" + b, {"v1", "v2"}}, {"team/app@" + d, {"v3"}}}));
  EXPECT_FALSE(center_->store().GetImage(c)->has_value());
}

TEST_P(MonitorTest, PollingUsesTheRegistryCredentials) {
  auto hash = moat::testing::RunCommand(
      "python3 -W ignore -c \"import crypt; print(crypt.crypt('s3cret', "
      "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))\"");
  ASSERT_EQ(hash.status, 0) << hash.output;
  moat::testing::WriteFile((dir_ / "htpasswd").string(), "moat:" + hash.output);
  moat::testing::RegistryProcess process((dir_ / "registry").string(),
                                         (dir_ / "htpasswd").string());
  ASSERT_TRUE(process.ready()) << process.Log();
  RegistryPusher pusher("http://" + process.HostPort(), "Basic bW9hdDpzM2NyZXQ=");  // moat:s3cret
  const std::string digest = pusher.PushImage("private/app", "v1", "private");
  OpenCenter((dir_ / "no.db").string());

  RegistryRecord anonymous;
  anonymous.name = "anonymous";
  anonymous.url = "http://" + process.HostPort();
  anonymous.poll_seconds = 60;
  auto without = center_->store().AddRegistry(anonymous);
  ASSERT_TRUE(without.ok());
  auto refused = PollRegistry(*center_, *without, std::time(nullptr));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("credentials"), std::string::npos)
      << refused.error().message;

  RegistryRecord with = anonymous;
  with.name = "with-credentials";
  with.username = "moat";
  with.secret = "s3cret";
  auto added = center_->store().AddRegistry(with);
  ASSERT_TRUE(added.ok());
  auto stored = center_->store().GetRegistry(added->id);  // the credentials as the store keeps them
  ASSERT_TRUE(stored.ok() && stored->has_value());
  auto polled = PollRegistry(*center_, **stored, std::time(nullptr));
  ASSERT_TRUE(polled.ok()) << polled.error().message;
  EXPECT_EQ(polled->new_digests, 1u);
  EXPECT_EQ(QueuedJobKeys(), std::vector<std::string>{"scan:" + digest});
}

// Bearer-token auth and Link pagination, which docker-registry cannot be made to give without
// a token service: a scripted registry that answers only with the token of each request's scope,
// pages its catalog, and leaves the digest header out for one manifest.
TEST_P(MonitorTest, PollingFollowsBearerChallengesAndPages) {
  using moat::testing::TestHttpRequest;
  using moat::testing::TestHttpResponse;
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
  const std::string app_digest = "sha256:" + std::string(64, 'a');
  const std::string lib_digest = "sha256:" + Sha256Hex(AsBytes(manifest));
  std::atomic<int> tokens{0};
  std::string base;
  auto scope_of = [](const std::string& target) -> std::string {
    if (target.rfind("/v2/_catalog", 0) == 0) return "registry:catalog:*";
    const std::string name = target.substr(
        4, target.find(target.find("/tags/") != std::string::npos ? "/tags/" : "/manifests/") - 4);
    return "repository:" + name + ":pull";
  };
  moat::testing::TestHttpServer server([&](const TestHttpRequest& request) -> TestHttpResponse {
    if (request.target.rfind("/token?", 0) == 0) {
      ++tokens;
      const size_t at = request.target.find("scope=") + 6;
      std::string scope = request.target.substr(at, request.target.find('&', at) - at);
      for (size_t i; (i = scope.find("%3A")) != std::string::npos;) scope.replace(i, 3, ":");
      for (size_t i; (i = scope.find("%2F")) != std::string::npos;) scope.replace(i, 3, "/");
      for (size_t i; (i = scope.find("%2A")) != std::string::npos;) scope.replace(i, 3, "*");
      return {200, {}, R"({"token": "token-for-)" + scope + R"("})"};
    }
    const std::string scope = scope_of(request.target);
    if (request.Header("Authorization") != "Bearer token-for-" + scope) {
      return {401,
              {{"WWW-Authenticate", "Bearer realm=\"" + base +
                                        "/token\",service=\"scripted\",scope=\"" + scope + "\""}},
              ""};
    }
    if (request.target == "/v2/_catalog?n=1000") {
      return {200,
              {{"Link", "</v2/_catalog?last=app&n=1000>; rel=\"next\""}},
              R"({"repositories": ["app"]})"};
    }
    if (request.target == "/v2/_catalog?last=app&n=1000")
      return {200, {}, R"({"repositories": ["lib/x"]})"};
    if (request.target == "/v2/app/tags/list?n=1000")
      return {200, {}, R"({"name": "app", "tags": ["v1"]})"};
    if (request.target == "/v2/lib/x/tags/list?n=1000")
      return {200, {}, R"({"name": "lib/x", "tags": ["latest"]})"};
    if (request.Header("Accept").find("application/vnd.oci.image.index.v1+json") ==
        std::string::npos) {
      return {406, {}, "manifest types not accepted"};
    }
    if (request.target == "/v2/app/manifests/v1")
      return {200, {{"Docker-Content-Digest", app_digest}}, ""};
    if (request.target == "/v2/lib/x/manifests/latest") {
      return {200, {}, request.method == "HEAD" ? "" : manifest};  // no digest header
    }
    return {404, {}, ""};
  });
  base = server.BaseUrl();
  OpenCenter((dir_ / "no.db").string());
  RegistryRecord record;
  record.name = "scripted";
  record.url = base;
  record.poll_seconds = 60;
  auto added = center_->store().AddRegistry(record);
  ASSERT_TRUE(added.ok());
  auto polled = PollRegistry(*center_, *added, std::time(nullptr));
  ASSERT_TRUE(polled.ok()) << polled.error().message;
  EXPECT_EQ(polled->repositories, 2u);
  EXPECT_EQ(polled->new_digests, 2u);
  EXPECT_EQ(tokens.load(), 3);  // one per scope: the catalog, app, lib/x
  using Tags = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(TagsByImage(center_->store(), added->id),
            (Tags{{"app@" + app_digest, {"v1"}}, {"lib/x@" + lib_digest, {"latest"}}}));
}

// Registry replies are untrusted: each malformed one fails the poll with a message naming the
// place, and nothing is recorded.
TEST_P(MonitorTest, MalformedRegistryRepliesAreErrorsThatNameThePlace) {
  using moat::testing::TestHttpRequest;
  using moat::testing::TestHttpResponse;
  struct Case {
    std::string catalog, tags, digest, expected;
  };
  const std::string good_digest = "sha256:" + std::string(64, 'b');
  const std::vector<Case> cases = {
      {"{not json", R"({"tags": ["v1"]})", good_digest, "/v2/_catalog?n=1000: not a JSON object"},
      {R"({"repositories": "app"})", R"({"tags": ["v1"]})", good_digest, "is not an array"},
      {R"({"repositories": ["../etc"]})", R"({"tags": ["v1"]})", good_digest,
       "\"../etc\" is not a repository name"},
      {R"({"repositories": ["app"]})", R"({"tags": [1]})", good_digest, "holds a non-string"},
      {R"({"repositories": ["app"]})", R"({"tags": ["v1/../x"]})", good_digest, "is not a tag"},
      {R"({"repositories": ["app"]})", R"({"tags": ["v1"]})", "md5:abc", "is not a digest"},
  };
  OpenCenter((dir_ / "no.db").string());
  for (const auto& c : cases) {
    moat::testing::TestHttpServer server([&c](const TestHttpRequest& request) -> TestHttpResponse {
      if (request.target.rfind("/v2/_catalog", 0) == 0) return {200, {}, c.catalog};
      if (request.target.rfind("/v2/app/tags/list", 0) == 0) return {200, {}, c.tags};
      if (request.target == "/v2/app/manifests/v1") {
        return {200, {{"Docker-Content-Digest", c.digest}}, ""};
      }
      return {404, {}, ""};
    });
    RegistryRecord record;
    record.name = "bad-" + std::to_string(&c - cases.data());
    record.url = server.BaseUrl();
    auto added = center_->store().AddRegistry(record);
    ASSERT_TRUE(added.ok());
    auto polled = PollRegistry(*center_, *added, std::time(nullptr));
    ASSERT_FALSE(polled.ok()) << c.expected;
    EXPECT_NE(polled.error().message.find(c.expected), std::string::npos) << polled.error().message;
    EXPECT_TRUE(center_->store().ListRepositoryImages(added->id)->empty());
  }
  EXPECT_TRUE(QueuedJobKeys().empty());
}

MOAT_STORE_TEST_SUITE(MonitorTest);

// After a database update the images to re-match are found by the keys the matcher looks their
// packages up by: an rpm package under its source and its binary name (Rocky's and SUSE's feeds
// name the binary rpm), and a Go binary's standard library also under "toolchain" (the Go
// vulnerability database's name for flaws of the go command).
TEST(MatchImageTest, PackageKeysHoldEveryLookupName) {
  Inventory inventory;
  inventory.os.family = "rocky";
  inventory.os.version = "9.3";
  Package rpm;
  rpm.type = PackageType::kRpm;
  rpm.name = "openssl-libs";
  rpm.version = "3.0.7";
  rpm.release = "24.el9";
  rpm.source_name = "openssl";
  inventory.packages.push_back(rpm);
  inventory.packages.push_back(Npm("lodash", "4.17.20"));
  Package stdlib;
  stdlib.type = PackageType::kGolang;
  stdlib.name = "stdlib";
  stdlib.version = "v1.21.3";
  stdlib.file_path = "/usr/bin/app";
  inventory.packages.push_back(stdlib);
  const ImageScan scan = MatchImage(inventory, nullptr);
  const std::set<std::pair<std::string, std::string>> keys(scan.package_keys.begin(),
                                                           scan.package_keys.end());
  const std::string ns = match::OsNamespace(inventory.os);
  EXPECT_TRUE(keys.count({ns, "openssl"})) << ns;
  EXPECT_TRUE(keys.count({ns, "openssl-libs"})) << ns;
  EXPECT_TRUE(keys.count({"npm", "lodash"}));
  EXPECT_TRUE(keys.count({"go", "stdlib"}));
  EXPECT_TRUE(keys.count({"go", "toolchain"}));
  EXPECT_EQ(keys.size(), 5u);
}

}  // namespace
}  // namespace moat::server
