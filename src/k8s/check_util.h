#pragma once
// Internal to src/k8s: what check implementations share. Not part of the public interface.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "k8s/checks.h"

namespace re2 {
class RE2;
}

namespace moat::k8s::internal {

/// Index of the whole input for checks that look across objects (RBAC bindings -> roles,
/// services -> pods, namespaces -> network policies, pods -> service accounts).
struct Inventory {
  const std::vector<Object>* objects = nullptr;
  // Indexes, built once per assessment so cross-object checks stay linear.
  std::unordered_map<std::string, size_t> by_key;  // "Kind/namespace/name" -> index
  std::unordered_map<std::string, std::vector<size_t>> workloads_by_namespace;
  std::unordered_map<std::string, bool> namespace_has_policy;  // present = has a Namespace or
                                                               // NetworkPolicy object
  std::unordered_map<std::string, bool> namespace_object;      // a Namespace object exists
  /// A cluster-wide policy (CiliumClusterwideNetworkPolicy, Calico GlobalNetworkPolicy) that
  /// selects every namespace.
  bool cluster_wide_policy = false;
  std::vector<size_t> bindings;  // RoleBindings and ClusterRoleBindings
  /// Bindings by the role they grant: RoleRefKey(kind, namespace, name).
  std::unordered_map<std::string, std::vector<size_t>> bindings_by_role;
  /// Bindings by subject: SubjectKey(kind, namespace, name) (ServiceAccounts, Groups, Users).
  std::unordered_map<std::string, std::vector<size_t>> bindings_by_subject;

  /// Services by namespace and selector (ServiceSelectorKey), for selectors shared by two.
  std::unordered_map<std::string, std::vector<size_t>> services_by_selector;

  void Build();
  std::vector<size_t> ByKind(std::string_view kind) const;
  const Object* Find(std::string_view kind, std::string_view namespace_name,
                     std::string_view name) const;
};

/// "namespace|k=v,k=v" of a Service's spec.selector (sorted); "" without a selector.
std::string ServiceSelectorKey(const Object& service);

/// Collects a check's findings on one object.
class Emitter {
 public:
  Emitter(size_t object, const CheckInfo* check, std::vector<Finding>& out)
      : object_(object), check_(check), out_(out) {}
  /// A finding at `at` (its line) whose JSON path is `path`. `at` may be null (then `fallback`).
  void Fail(const Value* at, std::string path, std::string message,
            const Value* fallback = nullptr);
  size_t count() const { return count_; }
  /// Number of findings collected so far in the output (for Retain).
  size_t mark() const { return out_.size(); }
  /// Keeps, of the findings added since `mark`, those `keep` accepts (a bundle policy's excluded
  /// containers and images).
  void Retain(size_t mark, const std::function<bool(const Finding&)>& keep);

 private:
  size_t object_;
  const CheckInfo* check_;
  std::vector<Finding>& out_;
  size_t count_ = 0;
};

class Parameters {
 public:
  Parameters(const CheckInfo& info, const ParameterValues& values) : info_(info), values_(values) {}
  /// The values of a parameter (config, else the documented default split at commas).
  std::vector<std::string> List(std::string_view name) const;
  std::string String(std::string_view name) const;
  bool Bool(std::string_view name) const;

 private:
  const CheckInfo& info_;
  const ParameterValues& values_;
};

struct CheckContext {
  const Object& object;
  const PodTemplate* pod;  // non-null for checks on workload kinds
  const Inventory& inventory;
  const Parameters& params;
  int pss_minor;
  /// What CheckDef::prepare made of the parameters (null for checks without prepare).
  const void* prepared = nullptr;
  /// The admission request the object comes with; null outside admission.
  const RequestInfo* request = nullptr;
};

/// Parameters turned once, when a CheckRunner is made, into what a check runs with (parsed
/// objects, compiled patterns); an error names the parameter.
using PrepareFn = std::function<Result<std::shared_ptr<const void>>(const Parameters&)>;

struct CheckDef {
  CheckInfo info;
  bool pod_check = true;           // runs on the pod template of workload kinds
  int min_minor = 0;               // PSS: first Kubernetes 1.N the control exists in
  std::vector<std::string> kinds;  // for object checks: kinds it runs on ("*" = any)
  /// When set, the kinds come from this parameter (Azure's `kind` parameter) instead.
  std::string kinds_parameter;
  std::function<void(const CheckContext&, Emitter&)> run;
  PrepareFn prepare;  // optional
};

using CheckFn = std::function<void(const CheckContext&, Emitter&)>;

CheckInfo MakeInfo(std::string id, std::string group, std::string title, Severity severity,
                   std::string description, std::string remediation,
                   std::vector<std::string> references, std::vector<std::string> kinds,
                   std::vector<Parameter> parameters = {});
/// Marks a check about the excluded namespaces themselves (CheckInfo::sees_excluded_namespaces).
CheckInfo SeesExcludedNamespaces(CheckInfo info);
/// Registers a check. Kinds {"workload"} make a pod check (it sees the pod template); other
/// kinds an object check, where "workload" among them stands for the eight workload kinds.
void AddCheck(std::vector<CheckDef>& checks, CheckInfo info, CheckFn run, int min_minor = 0);

void AddPssChecks(std::vector<CheckDef>& checks);
void AddWorkloadChecks(std::vector<CheckDef>& checks);
void AddRbacChecks(std::vector<CheckDef>& checks);
void AddNetworkChecks(std::vector<CheckDef>& checks);
void AddNamespaceChecks(std::vector<CheckDef>& checks);
void AddCredentialChecks(std::vector<CheckDef>& checks);
void AddApiVersionChecks(std::vector<CheckDef>& checks);
/// The Azure Policy for Kubernetes bundle (azure_checks.cpp), group "azure".
void AddAzureChecks(std::vector<CheckDef>& checks);

// Check logic shared by a built-in check and the Azure policy that states the same rule with
// its own parameter names (workload_checks.cpp, rbac_checks.cpp, network_checks.cpp). Functions
// that read c.params use the parameter names both checks share.

/// Containers (and init containers) without a `resource` limit or above `max_text` (empty = any).
void LimitCheck(const CheckContext& c, Emitter& e, std::string_view resource,
                const std::string& max_text);
/// Containers (and init containers) without a `resource` request (a limit counts: the API
/// server copies it into a missing request).
void RequestCheck(const CheckContext& c, Emitter& e, std::string_view resource);
/// Images without a tag or tagged :latest (digests pass).
void ImageTagCheck(const CheckContext& c, Emitter& e);
/// Images that do not match `pattern` (RE2, unanchored as Rego's re_match); `parameter` names it
/// in the message for an invalid pattern. Empty pattern = not configured.
void ImagePatternCheck(const CheckContext& c, Emitter& e, const std::string& pattern,
                       std::string_view parameter);
void ReadOnlyRootFsCheck(const CheckContext& c, Emitter& e);
void AutomountTokenCheck(const CheckContext& c, Emitter& e);
/// Parameter allowedProfiles (runtime/default, localhost/NAME, globs).
void AppArmorProfilesCheck(const CheckContext& c, Emitter& e);
/// Parameter allowedProfiles (RuntimeDefault, Localhost, Localhost/FILE, and the annotation forms
/// runtime/default, docker/default, localhost/FILE, unconfined; "*" = any).
void SeccompProfilesCheck(const CheckContext& c, Emitter& e);
/// Parameters allowedHostPorts and allowHostNetwork.
void HostPortsCheck(const CheckContext& c, Emitter& e);
/// Parameter allowedCapabilities ("*" = any).
void AllowedCapabilitiesCheck(const CheckContext& c, Emitter& e);
/// Containers that add one of `disallowed` (or ALL); names without CAP_, any case.
void DisallowedCapabilitiesCheck(const CheckContext& c, Emitter& e,
                                 const std::vector<std::string>& disallowed);
/// `require_explicit_false`: allowPrivilegeEscalation must be false (unset fails too); otherwise
/// only an explicit true (or privileged) fails.
void PrivilegeEscalationCheck(const CheckContext& c, Emitter& e, bool require_explicit_false);
void PrivilegedCheck(const CheckContext& c, Emitter& e);
/// runAsNonRoot true or a non-zero runAsUser (container, else pod); UID 0 fails.
void NonRootCheck(const CheckContext& c, Emitter& e);
/// hostPID, hostIPC.
void HostNamespacesCheck(const CheckContext& c, Emitter& e);
/// Objects in the namespace "default" (or without one when `treat_missing_as_default`).
void DefaultNamespaceCheck(const CheckContext& c, Emitter& e, bool treat_missing_as_default);
/// Parameter allowedVolumeTypes ("*" = any).
void VolumeTypesCheck(const CheckContext& c, Emitter& e);
struct AllowedHostPath {
  std::string prefix;
  bool read_only = false;  // every mount of the volume must be readOnly
};
/// hostPath volumes outside `allowed` (path prefixes, component-wise).
void HostPathsCheck(const CheckContext& c, Emitter& e, const std::vector<AllowedHostPath>& allowed);
/// Bindings whose roleRef is the ClusterRole cluster-admin.
void ClusterAdminRoleRefCheck(const CheckContext& c, Emitter& e);
/// Role rules with "*" verbs, resources or non-resource URLs.
void WildcardRulesCheck(const CheckContext& c, Emitter& e);
/// Whether a rule grants any of `verbs` on `resource` in one of `groups` (wildcards included).
bool RuleGrants(const Value& rule, std::initializer_list<std::string_view> groups,
                std::string_view resource, std::initializer_list<std::string_view> verbs);
/// Annotations that make a cloud provider's LoadBalancer Service internal.
bool InternalLoadBalancer(const Value* annotations);
/// "NET_RAW" for CAP_NET_RAW, net_raw, NET_RAW.
std::string CapabilityName(std::string_view name);
/// An image reference split as the container runtime reads it.
struct ImageRef {
  std::string registry;  // "docker.io" when implicit
  std::string tag;       // "" when untagged
  bool digest = false;
};
ImageRef ParseImage(std::string_view image);
/// A user pattern compiled once (RE2: linear time); null when it does not compile.
const re2::RE2* CompiledPattern(const std::string& pattern);

const std::vector<CheckDef>& Registry();

/// Calls fn(container, path) for spec.containers, initContainers and ephemeralContainers (in
/// that order), where path is relative to the object ("spec.containers[0]"). Entries that are
/// not maps are skipped.
enum ContainerKinds : unsigned {
  kRegular = 1,
  kInit = 2,
  kEphemeral = 4,
  kAllContainers = 7,
};
void ForEachContainer(
    const PodTemplate& pod,
    const std::function<void(const Value& container, const std::string& path)>& fn,
    unsigned kinds = kAllContainers);

/// Calls fn(sysctl, name, path) for each entry of the pod's securityContext.sysctls, where name
/// may be null and path is "spec.securityContext.sysctls[0].name".
void ForEachSysctl(
    const PodTemplate& pod,
    const std::function<void(const Value& sysctl, const Value* name, const std::string& path)>& fn);

/// The "name" field of a container or volume ("" when it has none), for messages.
std::string NameOf(const Value& item);
/// `container "web"`, how messages name a container.
std::string DescribeContainer(const Value& container);
/// A pod's or container's securityContext when it is a map, else nullptr.
const Value* SecurityContextOf(const Value& holder);

/// The key of a binding's roleRef in Inventory::bindings_by_role: a ClusterRole has no namespace,
/// a Role lives in the binding's namespace.
std::string RoleRefKey(std::string_view kind, std::string_view namespace_name,
                       std::string_view name);
/// The key of a subject in Inventory::bindings_by_subject (Users and Groups have no namespace).
std::string SubjectKey(std::string_view kind, std::string_view namespace_name,
                       std::string_view name);

/// The ClusterRoles every cluster has (RBAC bootstrap defaults): cluster-admin, admin, edit,
/// view and system:*. Their rules are Kubernetes' own; the bindings that grant them are what a
/// cluster's owner chose.
bool IsBuiltinClusterRole(std::string_view name);
/// An object the API server created itself (label kubernetes.io/bootstrapping=rbac-defaults,
/// or a system: name read from a live cluster).
bool IsBootstrapRbacObject(const Object& object);

/// The labels of an object (metadata.labels) when they are a map, else nullptr.
const Value* LabelsOf(const Value* metadata);

/// A Kubernetes quantity ("500m", "1.5Gi", "2") as a number; nullopt when malformed.
std::optional<double> ParseQuantity(std::string_view text);

/// "spec.template.spec" + "." + "hostNetwork".
std::string Join(const std::string& base, std::string_view tail);
/// Quoted list for messages: "a", "b".
std::string QuoteList(const std::vector<std::string>& items);

}  // namespace moat::k8s::internal
