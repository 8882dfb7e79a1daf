#include "cis/engine.h"

#include "core/text.h"

namespace moat::cis {

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kPass:
      return "PASS";
    case Status::kFail:
      return "FAIL";
    case Status::kWarn:
      return "WARN";
    case Status::kInfo:
      return "INFO";
    case Status::kManual:
      return "MANUAL";
    case Status::kNotApplicable:
      return "NOT_APPLICABLE";
  }
  return "WARN";
}

std::vector<std::string> SplitPatterns(std::string_view list) {
  std::vector<std::string> patterns;
  for (std::string_view part : Split(list, ',')) {
    if (part = TrimSpace(part); !part.empty()) patterns.emplace_back(part);
  }
  return patterns;
}

bool MatchesPattern(std::string_view id, std::string_view pattern) {
  if (pattern.find('*') != std::string_view::npos) return GlobMatch(pattern, id);
  if (id == pattern) return true;
  // A group prefix: "1.1" selects 1.1.x, "3" selects 3.x.
  return id.size() > pattern.size() && id.substr(0, pattern.size()) == pattern &&
         id[pattern.size()] == '.';
}

bool Selected(const Control& control, const Selection& selection) {
  if (selection.level > 0 && control.level > selection.level) return false;
  if (!selection.only.empty()) {
    bool any = false;
    for (const auto& pattern : selection.only) any = any || MatchesPattern(control.id, pattern);
    if (!any) return false;
  }
  for (const auto& pattern : selection.skip) {
    if (MatchesPattern(control.id, pattern)) return false;
  }
  return true;
}

Result<void> ValidateSelection(const std::vector<std::string>& ids, const Selection& selection) {
  for (const auto* list : {&selection.only, &selection.skip}) {
    for (const auto& pattern : *list) {
      bool any = false;
      for (const auto& id : ids) any = any || MatchesPattern(id, pattern);
      if (!any) return Fail("no control matches \"", pattern, "\"");
    }
  }
  if (selection.level < 0 || selection.level > 2) {
    return Fail("--level must be 1 or 2, not ", std::to_string(selection.level));
  }
  return Ok();
}

Totals ComputeTotals(const std::vector<ControlResult>& results) {
  Totals totals;
  for (const auto& result : results) {
    switch (result.outcome.status) {
      case Status::kPass:
        ++totals.pass;
        break;
      case Status::kFail:
        ++totals.fail;
        break;
      case Status::kWarn:
        ++totals.warn;
        break;
      case Status::kInfo:
        ++totals.info;
        break;
      case Status::kManual:
        ++totals.manual;
        break;
      case Status::kNotApplicable:
        ++totals.not_applicable;
        break;
    }
    // Not-applicable controls leave the score's denominator: nothing to pass or fail.
    if (result.control.automated && result.outcome.status != Status::kNotApplicable) {
      ++totals.automated;
      if (result.outcome.status == Status::kPass) ++totals.automated_passed;
    }
  }
  return totals;
}

}  // namespace moat::cis
