// SARIF 2.1.0 for GitHub code scanning: one rule per vulnerability id, one result per finding.
// GitHub reads rule properties.security-severity (a CVSS-like number as a string) and
// partialFingerprints (stable across runs, so alerts are tracked rather than re-opened).

#include <map>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "report/render.h"

namespace moat::report {
namespace {

using nlohmann::json;

// A representative score per severity when no CVSS score exists (GitHub's bands: >9 critical,
// 7-8.9 high, 4-6.9 medium, 0.1-3.9 low).
double SecuritySeverity(const DetectedVulnerability& v) {
  double best = 0;
  for (const auto& c : v.cvss) best = std::max(best, c.score);
  if (best > 0) return best;
  if (v.severity == "critical") return 9.5;
  if (v.severity == "high") return 8.0;
  if (v.severity == "medium") return 5.5;
  if (v.severity == "low") return 2.0;
  return 0.0;
}

std::string Level(const std::string& severity) {
  if (severity == "critical" || severity == "high") return "error";
  if (severity == "medium") return "warning";
  return "note";
}

std::string Score(double value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

std::string Location(const DetectedVulnerability& v, const Inventory& inventory) {
  std::string path = v.file_path;
  while (path.starts_with("/")) path.erase(0, 1);
  if (path.empty()) path = inventory.artifact.name.empty() ? "unknown" : inventory.artifact.name;
  return path;
}

// What the scan could not assess, as tool execution notifications: code scanning shows them as
// the tool's own errors, so a damaged package database does not pass as "no alerts".
json Invocations(const Inventory& inventory) {
  json notifications = json::array();
  for (const AssessmentGap& gap : inventory.assessment_gaps) {
    json notification = {
        {"level", "error"},
        {"message", {{"text", GapText(gap)}}},
        {"descriptor", {{"id", "moat/" + std::string(AssessmentGapKindName(gap.kind))}}}};
    if (gap.kind != AssessmentGap::Kind::kNoVulnerabilityData) {
      std::string path = gap.subject;
      while (path.starts_with("/")) path.erase(0, 1);
      notification["locations"] =
          json::array({{{"physicalLocation",
                         {{"artifactLocation", {{"uri", path}, {"uriBaseId", "ROOTPATH"}}}}}}});
    }
    notifications.push_back(std::move(notification));
  }
  json invocation = {{"executionSuccessful", inventory.assessment_gaps.empty()}};
  if (!notifications.empty()) invocation["toolExecutionNotifications"] = notifications;
  return json::array({invocation});
}

}  // namespace

std::string RenderSarif(const PreparedInventory& input) {
  const Inventory& inventory = input.inventory;
  json rules = json::array();
  std::map<std::string, size_t> rule_index;
  json results = json::array();
  for (const auto& v : inventory.vulnerabilities) {
    auto [it, inserted] = rule_index.emplace(v.id, rules.size());
    if (inserted) {
      std::string text = v.title.empty() ? v.id : v.title;
      std::string fixed;
      for (const auto& f : v.fixed_versions) fixed += (fixed.empty() ? "" : ", ") + f;
      std::string help = "Vulnerability " + v.id + "\nSeverity: " + v.severity +
                         "\nPackage: " + v.package_name +
                         "\nFixed version: " + (fixed.empty() ? "none" : fixed) +
                         (v.primary_url.empty() ? "" : "\nLink: " + v.primary_url);
      std::string help_md = "**Vulnerability " + v.id +
                            "**\n| Severity | Package | Fixed version "
                            "| Link |\n| --- | --- | --- | --- |\n|" +
                            v.severity + "|" + v.package_name + "|" +
                            (fixed.empty() ? "none" : fixed) + "|" +
                            (v.primary_url.empty() ? "" : "[" + v.id + "](" + v.primary_url + ")") +
                            "|\n\n" + v.description;
      json rule = {{"id", v.id},
                   {"name", "OsPackageVulnerability"},
                   {"shortDescription", {{"text", text}}},
                   {"fullDescription", {{"text", v.description.empty() ? text : v.description}}},
                   {"defaultConfiguration", {{"level", Level(v.severity)}}},
                   {"help", {{"text", help}, {"markdown", help_md}}},
                   {"properties",
                    {{"precision", "very-high"},
                     {"security-severity", Score(SecuritySeverity(v))},
                     {"tags", json::array({"vulnerability", "security", v.severity})}}}};
      if (v.package_type != "deb" && v.package_type != "rpm" && v.package_type != "apk") {
        rule["name"] = "LanguageSpecificPackageVulnerability";
      }
      if (!v.primary_url.empty()) rule["helpUri"] = v.primary_url;
      rules.push_back(rule);
    }
    std::string fixed;
    for (const auto& f : v.fixed_versions) fixed += (fixed.empty() ? "" : ", ") + f;
    const std::string location = Location(v, inventory);
    std::string message = "Package: " + v.package_name +
                          "\nInstalled Version: " + v.package_version + "\nVulnerability " + v.id +
                          "\nSeverity: " + v.severity +
                          "\nFixed Version: " + (fixed.empty() ? "none" : fixed);
    // The fingerprint leaves out versions and the image digest so the alert survives a rebuild
    // that does not fix it; it changes when the fix lands (the finding disappears).
    const std::string fingerprint =
        Sha256Hex(AsBytes(inventory.artifact.name + "\n" + v.id + "\n" + v.package_type + "\n" +
                          v.package_name + "\n" + location));
    results.push_back(
        {{"ruleId", v.id},
         {"ruleIndex", it->second},
         {"level", Level(v.severity)},
         {"message", {{"text", message}}},
         {"locations",
          json::array(
              {{{"physicalLocation",
                 {{"artifactLocation", {{"uri", location}, {"uriBaseId", "ROOTPATH"}}},
                  {"region",
                   {{"startLine", 1}, {"startColumn", 1}, {"endLine", 1}, {"endColumn", 1}}}}},
                {"message",
                 {{"text",
                   inventory.artifact.name + ": " + v.package_name + "@" + v.package_version}}}}})},
         {"partialFingerprints", {{"primaryLocationLineHash", fingerprint}}}});
  }
  json run = {{"tool",
               {{"driver",
                 {{"name", "Moat"},
                  {"fullName", "Moat container security scanner"},
                  {"informationUri", "https://github.com/moat-security/moat"},
                  {"version", input.context.tool_version},
                  {"rules", rules}}}}},
              {"invocations", Invocations(inventory)},
              {"results", results},
              {"columnKind", "utf16CodeUnits"},
              {"originalUriBaseIds", {{"ROOTPATH", {{"uri", "file:///"}}}}}};
  json doc = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"version", "2.1.0"},
              {"runs", json::array({run})}};
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace moat::report
