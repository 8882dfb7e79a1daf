#include "rules/rule_loader.h"

namespace moat::rules {

Result<LoadReport> LoadRules(Engine& engine, std::shared_ptr<const EventSource> source,
                             const std::vector<RuleText>& builtin, const RuleFileOptions& options) {
  const std::string source_name(source->name());
  engine.AddSource(std::move(source));
  if (options.builtin_rules) {
    for (const RuleText& file : builtin) MOAT_TRY(engine.AddRulesText(file.text, file.name));
  }
  for (const std::string& path : options.rule_paths) MOAT_TRY(engine.AddRulesPath(path));
  MOAT_ASSIGN_OR_RETURN(LoadReport report, engine.Compile());
  if (engine.EnabledCount(source_name) == 0) {
    return Fail("no ", source_name, " rule is enabled (", std::to_string(report.disabled.size()),
                " disabled)");
  }
  return report;
}

}  // namespace moat::rules
