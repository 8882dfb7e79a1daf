#pragma once
// The built-in policies: the `moat k8s` check library (src/k8s) run on the request's object, with
// the rules of the configuration deciding each finding's action. The checks run through
// k8s::CheckRunner, prepared once, so a request costs only the checks themselves.

#include <memory>
#include <vector>

#include "admission/config.h"
#include "admission/policy.h"
#include "k8s/checks.h"

namespace moat::admission {

/// What the built-in policy made of one object, check by check (the audit's report).
struct BuiltinOutcome {
  k8s::ObjectStatus status = k8s::ObjectStatus::kSkippedKind;
  bool in_excluded_namespace = false;
  /// Per check of BuiltinPolicy::checks(): not looked at, passed, failed (a violation), exempt.
  enum class CheckResult : uint8_t { kNotEvaluated, kPassed, kFailed, kExempt };
  std::vector<CheckResult> checks;
};

class BuiltinPolicy : public Policy {
 public:
  /// Null (and no error) when no rule enables a check.
  static Result<std::unique_ptr<BuiltinPolicy>> Create(const AdmissionConfig& config);

  bool Covers(const AdmissionRequest& request) const override;
  void Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const override;

  /// The checks of one object, whatever the request (the audit of manifests): what Evaluate
  /// gives for a CREATE of it. `request`: what Evaluate knows of the request (null for audit).
  void EvaluateObject(k8s::Object& object, std::vector<Violation>& out,
                      BuiltinOutcome* outcome = nullptr,
                      const k8s::RequestInfo* request = nullptr) const;

  /// Every check some rule runs, in registry order.
  const std::vector<const k8s::CheckInfo*>& checks() const { return checks_; }
  int pss_minor() const { return pss_minor_; }
  /// True when objects in this namespace are admitted without evaluation.
  bool Excluded(const std::string& namespace_name) const;

 private:
  BuiltinPolicy() = default;

  /// Each enabled rule runs its own checks, so that a level's PSS overrides stay within the rule
  /// (baseline denied and restricted warned is what Pod Security admission does with
  /// enforce=baseline, warn=restricted).
  struct RuleRunner {
    PolicyRule rule;
    k8s::CheckRunner runner;
  };
  std::vector<RuleRunner> rules_;
  std::vector<const k8s::CheckInfo*> checks_;
  std::vector<std::string> excluded_namespaces_;
  std::shared_ptr<const NamespaceCache> namespaces_;  // null without cluster access
  int pss_minor_ = 0;
};

}  // namespace moat::admission
