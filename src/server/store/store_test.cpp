// The store on both SQLite and a private PostgreSQL: every test body runs on each.

#include "server/store/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "core/vulnerability.h"
#include "server/store/secret_box.h"
#include "server/store/test_postgres.h"

namespace moat::server {
namespace {

class StoreTest : public testing::StoreUrlTest {
 protected:
  void SetUp() override {
    StoreUrlTest::SetUp();
    key_ = NewSecretKey();
    auto opened = Store::Open(url(), 4, key_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
  }
  void TearDown() override { store_.reset(); }

  SqlRows Raw(const std::string& sql, const std::vector<SqlValue>& params = {}) {
    auto connection = store_->pool().Acquire();
    auto rows = connection->Query(sql, params);
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? *rows : SqlRows{};
  }

  FindingRecord Vuln(const std::string& id, const std::string& severity, double cvss,
                     const std::string& package = "openssl") {
    FindingRecord f;
    f.finding_id = id;
    f.severity = severity;
    f.cvss = cvss;
    f.package = package;
    f.installed_version = "1.0";
    f.fixed_version = "1.1";
    f.patchable = true;
    return f;
  }

  std::string key_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, TokensAreStoredHashedAndRevocable) {
  auto token = store_->CreateToken("ci", Role::kAnalyst, "admin");
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token->rfind("moat_", 0), 0u);
  auto raw = Raw("SELECT hash FROM tokens");
  ASSERT_EQ(raw.rows.size(), 1u);
  EXPECT_EQ(raw.rows[0].Text(0).find(token->substr(5)), std::string::npos);
  auto info = store_->Authenticate(*token);
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->name, "ci");
  EXPECT_EQ((*info)->role, Role::kAnalyst);
  EXPECT_FALSE(store_->Authenticate(*token + "x")->has_value());
  ASSERT_TRUE(*store_->RevokeToken((*info)->id));
  EXPECT_FALSE(store_->Authenticate(*token)->has_value());
  EXPECT_EQ(*store_->CountTokens(), 0);
}

TEST_P(StoreTest, RegistryCredentialsAreEncryptedAtRest) {
  RegistryRecord registry;
  registry.name = "harbor";
  registry.url = "https://harbor.example";
  registry.username = "robot";
  registry.secret = "s3cret-password";
  auto added = store_->AddRegistry(registry);
  ASSERT_TRUE(added.ok()) << added.error().message;
  auto raw = Raw("SELECT secret_enc FROM registries");
  EXPECT_EQ(raw.rows[0].Text(0).find("s3cret"), std::string::npos);
  EXPECT_EQ(raw.rows[0].Text(0).rfind("v1:", 0), 0u);
  auto listed = store_->ListRegistries();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ((*listed)[0].secret, "s3cret-password");
  auto duplicate = store_->AddRegistry(registry);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message.find("exists already"), std::string::npos);
  // Another key cannot read it.
  EXPECT_FALSE(OpenSecret(NewSecretKey(), raw.rows[0].Text(0)).ok());
}

TEST_P(StoreTest, MovedTagKeepsTheOldDigestAndItsFindings) {
  RegistryRecord registry;
  registry.name = "local";
  registry.url = "http://127.0.0.1:5000";
  auto added = store_->AddRegistry(registry);
  ASSERT_TRUE(added.ok());
  const int64_t id = added->id;
  ASSERT_TRUE(store_->RecordPush(id, "web", "sha256:aaa", "latest", 100).ok());
  ASSERT_TRUE(store_
                  ->SaveImageScan("sha256:aaa", "debian 12", "linux/amd64", "{}",
                                  {{"debian:12", "openssl"}}, {Vuln("CVE-2024-1", "HIGH", 7.5)},
                                  110)
                  .ok());
  ASSERT_TRUE(store_->RecordPush(id, "web", "sha256:bbb", "latest", 200).ok());
  auto images = store_->ListRepositoryImages(id);
  ASSERT_TRUE(images.ok());
  ASSERT_EQ(images->size(), 2u);
  EXPECT_EQ((*images)[0].digest, "sha256:aaa");
  EXPECT_TRUE((*images)[0].tags.empty());  // the tag moved
  EXPECT_EQ((*images)[1].tags, std::vector<std::string>{"latest"});
  auto old = store_->GetImage("sha256:aaa");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->counts.high, 1);
  EXPECT_EQ((*old)->scan_status, "scanned");
  // A pull updates last pulled; a delete removes the digest and, unreferenced, its findings.
  ASSERT_TRUE(store_->RecordPull(id, "web", "sha256:aaa", 300).ok());
  EXPECT_EQ((*store_->GetImage("sha256:aaa"))->locations[0].last_pulled_at, 300);
  ASSERT_TRUE(store_->RecordDelete(id, "web", "sha256:aaa").ok());
  EXPECT_FALSE(store_->GetImage("sha256:aaa")->has_value());
  FindingFilter all;
  all.include_resolved = true;
  EXPECT_TRUE(store_->ListFindings(all, FindingSort::kSeverity, {})->items.empty());
  EXPECT_TRUE(store_->GetImage("sha256:bbb")->has_value());
}

TEST_P(StoreTest, RescanKeepsFirstSeenResolvesVanishedAndReopens) {
  ASSERT_TRUE(store_
                  ->SaveImageScan("sha256:x", "", "", "{}", {},
                                  {Vuln("CVE-1", "HIGH", 7), Vuln("CVE-2", "LOW", 2)}, 1000)
                  .ok());
  ASSERT_TRUE(
      store_->SaveImageScan("sha256:x", "", "", "{}", {}, {Vuln("CVE-1", "CRITICAL", 9.8)}, 2000)
          .ok());
  FindingFilter all;
  all.include_resolved = true;
  auto page = store_->ListFindings(all, FindingSort::kSeverity, {});
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].finding_id, "CVE-1");
  EXPECT_EQ(page->items[0].severity, "CRITICAL");  // updated by the new database
  EXPECT_EQ(page->items[0].first_seen, 1000);
  EXPECT_EQ(page->items[0].last_seen, 2000);
  EXPECT_EQ(page->items[0].resolved_at, 0);
  EXPECT_EQ(page->items[1].finding_id, "CVE-2");
  EXPECT_EQ(page->items[1].resolved_at, 2000);
  EXPECT_EQ(store_->ListFindings({}, FindingSort::kSeverity, {})->items.size(), 1u);  // open only
  ASSERT_TRUE(store_
                  ->SaveImageScan("sha256:x", "", "", "{}", {},
                                  {Vuln("CVE-1", "CRITICAL", 9.8), Vuln("CVE-2", "LOW", 2)}, 3000)
                  .ok());
  auto reopened = store_->ListFindings({}, FindingSort::kSeverity, {});
  ASSERT_EQ(reopened->items.size(), 2u);
  EXPECT_EQ(reopened->items[1].resolved_at, 0);
  EXPECT_EQ(reopened->items[1].first_seen, 1000);
}

TEST_P(StoreTest, PackageIndexFindsTheImagesHoldingAPackage) {
  ASSERT_TRUE(store_
                  ->SaveImageScan("sha256:1", "", "", "{}",
                                  {{"debian:12", "openssl"}, {"debian:12", "zlib"}}, {}, 1)
                  .ok());
  ASSERT_TRUE(store_->SaveImageScan("sha256:2", "", "", "{}", {{"debian:12", "zlib"}}, {}, 1).ok());
  ASSERT_TRUE(store_->SaveImageScan("sha256:3", "", "", "{}", {{"pypi", "openssl"}}, {}, 1).ok());
  EXPECT_EQ(*store_->ImagesWithPackage("debian:12", "openssl"),
            std::vector<std::string>{"sha256:1"});
  EXPECT_EQ(*store_->ImagesWithPackage("debian:12", "zlib"),
            (std::vector<std::string>{"sha256:1", "sha256:2"}));
  // A rescan replaces the image's entries.
  ASSERT_TRUE(store_->SaveImageScan("sha256:1", "", "", "{}", {{"debian:12", "zlib"}}, {}, 2).ok());
  EXPECT_TRUE(store_->ImagesWithPackage("debian:12", "openssl")->empty());
}

TEST_P(StoreTest, KeysetPagesVisitEveryFindingOnceInOrder) {
  std::vector<FindingRecord> findings;
  const char* severities[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"};
  for (int i = 0; i < 237; ++i) {
    findings.push_back(Vuln("CVE-2024-" + std::to_string(i), severities[i % 5],
                            (i * 7 % 100) / 10.0, "pkg" + std::to_string(i % 13)));
  }
  ASSERT_TRUE(store_->SaveImageScan("sha256:big", "", "", "{}", {}, findings, 5).ok());
  for (FindingSort sort : {FindingSort::kSeverity, FindingSort::kCvss, FindingSort::kFirstSeen}) {
    PageRequest request;
    request.limit = 20;
    std::set<std::string> seen;
    double previous = 1e9;
    size_t pages = 0;
    while (true) {
      auto page = store_->ListFindings({}, sort, request);
      ASSERT_TRUE(page.ok()) << page.error().message;
      ++pages;
      for (const auto& f : page->items) {
        EXPECT_TRUE(seen.insert(f.finding_id).second) << f.finding_id << " twice";
        const double key = sort == FindingSort::kSeverity ? SeverityRank(f.severity)
                           : sort == FindingSort::kCvss   ? f.cvss
                                                          : f.first_seen;
        EXPECT_LE(key, previous);
        previous = key;
      }
      if (page->next_cursor.empty()) break;
      request.cursor = page->next_cursor;
    }
    EXPECT_EQ(seen.size(), 237u);
    EXPECT_EQ(pages, 12u);
  }
  FindingFilter high;
  high.severities = {"HIGH"};
  high.package = "pkg1";
  auto filtered = store_->ListFindings(high, FindingSort::kSeverity, {});
  ASSERT_TRUE(filtered.ok());
  size_t expected = 0;
  for (int i = 0; i < 237; ++i) expected += (i % 5 == 1 && i % 13 == 1) ? 1 : 0;
  EXPECT_EQ(filtered->items.size(), expected);
  PageRequest bad;
  bad.cursor = "c:1:2";  // a cvss cursor given to a severity listing
  EXPECT_FALSE(store_->ListFindings({}, FindingSort::kSeverity, bad).ok());
}

TEST_P(StoreTest, AgentMessagesApplyOnceInOrderAndAllOrNothing) {
  ASSERT_TRUE(store_->RegisterAgent("host-1", "host", "0.1", "host-1", 10).ok());
  std::vector<std::string> applied;
  auto apply = [&](SqlConnection&, const Store::AgentMessage& m) -> Result<void> {
    if (m.body == "fail") return Fail("bad message");
    applied.push_back(std::to_string(m.seq));
    return Ok();
  };
  auto acked = store_->ApplyAgentMessages(
      "host-1", {{1, "heartbeat", "{}"}, {2, "heartbeat", "{}"}}, 11, apply);
  ASSERT_TRUE(acked.ok()) << acked.error().message;
  EXPECT_EQ(*acked, 2);
  // Resent after a lost acknowledgement: 1 and 2 are skipped.
  acked = store_->ApplyAgentMessages(
      "host-1", {{1, "heartbeat", "{}"}, {2, "heartbeat", "{}"}, {3, "heartbeat", "{}"}}, 12,
      apply);
  EXPECT_EQ(*acked, 3);
  EXPECT_EQ(applied, (std::vector<std::string>{"1", "2", "3"}));
  auto gap = store_->ApplyAgentMessages("host-1", {{5, "heartbeat", "{}"}}, 13, apply);
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().message.rfind("gap:", 0), 0u);
  // A failing message rolls back the whole batch.
  auto failed =
      store_->ApplyAgentMessages("host-1", {{4, "heartbeat", "{}"}, {5, "x", "fail"}}, 14, apply);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ((*store_->GetAgent("host-1"))->acked_through, 3);
  EXPECT_FALSE(store_->ApplyAgentMessages("nobody", {{1, "heartbeat", "{}"}}, 1, apply).ok());
}

TEST_P(StoreTest, HostReportReplacesContainersAndCisFindings) {
  ASSERT_TRUE(store_->RegisterAgent("h", "host", "0.1", "h", 1).ok());
  FindingRecord cis;
  cis.finding_id = "5.4";
  cis.severity = "MEDIUM";
  cis.title = "Ensure that privileged containers are not used";
  auto report = [&](std::vector<ContainerRecord> containers, std::vector<FindingRecord> findings,
                    int64_t seq, int64_t time) {
    return store_->ApplyAgentMessages(
        "h", {{seq, "host_report", "{}"}}, time,
        [&](SqlConnection& sql, const Store::AgentMessage&) -> Result<void> {
          HostRecord host;
          host.id = "h";
          host.name = "docker-1";
          host.cis_failed = static_cast<int64_t>(findings.size());
          return Store::SaveHostReport(sql, host, containers, findings, time);
        });
  };
  ContainerRecord web{"h", "c1", "web", "reg/web:1", "sha256:id1", "sha256:d1", "running", ""};
  ContainerRecord old{"h", "c2", "old", "reg/old:1", "sha256:id2", "sha256:d2", "exited", ""};
  ASSERT_TRUE(report({web, old}, {cis}, 1, 100).ok());
  EXPECT_EQ(*store_->RunningImageDigests(), std::vector<std::string>{"sha256:d1"});
  auto host = store_->GetHost("h");
  ASSERT_TRUE(host.ok() && host->has_value());
  EXPECT_EQ((*host)->containers.size(), 2u);
  FindingFilter host_findings;
  host_findings.resource_kind = "host";
  EXPECT_EQ(store_->ListFindings(host_findings, FindingSort::kSeverity, {})->items.size(), 1u);
  ASSERT_TRUE(report({web}, {}, 2, 200).ok());  // 5.4 fixed, c2 removed
  EXPECT_EQ((*store_->GetHost("h"))->containers.size(), 1u);
  EXPECT_TRUE(store_->ListFindings(host_findings, FindingSort::kSeverity, {})->items.empty());
}

TEST_P(StoreTest, AlertsDeduplicateAndCorrelateIntoIncidents) {
  auto alert = [](const std::string& rule, int64_t t, const std::string& container) {
    StoredAlert a;
    a.rule = rule;
    a.priority = "Critical";
    a.time_ns = t;
    a.container_id = container;
    a.dedupe_key = rule + "|" + container;
    a.incident_key = "container:" + container;
    a.body = "{}";
    return a;
  };
  const int64_t s = 1'000'000'000;
  Store::AlertWindows windows{60 * s, 1800 * s};
  auto ids = store_->InsertAlerts({alert("shell", 1000 * s, "c1"), alert("shell", 1010 * s, "c1"),
                                   alert("miner", 1020 * s, "c1"), alert("shell", 1030 * s, "c2"),
                                   alert("shell", 5000 * s, "c1")},
                                  windows);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ((*ids)[0], (*ids)[1]);  // a duplicate within the window
  EXPECT_NE((*ids)[0], (*ids)[2]);
  EXPECT_NE((*ids)[0], (*ids)[4]);  // outside the window: a new alert
  auto first = *store_->GetAlert((*ids)[0]);
  EXPECT_EQ(first->count, 2);
  EXPECT_EQ(first->last_time_ns, 1010 * s);
  const auto miner = *store_->GetAlert((*ids)[2]);
  const auto other = *store_->GetAlert((*ids)[3]);
  const auto later = *store_->GetAlert((*ids)[4]);
  EXPECT_EQ(miner->incident_id, first->incident_id);  // same container within 30 min
  EXPECT_NE(other->incident_id, first->incident_id);
  EXPECT_NE(later->incident_id, first->incident_id);
  ASSERT_TRUE(*store_->SetAlertStatus((*ids)[0], "dismissed", "alice", "test traffic"));
  AlertFilter active;
  active.statuses = {"active"};
  EXPECT_EQ(store_->ListAlerts(active, {})->items.size(), 3u);
  // A dismissed alert is not counted into: the next one starts a new alert.
  auto again = store_->InsertAlerts({alert("shell", 1040 * s, "c1")}, windows);
  EXPECT_NE((*again)[0], (*ids)[0]);
}

TEST_P(StoreTest, JobsAreClaimedOnceAndLeasesExpire) {
  EXPECT_TRUE(*store_->EnqueueJob("scan", "scan:a", "{}", 0));
  EXPECT_FALSE(*store_->EnqueueJob("scan", "scan:a", "{}", 0));  // one pending per key
  EXPECT_TRUE(*store_->EnqueueJob("scan", "scan:b", "{}", 0));
  auto a = store_->ClaimJob("w1", 60, 100);
  ASSERT_TRUE(a.ok() && a->has_value()) << (a.ok() ? "" : a.error().message);
  auto b = store_->ClaimJob("w2", 60, 100);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_NE((*a)->id, (*b)->id);
  EXPECT_FALSE(store_->ClaimJob("w3", 60, 100)->has_value());
  // w1 dies: after its lease, w3 gets the job; w1's late completion does not count.
  auto retaken = store_->ClaimJob("w3", 60, 200);
  ASSERT_TRUE(retaken->has_value());
  EXPECT_EQ((*retaken)->key, (*a)->key);
  EXPECT_EQ((*retaken)->attempts, 2);
  ASSERT_TRUE(store_->CompleteJob((*a)->id, "w1").ok());
  EXPECT_EQ(store_->CountJobs()->done, 0);
  ASSERT_TRUE(store_->CompleteJob((*retaken)->id, "w3").ok());
  EXPECT_EQ(store_->CountJobs()->done, 1);
  EXPECT_TRUE(*store_->EnqueueJob("scan", "scan:a", "{}", 0));  // done: may be queued again
  // Failures retry after the backoff, then stop.
  ASSERT_TRUE(store_->FailJob((*b)->id, "w2", "registry down", 150, 2).ok());
  auto next = store_->ClaimJob("w2", 60, 149);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->key, "scan:a");  // scan:b waits for its retry time
  EXPECT_FALSE(store_->ClaimJob("w2", 60, 149)->has_value());
  auto retry = store_->ClaimJob("w2", 60, 151);
  ASSERT_TRUE(retry.ok() && retry->has_value());
  EXPECT_EQ((*retry)->key, "scan:b");
  EXPECT_EQ((*retry)->attempts, 2);
  ASSERT_TRUE(store_->FailJob((*retry)->id, "w2", "still down", 200, 2).ok());
  EXPECT_EQ(store_->CountJobs()->failed, 1);
  auto after = store_->ClaimJob("w2", 60, 1000);  // only scan:a's lease-expired run is left
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->key, "scan:a");
  EXPECT_FALSE(store_->ClaimJob("w2", 60, 1000)->has_value());  // a failed job stays failed
}

TEST_P(StoreTest, ConcurrentWorkersClaimEachJobExactlyOnce) {
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(store_->EnqueueJob("scan", "scan:" + std::to_string(i), "{}", 0).ok());
  }
  std::mutex mutex;
  std::multiset<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      while (true) {
        auto job = store_->ClaimJob("w" + std::to_string(w), 600, 10);
        if (!job.ok()) continue;  // a busy database: try again
        if (!job->has_value()) return;
        {
          std::lock_guard lock(mutex);
          claimed.insert((*job)->key);
        }
        EXPECT_TRUE(store_->CompleteJob((*job)->id, "w" + std::to_string(w)).ok());
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(claimed.size(), 60u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 60u);
  EXPECT_EQ(store_->CountJobs()->done, 60);
}

MOAT_STORE_TEST_SUITE(StoreTest);

}  // namespace
}  // namespace moat::server
