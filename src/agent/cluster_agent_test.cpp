// `moat agent --kind cluster --once` end to end: the agent reads a cluster from recorded API
// responses served over loopback HTTPS with a client certificate (k8s/test_api_server.h:
// src/k8s/testdata/cluster with this folder's testdata/cluster over it, which adds ReplicaSets,
// pods with their containers' imageIDs and a hardened Deployment), assesses it with the k8s check
// library and sends a cluster_report to a real moat server (SQLite); the server then lists the
// cluster, its workloads and their recommendations. A second report without the debug pod
// resolves that pod's findings.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/agent.h"
#include "agent/cluster_report.h"
#include "artifact/test_fixture.h"
#include "core/http.h"
#include "http/server.h"
#include "k8s/test_api_server.h"
#include "server/api/api.h"
#include "server/center.h"
#include "server/store/secret_box.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kRecorded = fs::path(MOAT_SOURCE_DIR) / "src/k8s/testdata/cluster";
const fs::path kOverlay = fs::path(MOAT_SOURCE_DIR) / "src/agent/testdata/cluster";
const fs::path kAfter = fs::path(MOAT_SOURCE_DIR) / "src/agent/testdata/cluster-after";

// A digest made of one repeated part, as the recordings use (testdata/cluster/pods.json).
std::string Repeat(const std::string& part) {
  std::string digest;
  while (digest.size() < 64) digest += part;
  return "sha256:" + digest.substr(0, 64);
}

class ClusterAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok()) << "openssl could not make the test PKI";
    server::CenterOptions options;
    options.store_url = "sqlite:" + dir_ + "/moat.db";
    options.secret_key = server::NewSecretKey();
    auto center = server::Center::Open(options);
    ASSERT_TRUE(center.ok()) << center.error().message;
    center_ = std::move(*center);
    api_ = std::make_unique<server::Api>(*center_, server::ApiOptions{});
    http::ServerOptions http_options;
    http_options.listen = "127.0.0.1:0";
    server::Api* api = api_.get();
    auto started =
        http::Server::Start(http_options, [api](http::Request& r) { return api->Handle(r); });
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(*started);
    auto agent_token = center_->store().CreateToken("cluster-prod", server::Role::kAgent, "test");
    auto reader_token = center_->store().CreateToken("reader", server::Role::kReader, "test");
    ASSERT_TRUE(agent_token.ok() && reader_token.ok());
    reader_token_ = *reader_token;

    options_.server = {server_->url(), *agent_token, "", 30};
    options_.registration = {"prod", "cluster", "0.1.0-test", "agent-pod"};
    options_.spool_dir = dir_ + "/spool";
    options_.sender.initial_backoff = std::chrono::milliseconds(20);
    options_.once = true;
    options_.once_timeout = std::chrono::seconds(30);
    options_.cluster.cluster_name = "prod";
    options_.cluster.connection.kubeconfig = dir_ + "/kubeconfig";
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    api_.reset();
    center_.reset();
  }

  /// One `--once` run of the agent against the recordings of `dirs` (the first holding a file
  /// wins).
  Result<void> RunAgainst(std::vector<fs::path> dirs) {
    k8s::testing::TlsApiServer api_server(pki_.dir(), [dirs](const std::string& target) {
      return k8s::testing::ServeRecordedFrom(dirs, target);
    });
    if (!api_server.ready()) return Fail("the API server stand-in did not start");
    k8s::testing::WriteText(options_.cluster.connection.kubeconfig,
                            pki_.Kubeconfig(api_server.Url()));
    std::atomic<bool> stop{false};
    return RunAgent(options_, stop);
  }

  Json Get(const std::string& path, int expected_status = 200) {
    HttpRequest request;
    request.url = server_->url() + path;
    request.headers.emplace_back("Authorization", "Bearer " + reader_token_);
    auto response = HttpFetch(request);
    EXPECT_TRUE(response.ok()) << path;
    if (!response.ok()) return Json();
    EXPECT_EQ(response->status, expected_status) << path << ": " << response->body;
    return Json::parse(response->body, nullptr, false);
  }

  /// The ids of the resources a recommendation lists as unhealthy (none when it lists none).
  std::set<std::string> Unhealthy(const std::string& recommendation) {
    std::set<std::string> ids;
    HttpRequest request;
    request.url = server_->url() + "/api/v1/recommendations/" + recommendation;
    request.headers.emplace_back("Authorization", "Bearer " + reader_token_);
    auto response = HttpFetch(request);
    if (!response.ok() || response->status != 200) return ids;
    const Json detail = Json::parse(response->body);
    for (const auto& u : detail["unhealthy"]) ids.insert(u["id"]);
    return ids;
  }

  moat::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
  k8s::testing::TestPki pki_;
  std::unique_ptr<server::Center> center_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<http::Server> server_;
  std::string reader_token_;
  AgentOptions options_;
};

TEST_F(ClusterAgentTest, ReportsTheClusterItsWorkloadsAndTheirRecommendations) {
  auto ran = RunAgainst({kOverlay, kRecorded});
  ASSERT_TRUE(ran.ok()) << ran.error().message;

  // The agent registered as a cluster agent; the cluster is known by its name, and its identity
  // is the kube-system namespace's uid.
  Json agents = Get("/api/v1/agents")["items"];
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["kind"], "cluster");
  EXPECT_EQ(agents[0]["acked_through"], 1);
  Json clusters = Get("/api/v1/clusters")["items"];
  ASSERT_EQ(clusters.size(), 1u) << clusters;
  EXPECT_EQ(clusters[0]["id"], "prod");
  EXPECT_EQ(clusters[0]["uid"], "a3b7e0c2-91d4-4e0b-8d55-2c9f1e6a7b30");
  EXPECT_EQ(clusters[0]["context"], "test-admin");
  EXPECT_GT(clusters[0]["checks"]["failed"].get<int>(), 0);

  Json cluster = Get("/api/v1/clusters/prod");
  std::set<std::string> namespaces;
  for (const auto& n : cluster["namespaces"]) namespaces.insert(n["name"]);
  EXPECT_TRUE(namespaces.count("shop") && namespaces.count("default") &&
              namespaces.count("kube-system"))
      << cluster;
  // Pods and ReplicaSets that a Deployment controls are the Deployment's: not workloads of
  // their own. The coredns pod's ReplicaSet was not listed, so the pod stands for itself.
  EXPECT_EQ(cluster["workloads_by_kind"]["Deployment"], 3) << cluster;
  EXPECT_EQ(cluster["workloads_by_kind"]["Pod"], 2) << cluster;
  EXPECT_FALSE(cluster["workloads_by_kind"].contains("ReplicaSet")) << cluster;
  EXPECT_GT(cluster["findings"]["critical"].get<int>() + cluster["findings"]["high"].get<int>(), 0);

  // The Deployments' containers carry the digests their pods run; an imageID without a
  // repository digest (containerd's image id) leaves the digest pinned in the spec.
  Json deployments = Get("/api/v1/clusters/prod/workloads?kind=Deployment")["items"];
  ASSERT_EQ(deployments.size(), 3u) << deployments;
  std::map<std::string, Json> by_name;
  for (const auto& d : deployments) by_name[d["name"]] = d;
  EXPECT_EQ(by_name["cart"]["id"], "prod/shop/Deployment/cart");
  EXPECT_EQ(by_name["cart"]["containers"][0]["image"], "ghcr.io/example/cart:2.4.1");
  EXPECT_EQ(by_name["cart"]["containers"][0]["image_digest"], Repeat("c4a7"));
  EXPECT_EQ(by_name["storefront"]["containers"][0]["image_digest"], Repeat("9e1b"));
  EXPECT_EQ(by_name["catalog"]["containers"][0]["image_digest"], Repeat("7ca7"));
  EXPECT_GT(by_name["cart"]["findings"]["high"].get<int>(), 0);
  // Filters and pages.
  Json kube_system = Get("/api/v1/clusters/prod/workloads?namespace=kube-system")["items"];
  ASSERT_EQ(kube_system.size(), 1u) << kube_system;
  EXPECT_EQ(kube_system[0]["name"], "coredns-5d78c9869d-8xk2p");
  EXPECT_EQ(kube_system[0]["containers"][0]["image_digest"], Repeat("0d1e"));
  const size_t total = Get("/api/v1/clusters/prod/workloads?limit=1000")["items"].size();
  size_t paged = 0;
  std::string cursor;
  std::set<std::string> seen;
  do {
    Json page = Get("/api/v1/clusters/prod/workloads?limit=2" +
                    (cursor.empty() ? std::string() : "&cursor=" + cursor));
    for (const auto& w : page["items"]) seen.insert(w["id"]);
    paged += page["items"].size();
    cursor = page["next_cursor"];
  } while (!cursor.empty());
  EXPECT_EQ(paged, total);
  EXPECT_EQ(seen.size(), total);
  Get("/api/v1/clusters/staging", 404);
  Get("/api/v1/clusters/prod/workloads?cursor=zzz", 400);

  // Running images are inventoried by digest, to be scanned once wherever they come from.
  Json cart_image = Get("/api/v1/images/" + Repeat("c4a7"));
  EXPECT_NE(cart_image["last_seen_running"], "") << cart_image;

  // Recommendations list exactly the unhealthy workloads; the hardened Deployment is in none.
  EXPECT_TRUE(Unhealthy("workload-privileged-containers").count("prod/shop/Deployment/cart"));
  EXPECT_TRUE(Unhealthy("workload-host-namespaces").count("prod/shop/Pod/debug-node-2"));
  EXPECT_TRUE(
      Unhealthy("rbac-least-privilege").count("prod//ClusterRoleBinding/ci-deployer-admin"));
  const Json recommendations = Get("/api/v1/recommendations");
  for (const auto& definition : recommendations["items"]) {
    const std::string id = definition["id"];
    EXPECT_FALSE(Unhealthy(id).count("prod/shop/Deployment/catalog")) << id;
  }
  Json score = Get("/api/v1/score");
  bool counted = false;
  for (const auto& control : score["controls"]) {
    if (control["control"] == "Manage access and permissions") {
      counted = control["total"].get<int>() >= static_cast<int>(total);
    }
  }
  EXPECT_TRUE(counted) << score;

  // The next report: the debug pod is gone, and so are its findings.
  auto again = RunAgainst({kAfter, kOverlay, kRecorded});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(Get("/api/v1/agents")["items"][0]["acked_through"], 2);
  EXPECT_TRUE(Get("/api/v1/findings?resource_id=prod/shop/Pod/debug-node-2")["items"].empty());
  Json resolved =
      Get("/api/v1/findings?status=all&resource_id=prod/shop/Pod/debug-node-2")["items"];
  ASSERT_FALSE(resolved.empty());
  for (const auto& f : resolved) EXPECT_NE(f["resolved_at"], "") << f;
  EXPECT_FALSE(Unhealthy("workload-host-namespaces").count("prod/shop/Pod/debug-node-2"));
  EXPECT_TRUE(Unhealthy("workload-privileged-containers").count("prod/shop/Deployment/cart"));
}

TEST_F(ClusterAgentTest, AnUnreachableApiServerFailsOnceAndSendsNothing) {
  // Nothing listens at this address: --once says so and spools no report.
  k8s::testing::WriteText(options_.cluster.connection.kubeconfig,
                          pki_.Kubeconfig("https://127.0.0.1:1"));
  std::atomic<bool> stop{false};
  auto ran = RunAgent(options_, stop);
  ASSERT_FALSE(ran.ok());
  EXPECT_NE(ran.error().message.find("cluster report"), std::string::npos) << ran.error().message;
  EXPECT_TRUE(Get("/api/v1/clusters")["items"].empty());
}

TEST(ClusterReportTest, ImageIdsGiveRepositoryDigestsOnly) {
  const std::string digest = Repeat("ab12");
  EXPECT_EQ(DigestOfImageId("docker-pullable://nginx@" + digest), digest);
  EXPECT_EQ(DigestOfImageId("registry.example:5000/team/app@" + digest), digest);
  // containerd's image id is the config's digest: no registry serves it as a manifest.
  EXPECT_EQ(DigestOfImageId(digest), "");
  EXPECT_EQ(DigestOfImageId("nginx@sha256:short"), "");
  EXPECT_EQ(DigestOfImageId(""), "");
}

}  // namespace
}  // namespace moat::agent
