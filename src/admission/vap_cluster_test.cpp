// The namespace-label cache and the VAP params read from a cluster: a loopback HTTPS API server
// stand-in (client certificate required, as an API server with --client-ca-file) serving the
// recorded list responses of testdata/vap/cluster, re-listed periodically.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "admission/vap_params.h"
#include "admission/vap_test_util.h"
#include "k8s/test_api_server.h"

namespace moat::admission {
namespace {

namespace kt = k8s::testing;

/// The stand-in with what it serves swappable while it runs.
class RecordedCluster {
 public:
  RecordedCluster()
      : server_(pki_.dir(), [this](const std::string& target) { return Serve(target); }) {}

  bool ok() const { return pki_.ok() && server_.ready(); }
  k8s::ClusterConnection Connection() const {
    auto connection = k8s::ParseKubeconfig({{"kubeconfig", pki_.Kubeconfig(server_.Url())}}, "",
                                           k8s::DefaultKubeconfigFileReader());
    EXPECT_TRUE(connection.ok()) << (connection.ok() ? "" : connection.error().message);
    return connection.ok() ? *connection : k8s::ClusterConnection();
  }
  void SetNamespaces(std::string body) {
    std::lock_guard lock(mutex_);
    namespaces_ = std::move(body);
  }
  void SetFailing(bool failing) { failing_ = failing; }
  size_t Requests(const std::string& path) const {
    size_t n = 0;
    for (const auto& seen : server_.Requests()) n += seen.target.rfind(path, 0) == 0 ? 1 : 0;
    return n;
  }

 private:
  std::pair<int, std::string> Serve(const std::string& target) {
    if (failing_) {
      return {500, R"({"kind":"Status","apiVersion":"v1","status":"Failure","code":500,)"
                   R"("message":"etcdserver: request timed out"})"};
    }
    if (kt::QueryParameter(target, "limit") != "500") return {400, "limit missing"};
    const std::string path = target.substr(0, target.find('?'));
    if (path == "/api/v1/namespaces") {
      std::lock_guard lock(mutex_);
      return {200, namespaces_};
    }
    if (path == "/apis/rules.example.com/v1/replicalimits") {
      return {200, kt::ReadText(testing::kVapData / "cluster" / "replicalimits.json")};
    }
    return {404, R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound",)"
                 R"("code":404,"message":"the server could not find the requested resource"})"};
  }

  kt::TestPki pki_;
  std::mutex mutex_;
  std::string namespaces_ = kt::ReadText(testing::kVapData / "cluster" / "namespaces.json");
  std::atomic<bool> failing_{false};
  kt::TlsApiServer server_;
};

/// Waits up to 10 s for `condition`.
template <typename Condition>
bool Eventually(Condition condition) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

std::string LabelOf(const NamespaceCache& cache, const std::string& ns, const std::string& key) {
  auto entry = cache.Find(ns);
  if (!entry || entry->labels() == nullptr) return "";
  const k8s::Value* value = entry->labels()->Get(key);
  return value != nullptr ? value->text : "";
}

TEST(VapCluster, NamespaceCacheListsAndRefreshesKeepingTheLastOnFailure) {
  RecordedCluster cluster;
  ASSERT_TRUE(cluster.ok());
  auto cache = NamespaceCache::Start(cluster.Connection(), std::chrono::milliseconds(100));
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  EXPECT_EQ((*cache)->size(), 3u);
  EXPECT_EQ(LabelOf(**cache, "team-a", "environment"), "test");
  EXPECT_EQ(LabelOf(**cache, "shop", "environment"), "prod");
  EXPECT_EQ((*cache)->Find("nowhere"), nullptr);
  // The whole object is namespaceObject (managedFields dropped as `moat k8s cluster` does).
  ASSERT_NE((*cache)->Find("team-a"), nullptr);
  EXPECT_NE((*cache)->Find("team-a")->value.FindString("spec"), nullptr);

  // The cluster relabels team-a: the next listing sees it.
  std::string body = kt::ReadText(testing::kVapData / "cluster" / "namespaces.json");
  body.replace(body.find("\"environment\":\"test\""), 20, "\"environment\":\"prod\"");
  cluster.SetNamespaces(body);
  EXPECT_TRUE(Eventually([&] { return LabelOf(**cache, "team-a", "environment") == "prod"; }));
  // An API server error keeps the last namespaces.
  cluster.SetFailing(true);
  const size_t before = cluster.Requests("/api/v1/namespaces");
  EXPECT_TRUE(Eventually([&] { return cluster.Requests("/api/v1/namespaces") > before + 2; }));
  EXPECT_EQ((*cache)->size(), 3u);
  EXPECT_EQ(LabelOf(**cache, "team-a", "environment"), "prod");
}

TEST(VapCluster, ClusterParamsWinOverFilesAndLabelsSelectBindings) {
  RecordedCluster cluster;
  ASSERT_TRUE(cluster.ok());
  const k8s::ClusterConnection connection = cluster.Connection();
  auto namespaces = NamespaceCache::Start(connection, std::chrono::minutes(10));
  ASSERT_TRUE(namespaces.ok()) << namespaces.error().message;
  auto files = VapPolicy::Load({(testing::kVapData / "replicalimit").string()});
  ASSERT_TRUE(files.ok());
  auto params = ParamCache::Start(connection, (*files)->ParamKinds(), std::chrono::minutes(10));
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_EQ(cluster.Requests("/apis/rules.example.com/v1/replicalimits"), 1u);

  AdmissionConfig config;
  config.policy_files = {(testing::kVapData / "replicalimit").string()};
  config.namespaces = *namespaces;
  config.cluster_params = *params;
  auto policies = PolicySet::Build(config);
  ASSERT_TRUE(policies.ok()) << policies.error().message;
  // team-a is labelled environment=test in the cluster: the test binding, whose param the
  // cluster holds with maxReplicas 2 (the file says 3).
  testing::ReviewSpec spec;
  spec.namespace_name = "team-a";
  spec.object = testing::Deployment("web", 3);
  Decision denied = testing::Decide(**policies, spec);
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_NE(denied.response.message.find("'replicalimit-binding-test.example.com'"),
            std::string::npos);
  spec.object = testing::Deployment("web", 2);
  EXPECT_TRUE(testing::Decide(**policies, spec).response.allowed);
  // shop is prod: the other binding, maxReplicas 100.
  spec.namespace_name = "shop";
  spec.object = testing::Deployment("web", 50);
  EXPECT_TRUE(testing::Decide(**policies, spec).response.allowed);
}

TEST(VapCluster, UnreachableServerFailsTheStart) {
  k8s::ClusterConnection nowhere;
  nowhere.server = "https://127.0.0.1:1";
  auto cache = NamespaceCache::Start(nowhere, std::chrono::seconds(1));
  ASSERT_FALSE(cache.ok());
  EXPECT_NE(cache.error().message.find("cannot list namespaces"), std::string::npos)
      << cache.error().message;
}

}  // namespace
}  // namespace moat::admission
