#pragma once
// The Kubernetes check library: one interface for Pod Security Standards, workload best
// practices, RBAC and exposure checks. A check takes an object and its context (the other
// objects of the same input, parameters, the PSS version) and yields findings, each with the JSON
// path of the offending field and its line. `moat k8s` and the admission controller both use it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "k8s/loader.h"
#include "k8s/value.h"

namespace moat::k8s {

enum class Severity { kLow, kMedium, kHigh, kCritical };
std::string_view SeverityName(Severity severity);  // "LOW", "MEDIUM", "HIGH", "CRITICAL"
std::optional<Severity> ParseSeverity(std::string_view name);  // case-insensitive

struct Parameter {
  std::string name;
  std::string default_value;  // lists are comma-separated
  std::string description;
};

/// Everything about a check but its logic; docs and reports are made from it.
struct CheckInfo {
  std::string id;     // "pss-baseline-privileged", "wl-cpu-limits", "rbac-wildcard"
  std::string group;  // "pss-baseline", "pss-restricted", "workload", "rbac", "network",
                      // "namespace", "credentials", "api", "schema"
  std::string title;
  Severity severity = Severity::kMedium;
  std::string description;
  std::string remediation;
  std::vector<std::string> references;  // PSS control, CIS id, recommendation names, URLs
  std::vector<Parameter> parameters;
  std::vector<std::string> kinds;  // kinds it looks at; "workload" = the eight pod-bearing kinds
  /// An optional policy: off unless selected by its id (or the "optional" pattern); groups,
  /// globs and "all" leave it out.
  bool optional = false;
  /// A check about the excluded namespaces themselves (user workloads in kube-system): it still
  /// looks at objects there, which the other checks skip.
  bool sees_excluded_namespaces = false;
  /// A policy of a bundle (the Azure Policy definitions, group "azure"): off in "all" and in the
  /// default selection, since it restates built-in checks in the bundle's terms; selected by its
  /// id, an alias, its group or a glob.
  bool bundle = false;
  /// Other names a user may select it by: an Azure Policy definition's file name (with or without
  /// ".json") and display name (case-insensitive).
  std::vector<std::string> aliases;
};

/// The pod inside an object: a Pod's own spec, or the template of a workload controller.
struct PodTemplate {
  const Value* metadata = nullptr;  // may be null
  const Value* spec = nullptr;      // never null in a PodTemplate that was found
  std::string metadata_path;        // "metadata", "spec.template.metadata", ...
  std::string spec_path;            // "spec", "spec.template.spec", ...
};

/// What the admission webhook knows of a request beyond its object; null for `moat k8s`, where an
/// object is a manifest or a live object rather than a change someone asks for.
struct RequestInfo {
  std::string_view operation;  // "CREATE", "UPDATE", "DELETE", "CONNECT"
  std::string_view username;
  const std::vector<std::string>* groups = nullptr;
};

/// The eight kinds that carry a pod: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
/// ReplicationController, Job, CronJob.
bool IsWorkloadKind(std::string_view kind);
/// The pod template of a workload object; nullopt for other kinds or when there is no spec map.
std::optional<PodTemplate> FindPodTemplate(const Object& object);

/// The container a finding's JSON path points into ("spec.template.spec.containers[2].image" ->
/// the third container), or null for pod-level fields and paths outside the pod.
const Value* ContainerAtPath(const PodTemplate& pod, std::string_view path);

/// Parameter values by check id and parameter name (from the --config file); a check falls back
/// to the parameter's documented default.
using ParameterValues = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

struct Finding {
  size_t object = 0;  // index into Assessment::objects
  const CheckInfo* check = nullptr;
  std::string path;  // JSON path in the object: spec.containers[0].securityContext.privileged
  uint32_t line = 0;
  uint32_t column = 0;
  std::string message;
};

struct AssessOptions {
  std::vector<std::string> checks;  // ids, groups, globs; empty = all
  int pss_minor = -1;               // Kubernetes 1.N for PSS; -1 = latest
  Severity min_severity = Severity::kLow;
  std::vector<std::string> exclude_namespaces = {"kube-system"};
  /// Annotation that exempts an object: its value lists check ids or globs ("*" = all).
  std::string exempt_annotation = "moat.dev/exempt";
  ParameterValues parameters;
};

enum class ObjectStatus { kAssessed, kSkippedKind, kExcludedNamespace };

struct CheckSummary {
  const CheckInfo* check = nullptr;
  size_t passed = 0;  // objects the check looked at without a finding
  size_t failed = 0;  // objects with at least one finding
  size_t exempt = 0;
};

struct NamespaceSummary {
  std::string name;  // "" for cluster-scoped objects
  size_t objects = 0;
  size_t failed_objects = 0;
  size_t findings = 0;
  std::map<Severity, size_t> by_severity;
};

struct Assessment {
  std::vector<Object> objects;
  std::vector<ObjectStatus> status;  // per object
  /// Per object: the checks that looked at it (indexes into `checks`).
  std::vector<std::vector<uint16_t>> evaluated;
  std::vector<LoadError> errors;      // input problems (malformed documents, unreadable files)
  std::vector<std::string> warnings;  // input partly unavailable (kinds the cluster refused)
  std::vector<Finding> findings;      // sorted by object, then line
  std::vector<CheckSummary> checks;   // the selected checks, in registry order
  std::vector<NamespaceSummary> namespaces;
  size_t files = 0;
  size_t skipped = 0;   // objects of kinds no selected check looks at
  size_t excluded = 0;  // objects in excluded namespaces
  int pss_minor = 0;    // the PSS version used
};

/// All checks, in a stable order (PSS baseline, PSS restricted, workload, RBAC, network).
const std::vector<CheckInfo>& AllChecks();
/// By id, or by an alias (an Azure Policy definition's file or display name).
const CheckInfo* FindCheck(std::string_view id);

/// The newest Kubernetes minor version whose PSS rules are known (latest = 1.N).
int LatestPssMinor();
/// "v1.29", "1.29", "latest" -> 29 (latest -> LatestPssMinor()).
Result<int> ParsePssVersion(std::string_view text);

/// The Kubernetes version deprecated-API checks target by default (1.N).
int DefaultTargetMinor();
/// Sets the Kubernetes version the api-* checks assess against ("v1.32", "1.32"): the
/// `k8sVersion` parameter of api-removed and api-deprecated.
Result<void> SetTargetKubernetesVersion(std::string_view text, AssessOptions& options);

/// Resolves --checks patterns (ids, groups such as pss-baseline or rbac, globs with '*') into
/// check ids. A pattern that selects nothing is an error. Empty = all checks.
Result<std::vector<std::string>> SelectChecks(const std::vector<std::string>& patterns);

/// Reads a YAML config file: parameters per check, excluded namespaces, exemption annotation,
/// checks. Keys it does not know are errors (a typo should not silently do nothing).
Result<void> LoadConfig(const std::string& path, AssessOptions& options);
Result<void> ParseConfig(std::string_view text, const std::string& name, AssessOptions& options);
/// A config value that is a string or a list of strings (null = none). Errors name name:line and
/// the key.
Result<std::vector<std::string>> ConfigStringList(const std::string& name, const Value& value);
/// The `parameters:` map of a config file (check id or alias -> parameter -> value or list of
/// values; a structured value, such as Azure's {"paths": [...]}, is kept as JSON text). Unknown
/// checks and parameters are errors naming name:line.
Result<void> ParseParameterValues(const Value& parameters, const std::string& name,
                                  ParameterValues& out);
/// A `parameters:` map (parameter -> value) for a set of checks: each value goes to every check
/// that has the parameter; a parameter none of them has is an error naming name:line.
Result<void> ParseCheckParameters(const Value& parameters, const std::vector<std::string>& checks,
                                  const std::string& name, ParameterValues& out);

/// Assesses loaded objects. Never fails on input: problems become errors or findings.
Result<Assessment> Assess(LoadResult input, const AssessOptions& options);

/// Fills Assessment::namespaces from its objects, status and findings (Assess does; so do
/// callers that assemble an Assessment themselves, such as `moat admission audit`).
void SummarizeNamespaces(Assessment& assessment);

namespace internal {
struct Inventory;
}  // namespace internal

/// What one selected check made of one object.
enum class CheckOutcome : uint8_t { kPassed, kFailed, kExempt };

/// The selected checks' results on one object.
struct ObjectAssessment {
  ObjectStatus status = ObjectStatus::kAssessed;
  bool in_excluded_namespace = false;
  /// The checks that looked at the object (indexes into CheckRunner::checks()) and their outcome.
  std::vector<uint16_t> evaluated;
  std::vector<CheckOutcome> outcomes;
  std::vector<Finding> findings;  // sorted by line; exempted ones left out
};

/// The selected checks prepared once (selection, PSS version and overrides, parameters) and run
/// one object at a time: Assess runs each object of its input through it, and the admission
/// webhook runs each request's object without selecting checks again. Copies share the state.
class CheckRunner {
 public:
  static Result<CheckRunner> Create(const AssessOptions& options);
  /// The active checks, in registry order.
  const std::vector<const CheckInfo*>& checks() const;
  int pss_minor() const;
  /// True when an active check looks at objects of this kind.
  bool Covers(std::string_view kind) const;
  /// Runs the checks on `object` exactly as Assess would for an input of this one object. The
  /// object is borrowed into that one-object input for the call (no copy) and is as it was on
  /// return. `request` is the admission request the object comes with (null outside admission).
  ObjectAssessment Run(Object& object, const RequestInfo* request = nullptr) const;
  /// Runs the checks on objects[index] with the inventory of the whole input (Assess).
  ObjectAssessment Run(const std::vector<Object>& objects, size_t index,
                       const internal::Inventory& inventory,
                       const RequestInfo* request = nullptr) const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

/// Pod Security admission for one object at a level ("baseline" or "restricted") and version,
/// with the overrides PSA applies (restricted seccomp replaces the baseline one, and so on).
/// minor -1 = latest. Returns the findings; empty = allowed.
std::vector<Finding> EvaluatePodSecurity(const Object& object, std::string_view level, int minor);

}  // namespace moat::k8s
