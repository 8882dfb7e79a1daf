// The posture checks that peers (kubescape, Trivy, Polaris, kube-score) have and that need more
// than a one-line change of the good case: optional policies and their selection, live clusters
// (built-in roles, system components), network policies of other CNIs, the credential
// classifier's true and false positives, the target Kubernetes version.

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "core/bytes.h"
#include "k8s/checks.h"
#include "k8s/cluster.h"
#include "k8s/loader.h"

namespace moat::k8s {
namespace {

struct RunSpec {
  std::vector<std::string> checks;
  bool live = false;
  bool assess_kube_system = false;
  ParameterValues parameters = {};
};

Assessment Assessed(const std::string& yaml, const RunSpec& run) {
  LoadResult loaded;
  ParseManifests(yaml, "case.yaml", loaded);
  EXPECT_TRUE(loaded.errors.empty()) << loaded.errors.front().ToString();
  for (Object& o : loaded.objects) o.live = run.live;
  AssessOptions options;
  options.checks = run.checks;
  options.parameters = run.parameters;
  if (run.assess_kube_system) options.exclude_namespaces.clear();
  auto result = Assess(std::move(loaded), options);
  EXPECT_TRUE(result.ok()) << result.error().message;
  return std::move(result).value();
}

/// "check Kind/name" for every finding, to compare as a set.
std::multiset<std::string> Fired(const Assessment& a) {
  std::multiset<std::string> out;
  for (const Finding& f : a.findings)
    out.insert(f.check->id + " " + a.objects[f.object].kind + "/" + a.objects[f.object].name);
  return out;
}

std::string Messages(const Assessment& a) {
  std::string out;
  for (const Finding& f : a.findings) out += "\n  " + f.check->id + ": " + f.message;
  return out;
}

TEST(OptionalChecks, OffByDefaultAndSelectedOnlyByIdOrOptional) {
  const std::set<std::string> optional = {"wl-high-uid-gid", "wl-image-digest"};
  for (const std::vector<std::string>& patterns :
       std::vector<std::vector<std::string>>{{}, {"all"}, {"workload"}, {"wl-*"}}) {
    auto ids = SelectChecks(patterns);
    ASSERT_TRUE(ids.ok());
    for (const std::string& id : *ids) EXPECT_FALSE(optional.count(id)) << id;
  }
  auto by_id = SelectChecks({"wl-image-digest"});
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(*by_id, std::vector<std::string>{"wl-image-digest"});
  auto by_group = SelectChecks({"optional"});
  ASSERT_TRUE(by_group.ok());
  EXPECT_EQ(std::set<std::string>(by_group->begin(), by_group->end()), optional);
  for (const std::string& id : optional) EXPECT_TRUE(FindCheck(id)->optional) << id;
}

const char* kPod = R"(apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  securityContext: {runAsUser: 20000, runAsGroup: 20000}
  containers:
  - name: app
    image: registry.example.com/app:1.0
    securityContext: {runAsUser: 500}
)";

TEST(OptionalChecks, ContainerValueOverridesThePods) {
  const Assessment a = Assessed(kPod, {{"wl-high-uid-gid"}});
  ASSERT_EQ(a.findings.size(), 1u) << Messages(a);
  EXPECT_EQ(a.findings[0].path, "spec.containers[0].securityContext.runAsUser");
  EXPECT_NE(a.findings[0].message.find("UID 500"), std::string::npos);
  // The threshold is a parameter.
  const Assessment lower = Assessed(
      kPod, {{"wl-high-uid-gid"}, false, false, {{"wl-high-uid-gid", {{"minimumId", {"500"}}}}}});
  EXPECT_TRUE(lower.findings.empty()) << Messages(lower);
}

TEST(Posture, ReadOnlyRootFilesystemCoversEphemeralContainers) {
  const std::string pod = R"(apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - {name: app, image: app:1.0, securityContext: {readOnlyRootFilesystem: true}}
  ephemeralContainers:
  - {name: debugger, image: busybox:1.36}
)";
  const Assessment a = Assessed(pod, {{"wl-readonly-rootfs"}});
  ASSERT_EQ(a.findings.size(), 1u) << Messages(a);
  EXPECT_EQ(a.findings[0].path,
            "spec.ephemeralContainers[0].securityContext.readOnlyRootFilesystem");
}

const char* kRbac = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cluster-admin
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: edit
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get, list, watch, create, delete]}
- {apiGroups: [""], resources: [pods/exec], verbs: [create, get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:controller:namespace-controller
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {kind: ServiceAccount, name: namespace-controller, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci-edit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: masters}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, name: system:masters}
- {kind: Group, name: system:masters, apiGroup: rbac.authorization.k8s.io}
)";

TEST(Rbac, BuiltinClusterRolesFromAClusterAreNotFindingsTheirBindingsAre) {
  const RunSpec run{{"rbac"}, /*live=*/true};
  const std::multiset<std::string> fired = Fired(Assessed(kRbac, run));
  // No rule check fires on cluster-admin or edit themselves.
  for (const std::string& f : fired) EXPECT_EQ(f.find("ClusterRole/"), std::string::npos) << f;
  // The user binding that grants edit inherits its risky rules; the bootstrap binding does not.
  EXPECT_EQ(fired.count("rbac-builtin-role-grant ClusterRoleBinding/ci-edit"), 1u);
  EXPECT_EQ(
      fired.count(
          "rbac-builtin-role-grant ClusterRoleBinding/system:controller:namespace-controller"),
      0u);
  // system:masters only as a Group.
  EXPECT_EQ(fired.count("rbac-cluster-admin-binding ClusterRoleBinding/masters"), 1u);

  const Assessment a = Assessed(kRbac, run);
  for (const Finding& f : a.findings) {
    if (f.check->id != "rbac-builtin-role-grant") continue;
    EXPECT_NE(f.message.find("can read secrets"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("pods/exec"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("ServiceAccount ci/deployer"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("in every namespace"), std::string::npos) << f.message;
  }
  // In manifests the same roles are someone's definitions: their rules are assessed.
  const std::multiset<std::string> manifests = Fired(Assessed(kRbac, {{"rbac-wildcard"}}));
  EXPECT_EQ(manifests.count("rbac-wildcard ClusterRole/cluster-admin"), 1u);
}

TEST(Rbac, ConfigMapsInKubeSystemThroughAClusterRole) {
  const std::string yaml = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: config-writer}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: config-writer, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: config-writer}
subjects:
- {kind: User, name: alice}
)";
  // Bound only in team-a: it does not reach kube-system.
  EXPECT_TRUE(Assessed(yaml, {{"rbac-configmaps-kube-system"}}).findings.empty());
  // Bound cluster-wide: it does.
  std::string cluster_wide = yaml;
  cluster_wide.replace(cluster_wide.find("kind: RoleBinding\nmetadata: {name: config-writer, "
                                         "namespace: team-a}"),
                       std::string("kind: RoleBinding\nmetadata: {name: config-writer, "
                                   "namespace: team-a}")
                           .size(),
                       "kind: ClusterRoleBinding\nmetadata: {name: config-writer}");
  const Assessment a = Assessed(cluster_wide, {{"rbac-configmaps-kube-system"}});
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_NE(a.findings[0].message.find("User alice via ClusterRoleBinding/config-writer"),
            std::string::npos)
      << a.findings[0].message;
}

TEST(Rbac, WorkloadServiceAccountThroughTheServiceAccountsGroup) {
  const std::string yaml = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: web, image: web:1.0}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: all-sa-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: Group, name: "system:serviceaccounts:shop", apiGroup: rbac.authorization.k8s.io}
)";
  const Assessment a = Assessed(yaml, {{"rbac-workload-admin-sa"}});
  ASSERT_EQ(a.findings.size(), 1u) << Messages(a);
  EXPECT_NE(a.findings[0].message.find("service account shop/default"), std::string::npos)
      << a.findings[0].message;
}

const char* kNamespaceOnly = R"(apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: restricted}
)";

TEST(Network, CiliumAndCalicoPoliciesCount) {
  const RunSpec run{{"net-namespace-without-networkpolicy"}};
  EXPECT_EQ(Assessed(kNamespaceOnly, run).findings.size(), 1u);
  const std::string cilium = std::string(kNamespaceOnly) + R"(---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {endpointSelector: {}, ingress: [{}]}
)";
  EXPECT_TRUE(Assessed(cilium, run).findings.empty());
  const std::string clusterwide = std::string(kNamespaceOnly) + R"(---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: default-deny}
spec: {endpointSelector: {}, ingress: [{}]}
)";
  EXPECT_TRUE(Assessed(clusterwide, run).findings.empty());
  // A cluster-wide policy for some endpoints only does not cover the namespace.
  std::string narrow = clusterwide;
  narrow.replace(narrow.find("endpointSelector: {}"), 20,
                 "endpointSelector: {matchLabels: {app: db}}");
  EXPECT_EQ(Assessed(narrow, run).findings.size(), 1u);
  const std::string calico_global = std::string(kNamespaceOnly) + R"(---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: default-deny}
spec: {selector: all(), types: [Ingress]}
)";
  EXPECT_TRUE(Assessed(calico_global, run).findings.empty());
  const std::string calico = std::string(kNamespaceOnly) + R"(---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {selector: all(), types: [Ingress]}
)";
  EXPECT_TRUE(Assessed(calico, run).findings.empty());
}

TEST(Network, InternalLoadBalancersAreNotExternalPaths) {
  const std::string yaml = R"(apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
  annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: "true"}
spec:
  type: LoadBalancer
  ports: [{port: 443}]
)";
  EXPECT_TRUE(Assessed(yaml, {{"net-external-exposure"}}).findings.empty());
  std::string external = yaml;
  external.replace(external.find("\"true\""), 6, "\"false\"");
  const Assessment a = Assessed(external, {{"net-external-exposure"}});
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_NE(a.findings[0].message.find("port(s) 443 from any address"), std::string::npos)
      << a.findings[0].message;
}

TEST(Posture, SystemComponentsInKubeSystemFromAClusterAreNotUserWorkloads) {
  const std::string yaml = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers: [{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.1}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: miner, namespace: kube-system}
spec:
  template:
    spec:
      containers: [{name: miner, image: evil/miner:1.0}]
)";
  const RunSpec live{{"wl-kube-system"}, /*live=*/true, /*assess_kube_system=*/true};
  EXPECT_EQ(Fired(Assessed(yaml, live)),
            std::multiset<std::string>{"wl-kube-system Deployment/miner"});
  // In manifests both are someone's choice to deploy there.
  const RunSpec manifests{{"wl-kube-system"}, false, true};
  EXPECT_EQ(Assessed(yaml, manifests).findings.size(), 2u);
  // kube-system is excluded from the other checks by default, but not from this one: the
  // default run reports the user workload and leaves everything else there alone.
  const RunSpec live_default{{"wl-kube-system", "wl-cpu-limits"}, /*live=*/true};
  const Assessment a = Assessed(yaml, live_default);
  EXPECT_EQ(Fired(a), std::multiset<std::string>{"wl-kube-system Deployment/miner"});
  EXPECT_EQ(a.excluded, 1u);  // coredns: no finding, and no other check looked at it
}

/// One ConfigMap per value; returns the number of findings of cred-configmap-plaintext.
size_t CredentialFindings(const std::string& key, const std::string& value) {
  const std::string yaml =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n"
      "data:\n  " +
      key + ": '" + value + "'\n";
  return Assessed(yaml, {{"cred-configmap-plaintext"}}).findings.size();
}

TEST(Credentials, KnownFormatsAndSecretNamesAreFound) {
  const std::pair<std::string, std::string> kSecrets[] = {
      {"DB_PASSWORD", "correct-horse-battery"},
      {"dbPassword", "Winter2026!"},
      {"spring.datasource.password", "s3cr3tpw"},
      {"API_KEY", "abcd1234efgh"},
      {"stripe", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
      {"aws", "ASIAY34FZKBOKMUTVV7A"},
      {"slack", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
      {"gcp", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"},
      {"session",
       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_"
       "XgL0n3I9PlFUP0THsR8U"},
      {"broker", "amqp://app:R4bb1tPass@mq.internal:5672/"},
      {"random", "Zq3xP9vL2mK8rT5wY1bN7cH4jD6fG0sA"},
      {"tlsKey", "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB"},
  };
  for (const auto& [key, value] : kSecrets)
    EXPECT_EQ(CredentialFindings(key, value), 1u) << key << ": " << value;
}

TEST(Credentials, OrdinaryConfigurationIsNotACredential) {
  const std::pair<std::string, std::string> kOrdinary[] = {
      {"PASSWORD_FILE", "/run/secrets/db"},
      {"TOKEN_URL", "https://login.example.com/oauth2/token"},
      {"API_KEY_ID", "prod-key-7"},
      {"DB_PASSWORD", "${DB_PASSWORD}"},
      {"DB_PASSWORD", "$(DB_PASSWORD)"},
      {"SECRET_NAME", "web-tls"},
      {"PUBLIC_KEY", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"},
      {"CACHE_KEY", "user-profile-v2"},
      {"image", "registry.example.com/shop/web@sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
      {"commit", "3f2c9a7e1b4d5f60718293a4b5c6d7e8f9a0b1c2"},
      {"uuid", "7d444840-9dc0-11d1-b245-5ffdce74fad2"},
      {"url", "postgres://db.internal:5432/shop"},
      {"TOKEN_TTL", "3600"},
      {"greeting", "Hello, world! Welcome to the shop."},
      {"ENABLE_PASSWORD_LOGIN", "true"},
      {"caBundle",
       "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pP"},
  };
  for (const auto& [key, value] : kOrdinary)
    EXPECT_EQ(CredentialFindings(key, value), 0u) << key << ": " << value;
}

TEST(Credentials, MessagesMaskTheValue) {
  const std::string yaml =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n"
      "data:\n  DB_PASSWORD: correct-horse-battery\n";
  const Assessment a = Assessed(yaml, {{"cred-configmap-plaintext"}});
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].message.find("correct-horse"), std::string::npos)
      << a.findings[0].message;
  EXPECT_NE(a.findings[0].message.find("21 characters"), std::string::npos)
      << a.findings[0].message;
  EXPECT_EQ(a.findings[0].path, "data[\"DB_PASSWORD\"]");
  EXPECT_EQ(a.findings[0].line, 5u);
}

TEST(ApiVersions, TargetVersionDecidesDeprecatedOrRemoved) {
  const std::string yaml = R"(apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
)";
  auto at = [&](const std::string& version) {
    AssessOptions options;
    options.checks = {"api"};
    EXPECT_TRUE(SetTargetKubernetesVersion(version, options).ok());
    LoadResult loaded;
    ParseManifests(yaml, "pdb.yaml", loaded);
    auto a = Assess(std::move(loaded), options);
    EXPECT_TRUE(a.ok());
    return Fired(*a);
  };
  EXPECT_EQ(at("v1.24"), std::multiset<std::string>{"api-deprecated PodDisruptionBudget/web"});
  EXPECT_EQ(at("1.25"), std::multiset<std::string>{"api-removed PodDisruptionBudget/web"});
  // The default target is the latest version.
  EXPECT_EQ(Fired(Assessed(yaml, {{"api"}})),
            std::multiset<std::string>{"api-removed PodDisruptionBudget/web"});
  AssessOptions options;
  EXPECT_FALSE(SetTargetKubernetesVersion("2.0", options).ok());
  ASSERT_TRUE(ParseConfig("k8sVersion: v1.21\n", "moat.yaml", options).ok());
  EXPECT_EQ(options.parameters["api-removed"]["k8sVersion"], std::vector<std::string>{"v1.21"});
  EXPECT_FALSE(ParseConfig("k8sVersion: one\n", "moat.yaml", options).ok());
}

TEST(Namespaces, PodSecurityLevels) {
  const RunSpec restricted{{"ns-pod-security-labels"},
                           false,
                           false,
                           {{"ns-pod-security-labels", {{"minimumLevel", {"restricted"}}}}}};
  EXPECT_TRUE(Assessed(kNamespaceOnly, restricted).findings.empty());
  std::string unknown = kNamespaceOnly;
  unknown.replace(unknown.find("restricted"), 10, "strict");
  const Assessment a = Assessed(unknown, {{"ns-pod-security-labels"}});
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_NE(a.findings[0].message.find("unknown level"), std::string::npos);
  EXPECT_EQ(a.findings[0].path, "metadata.labels[\"pod-security.kubernetes.io/enforce\"]");
}

const std::filesystem::path kTestdata = std::filesystem::path(MOAT_SOURCE_DIR) / "src/k8s/testdata";

TEST(Posture, RealManifests) {
  LoadResult loaded = LoadManifests({(kTestdata / "mixed").string()});
  AssessOptions options;
  options.exclude_namespaces.clear();
  auto a = Assess(std::move(loaded), options);
  ASSERT_TRUE(a.ok());
  const std::multiset<std::string> fired = Fired(*a);
  for (const char* expected : {
           "net-external-exposure Service/release-redis-master",  // LoadBalancer
           "net-external-exposure Service/kubernetes-dashboard",  // NodePort
           "ns-pod-security-labels Namespace/app",
           "rbac-broad-delete ClusterRole/ci-deployer",
           "rbac-delete-events ClusterRole/ci-deployer",
           "rbac-delete-pod-logs ClusterRole/ci-deployer",
           "wl-cpu-requests DaemonSet/node-exporter",
           "wl-memory-requests StatefulSet/release-redis-master",
           "wl-no-hardening DaemonSet/node-exporter",
       })
    EXPECT_EQ(fired.count(expected), 1u) << expected;
  // The Redis chart takes its password from a Secret: not a plain-text credential.
  for (const std::string& f : fired) EXPECT_EQ(f.rfind("cred-", 0), std::string::npos) << f;
  // Optional policies stay off.
  for (const std::string& f : fired) EXPECT_EQ(f.find("wl-image-digest"), std::string::npos);
}

/// Recorded API responses: the objects are live, as `moat k8s cluster` reads them.
TEST(Rbac, RecordedClusterResponses) {
  LoadResult loaded;
  for (const auto& [file, kind] :
       {std::pair<std::string, ResourceKind>{
            "clusterroles.json", {"rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole"}},
        {"clusterrolebindings.json",
         {"rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding"}}}) {
    auto body = ReadFileToString((kTestdata / "cluster" / file).string());
    ASSERT_TRUE(body.ok());
    ASSERT_TRUE(ParseListPage(*body, kind, "https://cluster.example" + kind.Path(), loaded).ok());
  }
  ASSERT_EQ(loaded.objects.size(), 2u);
  EXPECT_TRUE(loaded.objects[0].live);
  auto a = Assess(std::move(loaded), AssessOptions{});
  ASSERT_TRUE(a.ok());
  // The built-in cluster-admin role is not a finding; the binding that grants it is.
  EXPECT_EQ(Fired(*a), (std::multiset<std::string>{
                           "rbac-anonymous-grant ClusterRoleBinding/ci-deployer-admin",
                           "rbac-cluster-admin-binding ClusterRoleBinding/ci-deployer-admin"}));
}

}  // namespace
}  // namespace moat::k8s
