// Moat's own JSON format, documented in docs/json-format.md. Keys are sorted (nlohmann's default
// object is ordered by key) and packages come in canonical order, so output is reproducible.

#include <nlohmann/json.hpp>

#include "core/json_model.h"
#include "report/render.h"

namespace moat::report {

inline constexpr int kMoatJsonSchemaVersion = 1;

namespace {

nlohmann::json VulnerabilityJson(const DetectedVulnerability& v) {
  nlohmann::json j = {
      {"id", v.id},
      {"aliases", v.aliases},
      {"package",
       {{"name", v.package_name},
        {"version", v.package_version},
        {"type", v.package_type},
        {"purl", v.package_purl}}},
      {"installed_version", v.installed_version},
      {"fixed_versions", v.fixed_versions},
      {"status", v.status},
      {"severity", v.severity},
      {"severity_source", v.severity_source},
      {"title", v.title},
      {"description", v.description},
      {"references", v.references},
      {"cwes", v.cwes},
      {"primary_url", v.primary_url},
      {"namespace", v.namespace_},
      {"data_source", v.data_source},
      {"published", v.published},
      {"modified", v.modified},
      {"known_exploited", v.known_exploited},
      {"file_path", v.file_path},
      {"layer", {{"diff_id", v.layer_diff_id}, {"created_by", v.layer_created_by}}}};
  if (!v.source_package.empty()) j["package"]["source_name"] = v.source_package;
  if (!v.kev_date_added.empty()) j["kev_date_added"] = v.kev_date_added;
  if (v.epss_score)
    j["epss"] = {{"score", *v.epss_score}, {"percentile", v.epss_percentile.value_or(0)}};
  j["cvss"] = nlohmann::json::array();
  for (const auto& c : v.cvss) {
    j["cvss"].push_back(
        {{"version", c.version}, {"vector", c.vector}, {"score", c.score}, {"source", c.source}});
  }
  if (v.suppression) {
    j["suppression"] = {{"kind", v.suppression->kind},
                        {"state", v.suppression->state},
                        {"justification", v.suppression->justification},
                        {"statement", v.suppression->statement},
                        {"source", v.suppression->source}};
  }
  return j;
}

}  // namespace

std::string RenderMoatJson(const PreparedInventory& input) {
  const Inventory& inventory = input.inventory;
  nlohmann::json doc = nlohmann::json::object();
  doc["schema_version"] = kMoatJsonSchemaVersion;
  doc["tool"] = {{"name", "moat"}, {"version", input.context.tool_version}};
  doc["created"] = input.context.timestamp;
  doc["artifact"] = inventory.artifact;
  doc["os"] = inventory.os;
  doc["packages"] = nlohmann::json::array();
  for (const Package& package : inventory.packages) doc["packages"].push_back(package);
  doc["warnings"] = inventory.warnings;
  doc["assessment_gaps"] = nlohmann::json::array();
  for (const AssessmentGap& gap : inventory.assessment_gaps) {
    doc["assessment_gaps"].push_back({{"kind", AssessmentGapKindName(gap.kind)},
                                      {"subject", gap.subject},
                                      {"source", gap.source},
                                      {"summary", DescribeAssessmentGap(gap)},
                                      {"details", gap.details},
                                      {"packages", gap.packages}});
  }
  // Only scans that looked for vulnerabilities have these keys; inventory-only output is as before.
  if (inventory.vulnerability_scan) {
    doc["vulnerabilities"] = nlohmann::json::array();
    for (const auto& v : inventory.vulnerabilities)
      doc["vulnerabilities"].push_back(VulnerabilityJson(v));
    doc["suppressed_vulnerabilities"] = nlohmann::json::array();
    for (const auto& v : inventory.suppressed_vulnerabilities) {
      doc["suppressed_vulnerabilities"].push_back(VulnerabilityJson(v));
    }
  }
  // Invalid UTF-8 from package metadata is replaced, not thrown on.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace moat::report
