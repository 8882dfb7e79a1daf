#pragma once
// Moat's built-in Kubernetes audit rules (src/auditlog/rules/*.yaml, compiled into the binary by
// CMake): one or more rules per K8S_ alert type of the modelled security center that the audit
// log can show (docs/audit-log.md has the table).

#include <string_view>
#include <vector>

namespace moat::auditlog {

struct BuiltinRuleFile {
  std::string_view name;  // "builtin:k8s_audit_rules.yaml", as errors and reports name it
  std::string_view text;  // Falco-format YAML
};

/// The built-in rule files, in load order.
std::vector<BuiltinRuleFile> BuiltinRuleFiles();

}  // namespace moat::auditlog
