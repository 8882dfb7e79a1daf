// `moat k8s` speed: YAML parsing plus every check over N workload objects (goal: 10,000 objects
// in under 1 s on one core), and how it grows with the number of objects and of checks.
//   build-*/k8s_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <string>

#include "k8s/checks.h"
#include "k8s/loader.h"

namespace {

/// N workloads in one multi-document stream, in the shape Helm renders: Deployments,
/// StatefulSets, DaemonSets and CronJobs with realistic pod specs, some hardened, some not.
std::string MakeManifests(int count) {
  std::string out;
  out.reserve(static_cast<size_t>(count) * 1400);
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    const std::string ns = "team-" + std::to_string(i % 50);
    const bool hardened = i % 3 == 0;
    std::string pod_spec =
        "      serviceAccountName: app-" + n + "\n" +
        (hardened ? "      automountServiceAccountToken: false\n"
                    "      securityContext:\n"
                    "        runAsNonRoot: true\n"
                    "        runAsUser: 10001\n"
                    "        seccompProfile: {type: RuntimeDefault}\n"
                  : std::string(i % 7 == 0 ? "      hostNetwork: true\n" : "")) +
        "      containers:\n"
        "      - name: app\n"
        "        image: registry.example.com/team/app-" +
        n + ":1." + n +
        "\n"
        "        imagePullPolicy: IfNotPresent\n"
        "        args: [\"--port=8080\", \"--log-level=info\"]\n"
        "        env:\n"
        "        - {name: MODE, value: production}\n"
        "        - name: DB_PASSWORD\n"
        "          valueFrom: {secretKeyRef: {name: db-" +
        n +
        ", key: password}}\n"
        "        ports:\n"
        "        - {name: http, containerPort: 8080, protocol: TCP}\n"
        "        resources:\n"
        "          requests: {cpu: 100m, memory: 128Mi}\n"
        "          limits: {cpu: 500m, memory: 512Mi}\n"
        "        securityContext:\n" +
        (hardened ? "          allowPrivilegeEscalation: false\n"
                    "          readOnlyRootFilesystem: true\n"
                    "          capabilities: {drop: [ALL]}\n"
                  : "          privileged: " + std::string(i % 11 == 0 ? "true" : "false") +
                        "\n          capabilities: {add: [NET_ADMIN]}\n") +
        "        livenessProbe:\n"
        "          httpGet: {path: /healthz, port: http}\n"
        "          initialDelaySeconds: 10\n"
        "        readinessProbe:\n"
        "          httpGet: {path: /ready, port: http}\n"
        "        volumeMounts:\n"
        "        - {name: config, mountPath: /etc/app}\n"
        "        - {name: tmp, mountPath: /tmp}\n"
        "      - name: sidecar\n"
        "        image: docker.io/envoyproxy/envoy:v1.29.1\n"
        "        resources:\n"
        "          limits: {cpu: 200m, memory: 128Mi}\n"
        "      volumes:\n"
        "      - name: config\n"
        "        configMap: {name: app-" +
        n +
        "}\n"
        "      - name: tmp\n"
        "        emptyDir: {}\n";
    const int kind = i % 4;
    out += "---\n# Source: app/templates/workload.yaml\n";
    if (kind == 3) {
      out += "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: app-" + n +
             "\n  namespace: " + ns +
             "\n  labels: {app.kubernetes.io/name: app, app.kubernetes.io/instance: r" + n +
             "}\nspec:\n  schedule: \"*/5 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n"
             "        metadata:\n          labels: {app: app-" +
             n + "}\n        spec:\n";
      // Re-indent the pod spec by four more spaces.
      std::string indented;
      size_t start = 0;
      while (start < pod_spec.size()) {
        size_t end = pod_spec.find('\n', start);
        indented += "    " + pod_spec.substr(start, end - start + 1);
        start = end + 1;
      }
      out += indented;
    } else {
      static const char* kKinds[] = {"Deployment", "StatefulSet", "DaemonSet"};
      out += "apiVersion: apps/v1\nkind: " + std::string(kKinds[kind]) +
             "\nmetadata:\n  name: app-" + n + "\n  namespace: " + ns +
             "\n  labels: {app.kubernetes.io/name: app, app.kubernetes.io/instance: r" + n +
             "}\n  annotations: {deployment.kubernetes.io/revision: \"3\"}\nspec:\n  replicas: 2\n"
             "  selector:\n    matchLabels: {app: app-" +
             n +
             "}\n  template:\n    metadata:\n"
             "      labels: {app: app-" +
             n + "}\n    spec:\n" + pod_spec;
    }
  }
  return out;
}

void BM_ParseOnly(benchmark::State& state) {
  const std::string text = MakeManifests(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    moat::k8s::LoadResult loaded;
    moat::k8s::ParseManifests(text, "bench.yaml", loaded);
    benchmark::DoNotOptimize(loaded.objects.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["objects"] = static_cast<double>(state.range(0));
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void ParseAndAssess(benchmark::State& state, const std::vector<std::string>& checks) {
  const std::string text = MakeManifests(static_cast<int>(state.range(0)));
  size_t findings = 0, checks_run = 0;
  for (auto _ : state) {
    moat::k8s::LoadResult loaded;
    moat::k8s::ParseManifests(text, "bench.yaml", loaded);
    moat::k8s::AssessOptions options;
    options.checks = checks;
    auto result = moat::k8s::Assess(std::move(loaded), options);
    findings = result->findings.size();
    checks_run = result->checks.size();
    benchmark::DoNotOptimize(result->findings.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["objects"] = static_cast<double>(state.range(0));
  state.counters["checks"] = static_cast<double>(checks_run);
  state.counters["findings"] = static_cast<double>(findings);
  state.counters["objects/s"] = benchmark::Counter(
      static_cast<double>(state.range(0)) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void BM_ParseAndAllChecks(benchmark::State& state) { ParseAndAssess(state, {}); }
void BM_ParseAndPssRestricted(benchmark::State& state) {
  ParseAndAssess(state, {"pss-restricted"});
}

}  // namespace

BENCHMARK(BM_ParseOnly)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseAndAllChecks)->Arg(1000)->Arg(10000)->Arg(30000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseAndPssRestricted)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
