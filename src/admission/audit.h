#pragma once
// `moat admission audit`: the webhook's policy set over objects that already exist (manifests
// or a cluster's listing), as Gatekeeper's audit does. Each object is judged as the webhook
// would judge its CREATE, and the result is a k8s::Assessment, so `moat k8s`'s report writers
// (table, json, sarif, junit) print it.

#include <cstddef>
#include <string_view>
#include <vector>

#include "admission/decision.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::admission {

struct AuditResult {
  /// Findings are the violations; each message starts with the action: "[deny] ...".
  k8s::Assessment assessment;
  size_t denied_objects = 0;                      // objects the webhook would refuse
  size_t violations_by_action[4] = {0, 0, 0, 0};  // indexed by Action
  /// The action of each finding (same index), for reports that keep it apart from the message
  /// (the cluster agent's, agent/cluster_report.h).
  std::vector<Action> finding_actions;
};

/// A finding's message without the "[action] " the audit puts before it.
std::string_view AuditMessage(const k8s::Finding& finding, Action action);

AuditResult Audit(const PolicySet& policies, k8s::LoadResult input);

}  // namespace moat::admission
