// The audit: each object through the built-in policy, the ValidatingAdmissionPolicies and the
// image policies as a CREATE would go, gathered into a k8s::Assessment.

#include "admission/audit.h"

#include <algorithm>
#include <chrono>

#include "admission/builtin_policy.h"
#include "admission/image_gate.h"
#include "admission/vap.h"

namespace moat::admission {

AuditResult Audit(const PolicySet& policies, k8s::LoadResult input) {
  AuditResult result;
  k8s::Assessment& out = result.assessment;
  out.objects = std::move(input.objects);
  out.errors = std::move(input.errors);
  out.warnings = std::move(input.warnings);
  out.files = input.files;
  out.status.assign(out.objects.size(), k8s::ObjectStatus::kSkippedKind);
  out.evaluated.resize(out.objects.size());
  const BuiltinPolicy* builtin = policies.builtin();
  const VapPolicy* vap = policies.vap();
  // The other policies judge a pod's images (image_gate.h): each reports under its own CheckInfo.
  std::vector<const Policy*> image_policies;
  for (size_t p = 0; p < policies.size(); ++p) {
    const Policy* policy = &policies.policy(p);
    if (policy != builtin && policy != vap) image_policies.push_back(policy);
  }
  if (builtin == nullptr && vap == nullptr && image_policies.empty()) {
    out.skipped = out.objects.size();
    return result;
  }
  static const std::vector<const k8s::CheckInfo*> kNone;
  const auto& checks = builtin != nullptr ? builtin->checks() : kNone;
  const auto& vap_checks = vap != nullptr ? vap->checks() : kNone;
  out.pss_minor = builtin != nullptr ? builtin->pss_minor() : k8s::LatestPssMinor();
  for (const k8s::CheckInfo* info : checks) out.checks.push_back({info, 0, 0, 0});
  for (const k8s::CheckInfo* info : vap_checks) out.checks.push_back({info, 0, 0, 0});
  // An image policy counts an object as looked at (passed or failed) when one of its rules
  // selects the object.
  const size_t image_checks_start = out.checks.size();
  std::vector<std::vector<PolicyRule>> image_rules;
  for (std::string_view name : {kImageVulnerabilitiesPolicy, kImageSignaturePolicy}) {
    std::vector<PolicyRule> rules = RulesNaming(policies.config(), name);
    if (rules.empty()) continue;
    out.checks.push_back({ImagePolicyInfo(name), 0, 0, 0});
    image_rules.push_back(std::move(rules));
  }
  std::vector<Violation> violations;
  std::vector<const k8s::CheckInfo*> matched;
  // A first pass with no time to wait starts the scans of the images (as many as the gate's
  // queue takes), so that they run on all its workers while the second pass waits for each.
  const Policy* gate = nullptr;
  for (const Policy* policy : image_policies) {
    if (dynamic_cast<const ImageGatePolicy*>(policy) != nullptr) gate = policy;
  }
  for (size_t i = 0; i < out.objects.size() && gate != nullptr; ++i) {
    AdmissionRequest request = CreateRequestFor(std::move(out.objects[i]));
    request.deadline = std::chrono::steady_clock::now();
    if (gate->Covers(request)) gate->Evaluate(request, violations);
    violations.clear();
    out.objects[i] = std::move(request.object);
  }
  for (size_t i = 0; i < out.objects.size(); ++i) {
    violations.clear();
    BuiltinOutcome outcome;
    outcome.status = k8s::ObjectStatus::kSkippedKind;
    if (builtin != nullptr) builtin->EvaluateObject(out.objects[i], violations, &outcome);
    const size_t builtin_violations = violations.size();
    // The ValidatingAdmissionPolicies and the image policies judge the object's CREATE; the
    // object is lent and put back.
    matched.clear();
    size_t image_violations_start = violations.size();
    bool images_judged = false;
    if ((vap != nullptr || !image_policies.empty()) && !outcome.in_excluded_namespace) {
      AdmissionRequest request = CreateRequestFor(std::move(out.objects[i]));
      if (vap != nullptr && vap->Covers(request)) vap->Evaluate(request, violations, &matched);
      image_violations_start = violations.size();
      for (const Policy* policy : image_policies) {
        if (!policy->Covers(request)) continue;
        policy->Evaluate(request, violations);
        images_judged = true;
      }
      out.objects[i] = std::move(request.object);
      if (!matched.empty() || images_judged) outcome.status = k8s::ObjectStatus::kAssessed;
    }
    out.status[i] = outcome.status;
    if (outcome.status == k8s::ObjectStatus::kExcludedNamespace) ++out.excluded;
    if (outcome.status == k8s::ObjectStatus::kSkippedKind) ++out.skipped;
    bool denied = false;
    for (const Violation& v : violations) {
      if (v.annotation_only) continue;
      denied |= v.action == Action::kDeny;
      ++result.violations_by_action[static_cast<size_t>(v.action)];
      result.finding_actions.push_back(v.action);
      out.findings.push_back(
          k8s::Finding{i, v.check, v.path, v.line, v.column,
                       "[" + std::string(ActionName(v.action)) + "] " + v.message});
    }
    result.denied_objects += denied ? 1 : 0;
    for (size_t c = 0; c < checks.size(); ++c) {
      k8s::CheckSummary& summary = out.checks[c];
      switch (outcome.checks[c]) {
        case BuiltinOutcome::CheckResult::kNotEvaluated:
          continue;
        case BuiltinOutcome::CheckResult::kPassed:
          if (!outcome.in_excluded_namespace) ++summary.passed;
          break;
        case BuiltinOutcome::CheckResult::kFailed:
          ++summary.failed;
          break;
        case BuiltinOutcome::CheckResult::kExempt:
          ++summary.exempt;
          break;
      }
      if (outcome.status == k8s::ObjectStatus::kAssessed)
        out.evaluated[i].push_back(static_cast<uint16_t>(c));
    }
    for (size_t c = 0; c < vap_checks.size(); ++c) {
      if (std::find(matched.begin(), matched.end(), vap_checks[c]) == matched.end()) continue;
      const bool failed = std::any_of(
          violations.begin() + builtin_violations, violations.begin() + image_violations_start,
          [&](const Violation& v) { return !v.annotation_only && v.check == vap_checks[c]; });
      ++(failed ? out.checks[checks.size() + c].failed : out.checks[checks.size() + c].passed);
      out.evaluated[i].push_back(static_cast<uint16_t>(checks.size() + c));
    }
    if (!images_judged) continue;
    for (size_t c = image_checks_start; c < out.checks.size(); ++c) {
      const std::vector<PolicyRule>& rules = image_rules[c - image_checks_start];
      if (std::none_of(rules.begin(), rules.end(), [&](const PolicyRule& rule) {
            return rule.Matches(out.objects[i], policies.config().namespaces.get());
          }))
        continue;
      const bool failed =
          std::any_of(violations.begin() + image_violations_start, violations.end(),
                      [&](const Violation& v) { return v.check == out.checks[c].check; });
      ++(failed ? out.checks[c].failed : out.checks[c].passed);
      out.evaluated[i].push_back(static_cast<uint16_t>(c));
    }
  }
  k8s::SummarizeNamespaces(out);
  return result;
}

std::string_view AuditMessage(const k8s::Finding& finding, Action action) {
  std::string_view message = finding.message;
  const std::string prefix = "[" + std::string(ActionName(action)) + "] ";
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  return message;
}

}  // namespace moat::admission
