#pragma once
// Loading a detector's rules (the sensor's and the audit log's): the source registered, the
// built-in rule files, then the user's --rules files and directories (which may append to and
// override the built-in ones), compiled, and refused when no rule of the source is left enabled.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "rules/engine.h"

namespace moat::rules {

struct RuleFileOptions {
  /// Rule files or directories loaded after the built-in rules, in order.
  std::vector<std::string> rule_paths;
  bool builtin_rules = true;
};

/// A built-in rule file: its YAML and the name errors and reports give it.
struct RuleText {
  std::string_view name;  // "builtin:node_rules.yaml"
  std::string_view text;  // Falco-format YAML
};

/// Registers `source` with `engine`, adds `builtin` (when options.builtin_rules) and then
/// options.rule_paths, and compiles. Fails on a file that does not load or compile, and when no
/// rule of `source` is enabled ("no syscall rule is enabled (3 disabled)").
Result<LoadReport> LoadRules(Engine& engine, std::shared_ptr<const EventSource> source,
                             const std::vector<RuleText>& builtin, const RuleFileOptions& options);

}  // namespace moat::rules
