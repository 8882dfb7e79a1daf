// The store on both SQLite and a private PostgreSQL: every test body runs on each.

#include "server/store/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/vulnerability.h"
#include "server/in_use.h"
#include "server/store/schema.h"
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
  EXPECT_EQ(page->items[1].last_seen, 1000);  // by the scan before the one it vanished in
  EXPECT_EQ(store_->ListFindings({}, FindingSort::kSeverity, {})->items.size(), 1u);  // open only
  ASSERT_TRUE(store_
                  ->SaveImageScan("sha256:x", "", "", "{}", {},
                                  {Vuln("CVE-1", "CRITICAL", 9.8), Vuln("CVE-2", "LOW", 2)}, 3000)
                  .ok());
  auto reopened = store_->ListFindings({}, FindingSort::kSeverity, {});
  ASSERT_EQ(reopened->items.size(), 2u);
  EXPECT_EQ(reopened->items[0].last_seen, 3000);  // unchanged, seen by the last scan
  EXPECT_EQ(reopened->items[1].resolved_at, 0);
  EXPECT_EQ(reopened->items[1].first_seen, 1000);
  EXPECT_EQ(reopened->items[1].last_seen, 3000);
}

TEST_P(StoreTest, TrendKeepsEachDaysLastSnapshotAndCountsTheFindingsFlowPerDay) {
  ASSERT_TRUE(store_->RecordDailyStats("2026-11-30", {{"score.percent", 40}}).ok());
  ASSERT_TRUE(
      store_->RecordDailyStats("2026-12-01", {{"score.percent", 50}, {"findings.open.HIGH", 3}})
          .ok());
  ASSERT_TRUE(store_->RecordDailyStats("2026-12-01", {{"score.percent", 60}}).ok());
  auto stats = store_->ListDailyStats("2026-12-01", "2026-12-31");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  ASSERT_EQ(stats->size(), 2u);  // the 30th is outside; the 1st keeps both names
  EXPECT_EQ((*stats)[0].name, "findings.open.HIGH");
  EXPECT_EQ((*stats)[0].value, 3);
  EXPECT_EQ((*stats)[1].name, "score.percent");
  EXPECT_EQ((*stats)[1].value, 60);  // the later snapshot of the day replaced the earlier

  // 2026-12-01T00:00:00Z; two findings appear that day, one is resolved the next day.
  constexpr int64_t kDec1 = 1796083200;
  ASSERT_TRUE(store_
                  ->SaveImageScan("sha256:t", "", "", "{}", {},
                                  {Vuln("CVE-1", "HIGH", 7), Vuln("CVE-2", "LOW", 2)}, kDec1 + 60)
                  .ok());
  ASSERT_TRUE(store_
                  ->SaveImageScan("sha256:t", "", "", "{}", {}, {Vuln("CVE-1", "HIGH", 7)},
                                  kDec1 + 86400 + 5)
                  .ok());
  auto flow = store_->FindingsFlowByDay(kDec1 - 86400, kDec1 + 3 * 86400);
  ASSERT_TRUE(flow.ok()) << flow.error().message;
  ASSERT_EQ(flow->size(), 2u);
  EXPECT_EQ((*flow)[0].day, "2026-12-01");
  EXPECT_EQ((*flow)[0].first_seen, 2);
  EXPECT_EQ((*flow)[0].resolved, 0);
  EXPECT_EQ((*flow)[1].day, "2026-12-02");
  EXPECT_EQ((*flow)[1].first_seen, 0);
  EXPECT_EQ((*flow)[1].resolved, 1);
  EXPECT_TRUE(store_->FindingsFlowByDay(kDec1 + 2 * 86400, kDec1 + 3 * 86400)->empty());
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

// In use: a sensor's export maps each container's files to its image's packages (the file
// index kept beside the inventory); a container the host report lists counts while it runs,
// with the image the report gives; each export replaces the agent's marks; a re-match keeps
// them; the in-use sort puts them first and pages through the same rows.
TEST_P(StoreTest, InUseExportsMarkTheFindingsOfThePackagesThatRun) {
  ASSERT_TRUE(store_->RegisterAgent("h", "host", "0.1", "h", 1).ok());
  Inventory inventory;
  Package libssl, curl;
  libssl.name = "libssl3";
  curl.name = "curl";
  inventory.packages = {libssl, curl};
  inventory.os_package_files = {{"libssl3", {"/usr/lib/x86_64-linux-gnu/libssl.so.3"}},
                                {"curl", {"/usr/bin/curl"}}};
  std::vector<FindingRecord> findings = {Vuln("CVE-1", "HIGH", 7.5, "libssl3"),
                                         Vuln("CVE-2", "CRITICAL", 9.8, "curl"),
                                         Vuln("CVE-3", "LOW", 2.0, "curl")};
  for (auto& f : findings) f.category = "deb";
  for (const std::string digest : {"sha256:run", "sha256:other"}) {
    ASSERT_TRUE(
        store_->SaveImageScan(digest, "", "", R"({"packages": []})", {}, findings, 10).ok());
    ASSERT_TRUE(store_->SaveImageFiles(digest, PackageFilesIndex(inventory)).ok());
  }
  int64_t seq = 0;
  auto send = [&](std::vector<ContainerRecord> containers, std::vector<InUseContainer> in_use) {
    ++seq;
    return store_->ApplyAgentMessages(
        "h", {{seq, "in_use", "{}"}}, 20 + seq,
        [&](SqlConnection& sql, const Store::AgentMessage&) -> Result<void> {
          HostRecord host;
          host.id = "h";
          MOAT_TRY(Store::SaveHostReport(sql, host, containers, {}, 20 + seq));
          return Store::SaveInUse(sql, "h", InUseReport{"node-1", in_use}, 20 + seq);
        });
  };
  auto in_use_of = [&](const std::string& digest) {
    FindingFilter filter;
    filter.resource_id = digest;
    filter.in_use = true;
    std::vector<std::string> ids;
    auto listed = store_->ListFindings(filter, FindingSort::kSeverity, {});
    EXPECT_TRUE(listed.ok()) << listed.error().message;
    if (listed.ok()) {
      for (const auto& f : listed->items) ids.push_back(f.finding_id);
    }
    return ids;
  };
  using Ids = std::vector<std::string>;
  // The report names the container's image; the sensor's own digest for it is not used.
  ContainerRecord web{"h", "c1", "web", "reg/web:1", "sha256:id1", "sha256:run", "running", ""};
  ASSERT_TRUE(send({web}, {{"c1", "sha256:other", {"/lib/x86_64-linux-gnu/libssl.so.3"}}}).ok());
  EXPECT_EQ(in_use_of("sha256:run"), Ids{"CVE-1"});
  EXPECT_EQ(in_use_of("sha256:other"), Ids{});
  // In use first, then by severity; pages of one row walk the same order.
  FindingFilter image;
  image.resource_id = "sha256:run";
  Ids order;
  PageRequest page{1, ""};
  do {
    auto listed = store_->ListFindings(image, FindingSort::kInUse, page);
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    for (const auto& f : listed->items) order.push_back(f.finding_id);
    page.cursor = listed->next_cursor;
  } while (!page.cursor.empty());
  EXPECT_EQ(order, (Ids{"CVE-1", "CVE-2", "CVE-3"}));
  // A re-match (findings written again, none marked by the scan) keeps the mark.
  ASSERT_TRUE(store_->SaveImageScan("sha256:run", "", "", "{}", {}, findings, 30).ok());
  EXPECT_EQ(in_use_of("sha256:run"), Ids{"CVE-1"});
  // A container the report does not list counts by the sensor's digest; a stopped one not at all.
  web.state = "exited";
  ASSERT_TRUE(send({web}, {{"c1", "", {"/usr/lib/x86_64-linux-gnu/libssl.so.3"}},
                           {"pod-1", "sha256:other", {"/usr/bin/curl"}}})
                  .ok());
  EXPECT_EQ(in_use_of("sha256:run"), Ids{});
  EXPECT_EQ(in_use_of("sha256:other"), (Ids{"CVE-2", "CVE-3"}));
  // An export with nothing running clears the agent's marks.
  ASSERT_TRUE(send({}, {}).ok());
  EXPECT_EQ(in_use_of("sha256:other"), Ids{});
  EXPECT_TRUE(Raw("SELECT * FROM packages_in_use").rows.empty());
}

StoredAlert TestAlert(const std::string& rule, int64_t time_ns, const std::string& container) {
  StoredAlert a;
  a.rule = rule;
  a.priority = "Critical";
  a.time_ns = time_ns;
  a.container_id = container;
  a.dedupe_key = rule + "|" + container;
  a.incident_key = "container:" + container;
  a.body = "{}";
  return a;
}

TEST_P(StoreTest, ClusterReportReplacesWorkloadsAndResolvesTheFindingsOfVanishedOnes) {
  ASSERT_TRUE(store_->RegisterAgent("prod", "cluster", "0.1", "agent-pod", 1).ok());
  auto workload = [](const std::string& ns, const std::string& kind, const std::string& name,
                     std::vector<WorkloadContainerRecord> containers) {
    WorkloadRecord w;
    w.id = "prod/" + ns + "/" + kind + "/" + name;
    w.cluster_id = "prod";
    w.namespace_name = ns;
    w.kind = kind;
    w.name = name;
    w.containers = std::move(containers);
    return w;
  };
  auto finding = [](const std::string& workload_id, const std::string& check,
                    const std::string& severity) {
    FindingRecord f;
    f.resource_kind = "workload";
    f.resource_id = workload_id;
    f.source = "k8s";
    f.finding_id = check;
    f.severity = severity;
    return f;
  };
  const std::string digest_cart = "sha256:" + std::string(64, 'c');
  const std::string digest_debug = "sha256:" + std::string(64, 'd');
  ClusterReport report;
  report.cluster.id = report.cluster.name = "prod";
  report.cluster.uid = "a3b7e0c2";
  report.cluster.agent_id = "prod";
  report.cluster.checks_failed = 3;
  report.namespaces = {"default", "kube-system", "shop"};
  report.workloads = {
      workload("shop", "Deployment", "cart", {{"cart", "r/cart:1", digest_cart, false}}),
      workload("shop", "Pod", "debug", {{"debug", "busybox", digest_debug, false}}),
      workload("shop", "Deployment", "catalog",
               {{"migrate", "r/catalog:1", "", true}, {"catalog", "r/catalog:1", "", false}}),
      workload("", "ClusterRoleBinding", "ci-admin", {})};
  report.findings = {
      finding("prod/shop/Deployment/cart", "wl-privileged", "HIGH"),
      finding("prod/shop/Pod/debug", "pss-baseline-host-namespaces", "HIGH"),
      finding("prod/shop/Pod/debug", "wl-cpu-limits", "MEDIUM"),
      finding("prod//ClusterRoleBinding/ci-admin", "rbac-cluster-admin-binding", "CRITICAL")};
  auto save = [&](const ClusterReport& r, int64_t seq, int64_t time) {
    return store_->ApplyAgentMessages(
        "prod", {{seq, "cluster_report", "{}"}}, time,
        [&](SqlConnection& sql, const Store::AgentMessage&) -> Result<void> {
          return Store::SaveClusterReport(sql, r, time);
        });
  };
  ASSERT_TRUE(save(report, 1, 100).ok());

  auto clusters = store_->ListClusters();
  ASSERT_TRUE(clusters.ok()) << clusters.error().message;
  ASSERT_EQ(clusters->size(), 1u);
  EXPECT_EQ((*clusters)[0].uid, "a3b7e0c2");
  EXPECT_EQ((*clusters)[0].workloads, 4);
  EXPECT_EQ((*clusters)[0].findings.critical, 1);
  EXPECT_EQ((*clusters)[0].findings.high, 2);
  EXPECT_EQ((*clusters)[0].findings.medium, 1);
  auto cluster = store_->GetCluster("prod");
  ASSERT_TRUE(cluster.ok() && cluster->has_value());
  EXPECT_EQ((*cluster)->workloads_by_kind["Deployment"], 2);
  // The namespaces, and "" for the cluster-scoped objects.
  std::vector<std::string> names;
  for (const auto& n : (*cluster)->namespaces) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"", "default", "kube-system", "shop"}));
  EXPECT_EQ((*cluster)->namespaces[3].workloads, 3);
  EXPECT_EQ((*cluster)->namespaces[3].findings.high, 2);
  EXPECT_FALSE(store_->GetCluster("staging")->has_value());

  // Running images: the ones with a digest, to be scanned once and rescanned daily.
  EXPECT_EQ(*store_->RunningImageDigests(), (std::vector<std::string>{digest_cart, digest_debug}));
  auto image = store_->GetImage(digest_cart);
  ASSERT_TRUE(image.ok() && image->has_value());
  EXPECT_EQ((*image)->last_seen_running, 100);

  // Listing: filters, containers (init first) and finding counts, pages in id order.
  WorkloadFilter shop_deployments{"prod", "shop", "Deployment"};
  auto deployments = store_->ListWorkloads(shop_deployments, {});
  ASSERT_TRUE(deployments.ok()) << deployments.error().message;
  ASSERT_EQ(deployments->items.size(), 2u);
  EXPECT_EQ(deployments->items[0].id, "prod/shop/Deployment/cart");
  EXPECT_EQ(deployments->items[0].findings.high, 1);
  ASSERT_EQ(deployments->items[1].containers.size(), 2u);
  EXPECT_TRUE(deployments->items[1].containers[0].init);
  EXPECT_EQ(deployments->items[1].containers[0].name, "migrate");
  PageRequest page;
  page.limit = 3;
  auto first = store_->ListWorkloads({}, page);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 3u);
  ASSERT_FALSE(first->next_cursor.empty());
  page.cursor = first->next_cursor;
  auto second = store_->ListWorkloads({}, page);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_TRUE(second->next_cursor.empty());
  EXPECT_EQ(second->items[0].id, "prod/shop/Pod/debug");
  page.cursor = "c:1:2";  // a findings cursor
  EXPECT_FALSE(store_->ListWorkloads({}, page).ok());

  // The next report: the debug pod is gone, the cart keeps its finding (first seen kept), the
  // binding is fixed.
  ClusterReport next = report;
  next.workloads.erase(next.workloads.begin() + 1);
  next.findings = {report.findings[0]};
  ASSERT_TRUE(save(next, 2, 200).ok());
  FindingFilter open;
  open.resource_kind = "workload";
  auto remaining = store_->ListFindings(open, FindingSort::kSeverity, {});
  ASSERT_TRUE(remaining.ok());
  ASSERT_EQ(remaining->items.size(), 1u);
  EXPECT_EQ(remaining->items[0].resource_id, "prod/shop/Deployment/cart");
  EXPECT_EQ(remaining->items[0].first_seen, 100);
  FindingFilter debug;
  debug.resource_id = "prod/shop/Pod/debug";
  debug.include_resolved = true;
  auto resolved = store_->ListFindings(debug, FindingSort::kSeverity, {});
  ASSERT_EQ(resolved->items.size(), 2u);
  for (const auto& f : resolved->items) EXPECT_EQ(f.resolved_at, 200);
  EXPECT_EQ(*store_->RunningImageDigests(), std::vector<std::string>{digest_cart});
  EXPECT_EQ((*store_->ListClusters())[0].workloads, 3);
}

// The admission audit of a cluster report replaces the earlier results; a report without one
// keeps them. Listings filter by action and namespace and page in the report's order.
TEST_P(StoreTest, ClusterAdmissionAuditIsReplacedByTheNextAuditAndListedInPages) {
  ASSERT_TRUE(store_->RegisterAgent("prod", "cluster", "0.1", "agent-pod", 1).ok());
  auto result = [](const std::string& ns, const std::string& kind, const std::string& name,
                   const std::string& policy, const std::string& action) {
    return AdmissionAuditRecord{0, ns, kind, name, policy, action, "spec", policy + " failed"};
  };
  ClusterReport report;
  report.cluster.id = report.cluster.name = "prod";
  report.cluster.agent_id = "prod";
  report.has_admission_audit = true;
  report.admission_audit = {
      result("shop", "Deployment", "cart", "pss-baseline-privileged", "deny"),
      result("shop", "Pod", "debug", "pss-baseline-host-namespaces", "warn"),
      result("shop", "Pod", "debug", "pss-baseline-privileged", "deny"),
      result("web", "Deployment", "front", "wl-cpu-limits", "audit"),
      result("", "ClusterRoleBinding", "ci-admin", "rbac-cluster-admin-binding", "deny")};
  int64_t seq = 0;
  auto save = [&](const ClusterReport& r, int64_t time) {
    ++seq;
    return store_->ApplyAgentMessages(
        "prod", {{seq, "cluster_report", "{}"}}, time,
        [&](SqlConnection& sql, const Store::AgentMessage&) -> Result<void> {
          return Store::SaveClusterReport(sql, r, time);
        });
  };
  // Before any audit: no results, no time.
  ClusterReport without = report;
  without.has_admission_audit = false;
  without.admission_audit.clear();
  ASSERT_TRUE(save(without, 50).ok());
  auto cluster = store_->GetCluster("prod");
  ASSERT_TRUE(cluster.ok() && cluster->has_value());
  EXPECT_EQ((*cluster)->admission_audited_at, 0);
  EXPECT_EQ((*cluster)->admission_by_action["deny"], 0);

  ASSERT_TRUE(save(report, 100).ok());
  cluster = store_->GetCluster("prod");
  EXPECT_EQ((*cluster)->admission_audited_at, 100);
  EXPECT_EQ((*cluster)->admission_by_action,
            (std::map<std::string, int64_t>{{"audit", 1}, {"deny", 3}, {"warn", 1}}));
  auto names = [](const Page<AdmissionAuditRecord>& page) {
    std::vector<std::string> out;
    for (const auto& r : page.items) out.push_back(r.name + ":" + r.policy);
    return out;
  };
  auto denied = store_->ListAdmissionAudit({"prod", "deny", ""}, {});
  ASSERT_TRUE(denied.ok()) << denied.error().message;
  EXPECT_EQ(names(*denied), (std::vector<std::string>{"cart:pss-baseline-privileged",
                                                      "debug:pss-baseline-privileged",
                                                      "ci-admin:rbac-cluster-admin-binding"}));
  EXPECT_EQ(denied->items[0].message, "pss-baseline-privileged failed");
  EXPECT_EQ(denied->items[2].namespace_name, "");
  auto shop = store_->ListAdmissionAudit({"prod", "", "shop"}, {});
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(shop->items.size(), 3u);
  auto shop_warnings = store_->ListAdmissionAudit({"prod", "warn", "shop"}, {});
  ASSERT_EQ(shop_warnings->items.size(), 1u);
  EXPECT_EQ(shop_warnings->items[0].policy, "pss-baseline-host-namespaces");
  EXPECT_TRUE(store_->ListAdmissionAudit({"staging", "", ""}, {})->items.empty());
  // Pages of two cover every result once, in the report's order.
  PageRequest page;
  page.limit = 2;
  std::vector<std::string> paged;
  do {
    auto part = store_->ListAdmissionAudit({"prod", "", ""}, page);
    ASSERT_TRUE(part.ok()) << part.error().message;
    for (const auto& name : names(*part)) paged.push_back(name);
    page.cursor = part->next_cursor;
  } while (!page.cursor.empty());
  EXPECT_EQ(paged.size(), 5u);
  EXPECT_EQ(paged.front(), "cart:pss-baseline-privileged");
  EXPECT_EQ(paged.back(), "ci-admin:rbac-cluster-admin-binding");
  page.cursor = "x:prod/shop:0";  // a workloads cursor
  EXPECT_FALSE(store_->ListAdmissionAudit({"prod", "", ""}, page).ok());

  // A report without an audit (the modes could not be fetched) keeps the results.
  ASSERT_TRUE(save(without, 150).ok());
  EXPECT_EQ(store_->ListAdmissionAudit({"prod", "", ""}, {})->items.size(), 5u);
  EXPECT_EQ((*store_->GetCluster("prod"))->admission_audited_at, 100);
  // The next audit replaces them: the cart was fixed, a mode changed from deny to warn.
  ClusterReport next = report;
  next.admission_audit = {result("shop", "Pod", "debug", "pss-baseline-privileged", "warn")};
  ASSERT_TRUE(save(next, 200).ok());
  auto all = store_->ListAdmissionAudit({"prod", "", ""}, {});
  ASSERT_EQ(all->items.size(), 1u);
  EXPECT_EQ(all->items[0].action, "warn");
  cluster = store_->GetCluster("prod");
  EXPECT_EQ((*cluster)->admission_audited_at, 200);
  EXPECT_EQ((*cluster)->admission_by_action,
            (std::map<std::string, int64_t>{{"audit", 0}, {"deny", 0}, {"warn", 1}}));
  // An audit that finds nothing clears them.
  next.admission_audit.clear();
  ASSERT_TRUE(save(next, 300).ok());
  EXPECT_TRUE(store_->ListAdmissionAudit({"prod", "", ""}, {})->items.empty());
}

TEST_P(StoreTest, AlertsDeduplicateAndCorrelateIntoIncidents) {
  const int64_t s = 1'000'000'000;
  Store::AlertWindows windows{60 * s, 1800 * s};
  auto ids =
      store_->InsertAlerts({TestAlert("shell", 1000 * s, "c1"), TestAlert("shell", 1010 * s, "c1"),
                            TestAlert("miner", 1020 * s, "c1"), TestAlert("shell", 1030 * s, "c2"),
                            TestAlert("shell", 5000 * s, "c1")},
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
  auto again = store_->InsertAlerts({TestAlert("shell", 1040 * s, "c1")}, windows);
  EXPECT_NE((*again)[0], (*ids)[0]);
}

// A batch is decided in memory: duplicates of a row created earlier in the same batch, an
// incident opened earlier in the batch, and rows stored by an earlier batch.
TEST_P(StoreTest, AlertBatchCountsAndCorrelatesWithinItself) {
  const int64_t s = 1'000'000'000;
  Store::AlertWindows windows{60 * s, 1800 * s};
  std::vector<bool> created;
  auto ids =
      store_->InsertAlerts({TestAlert("shell", 1000 * s, "c1"), TestAlert("shell", 1005 * s, "c1"),
                            TestAlert("shell", 1001 * s, "c1"), TestAlert("miner", 1010 * s, "c1"),
                            TestAlert("shell", 1100 * s, "c1"), TestAlert("shell", 1000 * s, "c2")},
                           windows, &created);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(created, (std::vector<bool>{true, false, false, true, true, true}));
  EXPECT_EQ((*ids)[1], (*ids)[0]);
  EXPECT_EQ((*ids)[2], (*ids)[0]);
  EXPECT_NE((*ids)[4], (*ids)[0]);  // 1100 s is past 60 s after the last duplicate (1005 s)
  const auto shell = *store_->GetAlert((*ids)[0]);
  EXPECT_EQ(shell->count, 3);
  EXPECT_EQ(shell->time_ns, 1000 * s);
  EXPECT_EQ(shell->last_time_ns, 1005 * s);  // an out-of-order duplicate does not move it back
  EXPECT_EQ(shell->incident_id, (*ids)[0]);  // opened its incident
  EXPECT_EQ((*store_->GetAlert((*ids)[3]))->incident_id, (*ids)[0]);
  EXPECT_EQ((*store_->GetAlert((*ids)[4]))->incident_id, (*ids)[0]);
  EXPECT_EQ((*store_->GetAlert((*ids)[5]))->incident_id, (*ids)[5]);
  EXPECT_EQ((*store_->GetAlert((*ids)[4]))->count, 1);

  // The next batch counts into the newest stored row and joins the stored incident.
  auto next = store_->InsertAlerts(
      {TestAlert("shell", 1120 * s, "c1"), TestAlert("shell", 1130 * s, "c1"),
       TestAlert("exfil", 1200 * s, "c1"), TestAlert("exfil", 1200 * s + 1800 * s + 1, "c1")},
      windows, &created);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(created, (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ((*next)[0], (*ids)[4]);
  EXPECT_EQ((*next)[1], (*ids)[4]);
  const auto newest = *store_->GetAlert((*ids)[4]);
  EXPECT_EQ(newest->count, 3);
  EXPECT_EQ(newest->last_time_ns, 1130 * s);
  EXPECT_EQ((*store_->GetAlert((*next)[2]))->incident_id, (*ids)[0]);
  EXPECT_EQ((*store_->GetAlert((*next)[3]))->incident_id, (*next)[3]);  // past the window
  EXPECT_EQ((*store_->GetAlert((*ids)[0]))->count, 3);                  // untouched
}

// A batch larger than one statement's rows (split into several multi-row statements) gives
// exactly what storing its alerts one at a time gives: the same ids up to numbering, counts,
// times and incidents, with duplicates and incidents that cross the statements' boundaries and
// out-of-order times.
TEST_P(StoreTest, LargeAlertBatchEqualsOneAlertAtATime) {
  const int64_t s = 1'000'000'000;
  Store::AlertWindows windows{60 * s, 300 * s};
  auto sequence = [&](const std::string& prefix) {
    std::vector<StoredAlert> alerts;
    uint32_t random = 12345;
    const char* rules[] = {"shell", "miner", "exfil", "ptrace", "mount"};
    for (int i = 0; i < 1500; ++i) {
      random = random * 1103515245 + 12345;
      const int64_t jitter = static_cast<int64_t>((random >> 8) % 20);  // up to 20 s early
      alerts.push_back(TestAlert(rules[(random >> 4) % 5], (i - jitter) * s,
                                 prefix + std::to_string((random >> 12) % 13)));
    }
    return alerts;
  };
  // Ids renumbered by first appearance, so that the two runs compare.
  struct Run {
    std::vector<int64_t> ids;
    std::vector<bool> created;
  };
  auto renumber = [](const std::vector<int64_t>& ids) {
    std::map<int64_t, int64_t> order;
    for (int64_t id : ids) order.emplace(id, static_cast<int64_t>(order.size()));
    return order;
  };
  auto rows = [&](const Run& run) {
    auto order = renumber(run.ids);
    std::set<std::vector<int64_t>> out;
    for (const auto& row :
         Raw("SELECT id, count, time_ns, last_time_ns, incident_id FROM alerts").rows) {
      if (!order.count(row.Int(0))) continue;  // the other run's
      EXPECT_TRUE(order.count(row.Int(4))) << "incident " << row.Int(4) << " not of this run";
      out.insert({order[row.Int(0)], row.Int(1), row.Int(2), row.Int(3), order[row.Int(4)]});
    }
    return out;
  };
  auto append = [](Run& run, const std::vector<int64_t>& ids, const std::vector<bool>& created) {
    run.ids.insert(run.ids.end(), ids.begin(), ids.end());
    run.created.insert(run.created.end(), created.begin(), created.end());
  };

  const auto batch_alerts = sequence("b");
  Run batched;
  for (auto [first, last] : {std::pair<size_t, size_t>{0, 600}, {600, 1500}}) {
    std::vector<bool> created;
    auto ids = store_->InsertAlerts(
        std::vector<StoredAlert>(batch_alerts.begin() + first, batch_alerts.begin() + last),
        windows, &created);
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    append(batched, *ids, created);
  }
  Run single;
  for (const auto& alert : sequence("s")) {
    std::vector<bool> created;
    auto ids = store_->InsertAlerts({alert}, windows, &created);
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    append(single, *ids, created);
  }

  auto order = renumber(batched.ids);
  auto single_order = renumber(single.ids);
  std::vector<int64_t> batched_ids, single_ids;
  for (int64_t id : batched.ids) batched_ids.push_back(order[id]);
  for (int64_t id : single.ids) single_ids.push_back(single_order[id]);
  EXPECT_EQ(batched_ids, single_ids);
  EXPECT_EQ(batched.created, single.created);
  const auto batched_rows = rows(batched);
  EXPECT_EQ(batched_rows, rows(single));
  // The sequence exercises what it is meant to: duplicates, shared incidents, over 256 rows.
  EXPECT_GT(batched_rows.size(), 600u);
  EXPECT_LT(batched_rows.size(), 1400u);
  std::set<int64_t> incidents;
  for (const auto& row : batched_rows) incidents.insert(row[4]);
  EXPECT_LT(incidents.size(), batched_rows.size() / 2);
}

TEST_P(StoreTest, JobsAreClaimedOnceAndLeasesExpire) {
  EXPECT_TRUE(*store_->EnqueueJob("scan", "scan:a", "{}", 0));
  EXPECT_FALSE(*store_->EnqueueJob("scan", "scan:a", "{}", 0));  // one pending per key
  EXPECT_TRUE(*store_->EnqueueJob("scan", "scan:b", "{}", 0));
  auto a = store_->ClaimJob("w1", 60, 100, 4);
  ASSERT_TRUE(a.ok() && a->has_value()) << (a.ok() ? "" : a.error().message);
  auto b = store_->ClaimJob("w2", 60, 100, 4);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_NE((*a)->id, (*b)->id);
  EXPECT_FALSE(store_->ClaimJob("w3", 60, 100, 4)->has_value());
  // w1 dies: after its lease, w3 gets the job; w1's late completion does not count.
  auto retaken = store_->ClaimJob("w3", 60, 200, 4);
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
  auto next = store_->ClaimJob("w2", 60, 149, 4);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->key, "scan:a");  // scan:b waits for its retry time
  EXPECT_FALSE(store_->ClaimJob("w2", 60, 149, 4)->has_value());
  auto retry = store_->ClaimJob("w2", 60, 151, 4);
  ASSERT_TRUE(retry.ok() && retry->has_value());
  EXPECT_EQ((*retry)->key, "scan:b");
  EXPECT_EQ((*retry)->attempts, 2);
  ASSERT_TRUE(store_->FailJob((*retry)->id, "w2", "still down", 200, 2).ok());
  EXPECT_EQ(store_->CountJobs()->failed, 1);
  auto after = store_->ClaimJob("w2", 60, 1000, 4);  // only scan:a's lease-expired run is left
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->key, "scan:a");
  EXPECT_FALSE(store_->ClaimJob("w2", 60, 1000, 4)->has_value());  // a failed job stays failed
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
        auto job = store_->ClaimJob("w" + std::to_string(w), 600, 10, 4);
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

// A renewed lease keeps the job; once another worker has taken it over, the first worker's
// result (scan or failure) is not applied: one result per job.
TEST_P(StoreTest, OnlyTheLeaseHolderAppliesAJobsResult) {
  ASSERT_TRUE(*store_->EnqueueJob("scan", "scan:sha256:x", "{}", 0));
  auto first = store_->ClaimJob("w1", 10, 100, 4);
  ASSERT_TRUE(first.ok() && first->has_value());
  const JobLease w1{(*first)->id, "w1"};
  EXPECT_TRUE(*store_->RenewJobLease(w1, 130));  // a slow scan, still alive
  EXPECT_FALSE(store_->ClaimJob("w2", 10, 120, 4)->has_value());
  // w1 stops renewing (stopped, dead): after 130 the job is w2's.
  auto second = store_->ClaimJob("w2", 10, 131, 4);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->attempts, 2);
  const JobLease w2{(*second)->id, "w2"};
  EXPECT_FALSE(*store_->RenewJobLease(w1, 200));
  auto late = store_->SaveImageScan("sha256:x", "", "", "{\"late\":1}", {{"npm", "a"}},
                                    {Vuln("CVE-1", "HIGH", 7)}, 140, &w1);
  ASSERT_TRUE(late.ok()) << late.error().message;
  EXPECT_FALSE(*late);
  EXPECT_FALSE(*store_->SaveImageScanFailure("sha256:x", "pull failed", 140, &w1));
  EXPECT_FALSE(store_->GetImage("sha256:x")->has_value());  // nothing of w1's was written
  auto saved = store_->SaveImageScan("sha256:x", "", "", "{}", {{"npm", "b"}}, {}, 141, &w2);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_TRUE(*saved);
  EXPECT_EQ(store_->CountJobs()->done, 1);                 // marked done with the result
  ASSERT_TRUE(store_->CompleteJob(w2.job_id, "w2").ok());  // and completing again is a no-op
  EXPECT_EQ(store_->CountJobs()->done, 1);
  EXPECT_EQ(*store_->ImagesWithPackage("npm", "b"), std::vector<std::string>{"sha256:x"});
  EXPECT_TRUE(store_->ImagesWithPackage("npm", "a")->empty());
  // A failure reported later (a retried push that could not be pulled) keeps the inventory.
  ASSERT_TRUE(store_->SaveImageScanFailure("sha256:x", "registry down", 150).ok());
  EXPECT_EQ((*store_->GetImage("sha256:x"))->scan_status, "scanned");
}

// A job whose every worker died during it is failed after max_attempts expired leases, not
// handed out for ever.
TEST_P(StoreTest, AJobThatOutlivesEveryLeaseFailsAfterMaxAttempts) {
  ASSERT_TRUE(*store_->EnqueueJob("scan", "scan:poison", "{}", 0));
  ASSERT_TRUE(store_->ClaimJob("w1", 10, 1000, 2)->has_value());
  auto again = store_->ClaimJob("w2", 10, 1011, 2);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->attempts, 2);
  EXPECT_FALSE(store_->ClaimJob("w3", 10, 1022, 2)->has_value());
  EXPECT_EQ(store_->CountJobs()->failed, 1);
  auto error = Raw("SELECT last_error FROM jobs WHERE job_key = 'scan:poison'");
  ASSERT_EQ(error.rows.size(), 1u);
  EXPECT_NE(error.rows[0].Text(0).find("the lease expired 2 times"), std::string::npos)
      << error.rows[0].Text(0);
}

// A batch of re-match results stored in one transaction leaves the store as storing each image's
// result one at a time does: the same findings (first seen, last seen, resolved), package index
// and images; the stored inventory is not rewritten; a deleted image is not brought back, and a
// job taken over by another worker applies nothing.
TEST_P(StoreTest, BatchedMatchResultsEqualOneAtATime) {
  // Three images scanned at 100, then re-matched at 200: one gains a CVE and loses one, one is
  // unchanged, one loses its package index entry "npm/b".
  auto scan = [&](Store& store) {
    ASSERT_TRUE(store
                    .SaveImageScan("sha256:a", "debian 12", "linux/amd64", "{\"a\":1}",
                                   {{"debian:12", "openssl"}},
                                   {Vuln("CVE-1", "HIGH", 7), Vuln("CVE-2", "LOW", 2)}, 100)
                    .ok());
    ASSERT_TRUE(store
                    .SaveImageScan("sha256:b", "debian 12", "linux/amd64", "{\"b\":1}",
                                   {{"debian:12", "zlib"}}, {Vuln("CVE-3", "MEDIUM", 5, "zlib")},
                                   100)
                    .ok());
    ASSERT_TRUE(
        store.SaveImageScan("sha256:c", "", "", "{\"c\":1}", {{"npm", "a"}, {"npm", "b"}}, {}, 100)
            .ok());
  };
  const std::vector<Store::ImageMatch> rematch = {
      {0,
       "sha256:a",
       {{"debian:12", "openssl"}},
       {Vuln("CVE-1", "CRITICAL", 9.8), Vuln("CVE-4", "HIGH", 8)}},
      {0, "sha256:b", {{"debian:12", "zlib"}}, {Vuln("CVE-3", "MEDIUM", 5, "zlib")}},
      {0, "sha256:c", {{"npm", "a"}}, {Vuln("CVE-5", "LOW", 1, "a")}},
      {0, "sha256:gone", {{"npm", "a"}}, {Vuln("CVE-6", "LOW", 1, "a")}}};
  auto snapshot = [](Store& store) {
    std::vector<std::string> rows;
    auto sql = store.pool().Acquire();
    auto findings = sql->Query(
        "SELECT resource_id, finding_id, package, severity, cvss, first_seen, last_seen, "
        "resolved_at FROM findings ORDER BY resource_id, finding_id");
    EXPECT_TRUE(findings.ok());
    for (const auto& row : findings->rows) {
      rows.push_back(row.Text(0) + " " + row.Text(1) + " " + row.Text(2) + " " + row.Text(3) + " " +
                     std::to_string(row.Real(4)) + " " + std::to_string(row.Int(5)) + " " +
                     std::to_string(row.Int(6)) + " " + std::to_string(row.Int(7)));
    }
    auto index = sql->Query("SELECT digest, ecosystem, name FROM image_packages ORDER BY 1, 2, 3");
    for (const auto& row : index->rows) {
      rows.push_back("index " + row.Text(0) + " " + row.Text(1) + " " + row.Text(2));
    }
    auto images = sql->Query(
        "SELECT i.digest, i.os, i.scan_status, i.scanned_at, i.package_count, v.inventory FROM "
        "images i LEFT JOIN image_inventories v ON v.digest = i.digest ORDER BY i.digest");
    for (const auto& row : images->rows) {
      rows.push_back("image " + row.Text(0) + " " + row.Text(1) + " " + row.Text(2) + " " +
                     std::to_string(row.Int(3)) + " " + std::to_string(row.Int(4)) + " " +
                     row.Text(5));
    }
    return rows;
  };

  // One at a time, as match jobs were stored before batching (each image's inventory as it was).
  scan(*store_);
  const std::map<std::string, std::string> inventories = {
      {"sha256:a", "{\"a\":1}"}, {"sha256:b", "{\"b\":1}"}, {"sha256:c", "{\"c\":1}"}};
  for (const auto& match : rematch) {
    if (!inventories.count(match.digest)) continue;  // deleted: nothing to match
    auto image = store_->GetImage(match.digest);
    ASSERT_TRUE(store_
                    ->SaveImageScan(match.digest, (*image)->os, (*image)->platform,
                                    inventories.at(match.digest), match.packages, match.findings,
                                    200)
                    .ok());
  }
  const auto one_at_a_time = snapshot(*store_);

  // Batched, from the same start, through claimed jobs.
  {
    auto sql = store_->pool().Acquire();
    ASSERT_TRUE(sql->ExecScript("DELETE FROM findings; DELETE FROM image_packages; DELETE FROM "
                                "image_inventories; DELETE FROM images; DELETE FROM jobs")
                    .ok());
  }
  Store* batched_store = store_.get();
  scan(*batched_store);
  std::vector<std::pair<std::string, std::string>> jobs;
  for (const auto& match : rematch) jobs.emplace_back("match:" + match.digest, "{}");
  jobs.emplace_back("match:sha256:a", "{}");  // already queued: skipped
  EXPECT_EQ(*batched_store->EnqueueJobs("match", jobs, 0), 4u);
  ASSERT_TRUE(*batched_store->EnqueueJob("scan", "scan:sha256:z", "{}", 0));
  auto claimed = batched_store->ClaimJobs("w1", 60, 150, 4, "match", 10);
  ASSERT_TRUE(claimed.ok()) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 4u);  // the scan job is not a match
  std::vector<Store::ImageMatch> batch = rematch;
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*claimed)[i].key, "match:" + batch[i].digest);
    batch[i].job_id = (*claimed)[i].id;
  }
  auto inventories_read =
      batched_store->ImageInventories({"sha256:a", "sha256:b", "sha256:c", "sha256:gone"});
  ASSERT_TRUE(inventories_read.ok()) << inventories_read.error().message;
  EXPECT_EQ(*inventories_read, inventories);
  // w2 takes the last job over after w1's lease: w1's result for it is dropped.
  ASSERT_TRUE(*batched_store->RenewJobLease({(*claimed)[0].id, "w1"}, 1000));
  ASSERT_TRUE(*batched_store->RenewJobLease({(*claimed)[1].id, "w1"}, 1000));
  ASSERT_TRUE(*batched_store->RenewJobLease({(*claimed)[2].id, "w1"}, 1000));
  auto taken = batched_store->ClaimJobs("w2", 60, 300, 4, "match", 10);
  ASSERT_TRUE(taken.ok() && taken->size() == 1u);
  EXPECT_EQ((*taken)[0].key, "match:sha256:gone");
  auto saved = batched_store->SaveImageMatches(batch, "w1", 200);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(*saved, (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(snapshot(*batched_store), one_at_a_time);
  // The one the store still has (w2's) applies, but brings no deleted image back.
  batch[3].job_id = (*taken)[0].id;
  EXPECT_EQ(*batched_store->SaveImageMatches({batch[3]}, "w2", 200), std::vector<bool>{true});
  EXPECT_EQ(snapshot(*batched_store), one_at_a_time);
  EXPECT_EQ(batched_store->CountJobs()->done, 4);
  EXPECT_EQ(batched_store->CountJobs()->queued, 1);  // the scan
}

// A claim takes at most `limit` jobs, also with the plan PostgreSQL caches for a statement run
// many times on an empty table (a server idle before a database update queues 1,000 re-matches).
TEST_P(StoreTest, ClaimsTakeNoMoreThanTheirLimitAfterPollingAnEmptyQueue) {
  auto opened = Store::Open(url(), 1, key_);  // one connection: one cached plan per statement
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& store = **opened;
  for (int i = 0; i < 12; ++i) {
    ASSERT_FALSE(store.ClaimJob("w1", 60, 100, 4)->has_value());
    ASSERT_TRUE(store.ClaimJobs("w1", 60, 100, 4, "match", 15)->empty());
  }
  std::vector<std::pair<std::string, std::string>> jobs;
  for (int i = 0; i < 100; ++i) jobs.emplace_back("match:" + std::to_string(i), "{}");
  ASSERT_EQ(*store.EnqueueJobs("match", jobs, 0), 100u);
  auto first = store.ClaimJob("w1", 60, 100, 4);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ(store.CountJobs()->running, 1);
  auto batch = store.ClaimJobs("w1", 60, 100, 4, "match", 15);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  EXPECT_EQ(batch->size(), 15u);
  EXPECT_EQ(store.CountJobs()->running, 16);
  EXPECT_EQ(store.CountJobs()->queued, 84);
}

class StoreMigrationTest : public testing::StoreUrlTest {};

// Migration 6 moves each image's inventory to image_inventories: a store written by a moat
// before it keeps every image and inventory, and the images table no longer carries them.
TEST_P(StoreMigrationTest, InventoriesMoveOutOfTheImagesRowAndSurvive) {
  {
    auto pool = SqlPool::Open(url(), 1);
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    auto sql = (*pool)->Acquire();
    std::vector<Migration> before;
    for (auto& migration : StoreMigrations(dialect())) {
      if (migration.version < 6) before.push_back(std::move(migration));
    }
    ASSERT_TRUE(Migrate(*sql, before).ok());
    // A scanned image (inventory, finding, package index) and one whose scan failed (none).
    ASSERT_TRUE(sql->Query("INSERT INTO images (digest, os, scan_status, scanned_at, first_seen, "
                           "package_count, inventory) VALUES ('sha256:old', 'debian 12', "
                           "'scanned', 10, 5, 1, $1), ('sha256:failed', '', 'failed', 10, 5, 0, "
                           "'')",
                           {std::string("{\"packages\":[{\"name\":\"openssl\"}]}")})
                    .ok());
    ASSERT_TRUE(sql->Query("INSERT INTO image_packages (digest, ecosystem, name) VALUES "
                           "('sha256:old', 'debian:12', 'openssl')")
                    .ok());
    ASSERT_TRUE(sql->Query("INSERT INTO findings (resource_kind, resource_id, source, finding_id, "
                           "package, severity, severity_rank, first_seen, last_seen) VALUES "
                           "('image', 'sha256:old', 'vulnerability', 'CVE-1', 'openssl', 'HIGH', "
                           "4, 5, 10)")
                    .ok());
  }
  auto opened = Store::Open(url(), 2, NewSecretKey());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& store = **opened;
  auto old = store.GetImage("sha256:old", /*with_inventory=*/true);
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->inventory_json, "{\"packages\":[{\"name\":\"openssl\"}]}");
  EXPECT_EQ((*old)->scan_status, "scanned");
  EXPECT_EQ((*old)->first_seen, 5);
  EXPECT_EQ((*old)->counts.high, 1);
  EXPECT_TRUE((*store.GetImage("sha256:old"))->inventory_json.empty());  // not asked for
  auto failed = store.GetImage("sha256:failed", true);
  ASSERT_TRUE(failed.ok() && failed->has_value());
  EXPECT_EQ((*failed)->scan_status, "failed");
  EXPECT_TRUE((*failed)->inventory_json.empty());
  EXPECT_EQ(*store.ImagesWithPackage("debian:12", "openssl"),
            std::vector<std::string>{"sha256:old"});
  auto sql = store.pool().Acquire();
  auto moved = sql->Query("SELECT digest FROM image_inventories ORDER BY digest");
  ASSERT_TRUE(moved.ok());
  ASSERT_EQ(moved->rows.size(), 1u);  // an empty inventory was no inventory
  EXPECT_EQ(moved->rows[0].Text(0), "sha256:old");
  EXPECT_FALSE(sql->Query("SELECT inventory FROM images").ok());  // the column is gone
  // A deleted image takes its inventory with it.
  RegistryRecord registry;
  registry.name = "r";
  registry.url = "http://127.0.0.1:5000";
  auto added = store.AddRegistry(registry);
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(store.RecordPush(added->id, "app", "sha256:old", "1", 20).ok());
  ASSERT_TRUE(store.RecordDelete(added->id, "app", "sha256:old").ok());
  EXPECT_TRUE(sql->Query("SELECT digest FROM image_inventories")->rows.empty());
}

MOAT_STORE_TEST_SUITE(StoreMigrationTest);

// The server creates the key; a worker only reads it (a key of its own would not open the
// stored registry credentials).
TEST(SecretKeyTest, OnlyTheServerCreatesTheKeyFile) {
  std::string dir = (std::filesystem::temp_directory_path() / "moat-key-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/secret.key";
  auto missing = LoadSecretKey(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(path + ": no secret key here"), std::string::npos)
      << missing.error().message;
  EXPECT_FALSE(std::filesystem::exists(path));
  auto created = LoadOrCreateSecretKey(path);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->size(), 32u);
  auto read = LoadSecretKey(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, *created);
  std::filesystem::remove_all(dir);
}

MOAT_STORE_TEST_SUITE(StoreTest);

}  // namespace
}  // namespace moat::server
