// `moat cel eval 'EXPR' [--vars FILE.json]`: compile and evaluate one CEL expression, as policy
// authors test ValidatingAdmissionPolicy expressions; the result is printed as JSON (CEL's JSON
// mapping), a compile or evaluation error with its line:column and exit code 2.

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cel/json.h"
#include "cel/program.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/bytes.h"

namespace moat::cli {
namespace {

struct CelEvalOptions {
  std::string expression;
  std::string vars_file;
  uint64_t cost_limit = cel::kDefaultCostLimit;
};

// Variables are a policy author's test input; an API server's request is at most 3 MiB.
constexpr uint64_t kMaxVarsBytes = 64ull << 20;

int RunCelEval(const CelEvalOptions& options) {
  cel::Activation activation;
  if (!options.vars_file.empty()) {
    auto text = ReadFileToString(options.vars_file, kMaxVarsBytes);
    if (!text.ok()) {
      std::cerr << "moat cel eval: cannot read " << text.error().message << "\n";
      return kExitError;
    }
    auto vars = cel::ValueFromJson(*text);
    if (!vars.ok()) {
      std::cerr << "moat cel eval: " << options.vars_file << ": " << vars.error().message << "\n";
      return kExitError;
    }
    if (!vars->Is(cel::Kind::kMap)) {
      std::cerr << "moat cel eval: " << options.vars_file
                << ": expected a JSON object of variables ({\"object\": {...}, ...})\n";
      return kExitError;
    }
    for (const cel::MapEntry& entry : vars->AsMap()) {
      activation.Bind(entry.key.AsString(), entry.value);
    }
  }
  auto program = cel::Compile(options.expression);
  if (!program.ok()) {
    std::cerr << "moat cel eval: compile error: " << program.error().message << "\n";
    return kExitError;
  }
  cel::EvalOptions eval_options;
  eval_options.cost_limit = options.cost_limit;
  auto result = program->Evaluate(activation, eval_options);
  if (!result.ok()) {
    std::cerr << "moat cel eval: evaluation error: " << result.error().message << "\n";
    return kExitError;
  }
  std::cout << cel::ToJson(*result) << "\n";
  return kExitOk;
}

}  // namespace

void AddCelCommand(CLI::App& app, Action& action) {
  auto* cel = app.add_subcommand("cel", "Common Expression Language tools (docs/cel.md)");
  cel->require_subcommand(1);
  SetExamples(*cel, {"moat cel eval \"'registry.example.com/app:1'.startsWith('registry.')\""});
  auto* eval = cel->add_subcommand(
      "eval", "Compile and evaluate one CEL expression; print the result as JSON");
  auto options = std::make_shared<CelEvalOptions>();
  eval->add_option("expression", options->expression, "the CEL expression")->required();
  eval->add_option("--vars", options->vars_file,
                   "JSON object of variables: {\"object\": {...}, \"params\": {...}}");
  eval->add_option("--cost-limit", options->cost_limit,
                   "runtime cost budget (Kubernetes' per-expression limit by default)");
  SetExamples(*eval, {"moat cel eval '[1, 2, 3].map(x, x * 2)'",
                      "moat cel eval 'object.spec.replicas <= 5' --vars vars.json"});
  eval->callback([&action, options] { action = [options] { return RunCelEval(*options); }; });
}

}  // namespace moat::cli
