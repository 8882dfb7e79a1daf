#pragma once
// Mutations on /mutate: the seed's Azure Policy "Mutate" definitions (drop all capabilities,
// read-only root filesystem, no service account token, run as non-root / as user 1000, seccomp
// RuntimeDefault, no privilege escalation, default CPU and memory limits, PodDisruptionBudget
// maxUnavailable 1 and unhealthy-pod eviction) applied to Pods, the pod templates of workload
// kinds and PodDisruptionBudgets, answered as an RFC 6902 JSON Patch.
//
// Every mutation sets a field only where it is missing (the Azure definitions that say "if not
// set"/"if not present") except the two the definitions word as unconditional
// (allowPrivilegeEscalation and automountServiceAccountToken "set to false"), so applying the
// patch and reviewing the result again gives no patch: safe under reinvocationPolicy IfNeeded.
//
//   mutations:
//   - mutate: [drop-capabilities, seccomp-runtime-default, cpu-limits]
//     namespaces: ["prod-*"]
//     namespaceSelector: {matchLabels: {team: shop}}
//     objectSelector: {matchExpressions: [{key: moat.dev/no-mutation, operator: DoesNotExist}]}
//     parameters: {cpuLimit: 500m}

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admission/config.h"
#include "admission/review.h"
#include "k8s/checks.h"

namespace moat::admission {

/// One mutation Moat knows, by its name; the Azure definitions it stands for are accepted as
/// names too (each covers its own container kinds).
struct MutationInfo {
  std::string name;  // "drop-capabilities"
  std::string description;
  /// "MutateContainerAllowedCapabilitiesContainers (c873b3ba-...)": the seed's file stem and id.
  std::vector<std::string> azure_definitions;
  std::vector<k8s::Parameter> parameters;  // names and defaults
};

/// Every mutation, in the order they are applied.
const std::vector<MutationInfo>& AllMutations();

/// Parses one entry of `mutations:` (keys mutate, parameters and the RuleScope keys). Unknown
/// keys, mutation names and parameters, and bad parameter values are errors naming `name:line`.
Result<MutationRule> ParseMutationRule(const std::string& name, const k8s::Value& item);

/// Appends "/" and `token` escaped as RFC 6901 says ("~" -> "~0", "/" -> "~1").
void AppendJsonPointerToken(std::string& pointer, std::string_view token);

struct MutationResult {
  bool evaluated = false;  // some rule's selectors took the object in
  std::string patch;       // a JSON Patch array; "" when nothing changes
  size_t operations = 0;
  /// The mutations that changed something (each name once), for the metrics.
  std::vector<std::string> applied;
};

/// The mutations of one configuration, resolved once.
class Mutator {
 public:
  Mutator() = default;
  explicit Mutator(const AdmissionConfig& config);

  bool empty() const { return rules_.empty(); }
  /// Mutates `request.object` in place and returns the patch that does the same to the object
  /// the API server sent. CREATE and UPDATE of Pods (UPDATE only through the
  /// ephemeralcontainers subresource, for the containers it adds: a pod's spec is otherwise
  /// immutable), workload kinds and PodDisruptionBudgets; anything else is left alone.
  MutationResult Mutate(AdmissionRequest& request) const;

 private:
  struct Step {
    uint8_t mutation = 0;     // index into AllMutations()
    unsigned containers = 0;  // k8s container kinds (1 regular, 2 init, 4 ephemeral); 0 = pod
  };
  struct Rule {
    RuleScope scope;
    std::vector<Step> steps;  // in AllMutations() order
    std::string cpu_limit, memory_limit;
    int64_t run_as_user = 1000;
  };
  std::vector<std::string> excluded_namespaces_;  // the configuration's, as the policies'
  /// The namespaces' labels for namespaceSelector, when the webhook lists them; null without.
  std::shared_ptr<const NamespaceCache> namespaces_;
  std::vector<Rule> rules_;
};

}  // namespace moat::admission
