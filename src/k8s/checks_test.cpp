// Every check must FAIL on a bad case and PASS on a good one. The good case is one hardened
// Deployment (plus its NetworkPolicy) that passes every check; each bad case changes one thing.

#include "k8s/checks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "k8s/loader.h"
#include "k8s/report.h"

namespace moat::k8s {
namespace {

const char* kGood = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
        appArmorProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: registry.example.com/shop/web:1.4.2
        env: [{name: LOG_LEVEL, value: info}, {name: DB_PASSWORD_FILE, value: /run/secrets/db}]
        ports: [{containerPort: 8080}]
        resources:
          limits: {cpu: 500m, memory: 256Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        livenessProbe: {httpGet: {path: /healthz, port: 8080}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
      volumes:
      - name: tmp
        emptyDir: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: ClusterIP
  selector: {app: web}
  ports: [{port: 443, targetPort: 8080}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: config-reader, namespace: shop}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-config, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: config-reader}
subjects:
- {kind: ServiceAccount, name: web, namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data:
  LOG_LEVEL: debug
  PASSWORD_MIN_LENGTH: "12"
  TOKEN_URL: https://auth.example.com/oauth/token
  build.sha: 3f2c9a7e1b4d5f60718293a4b5c6d7e8f9a0b1c2
  request.id: 7d444840-9dc0-11d1-b245-5ffdce74fad2
  app.properties: |
    server.port=8080
    db.password.file=/run/secrets/db
    db.user=shop
)";

const std::string kLast = "    db.user=shop\n";
const std::string kIngress =
    "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
    "metadata: {name: web, namespace: shop}\nspec:\n"
    "  tls: [{hosts: [\"*.example.com\"], secretName: web-tls}]\n"
    "  rules:\n  - host: shop.example.com\n    http:\n      paths:\n"
    "      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 443}}}}\n";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "fixture does not contain: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

Assessment RunChecks(const std::string& yaml, const std::vector<std::string>& checks,
                     ParameterValues parameters = {}, bool assess_kube_system = false) {
  LoadResult loaded;
  ParseManifests(yaml, "case.yaml", loaded);
  EXPECT_TRUE(loaded.errors.empty()) << loaded.errors.front().ToString();
  AssessOptions options;
  options.checks = checks;
  options.parameters = std::move(parameters);
  if (assess_kube_system) options.exclude_namespaces.clear();
  auto result = Assess(std::move(loaded), options);
  EXPECT_TRUE(result.ok()) << result.error().message;
  return std::move(result).value();
}

std::string Describe(const Assessment& a) {
  std::string out;
  for (const Finding& f : a.findings)
    out +=
        "\n  " + f.check->id + " line " + std::to_string(f.line) + " " + f.path + ": " + f.message;
  return out;
}

struct BadCase {
  std::string check;
  std::string from;
  std::string to;
  ParameterValues parameters = {};
  // When set, the good case for this check is kGood with this replacement (the bad case is made
  // from it), for checks whose pass needs something kGood does not have.
  std::string good_from = {};
  std::string good_to = {};
  bool assess_kube_system = false;  // kube-system is excluded by default
};

const std::string kContainerSc = "          readOnlyRootFilesystem: true\n";
const std::string kPodSc = "        runAsUser: 10001\n";
const std::string kPodSpec = "      automountServiceAccountToken: false\n";
const std::string kDigest =
    "@sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904b825dc642cb6eb9a060e54bf";

std::vector<BadCase> BadCases() {
  return {
      {"pss-baseline-hostprocess", kContainerSc,
       kContainerSc + "          windowsOptions: {hostProcess: true}\n"},
      {"pss-baseline-host-namespaces", kPodSpec, kPodSpec + "      hostNetwork: true\n"},
      {"pss-baseline-privileged", kContainerSc, kContainerSc + "          privileged: true\n"},
      {"pss-baseline-capabilities", "capabilities: {drop: [ALL]}",
       "capabilities: {drop: [ALL], add: [SYS_ADMIN]}"},
      {"pss-baseline-hostpath-volumes", "emptyDir: {}", "hostPath: {path: /var/run/docker.sock}"},
      {"pss-baseline-host-ports", "containerPort: 8080}", "containerPort: 8080, hostPort: 8080}"},
      {"pss-baseline-host-probes", "path: /healthz, port: 8080}",
       "path: /healthz, port: 8080, host: 169.254.169.254}"},
      {"pss-baseline-apparmor", "appArmorProfile: {type: RuntimeDefault}",
       "appArmorProfile: {type: Unconfined}"},
      {"pss-baseline-selinux", kPodSc, kPodSc + "        seLinuxOptions: {type: spc_t}\n"},
      {"pss-baseline-procmount", kContainerSc, kContainerSc + "          procMount: Unmasked\n"},
      {"pss-baseline-seccomp", "seccompProfile: {type: RuntimeDefault}",
       "seccompProfile: {type: Unconfined}"},
      {"pss-baseline-sysctls", kPodSc,
       kPodSc + "        sysctls: [{name: kernel.msgmax, value: '65536'}]\n"},
      {"pss-restricted-volume-types", "emptyDir: {}", "nfs: {server: nfs.example.com, path: /}"},
      {"pss-restricted-privilege-escalation", "allowPrivilegeEscalation: false",
       "allowPrivilegeEscalation: true"},
      {"pss-restricted-run-as-non-root", "runAsNonRoot: true", "runAsNonRoot: false"},
      {"pss-restricted-run-as-non-root-user", "runAsUser: 10001", "runAsUser: 0"},
      {"pss-restricted-seccomp", "seccompProfile: {type: RuntimeDefault}",
       "seccompProfile: {type: Unconfined}"},
      {"pss-restricted-capabilities", "drop: [ALL]", "drop: [NET_RAW]"},
      {"pss-restricted-procmount", kContainerSc, kContainerSc + "          procMount: Unmasked\n"},
      {"wl-cpu-limits", "limits: {cpu: 500m, memory: 256Mi}", "limits: {memory: 256Mi}"},
      {"wl-cpu-limits", "cpu: 500m", "cpu: \"4\"", {{"wl-cpu-limits", {{"maxCpu", {"2"}}}}}},
      {"wl-memory-limits", "limits: {cpu: 500m, memory: 256Mi}", "limits: {cpu: 500m}"},
      {"wl-memory-limits",
       "memory: 256Mi",
       "memory: 8Gi",
       {{"wl-memory-limits", {{"maxMemory", {"1Gi"}}}}}},
      {"wl-allowed-registries",
       "registry.example.com/shop/web:1.4.2",
       "docker.io/evil/miner:1.0",
       {{"wl-allowed-registries", {{"allowedImages", {"^registry\\.example\\.com/"}}}}}},
      {"wl-image-tag", "web:1.4.2", "web:latest"},
      {"wl-image-tag", "web:1.4.2", "web"},
      {"wl-readonly-rootfs", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"},
      {"wl-automount-sa-token", "automountServiceAccountToken: false",
       "automountServiceAccountToken: true"},
      {"wl-apparmor", "appArmorProfile: {type: RuntimeDefault}", "fsGroup: 2000"},
      {"wl-seccomp", "seccompProfile: {type: RuntimeDefault}", "runAsGroup: 10001"},
      {"wl-host-ports", "containerPort: 8080}", "containerPort: 8080, hostPort: 8080}"},
      {"wl-host-ports", kPodSpec, kPodSpec + "      hostNetwork: true\n"},
      {"wl-allowed-capabilities", "capabilities: {drop: [ALL]}",
       "capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}"},
      {"wl-sys-admin", "capabilities: {drop: [ALL]}",
       "capabilities: {drop: [ALL], add: [CAP_SYS_ADMIN]}"},
      {"wl-drop-net-raw", "drop: [ALL]", "drop: [CHOWN]"},
      {"wl-privilege-escalation", "allowPrivilegeEscalation: false",
       "allowPrivilegeEscalation: true"},
      {"wl-privileged", kContainerSc, kContainerSc + "          privileged: true\n"},
      {"wl-run-as-non-root", "runAsUser: 10001", "runAsUser: 0"},
      {"wl-host-namespaces", kPodSpec, kPodSpec + "      hostPID: true\n"},
      {"wl-liveness-probe", "        livenessProbe: {httpGet: {path: /healthz, port: 8080}}\n", ""},
      {"wl-readiness-probe", "        readinessProbe: {httpGet: {path: /ready, port: 8080}}\n", ""},
      {"wl-default-namespace", "  namespace: shop\nspec:\n  replicas",
       "  namespace: default\nspec:\n  replicas"},
      {"wl-secrets-in-env", "{name: LOG_LEVEL, value: info}",
       "{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: pw}}}"},
      {"wl-volume-types", "emptyDir: {}", "gitRepo: {repository: https://example.com/x.git}"},
      {"wl-host-paths", "emptyDir: {}", "hostPath: {path: /etc}"},
      {"k8s-invalid-field", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: \"no\""},
      {"net-namespace-without-networkpolicy", "kind: NetworkPolicy", "kind: ConfigMap"},
      {"net-sensitive-exposure",
       "image: registry.example.com/shop/web:1.4.2",
       "image: registry.example.com/library/postgres:16.1",
       {},
       "type: ClusterIP",
       "type: LoadBalancer"},
      {"wl-cpu-requests", "limits: {cpu: 500m, memory: 256Mi}", "limits: {memory: 256Mi}"},
      {"wl-cpu-requests",
       "requests: {cpu: 100m, memory: 128Mi}",
       "requests: {memory: 128Mi}",
       {},
       "limits: {cpu: 500m, memory: 256Mi}",
       "limits: {memory: 256Mi}\n          requests: {cpu: 100m, memory: 128Mi}"},
      {"wl-memory-requests", "limits: {cpu: 500m, memory: 256Mi}", "limits: {cpu: 500m}"},
      {"wl-root-group", kPodSc, kPodSc + "        fsGroup: 0\n"},
      {"wl-root-group", kPodSc, kPodSc + "        supplementalGroups: [1000, 0]\n"},
      {"wl-root-group", kContainerSc, kContainerSc + "          runAsGroup: 0\n"},
      {"wl-no-hardening",
       "capabilities: {drop: [ALL]}",
       "capabilities: {drop: []}",
       {},
       "        seccompProfile: {type: RuntimeDefault}\n        appArmorProfile: {type: "
       "RuntimeDefault}\n",
       ""},
      {"wl-no-hardening",
       "capabilities: {drop: [ALL]}",
       "capabilities: {drop: []}",
       {},
       "        seccompProfile: {type: RuntimeDefault}\n        appArmorProfile: {type: "
       "RuntimeDefault}\n",
       "        seccompProfile: {type: Unconfined}\n"},
      {"wl-kube-system",
       "  namespace: shop\nspec:\n  replicas",
       "  namespace: kube-system\nspec:\n  replicas",
       {},
       "",
       "",
       true},
      {"wl-high-uid-gid",
       "runAsUser: 10001",
       "runAsUser: 1000",
       {},
       kPodSc,
       kPodSc + "        runAsGroup: 10001\n"},
      {"wl-high-uid-gid",
       kPodSc + "        runAsGroup: 10001\n",
       kPodSc,
       {},
       kPodSc,
       kPodSc + "        runAsGroup: 10001\n"},
      {"wl-image-digest", kDigest, "", {}, "web:1.4.2", "web:1.4.2" + kDigest},
      {"cred-env-plaintext", "value: info}",
       "value: info}, {name: DB_PASSWORD, value: hunter2hunter}"},
      {"cred-env-plaintext", "value: info}",
       "value: info}, {name: AWS_ID, value: AKIAQ7RPLM2XK4VWZ3NB}"},
      {"cred-env-plaintext", "value: info}",
       "value: info}, {name: SESSION, value: 'q8Zt3+Lw9xVb2Rk7yN4mPc6HsJ1dGf5T'}"},
      {"cred-configmap-plaintext", "LOG_LEVEL: debug", "DB_PASSWORD: hunter2hunter"},
      {"cred-configmap-plaintext", "db.user=shop", "db.password=Sup3r-S3cret"},
      {"cred-configmap-plaintext", "LOG_LEVEL: debug",
       "GH: ghp_Xb7Tq2Lm9Rz4Vn8Kc3Wd6Yf1Hs5Jp0Ga2Ue7"},
      {"cred-configmap-plaintext", "db.user=shop",
       "-----BEGIN OPENSSH PRIVATE KEY-----\n    b3BlbnNzaC1rZXktdjEAAAAA\n"
       "    -----END OPENSSH PRIVATE KEY-----"},
      {"cred-configmap-plaintext", "LOG_LEVEL: debug",
       "DATABASE_URL: postgres://shop:pa55word@db.shop:5432/shop"},
      {"ns-pod-security-labels", "enforce: restricted}", "enforce: privileged}"},
      {"ns-pod-security-labels", "{pod-security.kubernetes.io/enforce: restricted}",
       "{team: shop}"},
      {"ns-pod-security-labels",
       "enforce: restricted}",
       "enforce: baseline}",
       {{"ns-pod-security-labels", {{"minimumLevel", {"restricted"}}}}}},
      {"net-external-exposure", "type: ClusterIP", "type: LoadBalancer"},
      {"net-external-exposure", "type: ClusterIP", "type: NodePort"},
      {"net-external-exposure", "type: ClusterIP", "type: ClusterIP\n  externalIPs: [203.0.113.7]"},
      {"net-external-exposure", kLast, kLast + kIngress},
      {"net-ingress-tls",
       "  tls: [{hosts: [\"*.example.com\"], secretName: web-tls}]\n",
       "",
       {},
       kLast,
       kLast + kIngress},
      {"net-ingress-tls",
       "host: shop.example.com",
       "host: shop.example.org",
       {},
       kLast,
       kLast + kIngress},
      {"api-removed", "apiVersion: apps/v1\nkind: Deployment",
       "apiVersion: extensions/v1beta1\nkind: Deployment"},
      {"api-removed", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n",
       "apiVersion: rbac.authorization.k8s.io/v1beta1\nkind: Role\n"},
      {"api-deprecated",
       "apiVersion: networking.k8s.io/v1\nkind: Ingress",
       "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress",
       {{"api-deprecated", {{"k8sVersion", {"v1.21"}}}}},
       kLast,
       kLast + kIngress},
      {"rbac-delete-events", "resources: [configmaps]\n  verbs: [get, list]",
       "resources: [events]\n  verbs: [get, delete]"},
      {"rbac-delete-pod-logs", "resources: [configmaps]\n  verbs: [get, list]",
       "resources: [pods/log]\n  verbs: [deletecollection]"},
      {"rbac-broad-delete", "resources: [configmaps]\n  verbs: [get, list]",
       "resources: [pods]\n  verbs: [deletecollection]"},
      {"rbac-broad-delete", "apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]",
       "apiGroups: [apps]\n  resources: [\"*\"]\n  verbs: [delete]"},
      {"rbac-configmaps-kube-system",
       "metadata: {name: config-reader, namespace: shop}",
       "metadata: {name: config-reader, namespace: kube-system}",
       {},
       "verbs: [get, list]",
       "verbs: [get, list, update]",
       true},
      {"rbac-builtin-role-grant", "kind: Role, name: config-reader",
       "kind: ClusterRole, name: edit"},
      {"rbac-workload-admin-sa",
       "kind: Role, name: config-reader",
       "kind: ClusterRole, name: admin",
       {},
       kPodSpec,
       kPodSpec + "      serviceAccountName: web\n"},
      {"rbac-workload-admin-sa",
       "resources: [configmaps]\n  verbs: [get, list]",
       "resources: [\"*\"]\n  verbs: [\"*\"]",
       {},
       kPodSpec,
       kPodSpec + "      serviceAccountName: web\n"},
      {"rbac-wildcard", "verbs: [get, list]", "verbs: [\"*\"]"},
      {"rbac-secrets-read", "resources: [configmaps]", "resources: [configmaps, secrets]"},
      {"rbac-bind-escalate-impersonate",
       "apiGroups: [\"\"]\n  resources: [configmaps]\n"
       "  verbs: [get, list]",
       "apiGroups: [\"\"]\n  resources: [serviceaccounts]\n  verbs: [impersonate]"},
      {"rbac-create-workloads", "resources: [configmaps]\n  verbs: [get, list]",
       "resources: [configmaps, pods]\n  verbs: [get, list, create]"},
      {"rbac-pod-exec", "resources: [configmaps]", "resources: [configmaps, pods/exec]"},
      {"rbac-nodes-proxy", "kind: Role\nmetadata: {name: config-reader, namespace: shop}",
       "kind: Role\nmetadata: {name: config-reader, namespace: shop}\n# nodes"},
      {"rbac-sa-token", "resources: [configmaps]\n  verbs: [get, list]",
       "resources: [serviceaccounts/token]\n  verbs: [create]"},
      {"rbac-csr-approve", "apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]",
       "apiGroups: [certificates.k8s.io]\n  resources: [signers]\n  verbs: [approve]"},
      {"rbac-webhook-config", "apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]",
       "apiGroups: [admissionregistration.k8s.io]\n  resources: "
       "[mutatingwebhookconfigurations]\n  verbs: [patch]"},
      {"rbac-cluster-admin-binding", "kind: Role, name: config-reader",
       "kind: ClusterRole, name: cluster-admin"},
      {"rbac-anonymous-grant", "{kind: ServiceAccount, name: web, namespace: shop}",
       "{kind: Group, name: system:unauthenticated, apiGroup: rbac.authorization.k8s.io}"},
  };
}

TEST(Checks, GoodCasePassesEveryCheck) {
  const Assessment a = RunChecks(kGood, {});
  EXPECT_TRUE(a.findings.empty()) << Describe(a);
  EXPECT_EQ(a.skipped, 0u);  // the NetworkPolicy too: the API version checks look at it
  EXPECT_GE(a.checks.size(), 40u);
}

TEST(Checks, EveryCheckFailsOnItsBadCase) {
  std::set<std::string> covered;
  for (const BadCase& bad : BadCases()) {
    const std::string good_yaml =
        bad.good_from.empty() ? kGood : Replace(kGood, bad.good_from, bad.good_to);
    std::string yaml = Replace(good_yaml, bad.from, bad.to);
    if (bad.check == "rbac-nodes-proxy")
      yaml = Replace(kGood, "resources: [configmaps]", "resources: [nodes/proxy]");
    const Assessment good =
        RunChecks(good_yaml, {bad.check}, bad.parameters, bad.assess_kube_system);
    EXPECT_TRUE(good.findings.empty()) << bad.check << " on the good case:" << Describe(good);
    const Assessment a = RunChecks(yaml, {bad.check}, bad.parameters, bad.assess_kube_system);
    ASSERT_FALSE(a.findings.empty()) << bad.check << " passed its bad case:\n" << yaml;
    for (const Finding& f : a.findings) {
      EXPECT_EQ(f.check->id, bad.check);
      EXPECT_GT(f.line, 0u) << bad.check << " " << f.path;
      EXPECT_FALSE(f.path.empty());
    }
    covered.insert(bad.check);
  }
  for (const CheckInfo& info : AllChecks()) {
    if (info.group == "azure") continue;  // azure_checks_test.cpp has the bundle's cases
    EXPECT_TRUE(covered.count(info.id)) << "no bad case for " << info.id;
  }
}

TEST(Checks, FindingPointsAtFieldAndLine) {
  const Assessment a =
      RunChecks(Replace(kGood, "readOnlyRootFilesystem: true",
                        "readOnlyRootFilesystem: true\n          privileged: true"),
                {"pss-baseline-privileged"});
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].path, "spec.template.spec.containers[0].securityContext.privileged");
  EXPECT_EQ(a.findings[0].line, 29u);
  EXPECT_EQ(a.objects[a.findings[0].object].Reference(), "Deployment/shop/web");
}

TEST(Checks, SelectionByGroupAndGlob) {
  auto baseline = SelectChecks({"pss-baseline"});
  ASSERT_TRUE(baseline.ok());
  EXPECT_EQ(baseline->size(), 12u);
  auto restricted = SelectChecks({"pss-restricted"});
  ASSERT_TRUE(restricted.ok());
  EXPECT_EQ(restricted->size(), 19u);
  auto glob = SelectChecks({"rbac-*"});
  ASSERT_TRUE(glob.ok());
  EXPECT_EQ(glob->size(), 17u);
  EXPECT_FALSE(SelectChecks({"no-such-check"}).ok());
}

TEST(Checks, NamespaceExclusionAndExemption) {
  std::string yaml = Replace(kGood, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: no");
  LoadResult loaded;
  ParseManifests(yaml, "x.yaml", loaded);
  AssessOptions options;
  options.checks = {"wl-readonly-rootfs"};
  options.exclude_namespaces = {"shop"};
  auto excluded = Assess(loaded, options);
  ASSERT_TRUE(excluded.ok());
  EXPECT_TRUE(excluded->findings.empty());
  EXPECT_EQ(excluded->excluded, 7u);

  yaml = Replace(yaml, "  namespace: shop\nspec:\n  replicas",
                 "  namespace: shop\n  annotations: {moat.dev/exempt: \"wl-readonly-*\"}\n"
                 "spec:\n  replicas");
  LoadResult again;
  ParseManifests(yaml, "x.yaml", again);
  options.exclude_namespaces = {"kube-system"};
  auto exempt = Assess(again, options);
  ASSERT_TRUE(exempt.ok());
  EXPECT_TRUE(exempt->findings.empty());
  ASSERT_EQ(exempt->checks.size(), 1u);
  EXPECT_EQ(exempt->checks[0].exempt, 1u);
}

TEST(Checks, ConfigFile) {
  AssessOptions options;
  ASSERT_TRUE(ParseConfig(R"(
checks: [wl-cpu-limits]
pssVersion: v1.30
excludeNamespaces: [ops]
parameters:
  wl-cpu-limits: {maxCpu: "2"}
  wl-host-ports: {allowedHostPorts: [80, "8000-8080"]}
)",
                          "moat.yaml", options)
                  .ok());
  EXPECT_EQ(options.pss_minor, 30);
  EXPECT_EQ(options.exclude_namespaces, std::vector<std::string>{"ops"});
  EXPECT_EQ(options.parameters["wl-cpu-limits"]["maxCpu"], std::vector<std::string>{"2"});
  EXPECT_EQ(options.parameters["wl-host-ports"]["allowedHostPorts"].size(), 2u);
  auto bad = ParseConfig("parameters:\n  wl-cpu-limits: {maxCPU: 2}\n", "moat.yaml", options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("moat.yaml:2"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(ParseConfig("colour: blue\n", "moat.yaml", options).ok());
}

TEST(Checks, RbacReportsSubjectBindingAndRule) {
  const std::string yaml =
      Replace(kGood, "resources: [configmaps]", "resources: [configmaps, secrets]");
  const Assessment a = RunChecks(yaml, {"rbac-secrets-read"});
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].path, "rules[0]");
  EXPECT_NE(a.findings[0].message.find("ServiceAccount shop/web"), std::string::npos)
      << a.findings[0].message;
  EXPECT_NE(a.findings[0].message.find("RoleBinding/shop/web-config"), std::string::npos);
}

TEST(Checks, RealWorldMixedSet) {
  const std::filesystem::path dir =
      std::filesystem::path(MOAT_SOURCE_DIR) / "src" / "k8s" / "testdata" / "mixed";
  LoadResult loaded = LoadManifests({dir.string()});
  ASSERT_GE(loaded.objects.size(), 10u);
  auto a = Assess(std::move(loaded), AssessOptions{});
  ASSERT_TRUE(a.ok());
  std::set<std::string> fired;
  for (const Finding& f : a->findings) fired.insert(f.check->id);
  for (const char* expected :
       {"pss-baseline-privileged", "pss-baseline-host-namespaces", "pss-baseline-hostpath-volumes",
        "rbac-cluster-admin-binding", "rbac-wildcard", "net-sensitive-exposure", "wl-image-tag",
        "wl-cpu-limits"})
    EXPECT_TRUE(fired.count(expected)) << expected;
  // The malformed document is an error with its line; the rest is still assessed.
  ASSERT_EQ(a->errors.size(), 1u);
  EXPECT_NE(a->errors[0].file.find("broken.yaml"), std::string::npos);
  EXPECT_GT(a->errors[0].line, 1u);
  EXPECT_GE(a->skipped, 1u);  // the CRD instance
  for (std::string_view format : {"table", "json", "sarif", "junit"}) {
    auto text = RenderAssessment(*a, format, "test");
    ASSERT_TRUE(text.ok());
    EXPECT_FALSE(text->empty());
  }
}

}  // namespace
}  // namespace moat::k8s
