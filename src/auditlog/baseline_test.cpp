#include "auditlog/baseline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rules/k8s_audit.h"

namespace moat::auditlog {
namespace {

using Json = nlohmann::json;

constexpr int64_t kHour = 3600LL * 1000000000LL;
constexpr int64_t kStart = 1714564800LL * 1000000000LL;  // 2024-05-01T12:00:00Z

// An audit event as the API server logs it (audit.k8s.io/v1, ResponseComplete).
struct EventSpec {
  std::string user = "system:serviceaccount:ci:deployer";
  std::string verb = "get";
  std::string resource = "pods";
  std::string subresource;
  std::string namespace_name = "ci";
  int code = 200;
  int64_t time_ns = kStart;
  Json request_object;
  std::string stage = "ResponseComplete";
};

std::string EventJson(const EventSpec& spec) {
  Json ref = {{"resource", spec.resource}, {"apiVersion", "v1"}};
  if (!spec.namespace_name.empty()) ref["namespace"] = spec.namespace_name;
  if (!spec.subresource.empty()) ref["subresource"] = spec.subresource;
  Json event = {{"kind", "Event"},
                {"apiVersion", "audit.k8s.io/v1"},
                {"level", "Request"},
                {"auditID", "id-" + std::to_string(spec.time_ns)},
                {"stage", spec.stage},
                {"requestURI", "/api/v1/" + spec.resource},
                {"verb", spec.verb},
                {"user", {{"username", spec.user}, {"groups", {"system:authenticated"}}}},
                {"sourceIPs", {"10.0.0.7"}},
                {"objectRef", ref},
                {"responseStatus", {{"metadata", Json::object()}, {"code", spec.code}}},
                {"requestReceivedTimestamp", FormatRfc3339Nanos(spec.time_ns, 6)},
                {"stageTimestamp", FormatRfc3339Nanos(spec.time_ns, 6)}};
  if (!spec.request_object.is_null()) event["requestObject"] = spec.request_object;
  return event.dump();
}

Json PodWithImages(const std::vector<std::string>& images) {
  Json containers = Json::array();
  for (size_t i = 0; i < images.size(); ++i) {
    containers.push_back({{"name", "c" + std::to_string(i)}, {"image", images[i]}});
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"spec", {{"containers", containers}}}};
}

class BaselineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/moat-baseline-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Baseline> Open(BaselineOptions options = {}) {
    if (options.path.empty()) options.path = dir_ + "/baseline.json";
    options.window = std::chrono::hours(24);
    auto baseline = Baseline::Open(options);
    EXPECT_TRUE(baseline.ok()) << (baseline.ok() ? "" : baseline.error().message);
    return baseline.ok() ? std::move(*baseline) : nullptr;
  }

  std::vector<Alert> Observe(Baseline& baseline, const EventSpec& spec) {
    auto event = rules::ParseAuditEvent(EventJson(spec), "test");
    EXPECT_TRUE(event.ok()) << (event.ok() ? "" : event.error().message);
    std::vector<Alert> alerts;
    if (event.ok()) baseline.Observe(*event, *source_, alerts);
    return alerts;
  }

  std::string dir_;
  std::shared_ptr<const rules::EventSource> source_ = rules::MakeK8sAuditSource();
};

TEST_F(BaselineTest, AfterLearningARareOperationAlertsOnceWithWhatWasSeen) {
  auto baseline = Open();
  // Learning: the deployer manages deployments in ci.
  for (const char* verb : {"get", "create", "patch"}) {
    EventSpec spec;
    spec.verb = verb;
    spec.resource = "deployments";
    spec.time_ns = kStart + kHour;
    EXPECT_TRUE(Observe(*baseline, spec).empty());
  }
  EventSpec usual;
  usual.resource = "deployments";
  usual.time_ns = kStart + 30 * kHour;
  EXPECT_TRUE(Observe(*baseline, usual).empty());

  EventSpec rare;
  rare.verb = "list";
  rare.resource = "secrets";
  rare.namespace_name = "kube-system";
  rare.time_ns = kStart + 30 * kHour;
  const auto alerts = Observe(*baseline, rare);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& alert = alerts[0];
  EXPECT_EQ(alert.rule, "Moat Rare Operation By Service Account");
  EXPECT_EQ(alert.priority, AlertPriority::kNotice);
  EXPECT_EQ(SeedAlertType(alert), "K8S_ServiceAccountRareOperation");
  EXPECT_EQ(alert.k8s.user, "system:serviceaccount:ci:deployer");
  EXPECT_EQ(alert.mitre, (std::vector<MitreReference>{{"lateral-movement", "T1550.001", ""}}));
  EXPECT_NE(alert.output.find("did list secrets in kube-system"), std::string::npos)
      << alert.output;
  EXPECT_NE(alert.output.find("seen instead: create deployments in ci"), std::string::npos)
      << alert.output;
  EXPECT_EQ(alert.time_ns, rare.time_ns);
  // Now part of the baseline: no second alert.
  rare.time_ns += kHour;
  EXPECT_TRUE(Observe(*baseline, rare).empty());
}

TEST_F(BaselineTest, ANewIdentityLearnsItsOwnWindow) {
  auto baseline = Open();
  EventSpec first;
  first.time_ns = kStart;
  Observe(*baseline, first);
  EventSpec newcomer;
  newcomer.user = "system:serviceaccount:shop:api";
  newcomer.namespace_name = "shop";
  newcomer.time_ns = kStart + 48 * kHour;  // the baseline's window is long over
  EXPECT_TRUE(Observe(*baseline, newcomer).empty());
  newcomer.verb = "watch";
  newcomer.time_ns += kHour;
  EXPECT_TRUE(Observe(*baseline, newcomer).empty());
  newcomer.verb = "delete";
  newcomer.time_ns += 24 * kHour;
  const auto alerts = Observe(*baseline, newcomer);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].output.find("seen instead: get pods in shop, watch pods in shop"),
            std::string::npos)
      << alerts[0].output;
}

TEST_F(BaselineTest, RefusedAndEarlierStagesAreNeitherLearnedNorJudged) {
  auto baseline = Open();
  EventSpec learn;
  Observe(*baseline, learn);
  EventSpec refused;
  refused.verb = "delete";
  refused.code = 403;
  refused.time_ns = kStart + 30 * kHour;
  EXPECT_TRUE(Observe(*baseline, refused).empty());
  EventSpec started;
  started.verb = "delete";
  started.stage = "RequestReceived";
  started.time_ns = kStart + 30 * kHour;
  EXPECT_TRUE(Observe(*baseline, started).empty());
  EXPECT_EQ(baseline->stats().observed, 1u);
}

TEST_F(BaselineTest, UsersAndManagedIdentitiesGetTheirOwnAlertTypes) {
  BaselineOptions options;
  options.managed_identities = {"aks*"};
  auto baseline = Open(options);
  EventSpec user, managed;
  user.user = "alice";
  managed.user = "aksService";
  Observe(*baseline, user);
  Observe(*baseline, managed);
  user.verb = managed.verb = "delete";
  user.time_ns = managed.time_ns = kStart + 30 * kHour;
  const auto user_alerts = Observe(*baseline, user);
  const auto managed_alerts = Observe(*baseline, managed);
  ASSERT_EQ(user_alerts.size(), 1u);
  ASSERT_EQ(managed_alerts.size(), 1u);
  EXPECT_EQ(user_alerts[0].rule, "Moat Rare Operation By User");
  EXPECT_EQ(SeedAlertType(user_alerts[0]), "");
  EXPECT_EQ(SeedAlertType(managed_alerts[0]), "K8S_AbnormalMiAcitivty");
}

TEST_F(BaselineTest, AllowListSilencesAndCounts) {
  BaselineOptions options;
  auto allow = ParseBaselineAllow("identity=system:serviceaccount:argocd:*");
  ASSERT_TRUE(allow.ok());
  options.allow.push_back(*allow);
  auto narrow = ParseBaselineAllow("identity=alice, verb=get, resource=secrets");
  ASSERT_TRUE(narrow.ok());
  options.allow.push_back(*narrow);
  auto baseline = Open(options);
  EventSpec argo, alice;
  argo.user = "system:serviceaccount:argocd:argocd-application-controller";
  alice.user = "alice";
  Observe(*baseline, argo);
  Observe(*baseline, alice);
  argo.verb = "delete";
  argo.time_ns = kStart + 30 * kHour;
  EXPECT_TRUE(Observe(*baseline, argo).empty());
  alice.resource = "secrets";
  alice.time_ns = kStart + 30 * kHour;
  EXPECT_TRUE(Observe(*baseline, alice).empty());
  alice.verb = "list";
  EXPECT_EQ(Observe(*baseline, alice).size(), 1u);
  EXPECT_EQ(baseline->stats().allowed, 2u);
  EXPECT_FALSE(ParseBaselineAllow("user=alice").ok());
  EXPECT_FALSE(ParseBaselineAllow("alice").ok());
}

TEST_F(BaselineTest, ANewImageInANamespaceIsAnAnomalousDeployment) {
  auto baseline = Open();
  EventSpec deploy;
  deploy.verb = "create";
  deploy.resource = "deployments";
  deploy.namespace_name = "shop";
  deploy.request_object = {
      {"spec",
       {{"template",
         {{"spec",
           {{"containers",
             {{{"name", "web"}, {"image", "registry.example:5000/shop/web:1.2"}}}}}}}}}}};
  EXPECT_TRUE(Observe(*baseline, deploy).empty());
  EventSpec pod;
  pod.verb = "create";
  pod.namespace_name = "shop";
  pod.user = "system:serviceaccount:kube-system:replicaset-controller";
  pod.time_ns = kStart + 30 * kHour;
  pod.request_object = PodWithImages({"registry.example:5000/shop/web:1.3@sha256:abc"});
  EXPECT_TRUE(Observe(*baseline, pod).empty());  // same repository, new tag
  pod.request_object = PodWithImages({"registry.example:5000/shop/web:1.3", "xmrig/xmrig:6"});
  pod.time_ns += kHour;
  const auto alerts = Observe(*baseline, pod);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(SeedAlertType(alerts[0]), "K8S_AnomalousPodDeployment");
  EXPECT_NE(alerts[0].output.find("deployed image xmrig/xmrig in namespace shop"),
            std::string::npos)
      << alerts[0].output;
  EXPECT_NE(alerts[0].output.find("seen instead: registry.example:5000/shop/web"),
            std::string::npos)
      << alerts[0].output;
}

TEST_F(BaselineTest, ANewRoleForAServiceAccountIsAPermissionAnomaly) {
  auto baseline = Open();
  auto binding = [](const std::string& role) {
    return Json{
        {"roleRef", {{"kind", "ClusterRole"}, {"name", role}}},
        {"subjects", {{{"kind", "ServiceAccount"}, {"name", "deployer"}, {"namespace", "ci"}}}}};
  };
  EventSpec bind;
  bind.user = "alice";
  bind.verb = "create";
  bind.resource = "clusterrolebindings";
  bind.namespace_name = "";
  bind.request_object = binding("edit");
  EXPECT_TRUE(Observe(*baseline, bind).empty());
  bind.request_object = binding("cluster-admin");
  bind.time_ns = kStart + 30 * kHour;
  const auto alerts = Observe(*baseline, bind);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(SeedAlertType(alerts[0]), "K8S_ServiceAcountPermissionAnomaly");
  EXPECT_NE(alerts[0].output.find("bound system:serviceaccount:ci:deployer to role cluster-admin"),
            std::string::npos)
      << alerts[0].output;
  EXPECT_NE(alerts[0].output.find("seen instead: edit"), std::string::npos);
}

TEST_F(BaselineTest, StateSurvivesARestart) {
  {
    auto baseline = Open();
    EventSpec learn;
    learn.verb = "create";
    learn.resource = "deployments";
    Observe(*baseline, learn);
    ASSERT_TRUE(baseline->Save().ok());
  }
  auto baseline = Open();
  EventSpec known;
  known.verb = "create";
  known.resource = "deployments";
  known.time_ns = kStart + 30 * kHour;
  EXPECT_TRUE(Observe(*baseline, known).empty());
  known.verb = "delete";
  EXPECT_EQ(Observe(*baseline, known).size(), 1u);  // learned in the first run: window over
  { std::ofstream(dir_ + "/broken.json") << "{\"version\": 1, \"started_ns\": \"x\"}"; }
  BaselineOptions broken;
  broken.path = dir_ + "/broken.json";
  auto failed = Baseline::Open(broken);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("broken.json"), std::string::npos);
}

TEST_F(BaselineTest, BoundsStopLearningAndAreCounted) {
  BaselineOptions options;
  options.max_operations_per_identity = 2;
  options.max_identities = 1;
  auto baseline = Open(options);
  for (const char* verb : {"get", "list", "watch"}) {
    EventSpec spec;
    spec.verb = verb;
    Observe(*baseline, spec);
  }
  EventSpec other;
  other.user = "bob";
  Observe(*baseline, other);
  EXPECT_EQ(baseline->stats().full, 2u);
  EXPECT_EQ(baseline->stats().identities, 1u);
}

}  // namespace
}  // namespace moat::auditlog
