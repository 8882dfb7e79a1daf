// RBAC risk: dangerous rules in Roles/ClusterRoles (reported with the subjects and bindings
// that grant them) and dangerous bindings (cluster-admin, system:masters, anonymous users).

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

/// Whether a rule grants any of `verbs` on `resource` in one of `groups`.
bool Grants(const Value& rule, std::initializer_list<std::string_view> groups,
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

/// "bound to ServiceAccount ci/deployer via RoleBinding ci/deploy" for every binding of the role.
std::string BoundTo(const CheckContext& c) {
  const bool cluster_role = c.object.kind == "ClusterRole";
  std::vector<std::string> grants;
  for (size_t index : c.inventory.bindings) {
    const Object& o = (*c.inventory.objects)[index];
    const Value* ref = o.root.Field("roleRef");
    if (ref == nullptr) continue;
    const Value* kind = ref->Get("kind");
    const Value* name = ref->Get("name");
    if (kind == nullptr || name == nullptr || name->Str() != c.object.name) continue;
    if (kind->Str() != c.object.kind) continue;
    if (!cluster_role && o.EffectiveNamespace() != c.object.EffectiveNamespace()) continue;
    const Value* subjects = o.root.Get("subjects");
    std::string who;
    for (const Value& s : subjects != nullptr ? subjects->Items() : std::vector<Value>{}) {
      if (!who.empty()) who += ", ";
      who += Subject(s);
    }
    grants.push_back((who.empty() ? std::string("no subjects") : who) + " via " + o.Reference());
  }
  if (grants.empty()) return "not bound by any binding in the input";
  std::string out = "granted to ";
  for (size_t i = 0; i < grants.size(); ++i) out += (i ? "; " : "") + grants[i];
  return out;
}

using RuleTest = bool (*)(const Value& rule, std::string* what);

void RuleCheck(const CheckContext& c, Emitter& e, RuleTest test) {
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
  if (!Grants(rule, {""}, "secrets", {"get", "list", "watch"})) return false;
  *what = "can read secrets";
  return true;
}

bool BindEscalateImpersonate(const Value& rule, std::string* what) {
  for (std::string_view r : {"roles", "clusterroles"}) {
    if (Grants(rule, {"rbac.authorization.k8s.io"}, r, {"bind", "escalate"})) {
      *what = "can bind or escalate " + std::string(r);
      return true;
    }
  }
  for (std::string_view r : {"users", "groups", "serviceaccounts", "userextras/*", "uids"}) {
    if (Grants(rule, {"", "authentication.k8s.io"}, r, {"impersonate"})) {
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
    if (Grants(rule, {group}, resource, {"create"})) {
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
    if (Grants(rule, {""}, r, {"create", "get"})) {
      *what = "grants " + std::string(r);
      return true;
    }
  }
  if (Grants(rule, {""}, "pods/ephemeralcontainers", {"update", "patch"})) {
    *what = "can add ephemeral containers to pods";
    return true;
  }
  return false;
}

bool NodesProxy(const Value& rule, std::string* what) {
  if (!Grants(rule, {""}, "nodes/proxy", {"get", "create", "update", "patch"})) return false;
  *what = "grants nodes/proxy (the kubelet API: exec in any pod on the node)";
  return true;
}

bool TokenCreate(const Value& rule, std::string* what) {
  if (!Grants(rule, {""}, "serviceaccounts/token", {"create"})) return false;
  *what = "can mint service account tokens";
  return true;
}

bool CsrApprove(const Value& rule, std::string* what) {
  if (Grants(rule, {"certificates.k8s.io"}, "certificatesigningrequests/approval",
             {"update", "patch"}) ||
      Grants(rule, {"certificates.k8s.io"}, "signers", {"approve"})) {
    *what = "can approve certificate signing requests";
    return true;
  }
  return false;
}

bool WebhookConfig(const Value& rule, std::string* what) {
  for (std::string_view r : {"validatingwebhookconfigurations", "mutatingwebhookconfigurations",
                             "validatingadmissionpolicies", "validatingadmissionpolicybindings"}) {
    if (Grants(rule, {"admissionregistration.k8s.io"}, r,
               {"create", "update", "patch", "delete", "deletecollection"})) {
      *what = "can change " + std::string(r);
      return true;
    }
  }
  return false;
}

void ClusterAdminBinding(const CheckContext& c, Emitter& e) {
  const Value* ref = c.object.root.Field("roleRef");
  const Value* name = ref != nullptr ? ref->Get("name") : nullptr;
  const Value* subjects = c.object.root.Get("subjects");
  if (name != nullptr && name->Str() == "cluster-admin") {
    size_t i = 0;
    for (const Value& s : subjects != nullptr ? subjects->Items() : std::vector<Value>{}) {
      e.Fail(&s, "subjects[" + std::to_string(i) + "]",
             Subject(s) + " is bound to cluster-admin by " + c.object.Reference());
      ++i;
    }
  }
  size_t i = 0;
  for (const Value& s : subjects != nullptr ? subjects->Items() : std::vector<Value>{}) {
    const Value* subject_name = s.Get("name");
    if (subject_name != nullptr && subject_name->Str() == "system:masters")
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
               std::vector<std::string> kinds) {
  CheckInfo info;
  info.id = std::move(id);
  info.group = "rbac";
  info.title = std::move(title);
  info.severity = severity;
  info.description = std::move(description);
  info.remediation = std::move(remediation);
  info.references = std::move(references);
  info.kinds = kinds;
  return info;
}

void Add(std::vector<CheckDef>& checks, CheckInfo info,
         std::function<void(const CheckContext&, Emitter&)> run) {
  CheckDef def;
  def.kinds = info.kinds;
  def.info = std::move(info);
  def.pod_check = false;
  def.run = std::move(run);
  checks.push_back(std::move(def));
}

void AddRule(std::vector<CheckDef>& checks, std::string id, std::string title, Severity severity,
             std::string description, std::string remediation, std::vector<std::string> references,
             RuleTest test) {
  Add(checks,
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
  Add(checks,
      Info("rbac-cluster-admin-binding", "cluster-admin or system:masters binding",
           Severity::kCritical, "cluster-admin and system:masters can do anything in the cluster.",
           "Bind a narrower role; keep cluster-admin for break-glass accounts.",
           {"CIS Kubernetes Benchmark 5.1.1", "Azure Policy: BlockAdminRolebindings.json"},
           {"RoleBinding", "ClusterRoleBinding"}),
      ClusterAdminBinding);
  Add(checks,
      Info("rbac-anonymous-grant", "Grants to anonymous or all authenticated users",
           Severity::kCritical,
           "system:anonymous and system:unauthenticated are anyone on the network; "
           "system:authenticated is anyone with any credential.",
           "Remove these subjects from the binding.", {"CIS Kubernetes Benchmark 5.1.1"},
           {"RoleBinding", "ClusterRoleBinding"}),
      AnonymousGrant);
}

}  // namespace moat::k8s::internal
