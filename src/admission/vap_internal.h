#pragma once
// The compiled form of ValidatingAdmissionPolicies and their bindings, shared by the loader
// (vap_load.cpp) and the evaluator (vap.cpp). Immutable once loaded.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admission/config.h"
#include "admission/vap.h"
#include "admission/vap_params.h"
#include "cel/program.h"
#include "k8s/checks.h"

namespace moat::admission::vap {

/// One rule of resourceRules or excludeResourceRules (NamedRuleWithOperations).
struct ResourceRule {
  enum class Scope : uint8_t { kAll, kCluster, kNamespaced };
  std::vector<std::string> operations;  // CREATE, UPDATE, DELETE, CONNECT or *
  std::vector<std::string> api_groups;
  std::vector<std::string> api_versions;
  std::vector<std::string> resources;  // "pods", "pods/status", "*", "*/scale", "*/*"
  std::vector<std::string> resource_names;
  Scope scope = Scope::kAll;
};

/// matchConstraints of a policy or matchResources of a binding.
struct MatchResources {
  bool present = false;
  std::optional<LabelSelector> namespace_selector;
  std::optional<LabelSelector> object_selector;
  std::vector<ResourceRule> resource_rules;
  std::vector<ResourceRule> exclude_resource_rules;
  bool equivalent = true;  // matchPolicy: Equivalent (the default) or Exact
};

/// A compiled expression and where it was written, for messages.
struct Expression {
  cel::Program program;
  std::string field;  // spec.validations[1].expression
};

struct Validation {
  Expression expression;
  std::string message;
  std::optional<Expression> message_expression;
  std::string reason = "Invalid";
  int code = 422;
};

struct AuditAnnotation {
  std::string key;
  Expression value;
};

struct MatchCondition {
  std::string name;
  Expression expression;
};

struct Variable {
  std::string name;
  Expression expression;
};

struct Binding;

struct Definition {
  std::string name;
  std::string origin;  // file:line
  bool fail_closed = true;
  std::optional<VapParamKind> param_kind;
  std::string param_key;  // ParamKindKey of param_kind
  MatchResources match;
  std::vector<MatchCondition> match_conditions;
  std::vector<Variable> variables;
  std::vector<Validation> validations;
  std::vector<AuditAnnotation> audit_annotations;
  k8s::CheckInfo check;  // how the audit reports it
  std::vector<const Binding*> bindings;
};

struct ParamRef {
  std::string name;
  std::string namespace_name;
  std::optional<LabelSelector> selector;
  bool deny_when_missing = true;  // parameterNotFoundAction: Deny (the default) or Allow
};

struct Binding {
  std::string name;
  std::string origin;
  std::string policy_name;
  const Definition* policy = nullptr;
  std::optional<ParamRef> param_ref;
  MatchResources match;
  bool deny = false;
  bool warn = false;
  bool audit = false;
};

}  // namespace moat::admission::vap

namespace moat::admission {

struct VapPolicy::State {
  std::vector<std::unique_ptr<vap::Definition>> definitions;
  std::vector<std::unique_ptr<vap::Binding>> bindings;
  std::map<std::string, std::shared_ptr<const ParamKindObjects>> params;  // from files
  size_t param_objects = 0;
  VapEnvironment environment;
  std::vector<const k8s::CheckInfo*> checks;
};

/// Builds the state from loaded objects (vap_load.cpp).
Result<std::unique_ptr<VapPolicy::State>> LoadVapState(k8s::LoadResult input);

}  // namespace moat::admission
