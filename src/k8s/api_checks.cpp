// Deprecated and removed API versions for a target Kubernetes version. The table is Kubernetes'
// "Deprecated API Migration Guide" (kubernetes.io/docs/reference/using-api/deprecation-guide/):
// for each group/version/kind the release that stopped serving it and the version to use.

#include <algorithm>
#include <string>

#include "k8s/check_util.h"

namespace moat::k8s {
namespace internal {
namespace {

struct RemovedApi {
  std::string_view api_version;
  std::string_view kind;
  int removed_minor;             // 1.N no longer serves it
  std::string_view replacement;  // "" when there is none
};

constexpr RemovedApi kRemovedApis[] = {
    // v1.16
    {"extensions/v1beta1", "NetworkPolicy", 16, "networking.k8s.io/v1"},
    {"extensions/v1beta1", "PodSecurityPolicy", 16, "policy/v1beta1"},
    {"extensions/v1beta1", "DaemonSet", 16, "apps/v1"},
    {"apps/v1beta2", "DaemonSet", 16, "apps/v1"},
    {"extensions/v1beta1", "Deployment", 16, "apps/v1"},
    {"apps/v1beta1", "Deployment", 16, "apps/v1"},
    {"apps/v1beta2", "Deployment", 16, "apps/v1"},
    {"apps/v1beta1", "StatefulSet", 16, "apps/v1"},
    {"apps/v1beta2", "StatefulSet", 16, "apps/v1"},
    {"extensions/v1beta1", "ReplicaSet", 16, "apps/v1"},
    {"apps/v1beta1", "ReplicaSet", 16, "apps/v1"},
    {"apps/v1beta2", "ReplicaSet", 16, "apps/v1"},
    // v1.22
    {"admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", 22,
     "admissionregistration.k8s.io/v1"},
    {"admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", 22,
     "admissionregistration.k8s.io/v1"},
    {"apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", 22, "apiextensions.k8s.io/v1"},
    {"apiregistration.k8s.io/v1beta1", "APIService", 22, "apiregistration.k8s.io/v1"},
    {"authentication.k8s.io/v1beta1", "TokenReview", 22, "authentication.k8s.io/v1"},
    {"authorization.k8s.io/v1beta1", "SubjectAccessReview", 22, "authorization.k8s.io/v1"},
    {"authorization.k8s.io/v1beta1", "LocalSubjectAccessReview", 22, "authorization.k8s.io/v1"},
    {"authorization.k8s.io/v1beta1", "SelfSubjectAccessReview", 22, "authorization.k8s.io/v1"},
    {"certificates.k8s.io/v1beta1", "CertificateSigningRequest", 22, "certificates.k8s.io/v1"},
    {"coordination.k8s.io/v1beta1", "Lease", 22, "coordination.k8s.io/v1"},
    {"extensions/v1beta1", "Ingress", 22, "networking.k8s.io/v1"},
    {"networking.k8s.io/v1beta1", "Ingress", 22, "networking.k8s.io/v1"},
    {"networking.k8s.io/v1beta1", "IngressClass", 22, "networking.k8s.io/v1"},
    {"rbac.authorization.k8s.io/v1beta1", "ClusterRole", 22, "rbac.authorization.k8s.io/v1"},
    {"rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", 22, "rbac.authorization.k8s.io/v1"},
    {"rbac.authorization.k8s.io/v1beta1", "Role", 22, "rbac.authorization.k8s.io/v1"},
    {"rbac.authorization.k8s.io/v1beta1", "RoleBinding", 22, "rbac.authorization.k8s.io/v1"},
    {"scheduling.k8s.io/v1beta1", "PriorityClass", 22, "scheduling.k8s.io/v1"},
    {"storage.k8s.io/v1beta1", "CSIDriver", 22, "storage.k8s.io/v1"},
    {"storage.k8s.io/v1beta1", "CSINode", 22, "storage.k8s.io/v1"},
    {"storage.k8s.io/v1beta1", "StorageClass", 22, "storage.k8s.io/v1"},
    {"storage.k8s.io/v1beta1", "VolumeAttachment", 22, "storage.k8s.io/v1"},
    // v1.25
    {"batch/v1beta1", "CronJob", 25, "batch/v1"},
    {"discovery.k8s.io/v1beta1", "EndpointSlice", 25, "discovery.k8s.io/v1"},
    {"events.k8s.io/v1beta1", "Event", 25, "events.k8s.io/v1"},
    {"autoscaling/v2beta1", "HorizontalPodAutoscaler", 25, "autoscaling/v2"},
    {"policy/v1beta1", "PodDisruptionBudget", 25, "policy/v1"},
    {"policy/v1beta1", "PodSecurityPolicy", 25, ""},
    {"node.k8s.io/v1beta1", "RuntimeClass", 25, "node.k8s.io/v1"},
    // v1.26
    {"flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", 26, "flowcontrol.apiserver.k8s.io/v1"},
    {"flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration", 26,
     "flowcontrol.apiserver.k8s.io/v1"},
    {"autoscaling/v2beta2", "HorizontalPodAutoscaler", 26, "autoscaling/v2"},
    // v1.27
    {"storage.k8s.io/v1beta1", "CSIStorageCapacity", 27, "storage.k8s.io/v1"},
    // v1.29
    {"flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", 29, "flowcontrol.apiserver.k8s.io/v1"},
    {"flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration", 29,
     "flowcontrol.apiserver.k8s.io/v1"},
    // v1.32
    {"flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", 32, "flowcontrol.apiserver.k8s.io/v1"},
    {"flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration", 32,
     "flowcontrol.apiserver.k8s.io/v1"},
};

const RemovedApi* FindRemovedApi(std::string_view api_version, std::string_view kind) {
  // Every removed version is a beta: most objects are decided without a table scan.
  if (api_version.find("beta") == std::string_view::npos) return nullptr;
  for (const RemovedApi& api : kRemovedApis) {
    if (api.api_version == api_version && api.kind == kind) return &api;
  }
  return nullptr;
}

int TargetMinor(const CheckContext& c) {
  auto minor = ParsePssVersion(c.params.String("k8sVersion"));
  return minor.ok() ? *minor : DefaultTargetMinor();
}

std::string UseInstead(const RemovedApi& api) {
  return api.replacement.empty() ? std::string(" (no replacement: remove it)")
                                 : "; use " + std::string(api.replacement);
}

const Value* ApiVersionField(const Object& object) { return object.root.Get("apiVersion"); }

void Removed(const CheckContext& c, Emitter& e) {
  const RemovedApi* api = FindRemovedApi(c.object.api_version, c.object.kind);
  const int target = TargetMinor(c);
  if (api == nullptr || target < api->removed_minor) return;
  e.Fail(ApiVersionField(c.object), "apiVersion",
         c.object.api_version + " " + c.object.kind + " is no longer served since v1." +
             std::to_string(api->removed_minor) + " (target v1." + std::to_string(target) + ")" +
             UseInstead(*api),
         &c.object.root);
}

void Deprecated(const CheckContext& c, Emitter& e) {
  const RemovedApi* api = FindRemovedApi(c.object.api_version, c.object.kind);
  const int target = TargetMinor(c);
  if (api == nullptr || target >= api->removed_minor) return;
  e.Fail(ApiVersionField(c.object), "apiVersion",
         c.object.api_version + " " + c.object.kind + " is deprecated and removed in v1." +
             std::to_string(api->removed_minor) + " (target v1." + std::to_string(target) + ")" +
             UseInstead(*api),
         &c.object.root);
}

/// The kinds of the table: objects of other kinds stay "skipped" when nothing else looks at them.
std::vector<std::string> TableKinds() {
  std::vector<std::string> kinds;
  for (const RemovedApi& api : kRemovedApis) {
    if (std::find(kinds.begin(), kinds.end(), api.kind) == kinds.end())
      kinds.emplace_back(api.kind);
  }
  return kinds;
}

}  // namespace

void AddApiVersionChecks(std::vector<CheckDef>& checks) {
  const std::vector<std::string> references = {
      "https://kubernetes.io/docs/reference/using-api/deprecation-guide/"};
  const std::string remediation =
      "Migrate the manifest to the replacement API version (kubectl convert can help) before "
      "upgrading.";
  const std::vector<Parameter> parameters = {
      {"k8sVersion", "v1." + std::to_string(DefaultTargetMinor()),
       "Kubernetes version to assess against (--k8s-version)"}};
  AddCheck(checks,
           MakeInfo("api-removed", "api", "API version removed in the target Kubernetes version",
                    Severity::kHigh,
                    "The API server of the target version no longer serves this "
                    "group/version/kind: applying the manifest fails.",
                    remediation, references, TableKinds(), parameters),
           Removed);
  AddCheck(checks,
           MakeInfo("api-deprecated", "api", "Deprecated API version", Severity::kLow,
                    "The group/version/kind is still served by the target version but is "
                    "deprecated and removed in a later release.",
                    remediation, references, TableKinds(), parameters),
           Deprecated);
}

}  // namespace internal

int DefaultTargetMinor() { return LatestPssMinor(); }

Result<void> SetTargetKubernetesVersion(std::string_view text, AssessOptions& options) {
  auto minor = ParsePssVersion(text);
  if (!minor.ok()) return Fail("--k8s-version ", std::string(text), ": expected v1.N (e.g. v1.32)");
  const std::string version = "v1." + std::to_string(*minor);
  for (const char* id : {"api-removed", "api-deprecated"})
    options.parameters[id]["k8sVersion"] = {version};
  return Ok();
}

}  // namespace moat::k8s
