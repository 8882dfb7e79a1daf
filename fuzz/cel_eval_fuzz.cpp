// libFuzzer target for the CEL evaluator: the input is an expression evaluated against a small
// Kubernetes-like object under a tight cost budget. Evaluation must end (the budget stops
// runaway comprehensions) with a value or an error, and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cel/json.h"
#include "cel/program.h"

namespace {

const moat::cel::Value& Object() {
  static const moat::cel::Value object =
      moat::cel::ValueFromJson(R"({"metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 3, "ratio": 0.5, "paused": false, "tags": ["a", "b", "c"],
        "containers": [{"name": "a", "image": "registry.example.com/a:1", "ports": [80, 443]},
                       {"name": "b", "image": "docker.io/b", "ports": []}]}})")
          .value();
  return object;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::cel::CompileOptions compile;
  compile.allow_unknown_functions = true;
  auto program = moat::cel::Compile(text, compile);
  if (!program.ok()) return 0;
  moat::cel::Activation activation;
  activation.Bind("object", Object());
  activation.Bind("oldObject", moat::cel::Value());
  moat::cel::EvalOptions eval;
  eval.cost_limit = 20000;
  uint64_t cost = 0;
  auto result = program->Evaluate(activation, eval, &cost);
  if (result.ok()) {
    (void)moat::cel::ToJson(*result);
    (void)moat::cel::DebugString(*result);
  }
  return 0;
}
