#include "k8s/check_util.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace moat::k8s::internal {

std::vector<size_t> Inventory::ByKind(std::string_view kind) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < objects->size(); ++i) {
    if ((*objects)[i].kind == kind) out.push_back(i);
  }
  return out;
}

namespace {
std::string Key(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string key(kind);
  key += '/';
  key += ns;
  key += '/';
  key += name;
  return key;
}
}  // namespace

namespace {

/// Whether a cluster-wide policy object applies to every namespace: Cilium's
/// CiliumClusterwideNetworkPolicy with an empty endpointSelector (or none, with a
/// nodeSelector it is about nodes, not pods), Calico's GlobalNetworkPolicy without a
/// namespaceSelector or with "all()". Policies that pick namespaces are not resolved here: such a
/// namespace still needs a policy of its own to count as covered.
bool SelectsEveryNamespace(const Object& o) {
  const Value* spec = o.root.Field("spec");
  if (spec == nullptr) return false;
  if (o.kind == "CiliumClusterwideNetworkPolicy") {
    const Value* selector = spec->Field("endpointSelector");
    return selector != nullptr && selector->IsMap() && selector->children.empty();
  }
  const Value* namespaces = spec->Field("namespaceSelector");
  if (namespaces != nullptr && !namespaces->Str().empty() && namespaces->Str() != "all()")
    return false;
  const Value* selector = spec->Field("selector");
  return selector == nullptr || selector->Str().empty() || selector->Str() == "all()";
}

bool IsPolicyKind(const Object& o) {
  // networking.k8s.io NetworkPolicy and Calico's namespaced NetworkPolicy share the kind.
  return o.kind == "NetworkPolicy" || o.kind == "CiliumNetworkPolicy";
}

}  // namespace

std::string ServiceSelectorKey(const Object& service) {
  if (service.kind != "Service") return "";
  const Value* selector = service.root.Path({"spec", "selector"});
  if (selector == nullptr || selector->Entries().empty()) return "";
  std::vector<std::string> pairs;
  for (const Value& label : selector->Entries())
    pairs.push_back(label.key + "=" + std::string(label.Str()));
  std::sort(pairs.begin(), pairs.end());
  std::string key = service.EffectiveNamespace() + "|";
  for (const std::string& pair : pairs) key += pair + ",";
  return key;
}

void Inventory::Build() {
  for (size_t i = 0; i < objects->size(); ++i) {
    const Object& o = (*objects)[i];
    const std::string ns = o.EffectiveNamespace();
    by_key.emplace(Key(o.kind, ns, o.name), i);
    if (o.kind == "Service") {
      std::string selector = ServiceSelectorKey(o);
      if (!selector.empty()) services_by_selector[std::move(selector)].push_back(i);
    }
    if (IsWorkloadKind(o.kind)) workloads_by_namespace[ns].push_back(i);
    if (IsPolicyKind(o)) namespace_has_policy[ns] = true;
    if (o.kind == "CiliumClusterwideNetworkPolicy" || o.kind == "GlobalNetworkPolicy")
      cluster_wide_policy |= SelectsEveryNamespace(o);
    if (o.kind == "Namespace") namespace_object[o.name] = true;
    if (o.kind == "RoleBinding" || o.kind == "ClusterRoleBinding") {
      bindings.push_back(i);
      if (const Value* ref = o.root.Field("roleRef")) {
        const Value* kind = ref->Get("kind");
        const Value* name = ref->Get("name");
        if (kind != nullptr && name != nullptr)
          bindings_by_role[RoleRefKey(kind->Str(), ns, name->Str())].push_back(i);
      }
      if (const Value* subjects = o.root.Get("subjects")) {
        for (const Value& s : subjects->Items()) {
          const Value* kind = s.Get("kind");
          const Value* name = s.Get("name");
          const Value* subject_ns = s.Get("namespace");
          if (kind == nullptr || name == nullptr) continue;
          // A ServiceAccount subject without a namespace means the binding's namespace.
          std::string_view where = subject_ns != nullptr ? subject_ns->Str() : std::string_view(ns);
          std::vector<size_t>& of_subject =
              bindings_by_subject[SubjectKey(kind->Str(), where, name->Str())];
          if (of_subject.empty() || of_subject.back() != i) of_subject.push_back(i);  // once each
        }
      }
    }
  }
}

const Object* Inventory::Find(std::string_view kind, std::string_view namespace_name,
                              std::string_view name) const {
  auto it = by_key.find(Key(kind, namespace_name, name));
  return it == by_key.end() ? nullptr : &(*objects)[it->second];
}

void Emitter::Fail(const Value* at, std::string path, std::string message, const Value* fallback) {
  Finding f;
  f.object = object_;
  f.check = check_;
  f.path = std::move(path);
  const Value* where = at != nullptr && at->line != 0 ? at : fallback;
  if (where != nullptr) {
    f.line = where->line;
    f.column = where->column;
  }
  f.message = std::move(message);
  out_.push_back(std::move(f));
  ++count_;
}

void Emitter::Retain(size_t mark, const std::function<bool(const Finding&)>& keep) {
  auto first = out_.begin() + static_cast<std::ptrdiff_t>(mark);
  auto kept = std::remove_if(first, out_.end(), [&](const Finding& f) { return !keep(f); });
  count_ -= static_cast<size_t>(out_.end() - kept);
  out_.erase(kept, out_.end());
}

namespace {

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view part : Split(text, ',')) {
    part = TrimSpace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

}  // namespace

std::vector<std::string> Parameters::List(std::string_view name) const {
  auto check = values_.find(info_.id);
  if (check != values_.end()) {
    auto it = check->second.find(std::string(name));
    if (it != check->second.end()) return it->second;
  }
  for (const Parameter& p : info_.parameters) {
    if (p.name == name) return SplitComma(p.default_value);
  }
  return {};
}

std::string Parameters::String(std::string_view name) const {
  auto check = values_.find(info_.id);
  if (check != values_.end()) {
    auto it = check->second.find(std::string(name));
    if (it != check->second.end()) return it->second.empty() ? std::string() : it->second.front();
  }
  for (const Parameter& p : info_.parameters) {
    if (p.name == name) return p.default_value;
  }
  return "";
}

bool Parameters::Bool(std::string_view name) const {
  const std::string v = String(name);
  return v == "true" || v == "True" || v == "yes" || v == "1";
}

CheckInfo SeesExcludedNamespaces(CheckInfo info) {
  info.sees_excluded_namespaces = true;
  return info;
}

CheckInfo MakeInfo(std::string id, std::string group, std::string title, Severity severity,
                   std::string description, std::string remediation,
                   std::vector<std::string> references, std::vector<std::string> kinds,
                   std::vector<Parameter> parameters) {
  CheckInfo info;
  info.id = std::move(id);
  info.group = std::move(group);
  info.title = std::move(title);
  info.severity = severity;
  info.description = std::move(description);
  info.remediation = std::move(remediation);
  info.references = std::move(references);
  info.kinds = std::move(kinds);
  info.parameters = std::move(parameters);
  return info;
}

void AddCheck(std::vector<CheckDef>& checks, CheckInfo info, CheckFn run, int min_minor) {
  static const std::string_view kWorkloadKinds[] = {
      "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
      "Job", "CronJob"};
  CheckDef def;
  def.pod_check = info.kinds == std::vector<std::string>{"workload"};
  if (!def.pod_check) {
    for (const std::string& kind : info.kinds) {
      if (kind != "workload") {
        def.kinds.push_back(kind);
        continue;
      }
      for (std::string_view k : kWorkloadKinds) def.kinds.emplace_back(k);
    }
  }
  def.min_minor = min_minor;
  def.info = std::move(info);
  def.run = std::move(run);
  checks.push_back(std::move(def));
}

std::string NameOf(const Value& item) {
  const Value* name = item.Get("name");
  return name != nullptr ? std::string(name->Str()) : std::string();
}

std::string DescribeContainer(const Value& container) {
  return "container \"" + NameOf(container) + "\"";
}

const Value* SecurityContextOf(const Value& holder) {
  const Value* sc = holder.Field("securityContext");
  return sc != nullptr && sc->IsMap() ? sc : nullptr;
}

std::string RoleRefKey(std::string_view kind, std::string_view namespace_name,
                       std::string_view name) {
  return Key(kind, kind == "ClusterRole" ? std::string_view() : namespace_name, name);
}

std::string SubjectKey(std::string_view kind, std::string_view namespace_name,
                       std::string_view name) {
  return Key(kind, kind == "ServiceAccount" ? namespace_name : std::string_view(), name);
}

bool IsBuiltinClusterRole(std::string_view name) {
  return name == "cluster-admin" || name == "admin" || name == "edit" || name == "view" ||
         name.rfind("system:", 0) == 0;
}

const Value* LabelsOf(const Value* metadata) {
  const Value* labels = metadata != nullptr ? metadata->Field("labels") : nullptr;
  return labels != nullptr && labels->IsMap() ? labels : nullptr;
}

bool IsBootstrapRbacObject(const Object& object) {
  const Value* labels = LabelsOf(object.root.Field("metadata"));
  const Value* bootstrap = labels != nullptr ? labels->Get("kubernetes.io/bootstrapping") : nullptr;
  if (bootstrap != nullptr && bootstrap->Str() == "rbac-defaults") return true;
  return object.live && object.name.rfind("system:", 0) == 0;
}

void ForEachContainer(const PodTemplate& pod,
                      const std::function<void(const Value&, const std::string&)>& fn,
                      unsigned kinds) {
  static constexpr std::pair<std::string_view, unsigned> kLists[] = {
      {"containers", kRegular}, {"initContainers", kInit}, {"ephemeralContainers", kEphemeral}};
  for (const auto& [list_name, bit] : kLists) {
    if ((kinds & bit) == 0) continue;
    const Value* list = pod.spec->Get(list_name);
    if (list == nullptr) continue;
    size_t index = 0;
    for (const Value& container : list->Items()) {
      if (container.IsMap()) {
        fn(container,
           pod.spec_path + "." + std::string(list_name) + "[" + std::to_string(index) + "]");
      }
      ++index;
    }
  }
}

void ForEachSysctl(const PodTemplate& pod,
                   const std::function<void(const Value& sysctl, const Value* name,
                                            const std::string& path)>& fn) {
  const Value* sc = SecurityContextOf(*pod.spec);
  const Value* sysctls = sc != nullptr ? sc->Get("sysctls") : nullptr;
  if (sysctls == nullptr) return;
  size_t i = 0;
  for (const Value& sysctl : sysctls->Items()) {
    fn(sysctl, sysctl.Get("name"),
       pod.spec_path + ".securityContext.sysctls[" + std::to_string(i) + "].name");
    ++i;
  }
}

std::string Join(const std::string& base, std::string_view tail) {
  std::string out = base;
  if (!out.empty() && !tail.empty() && tail.front() != '[') out += '.';
  out += tail;
  return out;
}

std::string QuoteList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += '"';
    out += item;
    out += '"';
  }
  return out;
}

}  // namespace moat::k8s::internal
