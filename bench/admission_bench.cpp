// `moat admission` in-process decision: one AdmissionReview body of a typical Deployment in,
// the response body out (decode into the k8s object model, every built-in check, the response
// encoded), as the webhook's /validate does it minus HTTP. Target: p99 under 200 µs. And /mutate:
// every mutation on the same Deployment, the JSON Patch in the response.
//   build-*/admission_bench --benchmark_counters_tabular=true
// p50/p99 are measured per iteration (the mean alone hides the tail).
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "admission/decision.h"
#include "admission/image_gate.h"
#include "admission/review.h"
#include "admission/vap.h"
#include "k8s/loader.h"
#include "vulndb/build.h"

namespace {

using namespace moat::admission;

/// A Deployment as the API server sends it: compact JSON with the fields it defaults (strategy,
/// terminationMessagePath, dnsPolicy, ...), two containers, probes, resources, a volume.
std::string TypicalDeploymentReview() {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"b3c6a0b4-6f0e-4bb4-9c67-2d1a8f1e2a11","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"requestKind":{"group":"apps","version":"v1","kind":"Deployment"},"requestResource":{"group":"apps","version":"v1","resource":"deployments"},"name":"checkout","namespace":"shop","operation":"CREATE","userInfo":{"username":"system:serviceaccount:argocd:argocd-application-controller","uid":"7d4c1b2a","groups":["system:serviceaccounts","system:serviceaccounts:argocd","system:authenticated"]},"object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"checkout","namespace":"shop","labels":{"app.kubernetes.io/name":"checkout","app.kubernetes.io/part-of":"shop","app.kubernetes.io/version":"2.14.1"},"annotations":{"deployment.kubernetes.io/revision":"1"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app.kubernetes.io/name":"checkout"}},"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}},"revisionHistoryLimit":10,"progressDeadlineSeconds":600,"template":{"metadata":{"labels":{"app.kubernetes.io/name":"checkout","app.kubernetes.io/part-of":"shop"}},"spec":{"serviceAccountName":"checkout","automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,"runAsUser":10001,"fsGroup":10001,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"checkout","image":"registry.example.com/shop/checkout:2.14.1","imagePullPolicy":"IfNotPresent","args":["--port=8080","--log-level=info"],"ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],"env":[{"name":"MODE","value":"production"},{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"checkout-db","key":"password"}}}],"resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"cpu":"1","memory":"512Mi"}},"livenessProbe":{"httpGet":{"path":"/healthz","port":"http","scheme":"HTTP"},"periodSeconds":10,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3},"readinessProbe":{"httpGet":{"path":"/readyz","port":"http","scheme":"HTTP"},"periodSeconds":5,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3},"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}},"volumeMounts":[{"name":"tmp","mountPath":"/tmp"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"},{"name":"envoy","image":"envoyproxy/envoy:v1.30.1","imagePullPolicy":"IfNotPresent","ports":[{"name":"admin","containerPort":9901,"protocol":"TCP"}],"resources":{"requests":{"cpu":"50m","memory":"64Mi"}},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"volumes":[{"name":"tmp","emptyDir":{"sizeLimit":"64Mi"}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","schedulerName":"default-scheduler"}}}},"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"argocd-controller"}}})";
}

double ThreadCpuMicros() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

std::shared_ptr<const PolicySet> Policies(bool every_check_once) {
  AdmissionConfig config;
  if (every_check_once) {
    // Every built-in check, the optional policies too, each run once.
    (void)AddFlagRule(config, Action::kWarn, {"all", "optional"}, "bench");
  } else {
    // A realistic roll-out: baseline enforced, restricted warned, everything else audited
    // (overlapping rules: the PSS checks run in two of them).
    (void)AddFlagRule(config, Action::kDeny, {"pss-baseline"}, "bench");
    (void)AddFlagRule(config, Action::kWarn, {"pss-restricted"}, "bench");
    (void)AddFlagRule(config, Action::kAudit, {"all"}, "bench");
  }
  return *PolicySet::Build(config);
}

/// Every built-in check and every policy of the Azure bundle (group azure), each once, with the
/// parameters the bundle's definitions require set, so that none of them is idle.
std::shared_ptr<const PolicySet> BuiltinAndBundlePolicies() {
  AdmissionConfig config;
  (void)AddFlagRule(config, Action::kWarn, {"all", "optional", "azure"}, "bench");
  config.parameters["azure-resource-limits"] = {{"cpuLimit", {"2"}}, {"memoryLimit", {"1Gi"}}};
  config.parameters["azure-allowed-images"] = {
      {"allowedContainerImagesRegex", {"^registry\\.example\\.com/"}}};
  config.parameters["azure-pod-labels"] = {{"labelsList", {"app.kubernetes.io/name"}}};
  config.parameters["azure-forbidden-sysctls"] = {{"forbiddenSysctls", {"kernel.*"}}};
  config.parameters["azure-allowed-sysctls"] = {{"allowedSysctls", {"net.*"}}};
  config.parameters["azure-service-ports"] = {{"allowedServicePortsList", {"443"}}};
  config.parameters["azure-required-annotations"] = {
      {"kind", {"Deployment"}},
      {"annotations", {R"({"annotations": [{"key": "owner", "allowedRegex": "^team-"}]})"}}};
  config.parameters["azure-blocked-kinds"] = {{"kind", {"LimitRange"}}};
  return *PolicySet::Build(config);
}

/// Times decode + `respond` (the request -> the response) + encode per iteration and reports
/// p50/p99 of the wall and the thread's CPU time; `respond` returns the counter "violations" or
/// "operations" reports.
template <typename Respond>
void Measure(benchmark::State& state, const char* count_name, Respond respond) {
  const std::string body = TypicalDeploymentReview();
  std::vector<double> micros, cpu_micros;
  micros.reserve(1 << 20);
  cpu_micros.reserve(1 << 20);
  size_t count = 0;
  for (auto _ : state) {
    const double cpu_start = ThreadCpuMicros();
    const auto start = std::chrono::steady_clock::now();
    auto request = DecodeAdmissionReview(body);
    AdmissionResponse answer;
    count = respond(*request, answer);
    std::string response = EncodeAdmissionReview(request->review_api_version, request->uid, answer);
    benchmark::DoNotOptimize(response);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    cpu_micros.push_back(ThreadCpuMicros() - cpu_start);
  }
  auto percentile = [](std::vector<double>& values, double p) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0.0 : values[static_cast<size_t>(p * (values.size() - 1))];
  };
  // Wall time includes what the scheduler takes on a busy machine; the thread's CPU time is the
  // decision's own cost.
  state.counters["p50_us"] = percentile(micros, 0.50);
  state.counters["p99_us"] = percentile(micros, 0.99);
  state.counters["cpu_p50_us"] = percentile(cpu_micros, 0.50);
  state.counters["cpu_p99_us"] = percentile(cpu_micros, 0.99);
  state.counters[count_name] = static_cast<double>(count);
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void Decide(benchmark::State& state, bool every_check_once) {
  const std::shared_ptr<const PolicySet> policies = Policies(every_check_once);
  Measure(state, "violations", [&policies](AdmissionRequest& request, AdmissionResponse& answer) {
    Decision decision = policies->Decide(request);
    answer = std::move(decision.response);
    return decision.violations.size();
  });
}

void BM_DecideEveryBuiltin(benchmark::State& state) { Decide(state, true); }

void BM_DecideEveryBuiltinAndBundle(benchmark::State& state) {
  const std::shared_ptr<const PolicySet> policies = BuiltinAndBundlePolicies();
  Measure(state, "violations", [&policies](AdmissionRequest& request, AdmissionResponse& answer) {
    Decision decision = policies->Decide(request);
    answer = std::move(decision.response);
    return decision.violations.size();
  });
}
void BM_DecideRollout(benchmark::State& state) { Decide(state, false); }

/// /mutate: every mutation on the same Deployment (its second container has no securityContext
/// and no limits), the JSON Patch built and base64-encoded into the response.
void BM_MutateEveryMutation(benchmark::State& state) {
  auto config = ParseAdmissionConfig(R"(mutations:
- mutate: [drop-capabilities, read-only-root-filesystem, automount-service-account-token,
           run-as-non-root, run-as-user, seccomp-runtime-default, no-privilege-escalation,
           cpu-limits, memory-limits, pdb-max-unavailable, pdb-unhealthy-pod-eviction]
)",
                                     "bench");
  const std::shared_ptr<const PolicySet> policies = *PolicySet::Build(*config);
  Measure(state, "operations", [&policies](AdmissionRequest& request, AdmissionResponse& answer) {
    MutationResult mutation = policies->mutator().Mutate(request);
    answer.patch = std::move(mutation.patch);
    return mutation.operations;
  });
}

/// The image gate (image_gate.h) when both images of the Deployment have a verdict in the cache:
/// what the second admission of an image costs (tag -> digest and digest -> verdict lookups, the
/// verdict judged), alone and on top of the roll-out's built-in checks. The gate needs a database
/// to start: a one-advisory one is built in a temporary directory.
void DecideWithImageGate(benchmark::State& state, bool with_builtins) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("moat-gate-bench-" + std::to_string(getpid()));
  fs::create_directories(dir / "osv");
  std::ofstream(dir / "osv" / "GHSA-test-0001.json")
      << R"({"id":"GHSA-test-0001","modified":"2024-01-01T00:00:00Z","database_specific":{"severity":"HIGH"},)"
         R"("affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.1"}]}]}]})";
  const std::string db = (dir / "moat.db").string();
  if (auto built = moat::vulndb::BuildDatabase(
          {{moat::vulndb::FeedKind::kOsv, (dir / "osv").string(), ""}}, db);
      !built.ok()) {
    state.SkipWithError(built.error().message.c_str());
    return;
  }
  AdmissionConfig config;
  if (with_builtins) {
    (void)AddFlagRule(config, Action::kDeny, {"pss-baseline"}, "bench");
    (void)AddFlagRule(config, Action::kWarn, {"pss-restricted"}, "bench");
    (void)AddFlagRule(config, Action::kAudit, {"all"}, "bench");
  }
  (void)AddFlagRule(config, Action::kDeny, {"image-vulnerabilities"}, "bench");
  config.image_gate.db_path = db;
  auto policies = PolicySet::Build(config);
  if (!policies.ok()) {
    state.SkipWithError(policies.error().message.c_str());
    return;
  }
  const ImageGatePolicy* gate = nullptr;
  for (size_t i = 0; i < (*policies)->size(); ++i) {
    if (auto* p = dynamic_cast<const ImageGatePolicy*>(&(*policies)->policy(i))) gate = p;
  }
  // A verdict as a scan of a Debian image gives: a few dozen findings below the threshold.
  ImageVerdict verdict;
  verdict.scanned = true;
  for (int i = 0; i < 40; ++i)
    verdict.findings.push_back({"CVE-2024-" + std::to_string(1000 + i), i < 2 ? "medium" : "low",
                                i < 2 ? 3 : 2, "libfoo" + std::to_string(i), "1.0-1", "", false});
  int n = 0;
  for (const char* image :
       {"registry.example.com/shop/checkout:2.14.1", "envoyproxy/envoy:v1.30.1"}) {
    verdict.digest = "sha256:" + std::string(63, 'a') + std::to_string(n++);
    (void)gate->Remember(image, verdict);
  }
  Measure(state, "violations", [&policies](AdmissionRequest& request, AdmissionResponse& answer) {
    Decision decision = (*policies)->Decide(request);
    answer = std::move(decision.response);
    return decision.violations.size();
  });
  const ImageGateCounters counters = ImageGateStats();
  state.counters["cache_misses"] = static_cast<double>(counters.cache_misses);
  fs::remove_all(dir);
}

void BM_DecideImageGateCached(benchmark::State& state) { DecideWithImageGate(state, false); }
void BM_DecideRolloutAndImageGateCached(benchmark::State& state) {
  DecideWithImageGate(state, true);
}

/// ValidatingAdmissionPolicies of the Kubernetes documentation (src/admission/testdata/vap),
/// bound without selectors so that they judge the typical Deployment.
constexpr char kVapReplicasPolicy[] = R"yaml(
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: demo-policy.example.com}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= 5
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: demo-binding-test.example.com}
spec: {policyName: demo-policy.example.com, validationActions: [Deny]}
)yaml";
constexpr char kVapVariablesPolicy[] = R"yaml(
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: image-matches-namespace-environment.policy.example.com}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  variables:
  - name: environment
    expression: "'environment' in namespaceObject.metadata.labels ? namespaceObject.metadata.labels['environment'] : 'prod'"
  - name: exempt
    expression: "'exempt' in object.metadata.labels && object.metadata.labels['exempt'] == 'true'"
  - name: containers
    expression: "object.spec.template.spec.containers"
  - name: containersToCheck
    expression: "variables.containers.filter(c, c.image.contains('example.com'))"
  validations:
  - expression: "variables.exempt || variables.containersToCheck.all(c, c.image.startsWith(variables.environment + '.'))"
    messageExpression: "'only ' + variables.environment + ' images are allowed in namespace ' + namespaceObject.metadata.name"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: demo-binding-test.example.com}
spec: {policyName: image-matches-namespace-environment.policy.example.com, validationActions: [Deny]}
)yaml";

std::unique_ptr<VapPolicy> InlineVap(const char* yaml) {
  moat::k8s::LoadResult loaded;
  moat::k8s::ParseManifests(yaml, "bench.yaml", loaded);
  auto policy = VapPolicy::FromObjects(std::move(loaded));
  return std::move(*policy);
}

/// One policy's evaluation on a decoded request: matching, the object made a CEL value, the
/// validation (and its message). Target: under 5 µs.
void VapEvaluate(benchmark::State& state, const char* yaml) {
  const std::unique_ptr<VapPolicy> policy = InlineVap(yaml);
  auto request = DecodeAdmissionReview(TypicalDeploymentReview());
  std::vector<Violation> violations;
  for (auto _ : state) {
    violations.clear();
    if (policy->Covers(*request)) policy->Evaluate(*request, violations);
    benchmark::DoNotOptimize(violations);
  }
  state.counters["violations"] = static_cast<double>(violations.size());
}
void BM_VapEvaluateReplicasExample(benchmark::State& state) {
  VapEvaluate(state, kVapReplicasPolicy);
}
void BM_VapEvaluateVariablesExample(benchmark::State& state) {
  VapEvaluate(state, kVapVariablesPolicy);
}
/// The replicas example with ten more bindings: eleven validations of one request, the object
/// made a CEL value once. (this - one binding) / 10 is what each further validation costs.
void BM_VapEvaluateReplicasExample11Bindings(benchmark::State& state) {
  std::string yaml = kVapReplicasPolicy;
  for (int i = 0; i < 10; ++i) {
    yaml +=
        "---\napiVersion: admissionregistration.k8s.io/v1\n"
        "kind: ValidatingAdmissionPolicyBinding\nmetadata: {name: binding-" +
        std::to_string(i) +
        "}\nspec: {policyName: demo-policy.example.com, validationActions: [Deny]}\n";
  }
  VapEvaluate(state, yaml.c_str());
}

/// The whole in-process decision with the variables example: decode, evaluate, encode.
void BM_DecideVapVariablesExample(benchmark::State& state) {
  const std::unique_ptr<VapPolicy> policy = InlineVap(kVapVariablesPolicy);
  Measure(state, "violations", [&policy](AdmissionRequest& request, AdmissionResponse& answer) {
    std::vector<Violation> violations;
    if (policy->Covers(request)) policy->Evaluate(request, violations);
    ApplyViolations(violations, answer);
    return violations.size();
  });
}

/// The decode alone: how much of the decision is parsing JSON into the object model.
void BM_DecodeOnly(benchmark::State& state) {
  const std::string body = TypicalDeploymentReview();
  for (auto _ : state) {
    auto request = DecodeAdmissionReview(body);
    benchmark::DoNotOptimize(request);
  }
}

}  // namespace

BENCHMARK(BM_DecideEveryBuiltin)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_DecideEveryBuiltinAndBundle)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_DecideRollout)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_DecideImageGateCached)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_DecideRolloutAndImageGateCached)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_MutateEveryMutation)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_VapEvaluateReplicasExample)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VapEvaluateVariablesExample)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VapEvaluateReplicasExample11Bindings)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecideVapVariablesExample)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
