// Policies evaluated in turn; their violations become the AdmissionResponse.

#include "admission/decision.h"

#include <map>

#include "admission/builtin_policy.h"
#include "admission/image_gate.h"
#include "admission/signature.h"
#include "admission/vap.h"

namespace moat::admission {

Result<std::shared_ptr<const PolicySet>> PolicySet::Build(const AdmissionConfig& config) {
  auto set = std::make_shared<PolicySet>();
  set->config_ = config;
  set->mutator_ = Mutator(config);
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<BuiltinPolicy> builtin, BuiltinPolicy::Create(config));
  if (builtin) {
    set->builtin_ = builtin.get();
    set->policies_.push_back(std::move(builtin));
  }
  if (!config.policy_files.empty()) {
    MOAT_ASSIGN_OR_RETURN(
        std::unique_ptr<VapPolicy> vap,
        VapPolicy::Load(config.policy_files,
                        {config.namespaces, config.cluster_params, config.excluded_namespaces}));
    set->vap_ = vap.get();
    set->policies_.push_back(std::move(vap));
  }
  // The image policies last: they may wait for a registry, the others cost microseconds.
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<SignaturePolicy> signatures,
                        SignaturePolicy::Create(config));
  if (signatures) set->policies_.push_back(std::move(signatures));
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<ImageGatePolicy> gate, ImageGatePolicy::Create(config));
  if (gate) set->policies_.push_back(std::move(gate));
  return std::shared_ptr<const PolicySet>(std::move(set));
}

std::string DescribeViolation(const Violation& violation) {
  if (!violation.description.empty()) return violation.description;
  std::string out = violation.policy + ": " + violation.message;
  if (!violation.path.empty()) out += " (" + violation.path + ")";
  return out;
}

void ApplyViolations(const std::vector<Violation>& violations, AdmissionResponse& response) {
  std::vector<const Violation*> denials;
  size_t dropped_warnings = 0;
  std::map<std::string, std::string> audit;  // policy -> descriptions
  for (const Violation& v : violations) {
    switch (v.action) {
      case Action::kDeny:
        denials.push_back(&v);
        break;
      case Action::kWarn:
        if (dropped_warnings > 0 || !AddWarning(response, DescribeViolation(v))) ++dropped_warnings;
        break;
      case Action::kAudit: {
        std::string& text = audit[v.audit_key.empty() ? v.policy : v.audit_key];
        if (!text.empty()) text += "; ";
        text += !v.description.empty() ? v.description
                                       : v.message + (v.path.empty() ? "" : " (" + v.path + ")");
        break;
      }
      case Action::kDisabled:
        break;
    }
  }
  if (dropped_warnings > 0) {
    // Make room for a last warning that says how many were left out.
    for (;;) {
      const std::string more = std::to_string(dropped_warnings) +
                               " more warnings left out (the API server keeps 4 KiB of them)";
      if (AddWarning(response, more)) break;
      response.warnings.pop_back();
      ++dropped_warnings;
    }
  }
  for (auto& [policy, text] : audit) response.audit_annotations.emplace_back(policy, text);
  if (!denials.empty()) {
    response.allowed = false;
    response.code = 403;
    response.reason = "Forbidden";
    // The first denial that names its own status sets it (a ValidatingAdmissionPolicy's reason,
    // as the API server takes the first failed validation's).
    for (const Violation* v : denials) {
      if (v->code == 0) continue;
      response.code = v->code;
      response.reason = v->reason;
      break;
    }
    std::string& message = response.message;
    if (denials.size() == 1 && !denials[0]->description.empty()) {
      message = denials[0]->description;  // already the API server's own sentence
      return;
    }
    message = denials.size() == 1
                  ? "denied by moat: "
                  : "denied by moat (" + std::to_string(denials.size()) + " violations): ";
    for (size_t i = 0; i < denials.size(); ++i) {
      if (i > 0) message += "; ";
      message += DescribeViolation(*denials[i]);
    }
  }
}

Decision PolicySet::Decide(AdmissionRequest& request,
                           std::chrono::steady_clock::time_point deadline) const {
  Decision decision;
  request.deadline = deadline;  // policies that wait (the image gate) answer before it
  for (const std::unique_ptr<Policy>& policy : policies_) {
    if (!policy->Covers(request)) continue;
    if (std::chrono::steady_clock::now() > deadline) {
      decision.deadline_exceeded = true;
      break;
    }
    decision.evaluated = true;
    policy->Evaluate(request, decision.violations);
  }
  ApplyViolations(decision.violations, decision.response);
  if (decision.deadline_exceeded) {
    const std::string why = "moat: the webhook's deadline of " +
                            std::to_string(config_.deadline.count()) +
                            " ms passed before every policy was evaluated";
    if (config_.fail_closed) {
      decision.response.allowed = false;
      decision.response.code = 500;
      decision.response.reason = "InternalError";
      decision.response.message = why + " (failurePolicy Fail)";
    } else {
      AddWarning(decision.response, why + " (failurePolicy Ignore)");
    }
  }
  return decision;
}

}  // namespace moat::admission
