// Namespaces: Pod Security Admission labels. Without an `enforce` label the API server admits
// any pod into the namespace (unless the cluster-wide PSA default says otherwise); with one below
// the configured level it admits pods the policy forbids.

#include <string>

#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

constexpr std::string_view kEnforceLabel = "pod-security.kubernetes.io/enforce";

/// privileged < baseline < restricted; -1 for anything else.
int LevelRank(std::string_view level) {
  if (level == "privileged") return 0;
  if (level == "baseline") return 1;
  if (level == "restricted") return 2;
  return -1;
}

void PodSecurityLabels(const CheckContext& c, Emitter& e) {
  const std::string minimum = c.params.String("minimumLevel");
  const Value* labels = LabelsOf(c.object.root.Field("metadata"));
  const Value* enforce = labels != nullptr ? labels->Get(kEnforceLabel) : nullptr;
  const std::string path = "metadata.labels[\"" + std::string(kEnforceLabel) + "\"]";
  if (enforce == nullptr) {
    e.Fail(nullptr, path,
           "namespace \"" + c.object.name + "\" has no " + std::string(kEnforceLabel) +
               " label: Pod Security Admission does not enforce a level here",
           labels != nullptr ? labels : &c.object.root);
    return;
  }
  const int rank = LevelRank(enforce->Str());
  if (rank < 0) {
    e.Fail(enforce, path,
           "namespace \"" + c.object.name + "\" enforces an unknown level \"" + enforce->text +
               "\" (privileged, baseline or restricted)");
  } else if (rank < LevelRank(minimum)) {
    e.Fail(enforce, path,
           "namespace \"" + c.object.name + "\" enforces " + enforce->text + ", below " + minimum);
  }
}

}  // namespace

void AddNamespaceChecks(std::vector<CheckDef>& checks) {
  AddCheck(checks,
           MakeInfo("ns-pod-security-labels", "namespace", "Pod Security Admission enforce label",
                    Severity::kMedium,
                    "Pod Security Admission enforces a Pod Security Standards level per namespace "
                    "through the pod-security.kubernetes.io/enforce label. A namespace without "
                    "it, or with a level below minimumLevel, admits pods the standard forbids.",
                    "Label the namespace: kubectl label ns NAME "
                    "pod-security.kubernetes.io/enforce=restricted (or baseline), and pin "
                    "pod-security.kubernetes.io/enforce-version.",
                    {"https://kubernetes.io/docs/concepts/security/pod-security-admission/",
                     "CIS Kubernetes Benchmark 5.2.1 (at least one active policy control "
                     "mechanism)"},
                    {"Namespace"},
                    {{"minimumLevel", "baseline",
                      "lowest enforce level accepted: privileged, baseline or restricted"}}),
           PodSecurityLabels);
}

}  // namespace moat::k8s::internal
