#pragma once
// The CIS checks engine. A benchmark is a list of declarative checks; each check names the inputs
// it needs and an evaluator that turns facts into a result with evidence. The engine selects
// checks (--check/--skip/--level), skips evaluators whose inputs could not be read (WARN with the
// reason) and totals the results. It knows nothing about Docker: the CIS Docker definitions live
// in bench/docker/, and the Kubernetes node checks reuse the same engine with their own facts.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::cis {

enum class Status { kPass, kFail, kWarn, kInfo, kManual, kNotApplicable };

/// "PASS", "FAIL", "WARN", "INFO", "MANUAL", "NOT_APPLICABLE".
std::string_view StatusName(Status status);

/// What an evaluator returns: the result, one evidence line per offender (or per observed fact),
/// and for WARN/MANUAL/NOT_APPLICABLE the reason.
struct Outcome {
  Status status = Status::kWarn;
  std::vector<std::string> evidence;
  std::string reason;
};

inline Outcome Pass(std::vector<std::string> evidence = {}) {
  return {Status::kPass, std::move(evidence), ""};
}
inline Outcome Failed(std::vector<std::string> evidence) {
  return {Status::kFail, std::move(evidence), ""};
}
inline Outcome Warn(std::string reason, std::vector<std::string> evidence = {}) {
  return {Status::kWarn, std::move(evidence), std::move(reason)};
}
inline Outcome Info(std::vector<std::string> evidence, std::string reason = "") {
  return {Status::kInfo, std::move(evidence), std::move(reason)};
}
inline Outcome Manual(std::string what_to_look_at, std::vector<std::string> evidence = {}) {
  return {Status::kManual, std::move(evidence), std::move(what_to_look_at)};
}
inline Outcome NotApplicable(std::string reason, std::vector<std::string> evidence = {}) {
  return {Status::kNotApplicable, std::move(evidence), std::move(reason)};
}

/// The descriptive part of a check: everything but the evaluator. Docs and the JSON come from it.
struct Control {
  std::string id;           // "5.10"
  std::string title;        // as in the benchmark
  std::string group;        // "5"
  int level = 1;            // CIS profile level
  bool automated = true;    // CIS "Automated"/"Scored" vs "Manual"
  std::string reads;        // what the check inspects, for people ("HostConfig.NetworkMode")
  std::string condition;    // what passes, for people
  std::string remediation;  // what to do when it does not
};

/// A check over facts of type Facts: a Control, the input names it needs (each must be
/// available in the facts, see RunChecks), and a pure evaluator.
template <typename Facts>
struct Check {
  Control control;
  std::vector<std::string> inputs;
  std::function<Outcome(const Facts&)> evaluate;
};

struct ControlResult {
  Control control;
  Outcome outcome;
};

struct Group {
  std::string id;
  std::string title;
};

struct Totals {
  size_t pass = 0, fail = 0, warn = 0, info = 0, manual = 0, not_applicable = 0;
  size_t automated = 0;         // automated controls among the results
  size_t automated_passed = 0;  // of which PASS
  /// Percent of automated controls that passed (0 when there are none).
  double Score() const {
    return automated == 0 ? 0.0 : 100.0 * static_cast<double>(automated_passed) / automated;
  }
};

/// Everything a report writer needs. Writers know only this shape.
struct BenchReport {
  std::string benchmark;  // "CIS Docker Benchmark"
  std::string benchmark_version;
  std::string tool_version;
  std::string timestamp;
  std::string target;  // "docker host <name> (unix:///var/run/docker.sock)"
  std::vector<std::pair<std::string, std::string>> summary;  // host summary, in order
  std::vector<std::string> notes;                            // input problems, for people
  std::vector<Group> groups;
  std::vector<ControlResult> results;
  Totals totals;
};

/// Which controls to run. Patterns are ids ("5.10"), globs with '*' ("1.1.*") or a group prefix
/// ("3" selects 3.x). Empty `only` = all. level 0 = all levels, N = controls of level <= N.
struct Selection {
  std::vector<std::string> only;
  std::vector<std::string> skip;
  int level = 0;
};

/// Splits "5.4, 5.10" into patterns; empty parts are dropped.
std::vector<std::string> SplitPatterns(std::string_view list);
bool MatchesPattern(std::string_view id, std::string_view pattern);
bool Selected(const Control& control, const Selection& selection);
/// A pattern that matches none of the ids is an error (a typo would silently select nothing).
Result<void> ValidateSelection(const std::vector<std::string>& ids, const Selection& selection);

Totals ComputeTotals(const std::vector<ControlResult>& results);

/// Runs the selected checks in order. `input_error(name)` returns nullptr when the input is
/// available, else the reason it is not; a check missing an input is WARN with that reason and its
/// evaluator is not called, so an evaluator never sees facts that were not read.
template <typename Facts>
std::vector<ControlResult> RunChecks(
    const std::vector<Check<Facts>>& checks, const Facts& facts, const Selection& selection,
    const std::function<const std::string*(std::string_view)>& input_error) {
  std::vector<ControlResult> results;
  for (const Check<Facts>& check : checks) {
    if (!Selected(check.control, selection)) continue;
    ControlResult result{check.control, {}};
    std::vector<std::string> missing;
    for (const std::string& input : check.inputs) {
      if (const std::string* why = input_error(input)) missing.push_back(input + ": " + *why);
    }
    if (!missing.empty()) {
      result.outcome = Warn("could not read the inputs this control needs", std::move(missing));
    } else {
      result.outcome = check.evaluate(facts);
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace moat::cis
