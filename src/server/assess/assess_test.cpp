// The catalog against the seed files and the real check libraries, disable rules, recommendations
// and the secure score.

#include "server/assess/assess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "cis/docker/collect.h"
#include "cis/kubernetes-node/node.h"
#include "core/bytes.h"
#include "core/text.h"
#include "csv.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::server::assess {
namespace {

// ---------------------------------------------------------------------------------------------
// Seed files

std::string SeedPath(const std::string& name) {
  const char* dir = std::getenv("MOAT_SHARED_DATA_DIR");
  return std::string(dir != nullptr ? dir : MOAT_SHARED_DATA_DIR) + "/seed/" + name;
}

/// The rows of a seed CSV as column -> value maps.
std::vector<std::map<std::string, std::string>> ReadSeed(const std::string& name) {
  auto text = ReadFileToString(SeedPath(name));
  EXPECT_TRUE(text.ok()) << SeedPath(name) << ": " << (text.ok() ? "" : text.error().message);
  if (!text.ok()) return {};
  auto rows = ParseCsv(*text);
  std::vector<std::map<std::string, std::string>> out;
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].size(), rows[0].size()) << name << " row " << i + 1;
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < rows[0].size() && c < rows[i].size(); ++c) row[rows[0][c]] = rows[i][c];
    out.push_back(std::move(row));
  }
  return out;
}

struct SeedRow {
  std::string file;
  std::string title;
  std::string severity;
};

std::vector<SeedRow> AllSeedRows() {
  std::vector<SeedRow> rows;
  for (const auto& row : ReadSeed("mdc_recommendations_containers_2024.csv")) {
    rows.push_back(
        {"mdc_recommendations_containers_2024.csv", row.at("recommendation"), row.at("severity")});
  }
  for (const auto& row : ReadSeed("asc_recommendations_containers_2020.csv")) {
    rows.push_back(
        {"asc_recommendations_containers_2020.csv", row.at("recommendation"), row.at("severity")});
  }
  return rows;
}

bool ImplementsSeed(const RecommendationDefinition& definition, const std::string& title) {
  return std::find(definition.seed_titles.begin(), definition.seed_titles.end(), title) !=
         definition.seed_titles.end();
}

TEST(Catalog, EverySeedRowIsEitherInTheCatalogOrNotApplicableWithAReason) {
  std::vector<SeedRow> seed = AllSeedRows();
  ASSERT_EQ(seed.size(), 48u + 21u) << "the seed files changed: decide for the new rows";
  for (const SeedRow& row : seed) {
    size_t in_catalog = std::count_if(
        RecommendationCatalog().begin(), RecommendationCatalog().end(),
        [&](const RecommendationDefinition& d) { return ImplementsSeed(d, row.title); });
    size_t not_applicable =
        std::count_if(NotApplicableSeedRecommendations().begin(),
                      NotApplicableSeedRecommendations().end(), [&](const NotApplicableSeed& na) {
                        return na.seed_file == row.file && na.title == row.title;
                      });
    EXPECT_TRUE((in_catalog > 0) != (not_applicable > 0))
        << row.file << ": \"" << row.title << "\" in catalog " << in_catalog
        << " times, not applicable " << not_applicable << " times";
  }
  // Nothing stale: every title the code names is a seed row.
  auto in_seed = [&](const std::string& title, const std::string& file) {
    return std::any_of(seed.begin(), seed.end(), [&](const SeedRow& row) {
      return row.title == title && (file.empty() || row.file == file);
    });
  };
  for (const RecommendationDefinition& d : RecommendationCatalog()) {
    EXPECT_FALSE(d.seed_titles.empty()) << d.id;
    for (const std::string& title : d.seed_titles)
      EXPECT_TRUE(in_seed(title, "")) << d.id << ": " << title;
  }
  for (const NotApplicableSeed& na : NotApplicableSeedRecommendations()) {
    EXPECT_TRUE(in_seed(na.title, na.seed_file)) << na.title;
    EXPECT_GT(na.reason.size(), 10u) << na.title;
  }
}

TEST(Catalog, IdsAreUniqueAndEntriesComplete) {
  std::set<std::string> ids;
  const std::set<std::string> kinds = {kRegistryImage, kRunningImage, kHost, kCluster, kWorkload};
  for (const RecommendationDefinition& d : RecommendationCatalog()) {
    EXPECT_TRUE(ids.insert(d.id).second) << "duplicate id " << d.id;
    EXPECT_EQ(FindRecommendation(d.id), &d);
    EXPECT_TRUE(kinds.count(d.resource_kind)) << d.id << ": " << d.resource_kind;
    EXPECT_FALSE(d.title.empty() || d.description.empty() || d.remediation.empty() ||
                 d.seed_source.empty())
        << d.id;
    EXPECT_TRUE(d.severity == "High" || d.severity == "Medium" || d.severity == "Low") << d.id;
  }
  EXPECT_EQ(FindRecommendation("no-such-recommendation"), nullptr);
}

// The severity is the seed's: the 2024 row's where there is one (it supersedes 2020's).
TEST(Catalog, SeverityIsTheSeeds) {
  std::vector<SeedRow> seed = AllSeedRows();
  for (const RecommendationDefinition& d : RecommendationCatalog()) {
    std::string expected;
    for (const char* file :
         {"mdc_recommendations_containers_2024.csv", "asc_recommendations_containers_2020.csv"}) {
      for (const SeedRow& row : seed) {
        if (expected.empty() && row.file == file && ImplementsSeed(d, row.title)) {
          expected = row.severity;
        }
      }
    }
    if (expected == "(not captured)") {
      // The CIS Docker row: the seed has no severity; docs/server/recommendations.md says why
      // Medium.
      EXPECT_EQ(d.severity, "Medium") << d.id;
      continue;
    }
    EXPECT_EQ(d.severity, expected) << d.id;
  }
}

TEST(Catalog, ControlsAndPointsAreTheScoreCsvs) {
  auto rows = ReadSeed("mdc_secure_score_controls.csv");
  ASSERT_EQ(rows.size(), SecurityControls().size());
  std::map<std::string, int> points;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(SecurityControls()[i].name, rows[i].at("security_control"));
    EXPECT_EQ(SecurityControls()[i].max_points, std::stoi(rows[i].at("max_points")));
    points[rows[i].at("security_control")] = std::stoi(rows[i].at("max_points"));
  }
  for (const RecommendationDefinition& d : RecommendationCatalog()) {
    EXPECT_TRUE(points.count(d.control)) << d.id << ": control \"" << d.control << "\"";
  }
  // Where the CSV's third column names a recommendation (a prefix, "..." or "(2019) " aside),
  // the catalog puts it in that control.
  size_t checked = 0;
  const std::string list_column =
      "container_recommendations_in_control (from kubernetes-workload-protections 2021 + 2019 "
      "preview table)";
  for (const auto& row : rows) {
    for (std::string_view item : Split(row.at(list_column), ';')) {
      std::string name(TrimSpace(item));
      for (const char* noise : {"(2019) ", "..."}) {
        for (size_t at; (at = name.find(noise)) != std::string::npos;)
          name.erase(at, strlen(noise));
      }
      if (!name.empty() && name.front() == '(') name = name.substr(1, name.find(')') - 1);
      if (name.size() < 20) continue;
      for (const RecommendationDefinition& d : RecommendationCatalog()) {
        for (const std::string& title : d.seed_titles) {
          if (title.rfind(name, 0) == 0) {
            EXPECT_EQ(d.control, row.at("security_control")) << d.id << " (\"" << name << "\")";
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GE(checked, 30u) << "the third column no longer names the catalog's recommendations";
}

// ---------------------------------------------------------------------------------------------
// The finding table against the real check libraries

std::vector<std::string> K8sCheckIds() {
  std::vector<std::string> ids;
  for (const k8s::CheckInfo& check : k8s::AllChecks()) ids.push_back(check.id);
  return ids;
}
std::vector<std::string> DockerControlIds() {
  std::vector<std::string> ids;
  for (const auto& check : cis::docker::DockerChecks()) ids.push_back(check.control.id);
  return ids;
}
std::vector<std::string> NodeControlIds() {
  std::vector<std::string> ids;
  for (const auto& check : cis::k8s_node::NodeChecks()) ids.push_back(check.control.id);
  return ids;
}

FindingFacts Fact(std::string kind, std::string resource_id, std::string source,
                  std::string finding_id, std::string severity = "HIGH") {
  FindingFacts f;
  f.resource_kind = std::move(kind);
  f.resource_id = std::move(resource_id);
  f.source = std::move(source);
  f.finding_id = std::move(finding_id);
  f.severity = std::move(severity);
  return f;
}

TEST(FindingMappings, NameRealChecksAndCatalogEntriesOfTheSameKind) {
  std::map<std::string, std::vector<std::string>> ids_by_source = {
      {"k8s", K8sCheckIds()}, {"cis-docker", DockerControlIds()}, {"k8s-node", NodeControlIds()}};
  ASSERT_GT(ids_by_source["k8s"].size(), 50u);
  ASSERT_GT(ids_by_source["cis-docker"].size(), 90u);
  ASSERT_GT(ids_by_source["k8s-node"].size(), 20u);
  std::set<std::string> routed;
  for (const FindingMapping& row : FindingMappings()) {
    const RecommendationDefinition* d = FindRecommendation(row.recommendation_id);
    ASSERT_NE(d, nullptr) << row.recommendation_id;
    EXPECT_EQ(row.resource_kind, d->resource_kind) << row.recommendation_id;
    routed.insert(d->id);
    if (row.source == "vulnerability") {
      EXPECT_EQ(row.finding_id, "*");
      continue;
    }
    ASSERT_TRUE(ids_by_source.count(row.source)) << row.source;
    const auto& ids = ids_by_source[row.source];
    EXPECT_TRUE(std::any_of(ids.begin(), ids.end(),
                            [&](const std::string& id) { return GlobMatch(row.finding_id, id); }))
        << row.source << " has no check " << row.finding_id;
  }
  for (const RecommendationDefinition& d : RecommendationCatalog()) {
    EXPECT_TRUE(routed.count(d.id)) << d.id << " has no finding that drives it";
  }
}

TEST(FindingMappings, EveryK8sCheckIsRoutedOrListedAsWithoutRecommendation) {
  for (const std::string& id : K8sCheckIds()) {
    bool routed = RecommendationFor(Fact(kWorkload, "c/ns/Pod/p", "k8s", id)) != nullptr;
    bool listed =
        std::any_of(ChecksWithoutRecommendation().begin(), ChecksWithoutRecommendation().end(),
                    [&](const CheckWithoutRecommendation& c) {
                      return c.source == "k8s" && c.finding_id == id;
                    });
    EXPECT_TRUE(routed != listed) << id << ": routed " << routed << ", listed " << listed;
  }
  for (const CheckWithoutRecommendation& c : ChecksWithoutRecommendation()) {
    EXPECT_NE(k8s::FindCheck(c.finding_id), nullptr) << "stale entry " << c.finding_id;
  }
}

TEST(FindingMappings, EveryCisControlLandsInExactlyOneHostOrClusterRecommendation) {
  std::map<std::string, std::vector<std::string>> by_recommendation;
  for (const std::string& id : DockerControlIds()) {
    const RecommendationDefinition* d = RecommendationFor(Fact(kHost, "h1", "cis-docker", id));
    ASSERT_NE(d, nullptr) << id;
    by_recommendation[d->id].push_back(id);
  }
  // The container runtime controls go where a Kubernetes user looks for the same risk.
  EXPECT_EQ(by_recommendation["host-privileged-containers"],
            (std::vector<std::string>{"5.5", "5.23"}));
  EXPECT_EQ(by_recommendation["host-capabilities"], std::vector<std::string>{"5.4"});
  EXPECT_EQ(by_recommendation["host-network-ports"],
            (std::vector<std::string>{"5.8", "5.10", "5.14"}));
  // Every other control is a security configuration, the daemon's and files' among them.
  const auto& rest = by_recommendation["host-security-configurations"];
  for (const char* id : {"1.1.1", "2.2", "2.7", "3.1", "4.6", "5.1", "5.22", "6.1", "7.2"}) {
    EXPECT_NE(std::find(rest.begin(), rest.end(), id), rest.end()) << id;
  }
  for (const std::string& id : NodeControlIds()) {
    const RecommendationDefinition* d = RecommendationFor(Fact(kCluster, "c1", "k8s-node", id));
    ASSERT_NE(d, nullptr) << id;
    EXPECT_EQ(d->id, "cluster-node-security-configurations");
  }
}

TEST(FindingMappings, KindAndSourceBothDecide) {
  EXPECT_EQ(RecommendationFor(Fact(kRegistryImage, "sha256:a", "vulnerability", "CVE-2024-1"))->id,
            "registry-images-vulnerabilities");
  EXPECT_EQ(RecommendationFor(Fact(kRunningImage, "sha256:a", "vulnerability", "CVE-2024-1"))->id,
            "running-images-vulnerabilities");
  EXPECT_EQ(RecommendationFor(Fact(kWorkload, "c/ns/Pod/p", "k8s", "wl-privileged"))->id,
            "workload-privileged-containers");
  EXPECT_EQ(RecommendationFor(
                Fact(kWorkload, "c//ClusterRoleBinding/b", "k8s", "rbac-cluster-admin-binding"))
                ->id,
            "rbac-least-privilege");
  // A CIS Docker id reported against a workload, or a k8s check against a host, routes nowhere.
  EXPECT_EQ(RecommendationFor(Fact(kWorkload, "c/ns/Pod/p", "cis-docker", "5.5")), nullptr);
  EXPECT_EQ(RecommendationFor(Fact(kHost, "h1", "k8s", "wl-privileged")), nullptr);
  EXPECT_EQ(RecommendationFor(Fact(kWorkload, "c/ns/Pod/p", "k8s", "wl-liveness-probe")), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Disable rules

FindingFacts Vulnerability(std::string image, std::string cve, std::string severity, double cvss,
                           bool patchable = true) {
  FindingFacts f =
      Fact(kRegistryImage, std::move(image), "vulnerability", std::move(cve), std::move(severity));
  f.category = "debian";
  f.title = "openssl: buffer overflow in X.509 name constraints";
  f.cvss = cvss;
  f.patchable = patchable;
  f.registry = "registry.example.com:5000";
  return f;
}

DisableRule Rule() {
  DisableRule rule;
  rule.id = "r1";
  return rule;
}

TEST(DisableRules, ValidationNamesTheProblem) {
  DisableRule empty = Rule();
  empty.scope_namespace = "dev";
  auto result = ValidateDisableRule(empty);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("disable rule 'r1': no criterion"), std::string::npos)
      << result.error().message;

  DisableRule severity = Rule();
  severity.severities = {"high", "SEVERE"};
  result = ValidateDisableRule(severity);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("severities[1] 'SEVERE'"), std::string::npos);

  for (double bad : {0.0, -0.5, 10.5}) {
    DisableRule cvss = Rule();
    cvss.cvss_below = bad;
    EXPECT_FALSE(ValidateDisableRule(cvss).ok()) << bad;
  }
  DisableRule patchable = Rule();
  patchable.patchable = 2;
  EXPECT_FALSE(ValidateDisableRule(patchable).ok());
  DisableRule blank_id = Rule();
  blank_id.finding_ids = {"CVE-2024-1", ""};
  EXPECT_FALSE(ValidateDisableRule(blank_id).ok());
  DisableRule expiry = Rule();
  expiry.category = "debian";
  expiry.expires_at = -1;
  EXPECT_FALSE(ValidateDisableRule(expiry).ok());

  DisableRule good = Rule();
  good.cvss_below = 6.5;
  good.severities = {"LOW", "medium"};
  good.patchable = 0;
  EXPECT_TRUE(ValidateDisableRule(good).ok());
  DisableRule only_id = Rule();
  only_id.finding_ids = {"CVE-2024-1"};
  EXPECT_TRUE(ValidateDisableRule(only_id).ok());
}

TEST(DisableRules, EachCriterionMatchesAndMisses) {
  const std::time_t now = 1'700'000'000;
  FindingFacts f = Vulnerability("sha256:a", "CVE-2024-0001", "MEDIUM", 5.3, false);
  struct Case {
    std::string what;
    DisableRule rule;
    bool disables;
  };
// Each rule sets only the fields it names; the others keep their "unset" defaults on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
  const std::vector<Case> cases = {
      {"id, other case", {.finding_ids = {"cve-2024-0001"}}, true},
      {"other id", {.finding_ids = {"CVE-2024-0002"}}, false},
      {"category substring", {.category = "DEB"}, true},
      {"other category", {.category = "redhat"}, false},
      {"security check text", {.title_contains = "x.509"}, true},
      {"other text", {.title_contains = "kernel"}, false},
      {"cvss below", {.cvss_below = 6.5}, true},
      {"cvss equal is not below", {.cvss_below = 5.3}, false},
      {"severity", {.severities = {"low", "medium"}}, true},
      {"other severity", {.severities = {"HIGH"}}, false},
      {"non-patchable", {.patchable = 0}, true},
      {"patchable only", {.patchable = 1}, false},
      {"all criteria together",
       {.category = "debian", .cvss_below = 7, .severities = {"MEDIUM"}, .patchable = 0},
       true},
      {"one of several criteria misses",
       {.category = "debian", .severities = {"MEDIUM"}, .patchable = 1},
       false},
      {"registry scope",
       {.category = "debian", .scope_registry = "REGISTRY.example.com:5000"},
       true},
      {"other registry", {.category = "debian", .scope_registry = "registry.example.com"}, false},
      {"not expired", {.category = "debian", .expires_at = now + 1}, true},
      {"expired", {.category = "debian", .expires_at = now}, false},
  };
#pragma GCC diagnostic pop
  for (const Case& c : cases) {
    ASSERT_TRUE(ValidateDisableRule(c.rule).ok()) << c.what;
    EXPECT_EQ(IsDisabled(f, {c.rule}, now), c.disables) << c.what;
  }
  // An unknown CVSS is not below any threshold.
  FindingFacts unscored = f;
  unscored.cvss = -1;
  DisableRule below = Rule();
  below.cvss_below = 10;
  EXPECT_FALSE(IsDisabled(unscored, {below}, now));
  // Any one rule is enough.
  EXPECT_TRUE(IsDisabled(f, {cases[1].rule, cases[0].rule}, now));
  EXPECT_FALSE(IsDisabled(f, {}, now));
}

TEST(DisableRules, ClusterAndNamespaceScope) {
  FindingFacts f = Fact(kWorkload, "prod/shop/Deployment/web", "k8s", "wl-privileged");
  f.cluster = "prod";
  f.namespace_name = "shop";
  DisableRule rule = Rule();
  rule.finding_ids = {"wl-privileged"};
  rule.scope_cluster = "prod";
  rule.scope_namespace = "shop";
  EXPECT_TRUE(IsDisabled(f, {rule}, 0));
  rule.scope_namespace = "Shop";  // Kubernetes names compare exactly
  EXPECT_FALSE(IsDisabled(f, {rule}, 0));
  rule.scope_namespace = "shop";
  rule.scope_cluster = "staging";
  EXPECT_FALSE(IsDisabled(f, {rule}, 0));
  rule.scope_cluster.clear();  // the namespace in any cluster
  EXPECT_TRUE(IsDisabled(f, {rule}, 0));
}

// ---------------------------------------------------------------------------------------------
// Recommendations

Resource MakeResource(std::string kind, std::string id) {
  Resource r;
  r.kind = std::move(kind);
  r.id = std::move(id);
  r.name = r.id;
  return r;
}

TEST(Recommend, HealthyResourcesProduceNothing) {
  std::vector<Resource> resources = {MakeResource(kRegistryImage, "sha256:a"),
                                     MakeResource(kHost, "h1"),
                                     MakeResource(kWorkload, "c/ns/Deployment/web")};
  EXPECT_TRUE(Recommend(resources, {}, {}, 0).empty());
  // Findings no recommendation takes leave their resource healthy too.
  EXPECT_TRUE(Recommend(resources,
                        {Fact(kWorkload, "c/ns/Deployment/web", "k8s", "wl-liveness-probe")}, {}, 0)
                  .empty());
}

TEST(Recommend, ListsUnhealthyResourcesWithTheirFindingsMostUrgentFirst) {
  std::vector<Resource> resources = {
      MakeResource(kRegistryImage, "sha256:a"), MakeResource(kRegistryImage, "sha256:b"),
      MakeResource(kRegistryImage, "sha256:c"), MakeResource(kRunningImage, "sha256:a")};
  std::vector<FindingFacts> findings;
  findings.push_back(Vulnerability("sha256:a", "CVE-1", "MEDIUM", 6.1));
  findings.push_back(Vulnerability("sha256:a", "CVE-2", "HIGH", 7.5));
  findings.push_back(Vulnerability("sha256:a", "CVE-3", "HIGH", 8.8));
  FindingFacts in_use = Vulnerability("sha256:a", "CVE-4", "HIGH", 7.0);
  in_use.in_use = true;
  findings.push_back(in_use);
  FindingFacts kev = Vulnerability("sha256:a", "CVE-5", "HIGH", 5.0);
  kev.kev = true;
  findings.push_back(kev);
  findings.push_back(Vulnerability("sha256:a", "CVE-6", "CRITICAL", 9.8));
  findings.push_back(Vulnerability("sha256:b", "CVE-2", "HIGH", 7.5));
  findings.push_back(Vulnerability("sha256:gone", "CVE-2", "HIGH", 7.5));  // not in resources
  auto recommendations = Recommend(resources, findings, {}, 0);
  ASSERT_EQ(recommendations.size(), 1u);
  const Recommendation& r = recommendations[0];
  EXPECT_EQ(r.definition->id, "registry-images-vulnerabilities");
  EXPECT_EQ(r.assessed, 3u);
  ASSERT_EQ(r.unhealthy.size(), 2u);
  EXPECT_EQ(r.unhealthy[0].resource.id, "sha256:a");  // its most urgent finding is in use
  EXPECT_EQ(r.unhealthy[1].resource.id, "sha256:b");
  std::vector<std::string> order;
  for (const FindingFacts& f : r.unhealthy[0].findings) order.push_back(f.finding_id);
  // in use, then severity, then KEV, then CVSS
  EXPECT_EQ(order,
            (std::vector<std::string>{"CVE-4", "CVE-6", "CVE-5", "CVE-3", "CVE-2", "CVE-1"}));
}

TEST(Recommend, AResourceWithAFindingInUseComesFirst) {
  std::vector<Resource> resources = {MakeResource(kRegistryImage, "sha256:a"),
                                     MakeResource(kRegistryImage, "sha256:b")};
  FindingFacts loaded = Vulnerability("sha256:b", "CVE-1", "LOW", 2.0);
  loaded.in_use = true;
  auto recommendations =
      Recommend(resources, {Vulnerability("sha256:a", "CVE-2", "CRITICAL", 9.8), loaded}, {}, 0);
  ASSERT_EQ(recommendations.size(), 1u);
  ASSERT_EQ(recommendations[0].unhealthy.size(), 2u);
  EXPECT_EQ(recommendations[0].unhealthy[0].resource.id, "sha256:b");
  EXPECT_EQ(recommendations[0].unhealthy[1].resource.id, "sha256:a");
}

TEST(Recommend, SortedBySeverityThenAffectedCount) {
  std::vector<Resource> resources;
  std::vector<FindingFacts> findings;
  for (int i = 0; i < 3; ++i) {
    std::string id = "c/ns/Deployment/w" + std::to_string(i);
    resources.push_back(MakeResource(kWorkload, id));
    findings.push_back(Fact(kWorkload, id, "k8s", "wl-cpu-limits", "MEDIUM"));  // Medium rec
    if (i < 2) findings.push_back(Fact(kWorkload, id, "k8s", "wl-privileged", "CRITICAL"));
  }
  findings.push_back(Fact(kWorkload, "c/ns/Deployment/w0", "k8s", "wl-default-namespace", "LOW"));
  findings.push_back(Fact(kWorkload, "c/ns/Deployment/w0", "k8s", "wl-run-as-non-root", "MEDIUM"));
  auto recommendations = Recommend(resources, findings, {}, 0);
  std::vector<std::string> ids;
  for (const Recommendation& r : recommendations) ids.push_back(r.definition->id);
  // High first; then the Medium ones by affected count (limits 3, privileged 2); Low last.
  EXPECT_EQ(ids, (std::vector<std::string>{"workload-run-as-root", "workload-cpu-memory-limits",
                                           "workload-privileged-containers",
                                           "workload-default-namespace"}));
  for (const Recommendation& r : recommendations) EXPECT_EQ(r.assessed, 3u);
}

TEST(Recommend, DisabledFindingsDoNotCountAndTheScoreRises) {
  std::vector<Resource> resources = {MakeResource(kRegistryImage, "sha256:a"),
                                     MakeResource(kRegistryImage, "sha256:b")};
  resources[0].registry = resources[1].registry = "registry.example.com:5000";
  std::vector<FindingFacts> findings = {Vulnerability("sha256:a", "CVE-1", "LOW", 3.1, false),
                                        Vulnerability("sha256:a", "CVE-2", "MEDIUM", 5.0, false),
                                        Vulnerability("sha256:b", "CVE-3", "HIGH", 8.1, true)};
  auto before = Recommend(resources, findings, {}, 0);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].unhealthy.size(), 2u);
  SecureScore score_before = ComputeScore(resources, before);

  DisableRule rule = Rule();
  rule.patchable = 0;  // sha256:a has only non-patchable findings
  auto after = Recommend(resources, findings, {rule}, 0);
  ASSERT_EQ(after.size(), 1u);
  ASSERT_EQ(after[0].unhealthy.size(), 1u);
  EXPECT_EQ(after[0].unhealthy[0].resource.id, "sha256:b");
  SecureScore score_after = ComputeScore(resources, after);
  EXPECT_GT(score_after.points, score_before.points);

  // The same rule after its expiry disables nothing.
  rule.expires_at = 100;
  EXPECT_EQ(Recommend(resources, findings, {rule}, 100)[0].unhealthy.size(), 2u);
  EXPECT_EQ(Recommend(resources, findings, {rule}, 99)[0].unhealthy.size(), 1u);
  // Scoped to another registry it disables nothing either.
  rule.expires_at = 0;
  rule.scope_registry = "other.example.com";
  EXPECT_EQ(Recommend(resources, findings, {rule}, 0)[0].unhealthy.size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Secure score

const ControlScore* FindControl(const SecureScore& score, const std::string& name) {
  for (const ControlScore& c : score.controls) {
    if (c.control == name) return &c;
  }
  return nullptr;
}

TEST(SecureScore, SmallEstateByHand) {
  // 2 registry images, 1 running image, 1 host, 4 workloads, 1 cluster.
  std::vector<Resource> resources = {MakeResource(kRegistryImage, "sha256:a"),
                                     MakeResource(kRegistryImage, "sha256:b"),
                                     MakeResource(kRunningImage, "sha256:a"),
                                     MakeResource(kHost, "h1"),
                                     MakeResource(kWorkload, "c/ns/Deployment/w1"),
                                     MakeResource(kWorkload, "c/ns/Deployment/w2"),
                                     MakeResource(kWorkload, "c/ns/Deployment/w3"),
                                     MakeResource(kWorkload, "c/ns/Deployment/w4"),
                                     MakeResource(kCluster, "c")};
  std::vector<FindingFacts> findings = {
      Vulnerability("sha256:a", "CVE-1", "HIGH", 7.5),                // Remediate vulnerabilities
      Fact(kHost, "h1", "cis-docker", "5.5"),                         // Manage access
      Fact(kHost, "h1", "cis-docker", "2.7"),                         // Remediate configurations
      Fact(kWorkload, "c/ns/Deployment/w1", "k8s", "wl-privileged"),  // Manage access
      Fact(kWorkload, "c/ns/Deployment/w2", "k8s", "wl-run-as-non-root"),  // Manage access
      Fact(kWorkload, "c/ns/Deployment/w2", "k8s", "wl-cpu-limits"),       // DDoS
      Fact(kWorkload, "c/ns/Deployment/w3", "k8s", "net-ingress-tls"),     // Encrypt in transit
  };
  SecureScore score = ComputeScore(resources, Recommend(resources, findings, {}, 0));
  // Remediate vulnerabilities (6): registry + running images + workloads (trusted registries)
  // = 2 + 1 + 4 = 7 resources, 1 unhealthy -> 6 * 6/7.
  const ControlScore* vulns = FindControl(score, "Remediate vulnerabilities");
  ASSERT_NE(vulns, nullptr);
  EXPECT_EQ(vulns->total, 7u);
  EXPECT_EQ(vulns->healthy, 6u);
  EXPECT_DOUBLE_EQ(vulns->points, 6.0 * 6 / 7);
  // Manage access and permissions (4): workloads + hosts = 5, unhealthy w1, w2, h1 -> 4 * 2/5.
  const ControlScore* access = FindControl(score, "Manage access and permissions");
  ASSERT_NE(access, nullptr);
  EXPECT_EQ(access->total, 5u);
  EXPECT_EQ(access->healthy, 2u);
  EXPECT_DOUBLE_EQ(access->points, 1.6);
  // Remediate security configurations (4): workloads + hosts + clusters = 6, unhealthy h1.
  const ControlScore* configurations = FindControl(score, "Remediate security configurations");
  ASSERT_NE(configurations, nullptr);
  EXPECT_EQ(configurations->total, 6u);
  EXPECT_DOUBLE_EQ(configurations->points, 4.0 * 5 / 6);
  // Encrypt data in transit (4): workloads = 4, unhealthy w3 -> 3.
  EXPECT_DOUBLE_EQ(FindControl(score, "Encrypt data in transit")->points, 3.0);
  // Restrict unauthorized network access (4): workloads + hosts = 5, all healthy -> 4.
  EXPECT_DOUBLE_EQ(FindControl(score, "Restrict unauthorized network access")->points, 4.0);
  // Protect applications against DDoS attacks (2): workloads + hosts = 5, unhealthy w2 -> 1.6.
  EXPECT_DOUBLE_EQ(FindControl(score, "Protect applications against DDoS attacks")->points, 1.6);
  // Implement security best practices (0 points): present, worth nothing.
  EXPECT_EQ(FindControl(score, "Implement security best practices")->max_points, 0);
  // Controls no recommendation maps to are left out.
  EXPECT_EQ(FindControl(score, "Enable MFA"), nullptr);
  EXPECT_EQ(FindControl(score, "Apply system updates"), nullptr);
  EXPECT_EQ(score.controls.size(), 7u);
  EXPECT_EQ(score.max_points, 6 + 4 + 4 + 4 + 4 + 2 + 0);
  double points = 6.0 * 6 / 7 + 1.6 + 4.0 * 5 / 6 + 3.0 + 4.0 + 1.6 + 0;
  EXPECT_NEAR(score.points, points, 1e-9);
  EXPECT_NEAR(score.percent, 100 * points / 24, 1e-9);
}

TEST(SecureScore, NothingAssessedHasNoApplicableControl) {
  SecureScore score = ComputeScore({}, {});
  ASSERT_FALSE(score.controls.empty());
  for (const ControlScore& c : score.controls) {
    EXPECT_EQ(c.total, 0u);
    EXPECT_EQ(c.points, 0) << c.control;
  }
  EXPECT_EQ(score.assessed, 0u);
  EXPECT_EQ(score.max_points, 0);
  EXPECT_DOUBLE_EQ(score.percent, 0);
}

// An estate of registry images only: the workload, host and cluster controls have nothing to
// assess and count neither points nor maximum; the score is the vulnerability control's alone.
TEST(SecureScore, ControlsWithNothingToAssessAreNotApplicable) {
  std::vector<Resource> resources = {MakeResource(kRegistryImage, "sha256:a"),
                                     MakeResource(kRegistryImage, "sha256:b")};
  SecureScore all_healthy = ComputeScore(resources, {});
  EXPECT_EQ(all_healthy.assessed, 2u);
  EXPECT_EQ(all_healthy.max_points, 6);
  EXPECT_DOUBLE_EQ(all_healthy.percent, 100.0);
  const ControlScore* access = FindControl(all_healthy, "Manage access and permissions");
  ASSERT_NE(access, nullptr);
  EXPECT_EQ(access->total, 0u);
  EXPECT_EQ(access->points, 0);
}

// ---------------------------------------------------------------------------------------------
// Real checks: manifests assessed by the k8s check library, their findings recommended.

constexpr const char* kManifests = R"(apiVersion: v1
kind: Pod
metadata:
  name: bad
  namespace: shop
spec:
  hostPID: true
  containers:
  - name: app
    image: registry.example.com/shop/app:1.0
    securityContext:
      privileged: true
      runAsUser: 0
---
apiVersion: v1
kind: Pod
metadata:
  name: good
  namespace: shop
  annotations:
    container.apparmor.security.beta.kubernetes.io/app: runtime/default
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: registry.example.com/shop/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    resources:
      limits: {cpu: 100m, memory: 128Mi}
      requests: {cpu: 100m, memory: 128Mi}
    securityContext:
      privileged: false
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
)";

TEST(Recommend, RealK8sChecksMakeTheBadPodUnhealthyAndLeaveTheGoodOneOut) {
  k8s::LoadResult input;
  k8s::ParseManifests(kManifests, "pods.yaml", input);
  ASSERT_TRUE(input.errors.empty());
  auto assessment = k8s::Assess(std::move(input), {});
  ASSERT_TRUE(assessment.ok()) << assessment.error().message;
  std::vector<Resource> resources;
  for (const k8s::Object& object : assessment->objects) {
    Resource r = MakeResource(
        kWorkload, "prod/" + object.namespace_name + "/" + object.kind + "/" + object.name);
    r.cluster = "prod";
    r.namespace_name = object.namespace_name;
    resources.push_back(r);
  }
  std::vector<FindingFacts> findings;
  for (const k8s::Finding& finding : assessment->findings) {
    FindingFacts f = Fact(kWorkload, resources[finding.object].id, "k8s", finding.check->id,
                          std::string(k8s::SeverityName(finding.check->severity)));
    f.title = finding.check->title;
    f.category = finding.check->group;
    f.cluster = "prod";
    f.namespace_name = resources[finding.object].namespace_name;
    findings.push_back(f);
  }
  auto recommendations = Recommend(resources, findings, {}, 0);
  std::set<std::string> ids;
  for (const Recommendation& r : recommendations) {
    ids.insert(r.definition->id);
    for (const UnhealthyResource& u : r.unhealthy) {
      EXPECT_EQ(u.resource.id, "prod/shop/Pod/bad") << r.definition->id;
    }
  }
  for (const char* expected : {"workload-privileged-containers", "workload-host-namespaces",
                               "workload-run-as-root", "workload-cpu-memory-limits"}) {
    EXPECT_TRUE(ids.count(expected)) << expected;
  }
  // Disabling the namespace's privileged findings (by the check's group and text) removes them.
  DisableRule rule = Rule();
  rule.title_contains = "privileged containers";
  rule.scope_namespace = "shop";
  for (const Recommendation& r : Recommend(resources, findings, {rule}, 0)) {
    EXPECT_NE(r.definition->id, "workload-privileged-containers");
  }
}

// ---------------------------------------------------------------------------------------------
// Docs

TEST(Docs, RecommendationsPageNamesEveryDecision) {
  auto text = ReadFileToString(std::string(MOAT_SOURCE_DIR) + "/docs/server/recommendations.md");
  ASSERT_TRUE(text.ok()) << text.error().message;
  for (const RecommendationDefinition& d : RecommendationCatalog()) {
    EXPECT_NE(text->find("`" + d.id + "`"), std::string::npos) << d.id;
  }
  for (const NotApplicableSeed& na : NotApplicableSeedRecommendations()) {
    EXPECT_NE(text->find(na.title), std::string::npos) << na.title;
  }
  for (const CheckWithoutRecommendation& c : ChecksWithoutRecommendation()) {
    EXPECT_NE(text->find("`" + c.finding_id + "`"), std::string::npos) << c.finding_id;
  }
}

}  // namespace
}  // namespace moat::server::assess
