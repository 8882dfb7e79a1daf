// Disable rules, recommendations and the secure score: pure functions over the estate.

#include "server/assess/assess.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "core/text.h"
#include "core/vulnerability.h"

namespace moat::server::assess {
namespace {

constexpr const char* kSeverityNames[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

bool ContainsIgnoreCase(std::string_view text, std::string_view part) {
  return AsciiLower(text).find(AsciiLower(part)) != std::string::npos;
}

bool IsSeverityName(std::string_view name) {
  for (const char* known : kSeverityNames) {
    if (EqualsIgnoreCase(name, known)) return true;
  }
  return false;
}

/// Rank of a finding or recommendation severity, higher = more severe (core's order, any case).
int SeverityOrder(std::string_view severity) { return SeverityRank(AsciiLower(severity)); }

bool RuleMatches(const DisableRule& rule, const FindingFacts& finding, std::time_t now) {
  if (rule.expires_at != 0 && now >= rule.expires_at) return false;
  // Scope: registries are host names (case does not matter); clusters and namespaces are names
  // Kubernetes compares exactly.
  if (!rule.scope_registry.empty() && !EqualsIgnoreCase(rule.scope_registry, finding.registry)) {
    return false;
  }
  if (!rule.scope_cluster.empty() && rule.scope_cluster != finding.cluster) return false;
  if (!rule.scope_namespace.empty() && rule.scope_namespace != finding.namespace_name) {
    return false;
  }
  if (!rule.finding_ids.empty() &&
      std::none_of(rule.finding_ids.begin(), rule.finding_ids.end(), [&](const std::string& id) {
        return EqualsIgnoreCase(id, finding.finding_id);
      })) {
    return false;
  }
  if (!rule.category.empty() && !ContainsIgnoreCase(finding.category, rule.category)) return false;
  if (!rule.title_contains.empty() && !ContainsIgnoreCase(finding.title, rule.title_contains)) {
    return false;
  }
  // An unknown score (-1) is not "below" anything: the rule cannot vouch for it.
  if (rule.cvss_below >= 0 && !(finding.cvss >= 0 && finding.cvss < rule.cvss_below)) {
    return false;
  }
  if (!rule.severities.empty() &&
      std::none_of(rule.severities.begin(), rule.severities.end(),
                   [&](const std::string& s) { return EqualsIgnoreCase(s, finding.severity); })) {
    return false;
  }
  if (rule.patchable != -1 && finding.patchable != (rule.patchable == 1)) return false;
  return true;
}

/// In use first (the sensor saw the package's files loaded in a running container: issue 10
/// ranks those first), then most severe, known-exploited, highest CVSS; the id keeps the order
/// stable.
bool FindingBefore(const FindingFacts& a, const FindingFacts& b) {
  return std::make_tuple(!a.in_use, -SeverityOrder(a.severity), !a.kev, -a.cvss,
                         std::string_view(a.finding_id)) <
         std::make_tuple(!b.in_use, -SeverityOrder(b.severity), !b.kev, -b.cvss,
                         std::string_view(b.finding_id));
}

using ResourceKey = std::pair<std::string, std::string>;  // kind, id

}  // namespace

Result<void> ValidateDisableRule(const DisableRule& rule) {
  const std::string where = "disable rule" + (rule.id.empty() ? "" : " '" + rule.id + "'");
  bool has_criterion = !rule.finding_ids.empty() || !rule.category.empty() ||
                       !rule.title_contains.empty() || rule.cvss_below != -1 ||
                       !rule.severities.empty() || rule.patchable != -1;
  if (!has_criterion) {
    return Fail(where,
                ": no criterion (finding_ids, category, title_contains, cvss_below, severities "
                "or patchable); a scope alone would disable every finding in it");
  }
  for (size_t i = 0; i < rule.finding_ids.size(); ++i) {
    if (rule.finding_ids[i].empty()) {
      return Fail(where, ": finding_ids[", std::to_string(i), "] is empty");
    }
  }
  if (rule.cvss_below != -1 && !(rule.cvss_below > 0 && rule.cvss_below <= 10)) {
    return Fail(where, ": cvss_below ", std::to_string(rule.cvss_below),
                " is outside (0, 10] (a CVSS v3 score is 0.0 to 10.0)");
  }
  for (size_t i = 0; i < rule.severities.size(); ++i) {
    if (!IsSeverityName(rule.severities[i])) {
      return Fail(where, ": severities[", std::to_string(i), "] '", rule.severities[i],
                  "' is not one of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN");
    }
  }
  if (rule.patchable < -1 || rule.patchable > 1) {
    return Fail(where, ": patchable ", std::to_string(rule.patchable),
                " is not -1 (any), 0 (not patchable) or 1 (patchable)");
  }
  if (rule.expires_at < 0) {
    return Fail(where, ": expires_at ", std::to_string(rule.expires_at),
                " is negative (0 = never)");
  }
  return Ok();
}

bool IsDisabled(const FindingFacts& finding, const std::vector<DisableRule>& rules,
                std::time_t now) {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const DisableRule& rule) { return RuleMatches(rule, finding, now); });
}

Recommender::Recommender(const std::vector<Resource>& resources, std::vector<DisableRule> rules,
                         std::time_t now, std::string keep_findings_of)
    : rules_(std::move(rules)), now_(now), keep_findings_of_(std::move(keep_findings_of)) {
  for (const Resource& resource : resources) {
    if (by_key_.emplace(ResourceKey{resource.kind, resource.id}, &resource).second) {
      ++assessed_by_kind_[resource.kind];
    }
  }
}

void Recommender::Add(const FindingFacts& finding) {
  const RecommendationDefinition* definition = RecommendationFor(finding);
  if (definition == nullptr) return;
  auto resource = by_key_.find({finding.resource_kind, finding.resource_id});
  if (resource == by_key_.end()) return;  // its resource is gone (deleted image, manifest)
  if (IsDisabled(finding, rules_, now_)) return;
  UnhealthyResource& affected = unhealthy_[definition][resource->second];
  ++affected.finding_count;
  auto& kept = affected.findings;
  if (keep_findings_of_ == "*" || keep_findings_of_ == definition->id) {
    kept.push_back(finding);  // sorted by Finish
    return;
  }
  // Only the worst few, kept sorted: once full, most findings are not worse than the last.
  if (kept.size() == kWorstFindingsKept && !FindingBefore(finding, kept.back())) return;
  kept.insert(std::upper_bound(kept.begin(), kept.end(), finding, FindingBefore), finding);
  if (kept.size() > kWorstFindingsKept) kept.pop_back();
}

std::vector<Recommendation> Recommender::Finish() {
  std::vector<Recommendation> out;
  for (auto& [definition, affected] : unhealthy_) {
    Recommendation recommendation{definition, {}, assessed_by_kind_[definition->resource_kind]};
    for (auto& [resource, unhealthy] : affected) {
      std::sort(unhealthy.findings.begin(), unhealthy.findings.end(), FindingBefore);
      unhealthy.resource = *resource;
      recommendation.unhealthy.push_back(std::move(unhealthy));
    }
    // The resource with the worst finding first, then the one with most findings.
    std::sort(recommendation.unhealthy.begin(), recommendation.unhealthy.end(),
              [](const UnhealthyResource& a, const UnhealthyResource& b) {
                if (FindingBefore(a.findings.front(), b.findings.front())) return true;
                if (FindingBefore(b.findings.front(), a.findings.front())) return false;
                if (a.finding_count != b.finding_count) return a.finding_count > b.finding_count;
                return a.resource.id < b.resource.id;
              });
    out.push_back(std::move(recommendation));
  }
  unhealthy_.clear();
  std::sort(out.begin(), out.end(), [](const Recommendation& a, const Recommendation& b) {
    int a_rank = SeverityOrder(a.definition->severity);
    int b_rank = SeverityOrder(b.definition->severity);
    if (a_rank != b_rank) return a_rank > b_rank;
    if (a.unhealthy.size() != b.unhealthy.size()) return a.unhealthy.size() > b.unhealthy.size();
    return a.definition->id < b.definition->id;
  });
  return out;
}

std::vector<Recommendation> Recommend(const std::vector<Resource>& resources,
                                      const std::vector<FindingFacts>& findings,
                                      const std::vector<DisableRule>& rules, std::time_t now) {
  Recommender recommender(resources, rules, now);
  for (const FindingFacts& finding : findings) recommender.Add(finding);
  return recommender.Finish();
}

SecureScore ComputeScore(const std::vector<Resource>& resources,
                         const std::vector<Recommendation>& recommendations) {
  std::map<std::string, std::set<std::string>> kinds_by_control;
  for (const RecommendationDefinition& definition : RecommendationCatalog()) {
    kinds_by_control[definition.control].insert(definition.resource_kind);
  }
  std::map<std::string, std::set<ResourceKey>> unhealthy_by_control;
  for (const Recommendation& recommendation : recommendations) {
    for (const UnhealthyResource& affected : recommendation.unhealthy) {
      unhealthy_by_control[recommendation.definition->control].insert(
          {affected.resource.kind, affected.resource.id});
    }
  }
  std::set<std::string> covered_kinds;
  for (const auto& [control, kinds] : kinds_by_control) {
    covered_kinds.insert(kinds.begin(), kinds.end());
  }
  std::set<ResourceKey> present;
  for (const Resource& resource : resources) present.insert({resource.kind, resource.id});
  SecureScore score;
  for (const ResourceKey& key : present) score.assessed += covered_kinds.count(key.first);

  for (const SecurityControl& control : SecurityControls()) {
    auto kinds = kinds_by_control.find(control.name);
    if (kinds == kinds_by_control.end()) continue;
    ControlScore entry;
    entry.control = control.name;
    entry.max_points = control.max_points;
    const std::set<ResourceKey>& unhealthy = unhealthy_by_control[control.name];
    for (const ResourceKey& key : present) {
      if (kinds->second.count(key.first) == 0) continue;
      ++entry.total;
      if (unhealthy.count(key) == 0) ++entry.healthy;
    }
    // A control with nothing of its kinds in the estate is not applicable: it adds neither points
    // nor maximum, or an estate of images alone would get the host and workload controls'
    // points for free.
    if (entry.total > 0) {
      entry.points = static_cast<double>(control.max_points) * static_cast<double>(entry.healthy) /
                     static_cast<double>(entry.total);
      score.points += entry.points;
      score.max_points += entry.max_points;
    }
    score.controls.push_back(std::move(entry));
  }
  score.percent = score.max_points == 0 ? 0 : 100.0 * score.points / score.max_points;
  return score;
}

}  // namespace moat::server::assess
