// RBAC risk: dangerous rules in Roles/ClusterRoles (reported with the subjects and bindings
// that grant them), dangerous bindings (cluster-admin, system:masters, anonymous users, built-in
// roles) and workloads whose service account has admin rights. Kubernetes' own ClusterRoles read
// from a live cluster (cluster-admin, admin, edit, view, system:*) are not findings themselves:
// the bindings that grant them are.

#include <algorithm>
#include <string>
#include <vector>

#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

bool Contains(const Value* list, std::string_view value) {
  if (list == nullptr) return false;
  for (const Value& item : list->Items()) {
    if (item.Str() == value) return true;
  }
  return false;
}

}  // namespace

/// Whether a rule grants any of `verbs` on `resource` in one of `groups`.
bool RuleGrants(const Value& rule, std::initializer_list<std::string_view> groups,
                std::string_view resource, std::initializer_list<std::string_view> verbs) {
  const Value* api_groups = rule.Get("apiGroups");
  bool group_ok = Contains(api_groups, "*");
  for (std::string_view g : groups) group_ok |= Contains(api_groups, g);
  if (!group_ok) return false;
  const Value* resources = rule.Get("resources");
  bool resource_ok = Contains(resources, "*") || Contains(resources, resource);
  const size_t slash = resource.find('/');
  if (slash != std::string_view::npos)
    resource_ok |= Contains(resources, std::string(resource.substr(0, slash)) + "/*");
  if (!resource_ok) return false;
  const Value* rule_verbs = rule.Get("verbs");
  if (Contains(rule_verbs, "*")) return true;
  for (std::string_view v : verbs) {
    if (Contains(rule_verbs, v)) return true;
  }
  return false;
}

namespace {

std::string Subject(const Value& s) {
  const Value* kind = s.Get("kind");
  const Value* name = s.Get("name");
  const Value* ns = s.Get("namespace");
  std::string out(kind != nullptr ? kind->Str() : "Subject");
  out += ' ';
  if (ns != nullptr && !ns->Str().empty()) out += std::string(ns->Str()) + "/";
  out += name != nullptr ? std::string(name->Str()) : "<no name>";
  return out;
}

std::string SubjectList(const Object& binding) {
  const Value* subjects = binding.root.Get("subjects");
  std::string who;
  for (const Value& s : subjects != nullptr ? subjects->Items() : std::vector<Value>{}) {
    if (!who.empty()) who += ", ";
    who += Subject(s);
  }
  return who.empty() ? std::string("no subjects") : who;
}

/// The bindings in the input that grant this Role or ClusterRole.
const std::vector<size_t>& BindingsOf(const CheckContext& c) {
  static const std::vector<size_t> kNone;
  auto it = c.inventory.bindings_by_role.find(
      RoleRefKey(c.object.kind, c.object.EffectiveNamespace(), c.object.name));
  return it == c.inventory.bindings_by_role.end() ? kNone : it->second;
}

/// "granted to ServiceAccount ci/deployer via RoleBinding/ci/deploy" for every binding of the role.
std::string BoundTo(const CheckContext& c) {
  std::vector<std::string> grants;
  for (size_t index : BindingsOf(c)) {
    const Object& o = (*c.inventory.objects)[index];
    grants.push_back(SubjectList(o) + " via " + o.Reference());
  }
  if (grants.empty()) return "not bound by any binding in the input";
  std::string out = "granted to ";
  for (size_t i = 0; i < grants.size(); ++i) out += (i ? "; " : "") + grants[i];
  return out;
}

using RuleTest = bool (*)(const Value& rule, std::string* what);

/// Kubernetes' own ClusterRoles as a live cluster serves them.
bool BuiltinRoleFromCluster(const Object& object) {
  return object.live && object.kind == "ClusterRole" && IsBuiltinClusterRole(object.name);
}

void RuleCheck(const CheckContext& c, Emitter& e, RuleTest test) {
  if (BuiltinRoleFromCluster(c.object)) return;
  const Value* rules = c.object.root.Get("rules");
  if (rules == nullptr) return;
  std::string bound;
  size_t i = 0;
  for (const Value& rule : rules->Items()) {
    std::string what;
    if (rule.IsMap() && test(rule, &what)) {
      if (bound.empty()) bound = BoundTo(c);
      e.Fail(&rule, "rules[" + std::to_string(i) + "]", "rule " + what + "; " + bound);
    }
    ++i;
  }
}

bool Wildcard(const Value& rule, std::string* what) {
  if (Contains(rule.Get("verbs"), "*"))
    *what = "grants every verb (\"*\")";
  else if (Contains(rule.Get("resources"), "*"))
    *what = "applies to every resource (\"*\")";
  else if (Contains(rule.Get("nonResourceURLs"), "*"))
    *what = "grants every non-resource URL";
  return !what->empty();
}

bool SecretsRead(const Value& rule, std::string* what) {
  if (!RuleGrants(rule, {""}, "secrets", {"get", "list", "watch"})) return false;
  *what = "can read secrets";
  return true;
}

bool BindEscalateImpersonate(const Value& rule, std::string* what) {
  for (std::string_view r : {"roles", "clusterroles"}) {
    if (RuleGrants(rule, {"rbac.authorization.k8s.io"}, r, {"bind", "escalate"})) {
      *what = "can bind or escalate " + std::string(r);
      return true;
    }
  }
  for (std::string_view r : {"users", "groups", "serviceaccounts", "userextras/*", "uids"}) {
    if (RuleGrants(rule, {"", "authentication.k8s.io"}, r, {"impersonate"})) {
      *what = "can impersonate " + std::string(r);
      return true;
    }
  }
  return false;
}

bool CreateWorkloads(const Value& rule, std::string* what) {
  static constexpr std::pair<std::string_view, std::string_view> kWorkloads[] = {
      {"", "pods"},           {"", "replicationcontrollers"}, {"apps", "deployments"},
      {"apps", "daemonsets"}, {"apps", "statefulsets"},       {"apps", "replicasets"},
      {"batch", "jobs"},      {"batch", "cronjobs"}};
  for (const auto& [group, resource] : kWorkloads) {
    if (RuleGrants(rule, {group}, resource, {"create"})) {
      *what = "can create " + std::string(resource) +
              " (and so run any image with any mounted "
              "secret or service account in the namespace)";
      return true;
    }
  }
  return false;
}

bool PodExec(const Value& rule, std::string* what) {
  for (std::string_view r : {"pods/exec", "pods/attach", "pods/portforward"}) {
    if (RuleGrants(rule, {""}, r, {"create", "get"})) {
      *what = "grants " + std::string(r);
      return true;
    }
  }
  if (RuleGrants(rule, {""}, "pods/ephemeralcontainers", {"update", "patch"})) {
    *what = "can add ephemeral containers to pods";
    return true;
  }
  return false;
}

bool NodesProxy(const Value& rule, std::string* what) {
  if (!RuleGrants(rule, {""}, "nodes/proxy", {"get", "create", "update", "patch"})) return false;
  *what = "grants nodes/proxy (the kubelet API: exec in any pod on the node)";
  return true;
}

bool TokenCreate(const Value& rule, std::string* what) {
  if (!RuleGrants(rule, {""}, "serviceaccounts/token", {"create"})) return false;
  *what = "can mint service account tokens";
  return true;
}

bool CsrApprove(const Value& rule, std::string* what) {
  if (RuleGrants(rule, {"certificates.k8s.io"}, "certificatesigningrequests/approval",
                 {"update", "patch"}) ||
      RuleGrants(rule, {"certificates.k8s.io"}, "signers", {"approve"})) {
    *what = "can approve certificate signing requests";
    return true;
  }
  return false;
}

bool WebhookConfig(const Value& rule, std::string* what) {
  for (std::string_view r : {"validatingwebhookconfigurations", "mutatingwebhookconfigurations",
                             "validatingadmissionpolicies", "validatingadmissionpolicybindings"}) {
    if (RuleGrants(rule, {"admissionregistration.k8s.io"}, r,
                   {"create", "update", "patch", "delete", "deletecollection"})) {
      *what = "can change " + std::string(r);
      return true;
    }
  }
  return false;
}

bool DeleteEvents(const Value& rule, std::string* what) {
  if (!RuleGrants(rule, {"", "events.k8s.io"}, "events", {"delete", "deletecollection"}))
    return false;
  *what = "can delete events (and so erase the traces of an attack)";
  return true;
}

bool DeletePodLogs(const Value& rule, std::string* what) {
  if (!RuleGrants(rule, {""}, "pods/log", {"delete", "deletecollection"})) return false;
  *what = "can delete pod logs";
  return true;
}

bool BroadDelete(const Value& rule, std::string* what) {
  const Value* verbs = rule.Get("verbs");
  if (!Contains(verbs, "*") && !Contains(verbs, "delete") && !Contains(verbs, "deletecollection"))
    return false;
  if (Contains(rule.Get("resources"), "*")) {
    *what = "can delete every resource of its API groups";
    return true;
  }
  static constexpr std::pair<std::string_view, std::string_view> kCollections[] = {
      {"", "pods"},
      {"", "secrets"},
      {"", "configmaps"},
      {"", "services"},
      {"", "persistentvolumeclaims"},
      {"apps", "deployments"},
      {"apps", "statefulsets"},
      {"apps", "daemonsets"},
      {"apps", "replicasets"},
      {"batch", "jobs"},
      {"batch", "cronjobs"},
  };
  for (const auto& [group, resource] : kCollections) {
    if (RuleGrants(rule, {group}, resource, {"deletecollection"})) {
      *what = "can delete all " + std::string(resource) + " at once (deletecollection)";
      return true;
    }
  }
  static constexpr std::pair<std::string_view, std::string_view> kClusterWide[] = {
      {"", "namespaces"},
      {"", "nodes"},
      {"", "persistentvolumes"},
      {"apiextensions.k8s.io", "customresourcedefinitions"},
  };
  for (const auto& [group, resource] : kClusterWide) {
    if (RuleGrants(rule, {group}, resource, {"delete", "deletecollection"})) {
      *what = "can delete " + std::string(resource) + " (and everything in or on them)";
      return true;
    }
  }
  return false;
}

bool ManageConfigMaps(const Value& rule, std::string* what) {
  if (!RuleGrants(rule, {""}, "configmaps",
                  {"create", "update", "patch", "delete", "deletecollection"}))
    return false;
  *what = "can change configmaps in kube-system (control-plane and add-on configuration)";
  return true;
}

/// kube-system's ConfigMaps configure the control plane and add-ons (coredns, kube-proxy,
/// kubeadm-config, aws-auth). A Role there, or a ClusterRole that a ClusterRoleBinding or a
/// RoleBinding in kube-system grants, that can change them is reported.
void ConfigMapsKubeSystem(const CheckContext& c, Emitter& e) {
  bool reaches = c.object.kind == "Role" && c.object.EffectiveNamespace() == "kube-system";
  if (c.object.kind == "ClusterRole") {
    for (size_t index : BindingsOf(c)) {
      const Object& binding = (*c.inventory.objects)[index];
      reaches |=
          binding.kind == "ClusterRoleBinding" || binding.EffectiveNamespace() == "kube-system";
    }
  }
  if (reaches) RuleCheck(c, e, ManageConfigMaps);
}

/// The rule tests whose findings a binding of a built-in ClusterRole inherits.
constexpr RuleTest kRiskyRules[] = {
    Wildcard,    SecretsRead, BindEscalateImpersonate, CreateWorkloads, PodExec,       NodesProxy,
    TokenCreate, CsrApprove,  WebhookConfig,           DeleteEvents,    DeletePodLogs, BroadDelete};

/// What a role can do that the rule checks report, from its rules.
std::vector<std::string> RiskyGrants(const Object& role) {
  std::vector<std::string> out;
  const Value* rules = role.root.Get("rules");
  for (const Value& rule : rules != nullptr ? rules->Items() : std::vector<Value>{}) {
    if (!rule.IsMap()) continue;
    for (RuleTest test : kRiskyRules) {
      std::string what;
      if (test(rule, &what) && std::find(out.begin(), out.end(), what) == out.end())
        out.push_back(what);
    }
  }
  return out;
}

/// A binding's roleRef.kind and roleRef.name (nullptr when either is missing).
struct RoleRef {
  const Value* kind = nullptr;
  const Value* name = nullptr;
  bool ok() const { return kind != nullptr && name != nullptr; }
};

RoleRef RoleRefOf(const Object& binding) {
  const Value* ref = binding.root.Field("roleRef");
  if (ref == nullptr) return {};
  return {ref->Get("kind"), ref->Get("name")};
}

const Object* ReferencedRole(const Inventory& inventory, const Object& binding) {
  const RoleRef ref = RoleRefOf(binding);
  if (!ref.ok()) return nullptr;
  if (ref.kind->Str() == "ClusterRole") return inventory.Find("ClusterRole", "", ref.name->Str());
  return inventory.Find("Role", binding.EffectiveNamespace(), ref.name->Str());
}

/// A binding that grants one of Kubernetes' built-in ClusterRoles (cluster-admin has its own
/// check). The role's risky rules come from the input when it holds the role (a live cluster
/// does), else from what admin and edit are documented to allow.
void BuiltinRoleGrant(const CheckContext& c, Emitter& e) {
  if (IsBootstrapRbacObject(c.object)) return;
  const RoleRef ref = RoleRefOf(c.object);
  if (!ref.ok() || ref.kind->Str() != "ClusterRole") return;
  const std::string_view role = ref.name->Str();
  if (!IsBuiltinClusterRole(role) || role == "cluster-admin") return;
  std::vector<std::string> grants;
  if (const Object* definition = ReferencedRole(c.inventory, c.object)) {
    grants = RiskyGrants(*definition);
  } else if (role == "admin" || role == "edit") {
    grants = {"can read secrets", "can create pods and workload controllers",
              "grants pods/exec, pods/attach and pods/portforward"};
  }
  if (grants.empty()) return;
  std::string list;
  for (const std::string& g : grants) list += (list.empty() ? "" : "; ") + g;
  const std::string scope = c.object.kind == "ClusterRoleBinding"
                                ? "in every namespace"
                                : "in namespace " + c.object.EffectiveNamespace();
  e.Fail(ref.name, "roleRef.name",
         c.object.Reference() + " grants the built-in ClusterRole " + std::string(role) + " " +
             scope + " to " + SubjectList(c.object) + ", which " + list);
}

/// Whether the role a binding grants is admin-level: named in `admin_roles`, or in the input
/// with a rule that grants every verb on every resource.
bool AdminLevel(const Inventory& inventory, const Object& binding,
                const std::vector<std::string>& admin_roles, std::string* role_name) {
  const RoleRef ref = RoleRefOf(binding);
  if (!ref.ok()) return false;
  *role_name = std::string(ref.kind->Str()) + " " + std::string(ref.name->Str());
  if (ref.kind->Str() == "ClusterRole" &&
      std::find(admin_roles.begin(), admin_roles.end(), ref.name->Str()) != admin_roles.end())
    return true;
  const Object* role = ReferencedRole(inventory, binding);
  const Value* rules = role != nullptr ? role->root.Get("rules") : nullptr;
  for (const Value& rule : rules != nullptr ? rules->Items() : std::vector<Value>{}) {
    if (Contains(rule.Get("verbs"), "*") && Contains(rule.Get("resources"), "*")) return true;
  }
  return false;
}

void WorkloadAdminServiceAccount(const CheckContext& c, Emitter& e) {
  const std::string ns = c.object.EffectiveNamespace();
  const Value* account = c.pod->spec->Field("serviceAccountName");
  if (account == nullptr || account->Str().empty()) account = c.pod->spec->Field("serviceAccount");
  const std::string sa =
      account != nullptr && !account->Str().empty() ? std::string(account->Str()) : "default";
  std::vector<std::string> admin_roles;  // read once a binding is found: most workloads have none
  // The service account itself, and the groups every service account (of the namespace) is in.
  const std::string keys[] = {SubjectKey("ServiceAccount", ns, sa),
                              SubjectKey("Group", "", "system:serviceaccounts"),
                              SubjectKey("Group", "", "system:serviceaccounts:" + ns)};
  for (const std::string& key : keys) {
    auto it = c.inventory.bindings_by_subject.find(key);
    if (it == c.inventory.bindings_by_subject.end()) continue;
    for (size_t index : it->second) {
      const Object& binding = (*c.inventory.objects)[index];
      if (admin_roles.empty()) admin_roles = c.params.List("adminRoles");
      std::string role;
      if (!AdminLevel(c.inventory, binding, admin_roles, &role)) continue;
      e.Fail(account, Join(c.pod->spec_path, "serviceAccountName"),
             "service account " + ns + "/" + sa + " is granted " + role + " by " +
                 binding.Reference() + ": a compromised container has admin rights",
             c.pod->spec);
    }
  }
}

}  // namespace

void ClusterAdminRoleRefCheck(const CheckContext& c, Emitter& e) {
  const Value* ref = c.object.root.Field("roleRef");
  const Value* name = ref != nullptr ? ref->Get("name") : nullptr;
  const Value* kind = ref != nullptr ? ref->Get("kind") : nullptr;
  if (name == nullptr || name->Str() != "cluster-admin" ||
      (kind != nullptr && kind->Str() != "ClusterRole"))
    return;
  const Value* subjects = c.object.root.Get("subjects");
  size_t i = 0;
  for (const Value& s : subjects != nullptr ? subjects->Items() : std::vector<Value>{}) {
    e.Fail(&s, "subjects[" + std::to_string(i) + "]",
           Subject(s) + " is bound to cluster-admin by " + c.object.Reference());
    ++i;
  }
}

void WildcardRulesCheck(const CheckContext& c, Emitter& e) { RuleCheck(c, e, Wildcard); }

namespace {

void ClusterAdminBinding(const CheckContext& c, Emitter& e) {
  ClusterAdminRoleRefCheck(c, e);
  const Value* subjects = c.object.root.Get("subjects");
  size_t i = 0;
  for (const Value& s : subjects != nullptr ? subjects->Items() : std::vector<Value>{}) {
    const Value* subject_name = s.Get("name");
    const Value* subject_kind = s.Get("kind");
    // Only the group is special: a User or ServiceAccount of that name is an ordinary subject.
    if (subject_name != nullptr && subject_name->Str() == "system:masters" &&
        subject_kind != nullptr && subject_kind->Str() == "Group")
      e.Fail(&s, "subjects[" + std::to_string(i) + "]",
             "binds the group system:masters (which bypasses RBAC entirely)");
    ++i;
  }
}

void AnonymousGrant(const CheckContext& c, Emitter& e) {
  const Value* subjects = c.object.root.Get("subjects");
  const Value* ref = c.object.root.Field("roleRef");
  const Value* role = ref != nullptr ? ref->Get("name") : nullptr;
  size_t i = 0;
  for (const Value& s : subjects != nullptr ? subjects->Items() : std::vector<Value>{}) {
    const Value* name = s.Get("name");
    std::string_view n = name != nullptr ? name->Str() : std::string_view();
    if (n == "system:anonymous" || n == "system:unauthenticated" || n == "system:authenticated")
      e.Fail(&s, "subjects[" + std::to_string(i) + "]",
             std::string(n) + " is granted " +
                 std::string(role != nullptr ? role->Str() : "<no roleRef>") + " by " +
                 c.object.Reference());
    ++i;
  }
}

CheckInfo Info(std::string id, std::string title, Severity severity, std::string description,
               std::string remediation, std::vector<std::string> references,
               std::vector<std::string> kinds, std::vector<Parameter> parameters = {}) {
  return MakeInfo(std::move(id), "rbac", std::move(title), severity, std::move(description),
                  std::move(remediation), std::move(references), std::move(kinds),
                  std::move(parameters));
}

void AddRule(std::vector<CheckDef>& checks, std::string id, std::string title, Severity severity,
             std::string description, std::string remediation, std::vector<std::string> references,
             RuleTest test) {
  AddCheck(checks,
           Info(std::move(id), std::move(title), severity, std::move(description),
                std::move(remediation), std::move(references), {"Role", "ClusterRole"}),
           [test](const CheckContext& c, Emitter& e) { RuleCheck(c, e, test); });
}

}  // namespace

void AddRbacChecks(std::vector<CheckDef>& checks) {
  AddRule(checks, "rbac-wildcard", "Wildcard verbs or resources", Severity::kHigh,
          "Wildcards grant everything, including resources and verbs added later.",
          "List the verbs and resources the subject needs.",
          {"CIS Kubernetes Benchmark 5.1.3", "Azure Policy: BlockWildcardRoles.json"}, Wildcard);
  AddRule(checks, "rbac-secrets-read", "Read access to secrets", Severity::kHigh,
          "get/list/watch on secrets reveals every credential in scope (list returns the values).",
          "Grant access to named secrets only (resourceNames), or none.",
          {"CIS Kubernetes Benchmark 5.1.2"}, SecretsRead);
  AddRule(checks, "rbac-bind-escalate-impersonate", "bind, escalate or impersonate",
          Severity::kCritical,
          "These verbs let a subject grant itself any permission or act as another user.",
          "Remove bind, escalate and impersonate.", {"CIS Kubernetes Benchmark 5.1.8"},
          BindEscalateImpersonate);
  AddRule(checks, "rbac-create-workloads", "Create pods or workload controllers", Severity::kMedium,
          "Whoever creates pods can mount any secret and run as any service account of the "
          "namespace.",
          "Restrict pod and controller creation to deployment pipelines.",
          {"CIS Kubernetes Benchmark 5.1.4"}, CreateWorkloads);
  AddRule(checks, "rbac-pod-exec", "exec, attach, port-forward or ephemeral containers",
          Severity::kHigh, "These give a shell or a network path into running pods.",
          "Remove pods/exec, pods/attach, pods/portforward and pods/ephemeralcontainers.", {},
          PodExec);
  AddRule(checks, "rbac-nodes-proxy", "nodes/proxy", Severity::kHigh,
          "nodes/proxy reaches the kubelet API, which can run commands in every pod on the node.",
          "Remove nodes/proxy.", {}, NodesProxy);
  AddRule(checks, "rbac-sa-token", "Mint service account tokens", Severity::kHigh,
          "Creating serviceaccounts/token gives the rights of any service account in scope.",
          "Remove create on serviceaccounts/token.", {"CIS Kubernetes Benchmark 5.1.9"},
          TokenCreate);
  AddRule(checks, "rbac-csr-approve", "Approve certificate signing requests", Severity::kHigh,
          "Approving CSRs can mint client certificates for any user, including system:masters.",
          "Remove update on certificatesigningrequests/approval and approve on signers.",
          {"CIS Kubernetes Benchmark 5.1.11"}, CsrApprove);
  AddRule(checks, "rbac-webhook-config", "Change admission webhook configurations", Severity::kHigh,
          "Admission webhooks see and can rewrite every object, including secrets.",
          "Restrict changes to admission configuration to cluster administrators.",
          {"CIS Kubernetes Benchmark 5.1.12"}, WebhookConfig);
  AddRule(checks, "rbac-delete-events", "Delete events", Severity::kMedium,
          "Deleting events erases the record of what happened in the cluster (and of an attack).",
          "Remove delete and deletecollection on events (core and events.k8s.io).",
          {"kubescape C-0031 (Delete Kubernetes events)"}, DeleteEvents);
  AddRule(checks, "rbac-delete-pod-logs", "Delete pod logs", Severity::kMedium,
          "Deleting pod logs hides what a container did.",
          "Remove delete and deletecollection on pods/log.",
          {"Trivy KSV042 (Do not allow deletion of pod logs)"}, DeletePodLogs);
  AddRule(checks, "rbac-broad-delete", "Broad delete rights", Severity::kHigh,
          "delete on every resource, deletecollection on workloads, secrets or volumes, or delete "
          "on namespaces, nodes, persistent volumes or CRDs can take down applications and "
          "destroy data in one call.",
          "Grant delete only on the resources (and resourceNames) the subject manages; remove "
          "deletecollection.",
          {"kubescape C-0007 (Roles with delete capabilities)"}, BroadDelete);
  AddCheck(checks,
           SeesExcludedNamespaces(Info(
               "rbac-configmaps-kube-system", "Change ConfigMaps in kube-system", Severity::kHigh,
               "kube-system's ConfigMaps configure the control plane and add-ons (coredns, "
               "kube-proxy, kubeadm-config, aws-auth, which maps IAM identities to Kubernetes "
               "groups); changing them can redirect DNS or grant cluster-admin. The check looks "
               "at Roles in kube-system even when --exclude-namespaces leaves it out.",
               "Remove create, update, patch and delete on configmaps from roles that reach "
               "kube-system.",
               {"Trivy KSV049 (Manage configmaps)"}, {"Role", "ClusterRole"})),
           ConfigMapsKubeSystem);
  AddCheck(checks,
           Info("rbac-builtin-role-grant", "Binding that grants a built-in admin or edit role",
                Severity::kMedium,
                "Kubernetes' own ClusterRoles (admin, edit, system:*) are not findings themselves, "
                "but a binding that grants one hands out everything it allows: admin and edit read "
                "secrets, create pods and exec into them.",
                "Bind a role that lists only what the subject needs; grant admin or edit per "
                "namespace (RoleBinding), never cluster-wide.",
                {"kubescape C-0035 (Administrative Roles)"}, {"RoleBinding", "ClusterRoleBinding"}),
           BuiltinRoleGrant);
  AddCheck(
      checks,
      Info("rbac-workload-admin-sa", "Workload service account with admin rights", Severity::kHigh,
           "A workload whose service account is bound to an admin-level role gives whoever "
           "compromises the container those rights through its token.",
           "Give the workload its own service account with a narrow role.",
           {"kubescape C-0272 (Workload with administrative roles)"}, {"workload"},
           {{"adminRoles", "cluster-admin,admin",
             "ClusterRoles that are admin-level (roles in the input with \"*\" verbs on \"*\" "
             "resources are too)"}}),
      WorkloadAdminServiceAccount);
  AddCheck(
      checks,
      Info("rbac-cluster-admin-binding", "cluster-admin or system:masters binding",
           Severity::kCritical, "cluster-admin and system:masters can do anything in the cluster.",
           "Bind a narrower role; keep cluster-admin for break-glass accounts.",
           {"CIS Kubernetes Benchmark 5.1.1", "Azure Policy: BlockAdminRolebindings.json"},
           {"RoleBinding", "ClusterRoleBinding"}),
      ClusterAdminBinding);
  AddCheck(checks,
           Info("rbac-anonymous-grant", "Grants to anonymous or all authenticated users",
                Severity::kCritical,
                "system:anonymous and system:unauthenticated are anyone on the network; "
                "system:authenticated is anyone with any credential.",
                "Remove these subjects from the binding.", {"CIS Kubernetes Benchmark 5.1.1"},
                {"RoleBinding", "ClusterRoleBinding"}),
           AnonymousGrant);
}

}  // namespace moat::k8s::internal
