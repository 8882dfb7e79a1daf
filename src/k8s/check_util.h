#pragma once
// Internal to src/k8s: what check implementations share. Not part of the public interface.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "k8s/checks.h"

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

  void Build();
  std::vector<size_t> ByKind(std::string_view kind) const;
  const Object* Find(std::string_view kind, std::string_view namespace_name,
                     std::string_view name) const;
};

/// Collects a check's findings on one object.
class Emitter {
 public:
  Emitter(size_t object, const CheckInfo* check, std::vector<Finding>& out)
      : object_(object), check_(check), out_(out) {}
  /// A finding at `at` (its line) whose JSON path is `path`. `at` may be null (then `fallback`).
  void Fail(const Value* at, std::string path, std::string message,
            const Value* fallback = nullptr);
  size_t count() const { return count_; }

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
};

struct CheckDef {
  CheckInfo info;
  bool pod_check = true;           // runs on the pod template of workload kinds
  int min_minor = 0;               // PSS: first Kubernetes 1.N the control exists in
  std::vector<std::string> kinds;  // for object checks: kinds it runs on ("*" = any)
  std::function<void(const CheckContext&, Emitter&)> run;
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
