#pragma once
// The webhook's decision: every policy that covers a request evaluated, the violations turned
// into an AdmissionResponse (deny -> allowed false with status; warn -> warnings within the API
// server's limits; audit -> auditAnnotations).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "admission/config.h"
#include "admission/mutation.h"
#include "admission/policy.h"
#include "admission/review.h"

namespace moat::admission {

class BuiltinPolicy;
class VapPolicy;

struct Decision {
  AdmissionResponse response;
  std::vector<Violation> violations;  // every one, whatever its action
  bool evaluated = false;             // false: no policy covers the request (allowed at once)
  bool deadline_exceeded = false;
};

/// The policies of one configuration, built once and shared by every server thread until the
/// configuration changes.
class PolicySet {
 public:
  static Result<std::shared_ptr<const PolicySet>> Build(const AdmissionConfig& config);

  /// Evaluates `request` (borrowed, as it was on return) against every covering policy. Past
  /// `deadline` the remaining policies are skipped and the failure policy decides.
  Decision Decide(AdmissionRequest& request,
                  std::chrono::steady_clock::time_point deadline =
                      std::chrono::steady_clock::time_point::max()) const;

  const AdmissionConfig& config() const { return config_; }
  /// The `mutations:` of the configuration, for /mutate.
  const Mutator& mutator() const { return mutator_; }
  const BuiltinPolicy* builtin() const { return builtin_; }
  /// The ValidatingAdmissionPolicies of --policy, or null.
  const VapPolicy* vap() const { return vap_; }
  size_t size() const { return policies_.size(); }
  const Policy& policy(size_t i) const { return *policies_[i]; }

 private:
  AdmissionConfig config_;
  std::vector<std::unique_ptr<Policy>> policies_;
  Mutator mutator_;
  const BuiltinPolicy* builtin_ = nullptr;  // one of policies_, or null
  const VapPolicy* vap_ = nullptr;          // one of policies_, or null
};

/// How a violation reads in a message, a warning and an audit annotation:
/// `pss-baseline-privileged: container "web" is privileged (spec.containers[0]...privileged)`.
std::string DescribeViolation(const Violation& violation);

/// Fills response fields from violations: deny ones make the status message, warn ones the
/// warnings (truncated to the API server's limits, with a last "N more" when some do not fit),
/// audit ones the auditAnnotations (one key per policy).
void ApplyViolations(const std::vector<Violation>& violations, AdmissionResponse& response);

}  // namespace moat::admission
