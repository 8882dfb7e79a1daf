// `moat admission` in-process decision: one AdmissionReview body of a typical Deployment in,
// the response body out (decode into the k8s object model, every built-in check, the response
// encoded), as the webhook's /validate does it minus HTTP. Target: p99 under 200 µs.
//   build-*/admission_bench --benchmark_counters_tabular=true
// p50/p99 are measured per iteration (the mean alone hides the tail).
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "admission/decision.h"
#include "admission/review.h"

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

void Decide(benchmark::State& state, bool every_check_once) {
  const std::string body = TypicalDeploymentReview();
  const std::shared_ptr<const PolicySet> policies = Policies(every_check_once);
  std::vector<double> micros, cpu_micros;
  micros.reserve(1 << 20);
  cpu_micros.reserve(1 << 20);
  size_t violations = 0;
  for (auto _ : state) {
    const double cpu_start = ThreadCpuMicros();
    const auto start = std::chrono::steady_clock::now();
    auto request = DecodeAdmissionReview(body);
    Decision decision = policies->Decide(*request);
    std::string response =
        EncodeAdmissionReview(request->review_api_version, request->uid, decision.response);
    benchmark::DoNotOptimize(response);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    cpu_micros.push_back(ThreadCpuMicros() - cpu_start);
    violations = decision.violations.size();
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
  state.counters["violations"] = static_cast<double>(violations);
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_DecideEveryBuiltin(benchmark::State& state) { Decide(state, true); }
void BM_DecideRollout(benchmark::State& state) { Decide(state, false); }

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
BENCHMARK(BM_DecideRollout)->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
