// The posture of a fixed estate on both stores: the figures by hand, and the assessment that
// keeps only each unhealthy resource's few worst findings and their count equal to the one that
// keeps them all.

#include "server/posture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/store/secret_box.h"
#include "server/store/store.h"
#include "server/store/test_postgres.h"

namespace moat::server {
namespace {

class PostureTest : public testing::StoreUrlTest {
 protected:
  void SetUp() override {
    StoreUrlTest::SetUp();
    auto opened = Store::Open(url(), 2, NewSecretKey());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    // Three registry images: A (CRITICAL + LOW), B (two HIGH + one MEDIUM, which a disable rule
    // covers), C (none); a host runs B and fails two CIS controls.
    RegistryRecord registry;
    registry.name = "local";
    registry.url = "http://127.0.0.1:5000";
    auto added = store_->AddRegistry(registry);
    ASSERT_TRUE(added.ok()) << added.error().message;
    const std::vector<std::pair<std::string, std::vector<FindingRecord>>> images = {
        {"sha256:a", {Vuln("CVE-A1", "CRITICAL", 9.8), Vuln("CVE-A2", "LOW", 3)}},
        {"sha256:b",
         {Vuln("CVE-B1", "HIGH", 7.5), Vuln("CVE-B2", "HIGH", 8.1), Vuln("CVE-B3", "MEDIUM", 5)}},
        {"sha256:c", {}}};
    for (const auto& [digest, findings] : images) {
      ASSERT_TRUE(store_->RecordPush(added->id, "app-" + digest.substr(7), digest, "1", 10).ok());
      ASSERT_TRUE(store_
                      ->SaveImageScan(digest, "debian 12", "linux/amd64", "{}",
                                      {{"debian:12", "openssl"}}, findings, 20)
                      .ok());
    }
    HostRecord host;
    host.id = "h1";
    host.name = "docker-1";
    ContainerRecord container;
    container.id = "c1";
    container.image_digest = "sha256:b";
    container.state = "running";
    FindingRecord privileged = Check("5.4", "HIGH");
    FindingRecord audit = Check("1.1.3", "MEDIUM");
    auto sql = store_->pool().Acquire();
    ASSERT_TRUE(Store::SaveHostReport(*sql, host, {container}, {privileged, audit}, 30).ok());
    DisableRuleRecord rule;
    rule.name = "accepted";
    rule.rule_json = R"({"finding_ids": ["CVE-B3"]})";
    rule.created_by = "test";
    ASSERT_TRUE(store_->AddDisableRule(rule).ok());
  }

  static FindingRecord Vuln(const std::string& id, const std::string& severity, double cvss) {
    FindingRecord f;
    f.finding_id = id;
    f.severity = severity;
    f.cvss = cvss;
    f.package = "openssl";
    f.installed_version = "3.0.1";
    f.fixed_version = "3.0.2";
    f.patchable = true;
    return f;
  }
  static FindingRecord Check(const std::string& id, const std::string& severity) {
    FindingRecord f;
    f.source = "cis-docker";
    f.finding_id = id;
    f.severity = severity;
    f.title = "CIS Docker " + id;
    return f;
  }

  std::unique_ptr<Store> store_;
};

TEST_P(PostureTest, StreamedAssessmentGivesTheFiguresOfTheWholeOne) {
  auto whole = AssessPosture(*store_, 100, "*");  // every finding of every unhealthy resource
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  auto streamed = AssessPosture(*store_, 100);  // the worst finding and a count
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;

  // By hand: 5 resources (3 registry images, B running, the host); CVE-B3 disabled; B's findings
  // count once as a registry image and once as a running image.
  EXPECT_EQ(whole->resources.size(), 5u);
  const std::map<std::string, int64_t> open = {
      {"CRITICAL", 1}, {"HIGH", 2 + 2 + 1}, {"MEDIUM", 1}, {"LOW", 1}, {"UNKNOWN", 0}};
  EXPECT_EQ(whole->open_findings, open);
  EXPECT_EQ(streamed->open_findings, open);
  const auto figures = PostureFigures(*streamed);
  EXPECT_EQ(figures.at("findings.open.HIGH"), 5);
  EXPECT_EQ(figures.at("resources.assessed"), 5);
  EXPECT_EQ(figures.at("resources.unhealthy"), 4);  // A, B, B running, the host
  EXPECT_EQ(figures, PostureFigures(*whole));

  ASSERT_EQ(streamed->recommendations.size(), whole->recommendations.size());
  bool saw_registry_images = false;
  for (size_t i = 0; i < whole->recommendations.size(); ++i) {
    const auto& all = whole->recommendations[i];
    const auto& kept = streamed->recommendations[i];
    ASSERT_EQ(kept.definition, all.definition);
    EXPECT_EQ(kept.assessed, all.assessed);
    ASSERT_EQ(kept.unhealthy.size(), all.unhealthy.size()) << all.definition->id;
    for (size_t j = 0; j < all.unhealthy.size(); ++j) {
      EXPECT_EQ(kept.unhealthy[j].resource.id, all.unhealthy[j].resource.id);
      EXPECT_EQ(kept.unhealthy[j].finding_count, all.unhealthy[j].findings.size());
      // The streamed one keeps the worst few: the first of the whole list, in its order.
      const auto& whole_list = all.unhealthy[j].findings;
      ASSERT_EQ(kept.unhealthy[j].findings.size(),
                std::min(whole_list.size(), assess::kWorstFindingsKept));
      for (size_t k = 0; k < kept.unhealthy[j].findings.size(); ++k) {
        EXPECT_EQ(kept.unhealthy[j].findings[k].finding_id, whole_list[k].finding_id);
      }
    }
    if (all.definition->id == "registry-images-vulnerabilities") {
      saw_registry_images = true;
      ASSERT_EQ(all.unhealthy.size(), 2u);
      EXPECT_EQ(all.unhealthy[0].resource.id, "sha256:a");  // its worst is CRITICAL
      EXPECT_EQ(all.unhealthy[0].findings.size(), 2u);
      EXPECT_EQ(all.unhealthy[1].resource.id, "sha256:b");
      EXPECT_EQ(all.unhealthy[1].findings.size(), 2u);               // CVE-B3 is disabled
      EXPECT_EQ(all.unhealthy[1].findings[0].finding_id, "CVE-B2");  // HIGH, the higher CVSS
      EXPECT_EQ(all.assessed, 3u);
    }
  }
  EXPECT_TRUE(saw_registry_images);
  EXPECT_EQ(streamed->score.percent, whole->score.percent);
  EXPECT_EQ(streamed->score.points, whole->score.points);
  EXPECT_EQ(streamed->score.assessed, 5u);

  // One recommendation's every finding, the others trimmed.
  auto one = AssessPosture(*store_, 100, "registry-images-vulnerabilities");
  ASSERT_TRUE(one.ok()) << one.error().message;
  for (size_t i = 0; i < whole->recommendations.size(); ++i) {
    const auto& all = whole->recommendations[i];
    for (size_t j = 0; j < all.unhealthy.size(); ++j) {
      const auto& kept = one->recommendations[i].unhealthy[j].findings;
      const size_t expected =
          all.definition->id == "registry-images-vulnerabilities"
              ? all.unhealthy[j].findings.size()
              : std::min(all.unhealthy[j].findings.size(), assess::kWorstFindingsKept);
      ASSERT_EQ(kept.size(), expected) << all.definition->id;
      for (size_t k = 0; k < kept.size(); ++k) {
        EXPECT_EQ(kept[k].finding_id, all.unhealthy[j].findings[k].finding_id);
      }
    }
  }
}

// Nothing assessed: no control is applicable and `assessed` says so (the API reports no score).
TEST_P(PostureTest, AnEmptyEstateAssessesNothing) {
  auto sql = store_->pool().Acquire();
  ASSERT_TRUE(sql->ExecScript("DELETE FROM findings; DELETE FROM repository_images; DELETE FROM "
                              "tags; DELETE FROM containers; DELETE FROM hosts; DELETE FROM images")
                  .ok());
  auto posture = AssessPosture(*store_, 100);
  ASSERT_TRUE(posture.ok()) << posture.error().message;
  EXPECT_TRUE(posture->resources.empty());
  EXPECT_EQ(posture->score.assessed, 0u);
  EXPECT_EQ(posture->score.max_points, 0);
  EXPECT_TRUE(posture->recommendations.empty());
  // The day's figures leave the score out, so that the trend shows a gap, not a 100 % day.
  const auto figures = PostureFigures(*posture);
  EXPECT_EQ(figures.count("score.percent"), 0u);
  EXPECT_EQ(figures.count("score.points"), 0u);
  EXPECT_EQ(figures.at("resources.assessed"), 0);
}

// One recommendation's page reads each unhealthy resource's findings from the store: the same
// findings, in the same order, as the assessment that keeps them all.
TEST_P(PostureTest, FindingsOfOneUnhealthyResourceAreTheWholeAssessments) {
  auto whole = AssessPosture(*store_, 100, "*");
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  auto kept = AssessPosture(*store_, 100);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  size_t compared = 0;
  for (const auto& recommendation : whole->recommendations) {
    std::vector<assess::Resource> resources;
    for (const auto& unhealthy : recommendation.unhealthy) resources.push_back(unhealthy.resource);
    auto facts = FindingsOfUnhealthy(*store_, *kept, resources, recommendation.definition->id, 100);
    ASSERT_TRUE(facts.ok()) << facts.error().message;
    ASSERT_EQ(facts->size(), resources.size());
    for (size_t i = 0; i < resources.size(); ++i) {
      std::vector<std::string> got, want;
      for (const auto& f : (*facts)[i]) got.push_back(f.finding_id);
      for (const auto& f : recommendation.unhealthy[i].findings) want.push_back(f.finding_id);
      EXPECT_EQ(got, want) << recommendation.definition->id << " " << resources[i].id;
      ++compared;
    }
  }
  EXPECT_GE(compared, 3u);  // images A and B, and the host
}

// The kept posture: the same assessment while nothing changed (alerts do not change it), a new
// one at once after a change while assessing is cheap, and, once it is expensive, the kept one at
// once and the new one from the background thread soon after.
TEST_P(PostureTest, KeeperAssessesAgainOnlyAfterAChange) {
  PostureKeeper keeper(*store_);
  auto first = keeper.Get();
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto again = keeper.Get();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->get(), again->get());
  StoredAlert alert;
  alert.dedupe_key = "k";
  alert.rule = "Reverse shell";
  alert.priority = "Critical";
  alert.time_ns = alert.last_time_ns = 1;
  ASSERT_TRUE(store_->InsertAlerts({alert}, Store::AlertWindows{}).ok());
  EXPECT_EQ(keeper.Get()->get(), first->get()) << "alerts are not part of the posture";
  EXPECT_EQ(keeper.stats().assessments, 1);

  // A disable rule for the CRITICAL finding: the next reader sees it (cheap: it waits).
  const int64_t critical_before = (*first)->open_findings.at("CRITICAL");
  DisableRuleRecord rule;
  rule.name = "accept A1";
  rule.rule_json = R"({"finding_ids": ["CVE-A1"]})";
  rule.created_by = "test";
  ASSERT_TRUE(store_->AddDisableRule(rule).ok());
  auto after = keeper.Get();
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->get(), first->get());
  EXPECT_EQ((*after)->open_findings.at("CRITICAL"), critical_before - 1);
  EXPECT_EQ(keeper.stats().assessments, 2);
}

TEST_P(PostureTest, KeeperServesTheKeptPostureWhileTheThreadAssesses) {
  PostureKeeper::Options options;
  options.wait_limit = std::chrono::milliseconds(0);  // every assessment counts as expensive
  PostureKeeper keeper(*store_, options);
  keeper.Start();
  auto got_first = keeper.Get();  // the thread's first assessment, or the reader's own
  ASSERT_TRUE(got_first.ok()) << got_first.error().message;
  const std::shared_ptr<const Posture> first = *got_first;
  const int64_t critical_before = first->open_findings.at("CRITICAL");
  DisableRuleRecord rule;
  rule.name = "accept A1";
  rule.rule_json = R"({"finding_ids": ["CVE-A1"]})";
  rule.created_by = "test";
  ASSERT_TRUE(store_->AddDisableRule(rule).ok());
  auto stale = keeper.Get();
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->get(), first.get()) << "the reader does not wait";
  std::shared_ptr<const Posture> fresh;
  for (int i = 0; i < 100; ++i) {  // up to 10 s
    auto got = keeper.Get();
    ASSERT_TRUE(got.ok());
    if (got->get() != first.get()) {
      fresh = *got;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(fresh, nullptr) << "the background thread did not assess again";
  EXPECT_EQ(fresh->open_findings.at("CRITICAL"), critical_before - 1);
  keeper.Stop();
}

MOAT_STORE_TEST_SUITE(PostureTest);

}  // namespace
}  // namespace moat::server
