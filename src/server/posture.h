#pragma once
// The estate's posture at one moment: the assessed resources (scanned registry images, running
// images, hosts), their open findings, the disable rules in force, the recommendations that list
// unhealthy resources and the secure score. The API's recommendations and score routes and the
// scheduler's daily trend snapshot all read it from here, so they can never disagree.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/assess/assess.h"

namespace moat::server {

class Store;

struct Posture {
  std::vector<assess::Resource> resources;
  /// Open findings that no disable rule covers, by severity (CRITICAL .. UNKNOWN), once per
  /// assessed resource they are on (a running image's finding counts for the registry image too).
  std::map<std::string, int64_t> open_findings;
  std::vector<assess::DisableRule> disable_rules;
  std::vector<assess::Recommendation> recommendations;
  assess::SecureScore score;
};

/// Reads the store and assesses it at `now` (Unix seconds; decides which disable rules expired).
/// The findings are read a page at a time and only totalled per resource: each unhealthy
/// resource of a recommendation holds its worst finding, and every one of its findings only for
/// the recommendation `keep_findings_of` (an id, "*" for all; assess::Recommender).
Result<Posture> AssessPosture(Store& store, int64_t now, const std::string& keep_findings_of = "");

/// The figures the daily trend keeps (docs/server.md, "Trend"): score.percent, score.points,
/// score.max_points, findings.open.<SEVERITY> (open findings of assessed resources that no
/// disable rule covers at `now`; a finding counts once per resource it is on),
/// recommendations.active, resources.assessed and resources.unhealthy.
std::map<std::string, double> PostureFigures(const Posture& posture);

}  // namespace moat::server
