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
//   mutations:                        # mutation.h
//   - mutate: [drop-capabilities, seccomp-runtime-default]
//     namespaces: ["prod-*"]

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/image_gate.h"
#include "admission/policy.h"
#include "admission/signature.h"
#include "core/result.h"
#include "k8s/checks.h"

namespace moat::admission {

class NamespaceCache;
class ParamCache;

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

/// Reads a label selector (`v` is the map under its key); errors name `name:line`.
Result<LabelSelector> ParseLabelSelector(const std::string& name, const k8s::Value& v);

/// True when one of the globs (core/text.h GlobMatch) matches `text`.
bool AnyGlob(const std::vector<std::string>& patterns, std::string_view text);

/// Where an entry of `policies:` or `mutations:` applies.
struct RuleScope {
  std::vector<std::string> namespaces;           // globs; empty = every namespace
  std::vector<std::string> excluded_namespaces;  // globs
  std::optional<LabelSelector> namespace_selector;
  std::optional<LabelSelector> object_selector;

  /// Namespace criteria concern namespaced objects and Namespace objects (a namespace's labels
  /// come from `namespace_cache` when given and it knows the namespace, else from the
  /// Namespace itself, else only kubernetes.io/metadata.name); cluster-scoped objects are
  /// matched by the object selector only.
  bool Matches(const k8s::Object& object, const NamespaceCache* namespace_cache = nullptr) const;
};

/// One entry of `policies:`: checks in one mode where the selectors say.
struct PolicyRule : RuleScope {
  /// ids, groups, globs as `moat k8s --checks` takes them, and the image policies' names
  /// (image_gate.h: image-vulnerabilities, image-signature), which the k8s checks leave out
  std::vector<std::string> checks;
  Action action = Action::kDeny;
  std::vector<std::string> exempt_images;      // globs on the image reference
  std::vector<std::string> exempt_containers;  // globs on the container name
  /// The rule's own parameter values (`parameters:` of the entry), over the file's.
  k8s::ParameterValues parameters;
  std::string origin;  // "moat.yaml:12" or "--enforce", for messages
};

/// One entry of `mutations:` (mutation.h): mutations by name where the selectors say.
struct MutationRule : RuleScope {
  std::vector<std::string> mutations;  // as written: Moat's names or the Azure definitions'
  std::vector<std::pair<std::string, std::string>> parameters;  // name -> value, validated
  std::string origin;                                           // "moat.yaml:12"
};

struct AdmissionConfig {
  std::vector<PolicyRule> rules;
  std::vector<MutationRule> mutations;
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
  /// The image policies (image_gate.h, signature.h), enabled by rules naming
  /// image-vulnerabilities / image-signature among their checks.
  ImageGateSettings image_gate;
  SignatureSettings signatures;
  RegistryAccess registries;
  /// --policy: ValidatingAdmissionPolicy, Binding and param files or directories (vap.h).
  std::vector<std::string> policy_files;
  /// With cluster access: the namespaces' labels (namespaceSelector, namespaceObject) and the
  /// VAP params, listed through the API and refreshed (namespace_cache.h); null without.
  std::shared_ptr<const NamespaceCache> namespaces;
  std::shared_ptr<const ParamCache> cluster_params;
};

/// Moat's own namespace: $POD_NAMESPACE, else the service account's namespace file, else
/// "moat-admission" (deploy/admission).
std::string OwnNamespace();

/// Reads one of RuleScope's keys (namespaces, excludedNamespaces, namespaceSelector,
/// objectSelector) of a rule's `entry`; false when the key is not one of them.
Result<bool> ParseScopeEntry(const std::string& name, const k8s::Value& entry, RuleScope& scope);

/// Parses the YAML config. Errors name `name:line` and the key; unknown keys, checks, parameters
/// and actions are errors (a typo should not silently enforce nothing).
Result<AdmissionConfig> ParseAdmissionConfig(std::string_view text, const std::string& name);
Result<AdmissionConfig> LoadAdmissionConfig(const std::string& path);

/// A rule from --enforce/--warn/--audit: `patterns` in `action` everywhere. Checks that select
/// nothing are errors.
Result<void> AddFlagRule(AdmissionConfig& config, Action action,
                         const std::vector<std::string>& patterns, std::string origin);

}  // namespace moat::admission
