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
  std::vector<assess::FindingFacts> findings;  // open findings of those resources
  std::vector<assess::DisableRule> disable_rules;
  std::vector<assess::Recommendation> recommendations;
  assess::SecureScore score;
};

/// Reads the store and assesses it at `now` (Unix seconds; decides which disable rules expired).
Result<Posture> AssessPosture(Store& store, int64_t now);

/// The figures the daily trend keeps (docs/server.md, "Trend"): score.percent, score.points,
/// score.max_points, findings.open.<SEVERITY> (open findings of assessed resources that no
/// disable rule covers at `now`; a finding counts once per resource it is on),
/// recommendations.active, resources.assessed and resources.unhealthy.
std::map<std::string, double> PostureFigures(const Posture& posture, int64_t now);

}  // namespace moat::server
