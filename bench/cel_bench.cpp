// CEL evaluation speed for ValidatingAdmissionPolicy expressions of the Kubernetes documentation
// (goal: a compiled validation evaluates in under 5 us), against a Deployment as the admission
// webhook sees it. Compilation is measured apart: it happens once, when a policy is loaded.
//   build-*/cel_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <string>

#include "cel/json.h"
#include "cel/program.h"

namespace {

const moat::cel::Value& Deployment() {
  static const moat::cel::Value object = moat::cel::ValueFromJson(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "team": "a"},
                 "annotations": {"owner": "team-a"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
      "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"serviceAccountName": "web", "securityContext": {"runAsNonRoot": true},
          "containers": [
            {"name": "app", "image": "registry.example.com/shop/web:1.4.2",
             "ports": [{"containerPort": 8080}],
             "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}},
            {"name": "proxy", "image": "registry.example.com/mesh/proxy:2.0",
             "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}},
            {"name": "log", "image": "registry.example.com/ops/log:0.9",
             "resources": {"limits": {"cpu": "50m", "memory": "32Mi"}}}]}}}})")
                                             .value();
  return object;
}

const char* const kExpressions[] = {
    "object.spec.replicas <= 5",
    "object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example.com/'))",
    "object.spec.template.spec.containers.all(c, has(c.resources) && has(c.resources.limits) && "
    "'memory' in c.resources.limits)",
    "object.metadata.?labels.team.orValue('') != '' && "
    "object.spec.template.spec.containers.exists_one(c, c.name == 'app')",
};

void BM_CelEvaluate(benchmark::State& state) {
  auto program = moat::cel::Compile(kExpressions[state.range(0)], {.variables = {"object"}});
  if (!program.ok()) {
    state.SkipWithError(program.error().message.c_str());
    return;
  }
  moat::cel::Activation activation;
  activation.Bind("object", Deployment());
  uint64_t cost = 0;
  for (auto _ : state) {
    auto result = program->Evaluate(activation, {}, &cost);
    benchmark::DoNotOptimize(result);
  }
  state.counters["cost"] = static_cast<double>(cost);
}
BENCHMARK(BM_CelEvaluate)->DenseRange(0, 3);

void BM_CelCompile(benchmark::State& state) {
  for (auto _ : state) {
    auto program = moat::cel::Compile(kExpressions[state.range(0)]);
    benchmark::DoNotOptimize(program);
  }
}
BENCHMARK(BM_CelCompile)->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();
