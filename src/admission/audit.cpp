// The audit: each object through the built-in policy as a CREATE would go, gathered into a
// k8s::Assessment.

#include "admission/audit.h"

#include "admission/builtin_policy.h"

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
  if (builtin == nullptr) {
    out.skipped = out.objects.size();
    return result;
  }
  const auto& checks = builtin->checks();
  out.pss_minor = builtin->pss_minor();
  for (const k8s::CheckInfo* info : checks) out.checks.push_back({info, 0, 0, 0});
  std::vector<Violation> violations;
  for (size_t i = 0; i < out.objects.size(); ++i) {
    violations.clear();
    BuiltinOutcome outcome;
    builtin->EvaluateObject(out.objects[i], violations, &outcome);
    out.status[i] = outcome.status;
    if (outcome.status == k8s::ObjectStatus::kExcludedNamespace) ++out.excluded;
    if (outcome.status == k8s::ObjectStatus::kSkippedKind) ++out.skipped;
    bool denied = false;
    for (const Violation& v : violations) {
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
  }
  k8s::SummarizeNamespaces(out);
  return result;
}

}  // namespace moat::admission
