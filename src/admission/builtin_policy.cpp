// Built-in policies: k8s::CheckRunner findings mapped to actions by the configuration's rules
// (namespaces, selectors, exempt containers and images).

#include "admission/builtin_policy.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "core/text.h"

namespace moat::admission {
namespace {

bool RuleExemptsFinding(const PolicyRule& rule, const k8s::Object& object,
                        const k8s::Finding& finding) {
  if (rule.exempt_containers.empty() && rule.exempt_images.empty()) return false;
  const std::optional<k8s::PodTemplate> pod = k8s::FindPodTemplate(object);
  if (!pod) return false;
  const k8s::Value* container = k8s::ContainerAtPath(*pod, finding.path);
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
    options.checks = WithoutImagePolicies(rule.checks);
    if (options.checks.empty()) continue;  // only image policies (image_gate.h): no k8s check
    options.pss_minor = config.pss_minor;
    options.parameters = config.parameters;
    for (const auto& [check, values] : rule.parameters) {
      for (const auto& [parameter, value] : values) options.parameters[check][parameter] = value;
    }
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
  policy->namespaces_ = config.namespaces;
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
  // Who asks for what: the policies about edits (azure-node-edits) need more than the object.
  const k8s::RequestInfo info{OperationName(request.operation), request.username, &request.groups};
  EvaluateObject(request.object, out, nullptr, &info);
}

void BuiltinPolicy::EvaluateObject(k8s::Object& object, std::vector<Violation>& out,
                                   BuiltinOutcome* outcome, const k8s::RequestInfo* request) const {
  using CheckResult = BuiltinOutcome::CheckResult;
  const size_t first = out.size();
  if (outcome != nullptr) outcome->checks.assign(checks_.size(), CheckResult::kNotEvaluated);
  for (const RuleRunner& r : rules_) {
    if (!r.runner.Covers(object.kind) || !r.rule.Matches(object, namespaces_.get())) continue;
    const k8s::ObjectAssessment result = r.runner.Run(object, request);
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
      Violation violation;  // named fields: Violation grows members other policies fill
      violation.policy = f.check->id;
      violation.action = r.rule.action;
      violation.path = f.path;
      violation.message = f.message;
      violation.line = f.line;
      violation.column = f.column;
      violation.check = f.check;
      out.push_back(std::move(violation));
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
