#pragma once
// Kubernetes ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1 and v1beta1) in the
// webhook: ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding and param objects (any
// kind: ConfigMap, a custom resource) read unchanged from YAML files, every CEL expression
// compiled once with src/cel, and evaluated per request as the API server does: matchConstraints
// and the binding's matchResources, matchConditions, lazy variables, validations with
// message/messageExpression/reason, auditAnnotations, paramKind + paramRef (name or selector,
// parameterNotFoundAction), validationActions Deny/Warn/Audit, failurePolicy, and the cost
// limits (docs/admission.md, "ValidatingAdmissionPolicy").

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admission/policy.h"
#include "admission/review.h"
#include "core/result.h"
#include "k8s/loader.h"

namespace moat::admission {

class NamespaceCache;
class ParamCache;

/// Kubernetes' cost limits (k8s.io/apiserver/pkg/apis/cel/config.go).
constexpr uint64_t kVapPerCallLimit = 1000000;  // each expression
/// Validations and message expressions of one (policy, binding, param) evaluation together.
constexpr uint64_t kVapRuntimeCostBudget = 10000000;
/// The matchConditions of one (policy, binding, param) evaluation together.
constexpr uint64_t kVapMatchConditionsCostBudget = 2500000;
/// A messageExpression result longer than this is not used (the static message is).
constexpr size_t kVapMaxMessageExpressionBytes = 5 * 1024;
/// An auditAnnotation value longer than this is cut.
constexpr size_t kVapMaxAuditAnnotationValueBytes = 10 * 1024;

/// Where the policy set finds what the AdmissionReview does not carry.
struct VapEnvironment {
  /// Namespaces' labels and objects (namespaceSelector, namespaceObject); null = only what the
  /// request itself says (see NamespaceLabelsFor).
  std::shared_ptr<const NamespaceCache> namespaces;
  /// Param objects listed from a cluster, consulted before the files' params; may be null.
  std::shared_ptr<const ParamCache> params;
  /// The configuration's excludedNamespaces (Moat's own among them): requests there are not
  /// evaluated, as for every other policy of the webhook.
  std::vector<std::string> excluded_namespaces;
};

/// A param kind a policy refers to: its apiVersion ("rules.example.com/v1", "v1") and kind.
struct VapParamKind {
  std::string api_version;
  std::string kind;
};

/// Every ValidatingAdmissionPolicy with its bindings: one Policy for the webhook.
class VapPolicy : public Policy {
 public:
  ~VapPolicy() override;

  /// Reads `paths` (files or directories of YAML, several documents each). Errors name the
  /// file, the object, the field and, for an expression, its line:column.
  static Result<std::unique_ptr<VapPolicy>> Load(const std::vector<std::string>& paths,
                                                 VapEnvironment environment = {});
  /// The same from objects already read (tests, fuzzing): `input.errors` fail the load.
  static Result<std::unique_ptr<VapPolicy>> FromObjects(k8s::LoadResult input,
                                                        VapEnvironment environment = {});

  bool Covers(const AdmissionRequest& request) const override;
  void Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const override;
  /// The same, and the policies (their checks()) whose bindings matched the request.
  void Evaluate(AdmissionRequest& request, std::vector<Violation>& out,
                std::vector<const k8s::CheckInfo*>* matched) const;

  size_t policies() const;
  size_t bindings() const;
  size_t params() const;
  /// The param kinds some policy names (what a cluster param cache lists).
  std::vector<VapParamKind> ParamKinds() const;
  /// One CheckInfo per policy (id = the policy's name, group "vap"), for the audit's report.
  const std::vector<const k8s::CheckInfo*>& checks() const;

  struct State;

 private:
  explicit VapPolicy(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// The labels of `namespace_name` as the webhook knows them: from the cache when it has the
/// namespace, else the labels of `object` when it is that Namespace, else the one label the API
/// server puts on every namespace (kubernetes.io/metadata.name).
k8s::Value NamespaceLabelsFor(const NamespaceCache* cache, const std::string& namespace_name,
                              const k8s::Object* object);

/// The CREATE of `object` as the API server would send it to the webhook (the audit of objects
/// that already exist): kind and resource from the object, its namespace (a Namespace's own
/// name), no user.
AdmissionRequest CreateRequestFor(k8s::Object object);

/// The plural resource of a kind, as the API server's RESTMapper guesses it when it has no
/// discovery: Deployment -> deployments, Ingress -> ingresses, NetworkPolicy -> networkpolicies.
std::string GuessResource(std::string_view kind);

}  // namespace moat::admission
