#pragma once
// Moat's CEL engine: compile an expression once, evaluate it many times against variable
// bindings under a cost budget.
//
//   auto program = cel::Compile("object.spec.replicas <= 5", {.variables = {"object"}});
//   cel::Activation vars;
//   vars.Bind("object", object_value);
//   Result<cel::Value> result = program->Evaluate(vars);  // errors read "1:15: no such key: spec"
//
// Covered: the cel-spec grammar, the standard functions and macros, optionals, the strings,
// math, encoders and bindings extensions, and the Kubernetes libraries (docs/cel.md).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cel/value.h"
#include "core/result.h"

namespace moat::cel {

struct CompileOptions {
  /// The variables the expression may use. When non-empty, any other free identifier is a
  /// compile error ("undeclared reference to 'objet'"); when empty, names are looked up at
  /// evaluation and a missing one is an evaluation error.
  std::vector<std::string> variables;
  /// Calls of unknown functions are compile errors unless this is set (then they evaluate to
  /// an error, which || and && may absorb, as in the conformance tests).
  bool allow_unknown_functions = false;
  /// Hostile input bounds (cel-go's defaults): bytes, nesting depth, AST nodes.
  size_t max_expression_bytes = 100 * 1024;
  int max_depth = 250;
  size_t max_nodes = 100000;
};

/// Kubernetes' per-expression runtime cost limit (PerCallLimit).
constexpr uint64_t kDefaultCostLimit = 1000000;

struct EvalOptions {
  /// Evaluation stops with "cost budget exceeded" once this many cost units are spent: one per
  /// evaluation step, plus one per element or ten bytes that a list or string operation visits.
  uint64_t cost_limit = kDefaultCostLimit;
};

/// Variable bindings for one evaluation. Names may be dotted ("a.b"): CEL resolves `a.b` to
/// such a binding before selecting field b of a.
class Activation {
 public:
  void Bind(std::string name, Value value);
  const Value* Find(std::string_view name) const;
  bool has_dotted_names() const { return has_dotted_names_ || resolver_ != nullptr; }

  /// Names not bound with Bind are asked of `resolver`, which may compute a value on first use
  /// (ValidatingAdmissionPolicy's lazy `variables`) and must keep it alive for the evaluation;
  /// nullptr = unknown. Dotted names ("variables.x") are asked for too.
  using Resolver = std::function<const Value*(std::string_view name)>;
  void SetResolver(Resolver resolver) { resolver_ = std::move(resolver); }

 private:
  std::vector<std::pair<std::string, Value>> bindings_;
  bool has_dotted_names_ = false;
  Resolver resolver_;
};

struct Compiled;

class Program {
 public:
  /// The value, or the evaluation error with its position: "1:8: no such key: 'spec'".
  Result<Value> Evaluate(const Activation& activation, const EvalOptions& options = {},
                         uint64_t* cost = nullptr) const;
  const std::string& expression() const;

 private:
  friend Result<Program> Compile(std::string_view expression, const CompileOptions& options);
  std::shared_ptr<const Compiled> compiled_;
};

/// Parses and checks `expression`; errors name line:column and what was expected.
Result<Program> Compile(std::string_view expression, const CompileOptions& options = {});

}  // namespace moat::cel
