// Built-in policies: k8s::CheckRunner findings mapped to actions by the configuration's rules
// (namespaces, selectors, exempt containers and images).

#include "admission/builtin_policy.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "core/text.h"

namespace moat::admission {
namespace {

bool AnyGlob(const std::vector<std::string>& patterns, std::string_view text) {
  for (const std::string& p : patterns) {
    if (GlobMatch(p, text)) return true;
  }
  return false;
}

/// The container a finding's path points into ("spec.template.spec.containers[2].image" -> the
/// third container), or null for pod-level fields.
const k8s::Value* ContainerOfPath(const k8s::PodTemplate& pod, std::string_view path) {
  const std::string_view prefix = pod.spec_path;
  if (path.size() <= prefix.size() + 1 || path.substr(0, prefix.size()) != prefix ||
      path[prefix.size()] != '.')
    return nullptr;
  path.remove_prefix(prefix.size() + 1);
  for (std::string_view field : {"containers", "initContainers", "ephemeralContainers"}) {
    if (path.size() <= field.size() + 1 || path.substr(0, field.size()) != field ||
        path[field.size()] != '[')
      continue;
    size_t index = 0;
    const char* begin = path.data() + field.size() + 1;
    auto [end, ec] = std::from_chars(begin, path.data() + path.size(), index);
    if (ec != std::errc() || end == path.data() + path.size() || *end != ']') return nullptr;
    const k8s::Value* list = pod.spec->Get(field);
    if (list == nullptr || index >= list->Items().size()) return nullptr;
    return &list->Items()[index];
  }
  return nullptr;
}

/// The labels of the object's namespace as the webhook knows them: a Namespace's own labels, or
/// the label the API server puts on every namespace (kubernetes.io/metadata.name = its name).
k8s::Value NamespaceLabels(const k8s::Object& object, const std::string& ns) {
  if (object.kind == "Namespace") {
    if (const k8s::Value* labels = object.root.Path({"metadata", "labels"}); labels != nullptr)
      return *labels;
  }
  k8s::Value labels;
  labels.type = k8s::Value::Type::kMap;
  k8s::Value name = k8s::Value::Scalar(k8s::Value::Type::kString, ns);
  name.key = "kubernetes.io/metadata.name";
  labels.children.push_back(std::move(name));
  return labels;
}

bool RuleAppliesToObject(const PolicyRule& rule, const k8s::Object& object) {
  const std::string ns = object.kind == "Namespace" ? object.name : object.EffectiveNamespace();
  // Namespace criteria concern namespaced objects (and Namespaces themselves); cluster-scoped
  // objects are matched by the object selector only.
  if (!ns.empty()) {
    if (!rule.namespaces.empty() && !AnyGlob(rule.namespaces, ns)) return false;
    if (AnyGlob(rule.excluded_namespaces, ns)) return false;
    if (rule.namespace_selector) {
      const k8s::Value labels = NamespaceLabels(object, ns);
      if (!rule.namespace_selector->Matches(&labels)) return false;
    }
  }
  if (rule.object_selector &&
      !rule.object_selector->Matches(object.root.Path({"metadata", "labels"})))
    return false;
  return true;
}

bool RuleExemptsFinding(const PolicyRule& rule, const k8s::Object& object,
                        const k8s::Finding& finding) {
  if (rule.exempt_containers.empty() && rule.exempt_images.empty()) return false;
  const std::optional<k8s::PodTemplate> pod = k8s::FindPodTemplate(object);
  if (!pod) return false;
  const k8s::Value* container = ContainerOfPath(*pod, finding.path);
  if (container == nullptr) return false;
  const k8s::Value* name = container->Get("name");
  const k8s::Value* image = container->Get("image");
  return (name != nullptr && AnyGlob(rule.exempt_containers, name->Str())) ||
         (image != nullptr && AnyGlob(rule.exempt_images, image->Str()));
}

}  // namespace

Result<std::unique_ptr<BuiltinPolicy>> BuiltinPolicy::Create(const AdmissionConfig& config) {
  std::unique_ptr<BuiltinPolicy> policy(new BuiltinPolicy());
  std::set<const k8s::CheckInfo*> all;
  for (const PolicyRule& rule : config.rules) {
    if (rule.action == Action::kDisabled) continue;
    k8s::AssessOptions options;
    options.checks = rule.checks;
    options.pss_minor = config.pss_minor;
    options.parameters = config.parameters;
    options.exclude_namespaces = config.excluded_namespaces;
    options.exempt_annotation = config.exempt_annotation;
    auto runner = k8s::CheckRunner::Create(options);
    if (!runner.ok()) return runner.error().Wrap(rule.origin);
    all.insert(runner->checks().begin(), runner->checks().end());
    policy->pss_minor_ = runner->pss_minor();
    policy->rules_.push_back(RuleRunner{rule, std::move(*runner)});
  }
  if (policy->rules_.empty()) return std::unique_ptr<BuiltinPolicy>();
  for (const k8s::CheckInfo& info : k8s::AllChecks()) {
    const k8s::CheckInfo* registered = k8s::FindCheck(info.id);
    if (all.count(registered)) policy->checks_.push_back(registered);
  }
  policy->excluded_namespaces_ = config.excluded_namespaces;
  return policy;
}

bool BuiltinPolicy::Excluded(const std::string& namespace_name) const {
  return !namespace_name.empty() &&
         std::find(excluded_namespaces_.begin(), excluded_namespaces_.end(), namespace_name) !=
             excluded_namespaces_.end();
}

bool BuiltinPolicy::Covers(const AdmissionRequest& request) const {
  if (!request.has_object) return false;  // DELETE, CONNECT without an object
  if (request.operation != Operation::kCreate && request.operation != Operation::kUpdate)
    return false;
  // Subresources (status, scale, exec, ...) carry no pod spec to check, but adding an ephemeral
  // container changes the pod's containers: Pod Security admission checks it too.
  if (!request.sub_resource.empty() && request.sub_resource != "ephemeralcontainers") return false;
  const std::string& ns =
      request.object.kind == "Namespace" ? request.object.name : request.namespace_name;
  if (Excluded(ns)) return false;
  for (const RuleRunner& r : rules_) {
    if (r.runner.Covers(request.object.kind)) return true;
  }
  return false;
}

void BuiltinPolicy::Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const {
  EvaluateObject(request.object, out);
}

void BuiltinPolicy::EvaluateObject(k8s::Object& object, std::vector<Violation>& out,
                                   BuiltinOutcome* outcome) const {
  using CheckResult = BuiltinOutcome::CheckResult;
  const size_t first = out.size();
  if (outcome != nullptr) outcome->checks.assign(checks_.size(), CheckResult::kNotEvaluated);
  for (const RuleRunner& r : rules_) {
    if (!r.runner.Covers(object.kind) || !RuleAppliesToObject(r.rule, object)) continue;
    const k8s::ObjectAssessment result = r.runner.Run(object);
    for (const k8s::Finding& f : result.findings) {
      if (RuleExemptsFinding(r.rule, object, f)) continue;
      // The same finding from two rules is one violation, in the stronger action.
      auto same = std::find_if(
          out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), [&f](const Violation& v) {
            return v.check == f.check && v.path == f.path && v.message == f.message;
          });
      if (same != out.end()) {
        same->action = std::max(same->action, r.rule.action);
        continue;
      }
      out.push_back(
          Violation{f.check->id, r.rule.action, f.path, f.message, f.line, f.column, f.check});
    }
    if (outcome == nullptr) continue;
    outcome->in_excluded_namespace = result.in_excluded_namespace;
    if (result.status == k8s::ObjectStatus::kAssessed ||
        outcome->status == k8s::ObjectStatus::kSkippedKind)
      outcome->status = result.status;
    for (size_t e = 0; e < result.evaluated.size(); ++e) {
      const k8s::CheckInfo* info = r.runner.checks()[result.evaluated[e]];
      const size_t c =
          static_cast<size_t>(std::find(checks_.begin(), checks_.end(), info) - checks_.begin());
      CheckResult here = result.outcomes[e] == k8s::CheckOutcome::kExempt ? CheckResult::kExempt
                                                                          : CheckResult::kPassed;
      outcome->checks[c] = std::max(outcome->checks[c], here);
    }
  }
  // In the order of the fields in the object, as moat k8s lists a manifest's findings (the API
  // server's JSON is one line: the column tells the order there).
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                   [](const Violation& a, const Violation& b) {
                     return a.line != b.line ? a.line < b.line : a.column < b.column;
                   });
  if (outcome == nullptr) return;
  for (size_t v = first; v < out.size(); ++v) {
    const size_t c = static_cast<size_t>(std::find(checks_.begin(), checks_.end(), out[v].check) -
                                         checks_.begin());
    outcome->checks[c] = CheckResult::kFailed;
  }
}

}  // namespace moat::admission
