// The dashboard's store views (risk ranking, image filters, alert histogram, repositories, where an
// image runs, similar alerts) on both SQLite and a private PostgreSQL.

#include <gtest/gtest.h>

#include <ctime>

#include "server/store/secret_box.h"
#include "server/store/store.h"
#include "server/store/test_postgres.h"

namespace moat::server {
namespace {

class DashboardViewsTest : public testing::StoreUrlTest {
 protected:
  void SetUp() override {
    StoreUrlTest::SetUp();
    auto opened = Store::Open(url(), 4, NewSecretKey());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
  }
  void TearDown() override { store_.reset(); }

  static FindingRecord Vuln(const std::string& id, const std::string& severity, bool patchable,
                            bool kev) {
    FindingRecord f;
    f.finding_id = id;
    f.severity = severity;
    f.package = "openssl";
    f.installed_version = "1.0";
    f.fixed_version = patchable ? "1.1" : "";
    f.patchable = patchable;
    f.kev = kev;
    return f;
  }

  // Three pushed images and one known only from a host: web:1 (critical KEV + high, fixable),
  // api:2 (medium + low, no fix, running on the host), base:1 (nothing found), and a host-only
  // image with a low finding.
  void Fill() {
    RegistryRecord registry;
    registry.name = "local";
    registry.url = "http://127.0.0.1:5000";
    auto added = store_->AddRegistry(registry);
    ASSERT_TRUE(added.ok()) << added.error().message;
    registry_id_ = added->id;
    ASSERT_TRUE(store_->RecordPush(registry_id_, "web", kWeb, "1", 100).ok());
    ASSERT_TRUE(store_->RecordPush(registry_id_, "api", kApi, "2", 200).ok());
    ASSERT_TRUE(store_->RecordPush(registry_id_, "base", kBase, "1", 300).ok());
    auto scan = [&](const std::string& digest, std::vector<FindingRecord> findings) {
      auto saved = store_->SaveImageScan(digest, "debian 12", "linux/amd64", "{}",
                                         {{"debian:12", "openssl"}}, findings, 400);
      ASSERT_TRUE(saved.ok()) << saved.error().message;
    };
    scan(kWeb, {Vuln("CVE-1", "CRITICAL", true, true), Vuln("CVE-2", "HIGH", false, false)});
    scan(kApi, {Vuln("CVE-3", "MEDIUM", false, false), Vuln("CVE-4", "LOW", false, false)});
    scan(kBase, {});
    scan(kLocal, {Vuln("CVE-5", "LOW", true, false)});
    ASSERT_TRUE(store_->RegisterAgent("h", "host", "0.1", "h", 1).ok());
    auto reported = store_->ApplyAgentMessages(
        "h", {{1, "host_report", "{}"}}, 500,
        [&](SqlConnection& sql, const Store::AgentMessage&) -> Result<void> {
          HostRecord host;
          host.id = "h";
          host.name = "docker-1";
          ContainerRecord api{"h", "c1", "api", "api:2", "sha256:id", kApi, "running", ""};
          ContainerRecord old{"h", "c2", "old", "local", "sha256:id2", kLocal, "exited", ""};
          return Store::SaveHostReport(sql, host, {api, old}, {}, 500);
        });
    ASSERT_TRUE(reported.ok()) << reported.error().message;
  }

  std::vector<std::string> Digests(const ImageQuery& query, const PageRequest& page = {}) {
    auto listing = store_->QueryImages(query, page);
    EXPECT_TRUE(listing.ok()) << listing.error().message;
    std::vector<std::string> digests;
    if (!listing.ok()) return digests;
    for (const auto& image : listing->items) digests.push_back(image.digest);
    return digests;
  }

  const std::string kWeb = "sha256:" + std::string(64, 'a');
  const std::string kApi = "sha256:" + std::string(64, 'b');
  const std::string kBase = "sha256:" + std::string(64, 'c');
  const std::string kLocal = "sha256:" + std::string(64, 'd');
  int64_t registry_id_ = 0;
  std::unique_ptr<Store> store_;
};

TEST_P(DashboardViewsTest, RisksWeighSeverityKevAndRunning) {
  Fill();
  auto risks = store_->ListImageRisks();
  ASSERT_TRUE(risks.ok()) << risks.error().message;
  ASSERT_EQ(risks->size(), 3u);  // base has no finding
  const ImageRisk& web = (*risks)[0];
  EXPECT_EQ(web.digest, kWeb);
  EXPECT_EQ(web.counts.critical, 1);
  EXPECT_EQ(web.counts.high, 1);
  EXPECT_EQ(web.counts.fixable, 1);
  EXPECT_EQ(web.kev, 1);
  EXPECT_FALSE(web.running);
  EXPECT_DOUBLE_EQ(web.score, (10 + 5) * 2);  // KEV doubles
  const ImageRisk& api = (*risks)[1];
  EXPECT_EQ(api.digest, kApi);
  EXPECT_TRUE(api.running);
  EXPECT_DOUBLE_EQ(api.score, (2 + 1) * 2);  // running doubles
  const ImageRisk& local = (*risks)[2];
  EXPECT_FALSE(local.running);  // its container exited
  EXPECT_DOUBLE_EQ(local.score, 1);
  EXPECT_DOUBLE_EQ(ImageRiskScore(SeverityCounts{1, 0, 0, 0, 0, 0}, 1, true), 40);
}

// The per-image counts are kept with the findings: a rescan that resolves findings, a rescan
// with none left and a deleted manifest each show at once in the risks, the image listing and
// the repositories.
TEST_P(DashboardViewsTest, ImageCountsFollowEveryChangeOfItsFindings) {
  Fill();
  ASSERT_TRUE(store_
                  ->SaveImageScan(kWeb, "debian 12", "linux/amd64", "{}",
                                  {{"debian:12", "openssl"}}, {Vuln("CVE-2", "HIGH", true, false)},
                                  600)
                  .ok());
  ASSERT_TRUE(store_->SaveImageScan(kApi, "debian 12", "linux/amd64", "{}", {}, {}, 600).ok());
  auto risks = store_->ListImageRisks();
  ASSERT_TRUE(risks.ok()) << risks.error().message;
  ASSERT_EQ(risks->size(), 2u);  // api has no open finding left
  EXPECT_EQ((*risks)[0].digest, kWeb);
  EXPECT_EQ((*risks)[0].counts.critical, 0);
  EXPECT_EQ((*risks)[0].counts.high, 1);
  EXPECT_EQ((*risks)[0].counts.fixable, 1);
  EXPECT_EQ((*risks)[0].kev, 0);
  ImageQuery web_only;
  web_only.repository = "web";
  auto listing = store_->QueryImages(web_only, {});
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  ASSERT_EQ(listing->items.size(), 1u);
  EXPECT_EQ(listing->items[0].counts.critical, 0);
  EXPECT_EQ(listing->items[0].counts.high, 1);
  auto repositories = store_->ListRepositories(0);
  ASSERT_TRUE(repositories.ok()) << repositories.error().message;
  for (const auto& r : *repositories) {
    if (r.repository == "web") {
      EXPECT_EQ(r.counts.high, 1);
    }
    if (r.repository == "api") {
      EXPECT_EQ(r.counts.medium + r.counts.low, 0);
    }
  }
  ASSERT_TRUE(store_->RecordDelete(registry_id_, "web", kWeb).ok());
  risks = store_->ListImageRisks();
  ASSERT_TRUE(risks.ok());
  ASSERT_EQ(risks->size(), 1u);
  EXPECT_EQ((*risks)[0].digest, kLocal);
}

TEST_P(DashboardViewsTest, ImageQueriesFilterSortAndPage) {
  Fill();
  ImageQuery all;
  EXPECT_EQ(Digests(all), (std::vector<std::string>{kWeb, kApi, kLocal, kBase}));  // riskiest
  ImageQuery q;
  q.severity = "MEDIUM";
  EXPECT_EQ(Digests(q), std::vector<std::string>{kApi});
  q = {};
  q.fixable = true;
  EXPECT_EQ(Digests(q), (std::vector<std::string>{kWeb, kLocal}));
  q.fixable = false;
  EXPECT_EQ(Digests(q), (std::vector<std::string>{kApi, kBase}));
  q = {};
  q.kev = true;
  EXPECT_EQ(Digests(q), std::vector<std::string>{kWeb});
  q = {};
  q.running = true;
  EXPECT_EQ(Digests(q), std::vector<std::string>{kApi});
  q = {};
  q.repository = "api";
  EXPECT_EQ(Digests(q), std::vector<std::string>{kApi});
  q.registry_id = registry_id_ + 1;  // another registry has no repository "api"
  EXPECT_TRUE(Digests(q).empty());
  q = {};
  q.registry_id = registry_id_;  // the host-only image is in no registry
  EXPECT_EQ(Digests(q), (std::vector<std::string>{kWeb, kApi, kBase}));
  q = {};
  q.search = "WEB";  // a repository, case-insensitive
  EXPECT_EQ(Digests(q), std::vector<std::string>{kWeb});
  q.search = "dddd";  // a part of the digest
  EXPECT_EQ(Digests(q), std::vector<std::string>{kLocal});
  q = {};
  q.sort = ImageQuery::Sort::kName;  // api:2, base:1, web:1, then the unnamed
  EXPECT_EQ(Digests(q), (std::vector<std::string>{kApi, kBase, kWeb, kLocal}));
  q.sort = ImageQuery::Sort::kDigest;
  EXPECT_EQ(Digests(q), (std::vector<std::string>{kWeb, kApi, kBase, kLocal}));

  // Pages of 3 visit each image once; the total counts every match.
  auto first = store_->QueryImages(all, PageRequest{3, ""});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->total, 4);
  ASSERT_EQ(first->items.size(), 3u);
  ASSERT_EQ(first->risks.size(), 3u);
  EXPECT_EQ(first->risks[0].digest, first->items[0].digest);
  EXPECT_EQ(first->items[0].counts.critical, 1);
  ASSERT_EQ(first->items[0].locations.size(), 1u);
  EXPECT_EQ(first->items[0].locations[0].repository, "web");
  EXPECT_FALSE(first->next_cursor.empty());
  EXPECT_EQ(Digests(all, PageRequest{3, first->next_cursor}), std::vector<std::string>{kBase});
  auto bad = store_->QueryImages(all, PageRequest{3, "x:zz:0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("cursor", 0), 0u);
}

TEST_P(DashboardViewsTest, RepositoriesAndWhereAnImageRuns) {
  Fill();
  auto repositories = store_->ListRepositories(0);
  ASSERT_TRUE(repositories.ok()) << repositories.error().message;
  ASSERT_EQ(repositories->size(), 3u);
  EXPECT_EQ((*repositories)[0].repository, "api");
  EXPECT_EQ((*repositories)[0].images, 1);
  EXPECT_EQ((*repositories)[0].tags, 1);
  EXPECT_EQ((*repositories)[0].last_pushed_at, 200);
  EXPECT_EQ((*repositories)[0].counts.medium, 1);
  EXPECT_EQ((*repositories)[0].counts.low, 1);
  EXPECT_EQ((*repositories)[2].repository, "web");
  EXPECT_EQ((*repositories)[2].counts.critical, 1);
  EXPECT_EQ((*repositories)[2].counts.fixable, 1);
  EXPECT_TRUE(store_->ListRepositories(registry_id_ + 1)->empty());

  auto usage = store_->ImageUsageOf(kApi);
  ASSERT_TRUE(usage.ok()) << usage.error().message;
  ASSERT_EQ(usage->containers.size(), 1u);
  EXPECT_EQ(usage->containers[0].name, "api");
  EXPECT_EQ(usage->containers[0].host_id, "h");
  EXPECT_TRUE(usage->workloads.empty());
  EXPECT_TRUE(store_->ImageUsageOf(kBase)->containers.empty());
}

StoredAlert At(const std::string& rule, int64_t seconds, const std::string& container,
               const std::string& priority, const std::string& tactic) {
  StoredAlert a;
  a.rule = rule;
  a.priority = priority;
  a.time_ns = seconds * 1'000'000'000;
  a.container_id = container;
  a.mitre_tactic = tactic;
  a.dedupe_key = rule + "|" + container + "|" + std::to_string(seconds);
  a.incident_key = "container:" + container;
  a.body = "{}";
  return a;
}

TEST_P(DashboardViewsTest, AlertsAreSummedByHourOrDayPriorityAndTactic) {
  auto empty = store_->SummarizeAlerts();
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->total, 0);
  EXPECT_TRUE(empty->buckets.empty());
  EXPECT_EQ(*store_->LastAlertId(), 0);
  const int64_t day = 86400, t0 = 1'764'633'600;  // 2025-12-02T00:00:00Z
  Store::AlertWindows windows{1, 1};
  auto ids = store_->InsertAlerts({At("shell", t0 + 60, "c1", "Critical", "execution"),
                                   At("shell", t0 + 120, "c2", "Critical", "execution"),
                                   At("miner", t0 + 3600 + 5, "c1", "Error", "impact"),
                                   At("read", t0 + 7200, "c3", "Notice", "")},
                                  windows);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_TRUE(*store_->SetAlertStatus((*ids)[1], "dismissed", "alice", "test"));
  auto hourly = store_->SummarizeAlerts();
  ASSERT_TRUE(hourly.ok()) << hourly.error().message;
  EXPECT_EQ(hourly->total, 4);
  EXPECT_EQ(hourly->active, 3);
  EXPECT_EQ(hourly->bucket_seconds, 3600);
  ASSERT_EQ(hourly->buckets.size(), 3u);
  EXPECT_EQ(hourly->buckets[0].start, t0);
  EXPECT_EQ(hourly->buckets[0].priority, "Critical");
  EXPECT_EQ(hourly->buckets[0].count, 2);
  EXPECT_EQ(hourly->buckets[1].start, t0 + 3600);
  EXPECT_EQ(hourly->buckets[2].start, t0 + 7200);
  EXPECT_EQ(hourly->by_tactic["execution"], 2);
  EXPECT_EQ(hourly->by_tactic["impact"], 1);
  EXPECT_EQ(hourly->by_tactic[""], 1);
  EXPECT_EQ(hourly->by_priority["Critical"], 2);
  // Three days later: the span is over two days, so the buckets are days.
  ASSERT_TRUE(
      store_->InsertAlerts({At("shell", t0 + 3 * day + 10, "c1", "Critical", "execution")}, windows)
          .ok());
  auto daily = store_->SummarizeAlerts();
  ASSERT_TRUE(daily.ok());
  EXPECT_EQ(daily->bucket_seconds, day);
  ASSERT_EQ(daily->buckets.size(), 4u);  // day 0: Critical, Error, Notice; day 3: Critical
  EXPECT_EQ(daily->buckets[0].start, t0);
  EXPECT_EQ(daily->buckets[0].count, 2);
  EXPECT_EQ(daily->buckets[3].start, t0 + 3 * day);

  // The live stream reads what came after an id; similar alerts are the same rule on the same
  // container, or the same incident.
  const int64_t last = *store_->LastAlertId();
  EXPECT_GT(last, (*ids)[3]);
  auto after = store_->AlertsAfter((*ids)[1], 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ((*after)[0].id, (*ids)[2]);
  EXPECT_EQ(after->back().id, last);
  auto similar = store_->SimilarAlerts((*ids)[0], 10);
  ASSERT_TRUE(similar.ok()) << similar.error().message;
  std::vector<std::string> rules;
  for (const auto& a : *similar) rules.push_back(a.rule + "@" + a.container_id);
  // Newest first: the later shell on c1 (same rule, same container); the miner on c1 (same
  // incident only if within the window: here windows are 1 ns, so not), and never c2's shell.
  EXPECT_EQ(rules, std::vector<std::string>{"shell@c1"});
  EXPECT_TRUE(store_->SimilarAlerts(999999, 10)->empty());
}

// Users sign in with a password; their sessions are tokens that expire and die with the user.
TEST_P(DashboardViewsTest, UsersSessionsExpireAndDieWithTheirUser) {
  auto alice =
      store_->CreateUser("alice", Role::kAnalyst, HashPassword("correct horse battery"), "admin");
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  EXPECT_EQ(alice->role, Role::kAnalyst);
  auto again = store_->CreateUser("alice", Role::kReader, HashPassword("another one"), "admin");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("exists already"), std::string::npos);
  auto found = store_->GetUserByName("alice");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_TRUE(VerifyPassword("correct horse battery", (*found)->password_hash));
  EXPECT_FALSE(store_->GetUserByName("bob")->has_value());

  const int64_t now = std::time(nullptr);
  auto session = store_->CreateSession(**found, now + 3600);
  ASSERT_TRUE(session.ok()) << session.error().message;
  auto who = store_->Authenticate(*session);
  ASSERT_TRUE(who.ok() && who->has_value());
  EXPECT_EQ((*who)->name, "alice");
  EXPECT_EQ((*who)->role, Role::kAnalyst);
  EXPECT_GT((*store_->GetUserByName("alice"))->last_sign_in_at, 0);
  auto expired = store_->CreateSession(**found, now - 1);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(store_->Authenticate(*expired)->has_value());
  // API tokens are listed; sessions are not.
  ASSERT_TRUE(store_->CreateToken("ci", Role::kReader, "admin").ok());
  auto tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].name, "ci");
  ASSERT_EQ(store_->ListUsers()->size(), 1u);
  ASSERT_TRUE(*store_->DeleteUser(alice->id));
  EXPECT_FALSE(store_->Authenticate(*session)->has_value());
  EXPECT_TRUE(store_->ListUsers()->empty());
  EXPECT_FALSE(*store_->DeleteUser(alice->id));
}

MOAT_STORE_TEST_SUITE(DashboardViewsTest);

// PBKDF2-HMAC-SHA256 with OWASP's 600,000 iterations and a random salt; RFC 7914's PBKDF2 test
// vector checks the derivation itself.
TEST(PasswordHash, IsSaltedSlowAndVerifiedInConstantTime) {
  const std::string hash = HashPassword("correct horse battery");
  EXPECT_EQ(hash.rfind("pbkdf2-sha256$600000$", 0), 0u) << hash;
  EXPECT_NE(hash, HashPassword("correct horse battery"));  // salted
  EXPECT_TRUE(VerifyPassword("correct horse battery", hash));
  EXPECT_FALSE(VerifyPassword("correct horse batterz", hash));
  EXPECT_FALSE(VerifyPassword("", hash));
  // Fewer iterations than required, or a damaged value, never verify.
  EXPECT_FALSE(VerifyPassword("pw", HashPassword("pw", 1000)));
  EXPECT_TRUE(VerifyPassword("pw", HashPassword("pw", 1000), 1000));
  for (const char* bad : {"", "pbkdf2-sha256$", "pbkdf2-sha256$600000$zz$00",
                          "pbkdf2-sha256$abc$00$00", "md5$1$00$00"}) {
    EXPECT_FALSE(VerifyPassword("pw", bad)) << bad;
  }
  // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, first 32 bytes.
  EXPECT_TRUE(VerifyPassword(
      "passwd",
      "pbkdf2-sha256$1$73616c74$55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
      1));
}

}  // namespace
}  // namespace moat::server
