#pragma once
// The webhook's configuration: which policies run in which mode, on which namespaces and
// objects, with which parameters and exemptions. One YAML file (docs/admission.md), plus the
// --enforce/--warn/--audit flags, which add rules that apply everywhere.
//
//   pssVersion: v1.30
//   excludedNamespaces: [kube-system, kube-public]
//   exemptAnnotation: moat.dev/exempt
//   deadline: 2s
//   failurePolicy: Fail
//   parameters:                       # as in `moat k8s --config`
//     wl-cpu-limits: {maxCpu: "2"}
//   policies:
//   - checks: [pss-restricted]
//     action: deny
//     namespaces: ["prod-*"]
//     excludedNamespaces: [legacy]
//     namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
//     objectSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [debug]}]}
//     exemptImages: ["registry.k8s.io/pause:*"]
//     exemptContainers: [istio-proxy]

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/policy.h"
#include "core/result.h"
#include "k8s/checks.h"

namespace moat::admission {

/// A Kubernetes label selector (matchLabels and matchExpressions: In, NotIn, Exists,
/// DoesNotExist). An empty selector matches everything.
struct LabelSelector {
  enum class Operator : uint8_t { kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Operator op = Operator::kIn;
    std::vector<std::string> values;
  };
  std::vector<std::pair<std::string, std::string>> match_labels;
  std::vector<Requirement> match_expressions;

  /// `labels` is a metadata.labels map, or null for an object without labels.
  bool Matches(const k8s::Value* labels) const;
};

/// One entry of `policies:`: checks in one mode where the selectors say.
struct PolicyRule {
  std::vector<std::string> checks;  // ids, groups, globs as `moat k8s --checks` takes them
  Action action = Action::kDeny;
  std::vector<std::string> namespaces;           // globs; empty = every namespace
  std::vector<std::string> excluded_namespaces;  // globs
  std::optional<LabelSelector> namespace_selector;
  std::optional<LabelSelector> object_selector;
  std::vector<std::string> exempt_images;      // globs on the image reference
  std::vector<std::string> exempt_containers;  // globs on the container name
  std::string origin;                          // "moat.yaml:12" or "--enforce", for messages
};

struct AdmissionConfig {
  std::vector<PolicyRule> rules;
  k8s::ParameterValues parameters;
  /// Namespaces the webhook admits without evaluation. Moat's own namespace is always added
  /// (OwnNamespace()), so a policy can never lock the webhook out of restarting itself.
  std::vector<std::string> excluded_namespaces = {"kube-system", "kube-public"};
  /// Off by default: in an admission controller an annotation would let anyone who may create an
  /// object exempt it from the policies.
  std::string exempt_annotation;
  int pss_minor = -1;  // -1 = latest
  /// Time the webhook allows itself per request, below the webhook's timeoutSeconds.
  std::chrono::milliseconds deadline{2000};
  /// What an evaluation error or a missed deadline does: Fail = deny, Ignore = allow (warning).
  bool fail_closed = true;
};

/// Moat's own namespace: $POD_NAMESPACE, else the service account's namespace file, else
/// "moat-admission" (deploy/admission).
std::string OwnNamespace();

/// Parses the YAML config. Errors name `name:line` and the key; unknown keys, checks, parameters
/// and actions are errors (a typo should not silently enforce nothing).
Result<AdmissionConfig> ParseAdmissionConfig(std::string_view text, const std::string& name);
Result<AdmissionConfig> LoadAdmissionConfig(const std::string& path);

/// A rule from --enforce/--warn/--audit: `patterns` in `action` everywhere. Checks that select
/// nothing are errors.
Result<void> AddFlagRule(AdmissionConfig& config, Action action,
                         const std::vector<std::string>& patterns, std::string origin);

}  // namespace moat::admission
