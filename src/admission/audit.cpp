// The audit: each object through the built-in policy and the ValidatingAdmissionPolicies as a
// CREATE would go, gathered into a k8s::Assessment.

#include "admission/audit.h"

#include <algorithm>

#include "admission/builtin_policy.h"
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
  if (builtin == nullptr && vap == nullptr) {
    out.skipped = out.objects.size();
    return result;
  }
  static const std::vector<const k8s::CheckInfo*> kNone;
  const auto& checks = builtin != nullptr ? builtin->checks() : kNone;
  const auto& vap_checks = vap != nullptr ? vap->checks() : kNone;
  out.pss_minor = builtin != nullptr ? builtin->pss_minor() : k8s::LatestPssMinor();
  for (const k8s::CheckInfo* info : checks) out.checks.push_back({info, 0, 0, 0});
  for (const k8s::CheckInfo* info : vap_checks) out.checks.push_back({info, 0, 0, 0});
  std::vector<Violation> violations;
  std::vector<const k8s::CheckInfo*> matched;
  for (size_t i = 0; i < out.objects.size(); ++i) {
    violations.clear();
    BuiltinOutcome outcome;
    outcome.status = k8s::ObjectStatus::kSkippedKind;
    if (builtin != nullptr) builtin->EvaluateObject(out.objects[i], violations, &outcome);
    const size_t builtin_violations = violations.size();
    // The ValidatingAdmissionPolicies judge the object's CREATE; the object is lent and put back.
    matched.clear();
    if (vap != nullptr && !outcome.in_excluded_namespace) {
      AdmissionRequest request = CreateRequestFor(std::move(out.objects[i]));
      if (vap->Covers(request)) vap->Evaluate(request, violations, &matched);
      out.objects[i] = std::move(request.object);
      if (!matched.empty()) outcome.status = k8s::ObjectStatus::kAssessed;
    }
    out.status[i] = outcome.status;
    if (outcome.status == k8s::ObjectStatus::kExcludedNamespace) ++out.excluded;
    if (outcome.status == k8s::ObjectStatus::kSkippedKind) ++out.skipped;
    bool denied = false;
    for (const Violation& v : violations) {
      if (v.annotation_only) continue;
      denied |= v.action == Action::kDeny;
      ++result.violations_by_action[static_cast<size_t>(v.action)];
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
          violations.begin() + builtin_violations, violations.end(),
          [&](const Violation& v) { return !v.annotation_only && v.check == vap_checks[c]; });
      ++(failed ? out.checks[checks.size() + c].failed : out.checks[checks.size() + c].passed);
      out.evaluated[i].push_back(static_cast<uint16_t>(checks.size() + c));
    }
  }
  k8s::SummarizeNamespaces(out);
  return result;
}

}  // namespace moat::admission
