// `moat k8s cluster` against a loopback HTTPS API server that requires a client certificate and
// serves recorded list responses (testdata/cluster/): pagination, a 403 for secrets, Cilium and
// Calico policies (custom resources) and a 404 for a group that is not installed, ConfigMap data,
// the kubeconfig with inline certificate data, and a server that never answers.

#include "k8s/cluster.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "artifact/source_util.h"
#include "core/bytes.h"
#include "k8s/checks.h"
#include "k8s/kubeconfig.h"
#include "k8s/report.h"
#include "k8s/test_api_server.h"

namespace moat::k8s {
namespace {

using namespace moat::k8s::testing;  // NOLINT: the test server, its PKI and file helpers

const fs::path kRecorded = fs::path(MOAT_SOURCE_DIR) / "src/k8s/testdata/cluster";

/// The recordings of testdata/cluster (see ServeRecordedFrom).
std::pair<int, std::string> ServeRecorded(const std::string& target) {
  return ServeRecordedFrom({kRecorded}, target);
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl
/// command line once for all tests of the suite.
class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_holder_ = std::make_unique<TestPki>();
    ASSERT_TRUE(pki_holder_->ok()) << "openssl could not make the test PKI";
    pki_ = pki_holder_->dir();
  }
  static void TearDownTestSuite() { pki_holder_.reset(); }

  std::string Kubeconfig(const std::string& server, bool with_client_certificate = true) {
    return pki_holder_->Kubeconfig(server, with_client_certificate);
  }

  Result<ClusterConnection> Connect(const std::string& server, bool with_client_certificate) {
    const fs::path path = pki_ / "kubeconfig";
    WriteText(path, Kubeconfig(server, with_client_certificate));
    return LoadKubeconfig({path.string()}, "");
  }

  static std::unique_ptr<TestPki> pki_holder_;
  static fs::path pki_;
};

std::unique_ptr<TestPki> ClusterTest::pki_holder_;
fs::path ClusterTest::pki_;

const Finding* FindingAt(const Assessment& a, const std::string& check,
                         const std::string& location) {
  for (const Finding& f : a.findings) {
    if (f.check->id == check && a.objects[f.object].Location(f.line) == location) return &f;
  }
  return nullptr;
}

size_t FindingsOf(const Assessment& a, const std::string& check) {
  size_t n = 0;
  for (const Finding& f : a.findings) n += f.check->id == check;
  return n;
}

/// What the listing read of `kind` in `api_version`; a default KindListing with status -1 when
/// the kind was not in the listing at all.
KindListing ListingOf(const ClusterListing& listing, const std::string& kind,
                      const std::string& api_version) {
  for (const KindListing& k : listing.kinds) {
    if (k.kind == kind && k.api_version == api_version) return k;
  }
  KindListing absent;
  absent.status = -1;
  return absent;
}

const Object* ObjectNamed(const LoadResult& input, const std::string& kind,
                          const std::string& name) {
  for (const Object& o : input.objects) {
    if (o.kind == kind && o.name == name) return &o;
  }
  return nullptr;
}

TEST_F(ClusterTest, ListsEveryKindPageByPageWithAClientCertificate) {
  TlsApiServer server(pki_, ServeRecorded);
  ASSERT_TRUE(server.ready());
  auto connection = Connect(server.Url(), true);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  EXPECT_EQ(connection->context, "test-admin");

  auto listing = ListCluster(*connection, ClusterListOptions{});
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  EXPECT_TRUE(listing->input.errors.empty()) << listing->input.errors.front().ToString();
  EXPECT_EQ(server.HandshakeFailures(), 0);

  // Every request carried the client certificate.
  const std::vector<SeenRequest> requests = server.Requests();
  ASSERT_FALSE(requests.empty());
  for (const SeenRequest& r : requests) EXPECT_EQ(r.client_common_name, "moat-test") << r.target;

  // Every kind was asked for; pods took two pages, the second with the first page's token.
  EXPECT_EQ(listing->kinds.size(), ClusterResourceKinds().size());
  size_t pod_requests = 0;
  bool continued = false;
  for (const SeenRequest& r : requests) {
    if (r.target.rfind("/api/v1/pods?", 0) != 0) continue;
    ++pod_requests;
    continued |= QueryParameter(r.target, "continue").rfind("eyJ2Ijoib", 0) == 0;
  }
  EXPECT_EQ(pod_requests, 2u);
  EXPECT_TRUE(continued);
  for (const KindListing& kind : listing->kinds) {
    if (kind.kind == "Pod") {
      EXPECT_EQ(kind.pages, 2u);
      EXPECT_EQ(kind.objects, 3u);
    }
    if (kind.kind == "Secret") {
      EXPECT_EQ(kind.status, 403);
    }
  }

  // The forbidden kind is a warning that names it and the status; the rest is assessed.
  ASSERT_EQ(listing->input.warnings.size(), 1u);
  const std::string& warning = listing->input.warnings.front();
  EXPECT_NE(warning.find("secrets"), std::string::npos) << warning;
  EXPECT_NE(warning.find("403 Forbidden"), std::string::npos) << warning;
  EXPECT_NE(warning.find("cannot list resource \"secrets\""), std::string::npos) << warning;

  // Cilium is installed; Calico without its API server: projectcalico.org/v3 is not served (a
  // note, not a warning), so Calico's policies are read from its crd.projectcalico.org/v1
  // custom resources.
  EXPECT_EQ(ListingOf(*listing, "CiliumNetworkPolicy", "cilium.io/v2").objects, 1u);
  EXPECT_EQ(ListingOf(*listing, "CiliumClusterwideNetworkPolicy", "cilium.io/v2").status, 200);
  EXPECT_EQ(ListingOf(*listing, "NetworkPolicy", "projectcalico.org/v3").status, 404);
  EXPECT_EQ(ListingOf(*listing, "GlobalNetworkPolicy", "projectcalico.org/v3").status, 404);
  EXPECT_EQ(ListingOf(*listing, "NetworkPolicy", "crd.projectcalico.org/v1").status, 200);
  const KindListing calico = ListingOf(*listing, "GlobalNetworkPolicy", "crd.projectcalico.org/v1");
  EXPECT_EQ(calico.status, 200);
  EXPECT_EQ(calico.objects, 1u);
  EXPECT_EQ(listing->notes,
            std::vector<std::string>{
                "not installed in the cluster, not listed: NetworkPolicy "
                "(projectcalico.org/v3), GlobalNetworkPolicy (projectcalico.org/v3)"});
  const Object* cilium = ObjectNamed(listing->input, "CiliumNetworkPolicy", "storefront-ingress");
  ASSERT_NE(cilium, nullptr);
  EXPECT_EQ(cilium->file, server.Url() +
                              "/apis/cilium.io/v2/namespaces/shop/ciliumnetworkpolicies/"
                              "storefront-ingress");
  const Object* global =
      ObjectNamed(listing->input, "GlobalNetworkPolicy", "default.allow-cluster-internal-ingress");
  ASSERT_NE(global, nullptr);
  EXPECT_EQ(global->api_version, "crd.projectcalico.org/v1");
  EXPECT_EQ(global->root.Path({"spec", "selector"})->text, "has(kubernetes-host)");
  EXPECT_EQ(global->file, server.Url() +
                              "/apis/crd.projectcalico.org/v1/globalnetworkpolicies/"
                              "default.allow-cluster-internal-ingress");

  // List items get their kind and apiVersion. ConfigMaps keep their data (the credential check
  // reads it) but not binaryData, and no object keeps kubectl's copy of itself.
  for (const Object& o : listing->input.objects) {
    EXPECT_TRUE(o.live);
    ASSERT_NE(o.root.Get("kind"), nullptr);
    EXPECT_EQ(o.root.Get("kind")->text, o.kind);
    EXPECT_EQ(o.root.Get("apiVersion")->text, o.api_version);
    EXPECT_EQ(o.root.Path({"metadata", "managedFields"}), nullptr);
    EXPECT_EQ(o.root.Path(
                  {"metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"}),
              nullptr)
        << o.name;
    if (o.kind == "ConfigMap") {
      EXPECT_NE(o.root.Get("data"), nullptr) << o.name;
      EXPECT_EQ(o.root.Get("binaryData"), nullptr) << o.name;
    }
  }

  auto assessment = Assess(std::move(listing->input), AssessOptions{});
  ASSERT_TRUE(assessment.ok()) << assessment.error().message;
  const Assessment& a = *assessment;
  // Page one: a privileged container; page two: a pod in the host's namespaces.
  EXPECT_NE(FindingAt(a, "pss-baseline-privileged", "shop/Pod/cart-5f8c9d6b47-qdx7k"), nullptr);
  EXPECT_NE(FindingAt(a, "pss-baseline-host-namespaces", "shop/Pod/debug-node-2"), nullptr);
  EXPECT_NE(FindingAt(a, "pss-baseline-privileged", "shop/Deployment/cart"), nullptr);
  EXPECT_NE(FindingAt(a, "wl-image-tag", "shop/Deployment/storefront"), nullptr);
  EXPECT_NE(FindingAt(a, "net-sensitive-exposure", "shop/Service/orders-db"), nullptr);
  EXPECT_NE(FindingAt(a, "rbac-cluster-admin-binding", "ClusterRoleBinding/ci-deployer-admin"),
            nullptr);
  EXPECT_NE(FindingAt(a, "rbac-anonymous-grant", "ClusterRoleBinding/ci-deployer-admin"), nullptr);
  // The Cilium policy covers shop; default has no policy (the Calico one selects hosts, not pods).
  EXPECT_EQ(FindingAt(a, "net-namespace-without-networkpolicy", "Namespace/shop"), nullptr);
  EXPECT_NE(FindingAt(a, "net-namespace-without-networkpolicy", "Namespace/default"), nullptr);
  // The database password in a ConfigMap, masked; the CA bundle and plain settings are not
  // credentials.
  const Finding* credential =
      FindingAt(a, "cred-configmap-plaintext", "shop/ConfigMap/orders-db-config");
  ASSERT_NE(credential, nullptr);
  EXPECT_EQ(credential->path, "data[\"DB_PASSWORD\"]");
  EXPECT_NE(credential->message.find("DB_PASSWORD is named like a secret"), std::string::npos)
      << credential->message;
  EXPECT_EQ(credential->message.find("Wq7-orders-Zk2p9"), std::string::npos) << credential->message;
  EXPECT_EQ(FindingsOf(a, "cred-configmap-plaintext"), 1u);
  // kube-system is excluded by default, so the coredns pod yields nothing.
  for (const Finding& f : a.findings) {
    EXPECT_NE(a.objects[f.object].namespace_name, "kube-system") << f.check->id;
  }
  ASSERT_EQ(a.warnings.size(), 1u);

  auto table = RenderAssessment(a, "table", "test");
  ASSERT_TRUE(table.ok());
  EXPECT_NE(table->find("WARN   cannot list secrets"), std::string::npos) << *table;
  EXPECT_NE(table->find("shop/Pod/debug-node-2"), std::string::npos);
  auto json = RenderAssessment(a, "json", "test");
  ASSERT_TRUE(json.ok());
  EXPECT_NE(
      json->find("\"url\": \"" + server.Url() + "/api/v1/namespaces/shop/pods/debug-node-2\""),
      std::string::npos);
}

TEST_F(ClusterTest, KindsTheServerDoesNotServeAreWarningsTheRestIsAssessed) {
  // An older or trimmed-down server: no networking.k8s.io group, and a failing cronjobs list.
  TlsApiServer server(pki_, [](const std::string& target) -> std::pair<int, std::string> {
    if (target.rfind("/apis/networking.k8s.io/", 0) == 0) {
      return {404, R"({"kind":"Status","apiVersion":"v1","status":"Failure",)"
                   R"("message":"the server could not find the requested resource",)"
                   R"("reason":"NotFound","details":{},"code":404})"};
    }
    if (target.rfind("/apis/batch/v1/cronjobs", 0) == 0) return {500, "etcdserver: timeout"};
    return ServeRecorded(target);
  });
  ASSERT_TRUE(server.ready());
  auto connection = Connect(server.Url(), true);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  auto listing = ListCluster(*connection, ClusterListOptions{});
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  std::string warnings;
  for (const std::string& w : listing->input.warnings) warnings += w + "\n";
  EXPECT_EQ(listing->input.warnings.size(), 4u) << warnings;
  EXPECT_NE(warnings.find("cannot list ingresses (Ingress, networking.k8s.io/v1): 404 Not Found"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("cannot list networkpolicies"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("cannot list cronjobs (CronJob, batch/v1): 500: etcdserver: timeout"),
            std::string::npos)
      << warnings;
  size_t pods = 0;
  for (const Object& o : listing->input.objects) pods += o.kind == "Pod";
  EXPECT_EQ(pods, 3u);
}

TEST_F(ClusterTest, CalicoApiServerIsPreferredAndForbiddenCustomResourcesAreWarnings) {
  // Calico with its API server: projectcalico.org/v3 is served, so the custom resources behind
  // it are not read a second time. The credentials may not list Cilium's policies.
  TlsApiServer server(pki_, [](const std::string& target) -> std::pair<int, std::string> {
    if (target.rfind("/apis/cilium.io/", 0) == 0) {
      const std::string resource = target.substr(16, target.find('?') - 16);
      return {403, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                   R"("message":")" +
                       resource.substr(resource.find('/') + 1) +
                       R"(.cilium.io is forbidden: User \"moat-test\" cannot list resource",)"
                       R"("reason":"Forbidden","code":403})"};
    }
    if (target.rfind("/apis/crd.projectcalico.org/", 0) == 0) return {500, "not to be asked"};
    if (target.rfind("/apis/projectcalico.org/v3/globalnetworkpolicies?", 0) == 0) {
      std::string body = ReadText(kRecorded / "globalnetworkpolicies.crd.projectcalico.org.json");
      for (size_t at; (at = body.find("crd.projectcalico.org/v1")) != std::string::npos;)
        body.replace(at, 24, "projectcalico.org/v3");
      return {200, body};
    }
    if (target.rfind("/apis/projectcalico.org/v3/networkpolicies?", 0) == 0) {
      return {200, R"({"kind":"NetworkPolicyList","apiVersion":"projectcalico.org/v3",)"
                   R"("metadata":{"resourceVersion":"48213"},"items":[]})"};
    }
    return ServeRecorded(target);
  });
  ASSERT_TRUE(server.ready());
  auto connection = Connect(server.Url(), true);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  ClusterListOptions options;
  options.configmap_data = false;  // as when cred-configmap-plaintext does not run
  auto listing = ListCluster(*connection, options);
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  EXPECT_TRUE(listing->input.errors.empty()) << listing->input.errors.front().ToString();

  for (const SeenRequest& r : server.Requests()) {
    EXPECT_NE(r.target.rfind("/apis/crd.projectcalico.org/", 0), 0u) << r.target;
  }
  EXPECT_EQ(ListingOf(*listing, "GlobalNetworkPolicy", "projectcalico.org/v3").objects, 1u);
  EXPECT_EQ(ListingOf(*listing, "GlobalNetworkPolicy", "crd.projectcalico.org/v1").status, 0);
  EXPECT_EQ(ListingOf(*listing, "NetworkPolicy", "crd.projectcalico.org/v1").status, 0);
  EXPECT_EQ(ListingOf(*listing, "CiliumNetworkPolicy", "cilium.io/v2").status, 403);
  const Object* global =
      ObjectNamed(listing->input, "GlobalNetworkPolicy", "default.allow-cluster-internal-ingress");
  ASSERT_NE(global, nullptr);
  EXPECT_EQ(global->root.Get("apiVersion")->text, "projectcalico.org/v3");

  // 403 on a custom resource is a warning like on any kind; nothing is "not installed".
  EXPECT_TRUE(listing->notes.empty());
  std::string warnings;
  for (const std::string& w : listing->input.warnings) warnings += w + "\n";
  EXPECT_EQ(listing->input.warnings.size(), 3u) << warnings;  // secrets and the two Cilium kinds
  EXPECT_NE(warnings.find("cannot list ciliumnetworkpolicies (CiliumNetworkPolicy, cilium.io/v2): "
                          "403 Forbidden: ciliumnetworkpolicies.cilium.io is forbidden"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("cannot list ciliumclusterwidenetworkpolicies "
                          "(CiliumClusterwideNetworkPolicy, cilium.io/v2): 403 Forbidden"),
            std::string::npos)
      << warnings;

  for (const Object& o : listing->input.objects) {
    if (o.kind == "ConfigMap") {
      EXPECT_EQ(o.root.Get("data"), nullptr) << o.name;
    }
  }
  auto assessment = Assess(std::move(listing->input), AssessOptions{});
  ASSERT_TRUE(assessment.ok()) << assessment.error().message;
  // Without the Cilium policy shop has none that counts.
  EXPECT_NE(FindingAt(*assessment, "net-namespace-without-networkpolicy", "Namespace/shop"),
            nullptr);
  EXPECT_EQ(FindingsOf(*assessment, "cred-configmap-plaintext"), 0u);
}

TEST_F(ClusterTest, RejectedCredentialsEndTheListing) {
  TlsApiServer server(pki_, [](const std::string&) -> std::pair<int, std::string> {
    return {401, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                 R"("message":"Unauthorized","reason":"Unauthorized","code":401})"};
  });
  ASSERT_TRUE(server.ready());
  auto connection = Connect(server.Url(), true);
  ASSERT_TRUE(connection.ok());
  auto listing = ListCluster(*connection, ClusterListOptions{});
  ASSERT_FALSE(listing.ok());
  EXPECT_NE(listing.error().message.find("rejected the credentials of context \"test-admin\" "
                                         "(401 Unauthorized): Unauthorized"),
            std::string::npos)
      << listing.error().message;
  EXPECT_EQ(server.Requests().size(), 1u);  // no point asking for the other kinds
}

TEST_F(ClusterTest, ServerRefusesAClientWithoutCertificate) {
  TlsApiServer server(pki_, ServeRecorded);
  ASSERT_TRUE(server.ready());
  auto connection = Connect(server.Url(), false);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  ClusterListOptions options;
  options.request_timeout_seconds = 10;
  auto listing = ListCluster(*connection, options);
  ASSERT_FALSE(listing.ok());
  EXPECT_NE(listing.error().message.find(server.Url()), std::string::npos)
      << listing.error().message;
  EXPECT_GE(server.HandshakeFailures(), 1);
}

TEST_F(ClusterTest, UnknownCertificateAuthorityIsATlsError) {
  TlsApiServer server(pki_, ServeRecorded);
  ASSERT_TRUE(server.ready());
  auto connection = Connect(server.Url(), true);
  ASSERT_TRUE(connection.ok());
  connection->ca_pem.clear();  // the system store does not know the test CA
  auto listing = ListCluster(*connection, ClusterListOptions{});
  ASSERT_FALSE(listing.ok());
  EXPECT_NE(listing.error().message.find("cannot list namespaces"), std::string::npos)
      << listing.error().message;
}

TEST_F(ClusterTest, ServerThatNeverAnswersTimesOut) {
  // The kernel completes the TCP handshake for the backlog; nobody ever speaks TLS.
  int port = 0;
  const int fd = ListenLoopback(port);
  ASSERT_GE(fd, 0);
  auto connection = Connect("https://127.0.0.1:" + std::to_string(port), true);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  ClusterListOptions options;
  options.request_timeout_seconds = 1;
  const auto started = std::chrono::steady_clock::now();
  auto listing = ListCluster(*connection, options);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ::close(fd);
  ASSERT_FALSE(listing.ok());
  const std::string& message = listing.error().message;
  // The HTTP client names what it waited for and how long: the whole request's limit.
  EXPECT_NE(message.find("no complete reply within 1 s"), std::string::npos) << message;
  EXPECT_NE(message.find("timeout 1 s per request"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
  // One request gave up; the listing did not go on to wait on every other kind.
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(ClusterListPage, StatusAndMalformedPagesAreErrors) {
  const ResourceKind& pods = ClusterResourceKinds()[1];
  LoadResult out;
  EXPECT_FALSE(
      ParseListPage(R"({"kind":"Status","message":"nope","code":500})", pods, "u", out).ok());
  EXPECT_FALSE(ParseListPage("[1, 2]", pods, "u", out).ok());
  EXPECT_FALSE(ParseListPage(R"({"kind":"PodList","items":{"a":1}})", pods, "u", out).ok());
  EXPECT_FALSE(ParseListPage("{\"kind\": [", pods, "u", out).ok());
  auto token = ParseListPage(R"({"kind":"PodList","metadata":{},"items":[3, {"metadata":{}}]})",
                             pods, "https://h/api/v1/pods?limit=500", out);
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(*token, "");
  ASSERT_EQ(out.errors.size(), 1u);  // items[0] is not an object
  ASSERT_EQ(out.objects.size(), 1u);
  EXPECT_EQ(out.objects[0].kind, "Pod");
  EXPECT_EQ(out.objects[0].Location(7), "default/Pod/<no name>");
}

}  // namespace
}  // namespace moat::k8s
