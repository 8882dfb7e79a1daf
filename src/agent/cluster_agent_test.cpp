// `moat agent --kind cluster --once` end to end: the agent reads a cluster from recorded API
// responses served over loopback HTTPS with a client certificate (k8s/test_api_server.h:
// src/k8s/testdata/cluster with this folder's testdata/cluster over it, which adds ReplicaSets,
// pods with their containers' imageIDs and a hardened Deployment), assesses it with the k8s check
// library and sends a cluster_report to a real moat server (SQLite); the server then lists the
// cluster, its workloads and their recommendations. A second report without the debug pod
// resolves that pod's findings. The admission policy audit of the same listing goes with each
// report, with the policy modes set on that server.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/agent.h"
#include "agent/cluster_report.h"
#include "agent/test_center.h"
#include "artifact/test_fixture.h"
#include "k8s/test_api_server.h"

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

// The recordings, and the agent's node listing (which `moat k8s cluster` does not make) from
// the first nodes.json of `dirs`.
std::pair<int, std::string> ServeWithNodes(const std::vector<fs::path>& dirs,
                                           const std::string& target) {
  if (target.rfind("/api/v1/nodes?", 0) == 0) {
    for (const fs::path& dir : dirs) {
      if (fs::exists(dir / "nodes.json")) return {200, k8s::testing::ReadText(dir / "nodes.json")};
    }
  }
  return k8s::testing::ServeRecordedFrom(dirs, target);
}

class ClusterAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok()) << "openssl could not make the test PKI";
    ASSERT_TRUE(center_.ok());
    options_.server = {center_.url(), center_.agent_token(), "", 30};
    options_.registration = {"prod", "cluster", "0.1.0-test", "agent-pod"};
    options_.spool_dir = dir_ + "/spool";
    options_.sender.initial_backoff = std::chrono::milliseconds(20);
    options_.once = true;
    options_.once_timeout = std::chrono::seconds(30);
    options_.cluster.cluster_name = "prod";
    options_.cluster.connection.kubeconfig = dir_ + "/kubeconfig";
  }

  /// One `--once` run of the agent against the recordings of `dirs` (the first holding a file
  /// wins).
  Result<void> RunAgainst(std::vector<fs::path> dirs) {
    k8s::testing::TlsApiServer api_server(
        pki_.dir(), [dirs](const std::string& target) { return ServeWithNodes(dirs, target); });
    if (!api_server.ready()) return Fail("the API server stand-in did not start");
    k8s::testing::WriteText(options_.cluster.connection.kubeconfig,
                            pki_.Kubeconfig(api_server.Url()));
    std::atomic<bool> stop{false};
    return RunAgent(options_, stop);
  }

  Json Get(const std::string& path, int expected_status = 200) {
    return center_.Get(path, expected_status);
  }
  std::set<std::string> Unhealthy(const std::string& recommendation) {
    return center_.Unhealthy(recommendation);
  }

  moat::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
  k8s::testing::TestPki pki_;
  testing::LoopbackCenter center_{dir_, "cluster-prod"};
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

  // Nodes: what their Node objects say and the pods bound to them (spec.nodeName), each pod with
  // the workload that stands for it.
  Json nodes = Get("/api/v1/clusters/prod/nodes")["items"];
  ASSERT_EQ(nodes.size(), 3u) << nodes;
  EXPECT_EQ(cluster["nodes"], 3);
  EXPECT_EQ(nodes[0]["name"], "node-1");
  EXPECT_EQ(nodes[0]["kubelet_version"], "v1.29.2");
  EXPECT_EQ(nodes[0]["os_image"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(nodes[0]["kernel"], "6.1.0-27-amd64");
  EXPECT_EQ(nodes[0]["container_runtime"], "containerd://1.6.20");
  EXPECT_EQ(nodes[0]["roles"], Json::array({"control-plane"}));
  EXPECT_EQ(nodes[0]["ready"], "True");
  EXPECT_EQ(nodes[0]["pods"], 1);
  EXPECT_EQ(nodes[0]["conditions"].size(), 4u);
  EXPECT_EQ(nodes[1]["ready"], "False");
  EXPECT_EQ(nodes[1]["unschedulable"], true);
  EXPECT_EQ(nodes[1]["conditions"][3]["reason"], "KubeletNotReady");
  EXPECT_EQ(nodes[2]["kubelet_version"], "v1.28.6");
  EXPECT_EQ(nodes[2]["pods"], 0);
  Json node_2 = Get("/api/v1/clusters/prod/nodes/node-2");
  ASSERT_EQ(node_2["pod_items"].size(), 1u) << node_2;
  EXPECT_EQ(node_2["pod_items"][0]["name"], "debug-node-2");
  EXPECT_EQ(node_2["pod_items"][0]["workload_id"], "prod/shop/Pod/debug-node-2");
  EXPECT_EQ(node_2["pod_items"][0]["phase"], "Running");
  EXPECT_EQ(Get("/api/v1/clusters/prod/nodes?q=v1.28")["items"].size(), 1u);
  Get("/api/v1/clusters/prod/nodes/node-9", 404);
  Get("/api/v1/clusters/staging/nodes", 404);

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

// The admission policy audit rides on each report: the objects the report listed, judged with the
// policy modes set on the server (fetched with the agent's own token, role agent) and the agent's
// --admission-config. A changed mode changes the next report's results, which replace the earlier.
TEST_F(ClusterAgentTest, ReportsTheAdmissionAuditWithTheServersPolicyModes) {
  server::Store& store = center_.center().store();
  ASSERT_TRUE(store.SetAdmissionPolicyMode({"pss-baseline-privileged", "deny", "test", 1}).ok());
  ASSERT_TRUE(
      store.SetAdmissionPolicyMode({"pss-baseline-host-namespaces", "warn", "test", 1}).ok());
  auto ran = RunAgainst({kOverlay, kRecorded});
  ASSERT_TRUE(ran.ok()) << ran.error().message;

  // (kind/namespace/name, policy) -> action of every result (a policy may fail at several places
  // of one object: hostNetwork and hostPID, each a result with the same action).
  auto results = [&](const std::string& query) {
    std::map<std::pair<std::string, std::string>, std::string> out;
    Json page = Get("/api/v1/clusters/prod/admission-audit?limit=1000" + query);
    for (const auto& r : page["items"]) {
      const std::string object = r["kind"].get<std::string>() + "/" +
                                 r["namespace"].get<std::string>() + "/" +
                                 r["name"].get<std::string>();
      auto [it, added] = out.emplace(std::pair{object, r["policy"]}, r["action"]);
      EXPECT_EQ(it->second, r["action"]) << r;
      EXPECT_FALSE(r["message"].get<std::string>().empty()) << r;
      EXPECT_NE(r["message"].get<std::string>().rfind("[", 0), 0u) << r;  // no "[deny] "
    }
    return out;
  };
  auto first = results("");
  const std::pair<std::string, std::string> cart_privileged{"Deployment/shop/cart",
                                                            "pss-baseline-privileged"};
  const std::pair<std::string, std::string> debug_host{"Pod/shop/debug-node-2",
                                                       "pss-baseline-host-namespaces"};
  EXPECT_EQ(first[cart_privileged], "deny");
  EXPECT_EQ(first[debug_host], "warn");
  for (const auto& [key, action] : first) {
    // Only the modes set: nothing else is judged.
    EXPECT_TRUE(key.second == "pss-baseline-privileged" ||
                key.second == "pss-baseline-host-namespaces")
        << key.first << " " << key.second;
    // The pods and ReplicaSets of a Deployment repeat its template: the Deployment stands for
    // them. The hardened Deployment violates nothing; kube-system is excluded, as the webhook
    // excludes it.
    EXPECT_EQ(key.first.find("ReplicaSet/"), std::string::npos) << key.first;
    EXPECT_EQ(key.first.find("cart-"), std::string::npos) << key.first;
    EXPECT_EQ(key.first.find("/catalog"), std::string::npos) << key.first;
    EXPECT_EQ(key.first.find("/kube-system/"), std::string::npos) << key.first;
  }
  // Filters, and the counts on the cluster.
  for (const auto& [key, action] : results("&action=deny")) EXPECT_EQ(action, "deny");
  EXPECT_TRUE(results("&action=deny").count(cart_privileged));
  EXPECT_FALSE(results("&action=deny").count(debug_host));
  EXPECT_TRUE(results("&namespace=kube-system").empty());
  Json cluster = Get("/api/v1/clusters/prod");
  const Json all = Get("/api/v1/clusters/prod/admission-audit?limit=1000")["items"];
  size_t denied = 0, warned = 0;
  for (const auto& r : all) (r["action"] == "deny" ? denied : warned) += 1;
  EXPECT_EQ(cluster["admission_audit"]["deny"], denied) << cluster;
  EXPECT_EQ(cluster["admission_audit"]["warn"], warned) << cluster;
  EXPECT_EQ(cluster["admission_audit"]["audit"], 0) << cluster;
  EXPECT_TRUE(cluster["admission_audit"]["audited_at"].is_string()) << cluster;
  // Pages of one cover every result once.
  size_t paged = 0;
  std::string cursor;
  do {
    Json page = Get("/api/v1/clusters/prod/admission-audit?limit=1" +
                    (cursor.empty() ? std::string() : "&cursor=" + cursor));
    paged += page["items"].size();
    cursor = page["next_cursor"];
  } while (!cursor.empty());
  EXPECT_EQ(paged, all.size());
  Get("/api/v1/clusters/prod/admission-audit?action=block", 400);
  Get("/api/v1/clusters/prod/admission-audit?cursor=zzz", 400);
  Get("/api/v1/clusters/staging/admission-audit", 404);

  // The administrator makes privileged containers a warning and drops the host namespaces
  // policy: the next report says so, and its results replace the first's.
  ASSERT_TRUE(store.SetAdmissionPolicyMode({"pss-baseline-privileged", "warn", "test", 2}).ok());
  ASSERT_TRUE(*store.DeleteAdmissionPolicyMode("pss-baseline-host-namespaces"));
  // The agent's own configuration adds a policy in audit mode.
  options_.admission_config = dir_ + "/admission.yaml";
  k8s::testing::WriteText(
      options_.admission_config,
      "policies:\n  - checks: [pss-restricted-run-as-non-root]\n    action: audit\n");
  auto again = RunAgainst({kOverlay, kRecorded});
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto second = results("");
  EXPECT_EQ(second[cart_privileged], "warn");
  EXPECT_FALSE(second.count(debug_host));
  EXPECT_TRUE(results("&action=deny").empty());
  bool run_as_root_audited = false;
  for (const auto& [key, action] : second) {
    EXPECT_NE(key.second, "pss-baseline-host-namespaces");
    if (key.second == "pss-restricted-run-as-non-root") {
      EXPECT_EQ(action, "audit");
      run_as_root_audited = true;
    }
  }
  EXPECT_TRUE(run_as_root_audited);
  cluster = Get("/api/v1/clusters/prod");
  EXPECT_EQ(cluster["admission_audit"]["deny"], 0) << cluster;
  EXPECT_GT(cluster["admission_audit"]["warn"].get<int>(), 0) << cluster;
}

// With --no-admission-audit, or when the server's modes cannot be read, a report has no
// admission_audit and the server keeps what it had: never results judged by other policies.
TEST_F(ClusterAgentTest, NoAdmissionAuditWhenTheModesCannotBeRead) {
  ASSERT_TRUE(center_.center()
                  .store()
                  .SetAdmissionPolicyMode({"pss-baseline-privileged", "deny", "t", 1})
                  .ok());
  options_.admission_audit = false;
  auto ran = RunAgainst({kOverlay, kRecorded});
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  Json cluster = Get("/api/v1/clusters/prod");
  EXPECT_TRUE(cluster["admission_audit"]["audited_at"].is_null()) << cluster;
  EXPECT_TRUE(Get("/api/v1/clusters/prod/admission-audit")["items"].empty());

  // A configuration that no longer parses: the report goes without the audit, noted.
  options_.admission_audit = true;
  options_.admission_config = dir_ + "/admission.yaml";
  k8s::testing::WriteText(options_.admission_config, "policies: [ {checks: \n");
  ran = RunAgainst({kOverlay, kRecorded});
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  EXPECT_TRUE(Get("/api/v1/clusters/prod")["admission_audit"]["audited_at"].is_null());
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
