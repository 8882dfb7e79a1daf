#pragma once
// What the webhook evaluates: policies, each in one of four modes. The built-in checks of
// src/k8s are one kind of policy (builtin_policy.h); CEL ValidatingAdmissionPolicies, the Azure
// bundle and the image gate plug in through the same interface.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admission/review.h"

namespace moat::k8s {
struct CheckInfo;
}

namespace moat::admission {

/// What a violated policy does to the request, weakest first: disabled (not evaluated), audit
/// (an auditAnnotation), warn (a warning to the client), deny (refused).
enum class Action : uint8_t { kDisabled, kAudit, kWarn, kDeny };
std::string_view ActionName(Action action);  // "disabled", "audit", "warn", "deny"
/// Case-insensitive; "enforce" is deny (Azure's and Gatekeeper's words are accepted: Audit,
/// Deny, Disabled, dryrun = audit, warn).
std::optional<Action> ParseAction(std::string_view text);

struct Violation {
  std::string policy;  // check id or policy name
  Action action = Action::kDeny;
  std::string path;     // the offending field: spec.containers[0].securityContext.privileged
  std::string message;  // the policy's words (for a check: what `moat k8s` reports)
  uint32_t line = 0;    // in the request body (or manifest, for audit)
  uint32_t column = 0;
  const k8s::CheckInfo* check = nullptr;  // for built-ins
  /// Set by policies that speak in the API server's own words (ValidatingAdmissionPolicy): the
  /// whole denial message, warning or audit annotation value, instead of DescribeViolation's.
  std::string description;
  /// status.code and status.reason of a denial; 0 and "" = 403 Forbidden.
  int code = 0;
  std::string reason;
  /// The auditAnnotations key when it is not the policy name.
  std::string audit_key;
  /// An audit annotation the policy writes whatever its verdict (a ValidatingAdmissionPolicy's
  /// auditAnnotations): not a violation, not counted as one.
  bool annotation_only = false;
};

/// One policy (or a set evaluated together). Implementations are immutable once built and called
/// from many server threads at once.
class Policy {
 public:
  virtual ~Policy() = default;
  /// False when the policy never looks at requests like this one (kind, operation, namespace):
  /// a request no policy covers is allowed without evaluation.
  virtual bool Covers(const AdmissionRequest& request) const = 0;
  /// Appends the violations of `request` with each one's action. The request may be borrowed
  /// (its object moved and put back) but is as it was on return. No side effect outside `out`:
  /// dry-run requests go through here too.
  virtual void Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const = 0;
};

}  // namespace moat::admission
