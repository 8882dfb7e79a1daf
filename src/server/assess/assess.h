#pragma once
// Recommendations, disable rules and the secure score of the security center: pure functions from
// the estate's resources and findings to what an administrator acts on. Healthy resources produce
// nothing: a recommendation lists only the resources that fail it.
//
// The catalog of recommendations is the seed's (mdc_recommendations_containers_2024.csv,
// asc_recommendations_containers_2020.csv) restricted to those that apply to a self-hosted estate;
// docs/server/recommendations.md maps each to the findings that drive it or says why it does not
// apply. Secure score controls and points are mdc_secure_score_controls.csv's.

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::server::assess {

/// Kinds of resources the center assesses (the `kind` strings of the REST API).
inline constexpr const char* kRegistryImage = "registry_image";  // an image in a registry
inline constexpr const char* kRunningImage = "running_image";    // an image a container runs
inline constexpr const char* kHost = "host";                     // a Docker host (CIS Docker)
inline constexpr const char* kCluster = "cluster";
inline constexpr const char* kWorkload = "workload";  // cluster/namespace/kind/name

struct Resource {
  std::string kind;  // one of the constants above
  std::string id;    // image digest, host id, cluster id, "cluster/ns/Kind/name"
  std::string name;  // for people: "registry/repo:tag", host name, ...
  // Scope, for disable rules and filters (empty when not applicable).
  std::string registry;
  std::string cluster;
  std::string namespace_name;
};

/// The part of a stored finding that assessment looks at.
struct FindingFacts {
  std::string resource_kind;
  std::string resource_id;
  /// "vulnerability" (image scan), "cis-docker" (moat bench docker), "k8s" (moat k8s check),
  /// "k8s-node" (CIS Kubernetes node).
  std::string source;
  std::string finding_id;  // CVE-2024-1234, CIS "5.4", k8s check id "privileged", ...
  std::string category;    // vulnerability: package type ("debian", "python-pkg"); checks: group
  std::string title;       // the "security check" text rules may match
  std::string severity;    // CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN
  double cvss = -1;        // CVSS v3 base score, -1 when unknown
  bool patchable = false;  // a fixed version exists
  bool kev = false;        // in CISA's Known Exploited Vulnerabilities
  bool in_use = false;     // the sensor saw the package's files loaded in a running container
  // Scope copied from the resource.
  std::string registry;
  std::string cluster;
  std::string namespace_name;
};

/// A rule that disables findings (the seed's "Disable specific findings"): every set criterion
/// must match; a rule with a scope applies only inside it; an expired rule applies to nothing.
struct DisableRule {
  std::string id;
  std::vector<std::string> finding_ids;  // exact ids (case-insensitive)
  std::string category;                  // substring of category, case-insensitive
  std::string title_contains;            // substring of title ("security check"), case-insensitive
  double cvss_below = -1;                // findings with 0 <= cvss < this
  std::vector<std::string> severities;   // CRITICAL..UNKNOWN
  int patchable = -1;                    // -1 any, 0 only non-patchable, 1 only patchable
  std::string scope_registry;
  std::string scope_cluster;
  std::string scope_namespace;
  std::time_t expires_at = 0;  // 0 = never
};

/// Validates a rule from the API (at least one criterion, known severities, cvss 0..10).
Result<void> ValidateDisableRule(const DisableRule& rule);
bool IsDisabled(const FindingFacts& finding, const std::vector<DisableRule>& rules,
                std::time_t now);

/// One entry of the catalog.
struct RecommendationDefinition {
  std::string id;        // stable slug: "registry-images-vulnerabilities"
  std::string title;     // the seed's wording, adapted where it names a cloud product
  std::string severity;  // the seed's: High, Medium, Low
  std::string control;   // secure score control (mdc_secure_score_controls.csv)
  std::string resource_kind;
  std::string description;
  std::string remediation;
  std::string seed_source;  // which seed file/row it comes from
  /// The seed rows it implements, verbatim (a 2020 and a 2024 row often name the same thing).
  std::vector<std::string> seed_titles;
};
const std::vector<RecommendationDefinition>& RecommendationCatalog();
const RecommendationDefinition* FindRecommendation(std::string_view id);

/// One row of the table that routes findings to recommendations: a finding on a resource of
/// `resource_kind` from `source` whose id matches the glob `finding_id` belongs to
/// `recommendation_id`. Rows are tried in order and the first match decides, so a finding belongs
/// to at most one recommendation (the CIS Docker rows end with a "*" row that collects every
/// control no specific recommendation takes).
///
/// Where findings are expected: vulnerability findings on registry_image and running_image;
/// "cis-docker" on host; "k8s" on workload (any Kubernetes object a check reports on: pods and
/// controllers, RBAC roles and bindings, Services, Ingresses, Namespaces); "k8s-node" on cluster.
struct FindingMapping {
  std::string resource_kind;
  std::string source;
  std::string finding_id;  // glob: "5.5", "rbac-*", "*"
  std::string recommendation_id;
};
const std::vector<FindingMapping>& FindingMappings();
/// The recommendation a finding belongs to; nullptr when none (the finding is still a finding,
/// it just does not make its resource unhealthy for any recommendation).
const RecommendationDefinition* RecommendationFor(const FindingFacts& finding);

/// A seed row that does not apply to a self-hosted estate, and why.
struct NotApplicableSeed {
  std::string seed_file;  // "mdc_recommendations_containers_2024.csv"
  std::string title;      // verbatim
  std::string reason;
};
const std::vector<NotApplicableSeed>& NotApplicableSeedRecommendations();

/// A Moat check that no seed recommendation corresponds to (its findings are reported, they
/// make no resource unhealthy), and why.
struct CheckWithoutRecommendation {
  std::string source;
  std::string finding_id;
  std::string reason;
};
const std::vector<CheckWithoutRecommendation>& ChecksWithoutRecommendation();

/// The secure score controls of mdc_secure_score_controls.csv with their maximum points.
struct SecurityControl {
  std::string name;
  int max_points = 0;
};
const std::vector<SecurityControl>& SecurityControls();

/// How many of an unhealthy resource's worst findings a Recommender keeps when it does not keep
/// them all: enough for a recommendation page's summary of each resource (the dashboard shows
/// five) to come from the kept posture without reading the store.
inline constexpr size_t kWorstFindingsKept = 10;

struct UnhealthyResource {
  Resource resource;
  /// The findings (not disabled) that make it unhealthy: most severe first, then known exploited
  /// (KEV), then in use, then highest CVSS. Only the kWorstFindingsKept first (the worst) when
  /// the Recommender was told not to keep them all.
  std::vector<FindingFacts> findings;
  size_t finding_count = 0;  // all of them, kept or not
};

struct Recommendation {
  const RecommendationDefinition* definition;
  std::vector<UnhealthyResource> unhealthy;  // never empty
  size_t assessed = 0;                       // resources of its kind that were assessed
};

/// Recommend, one finding at a time: what it holds grows with the unhealthy (recommendation,
/// resource) pairs, not with the findings (300,000 open findings over 1,000 images are read from
/// the store a page at a time and never all in memory). Each unhealthy resource keeps every
/// finding of the recommendation `keep_findings_of` ("*": of every recommendation) and only its
/// kWorstFindingsKept worst findings and their count for the others.
class Recommender {
 public:
  /// `resources` must outlive the Recommender.
  Recommender(const std::vector<Resource>& resources, std::vector<DisableRule> rules,
              std::time_t now, std::string keep_findings_of = "*");
  void Add(const FindingFacts& finding);
  /// The recommendations of the findings added, as Recommend orders them.
  std::vector<Recommendation> Finish();

 private:
  using ResourceKey = std::pair<std::string, std::string>;  // kind, id
  std::vector<DisableRule> rules_;
  std::time_t now_;
  std::string keep_findings_of_;
  std::map<ResourceKey, const Resource*> by_key_;
  std::map<std::string, size_t> assessed_by_kind_;
  // In catalog (pointer) order, then resource, so that ties sort stably.
  std::map<const RecommendationDefinition*, std::map<const Resource*, UnhealthyResource>>
      unhealthy_;
};

/// The recommendations with at least one unhealthy resource, by severity then affected count.
/// A finding counts when it is not disabled, RecommendationFor routes it, and its resource
/// (kind and id) is among `resources`; findings of resources that are gone are ignored. Within a
/// recommendation the resource with the worst finding comes first.
std::vector<Recommendation> Recommend(const std::vector<Resource>& resources,
                                      const std::vector<FindingFacts>& findings,
                                      const std::vector<DisableRule>& rules, std::time_t now);

struct ControlScore {
  std::string control;
  int max_points = 0;
  size_t healthy = 0;
  size_t total = 0;
  double points = 0;  // max_points * healthy / total; 0 when total is 0 (not applicable)
};
struct SecureScore {
  std::vector<ControlScore> controls;  // only controls with at least one recommendation mapped
  double points = 0;                   // over the applicable controls (total > 0)
  int max_points = 0;                  // of the applicable controls
  double percent = 0;                  // 100 * points / max_points; 0 when nothing is applicable
  /// Resources of the kinds the controls cover. 0: nothing was assessed (the API reports no
  /// score).
  size_t assessed = 0;
};
/// The score from the same inputs: a resource is healthy for a control when no recommendation of
/// that control lists it. A control covers the resource kinds of its catalog recommendations;
/// total = the resources of those kinds. Controls in SecurityControls() order; formula in
/// docs/server/recommendations.md.
SecureScore ComputeScore(const std::vector<Resource>& resources,
                         const std::vector<Recommendation>& recommendations);

}  // namespace moat::server::assess
