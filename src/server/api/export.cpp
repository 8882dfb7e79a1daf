#include "server/api/export.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/alert.h"
#include "core/text_format.h"

namespace moat::server {

using nlohmann::json;

std::string FormatTime(int64_t unix_seconds) {
  return unix_seconds <= 0 ? "" : FormatRfc3339Utc(static_cast<std::time_t>(unix_seconds));
}

std::string FormatTimeNs(int64_t unix_ns) {
  return unix_ns <= 0 ? "" : FormatRfc3339Nanos(unix_ns);
}

namespace {

json FindingObject(const FindingRecord& f) {
  return {{"id", f.id},
          {"resource_kind", f.resource_kind},
          {"resource_id", f.resource_id},
          {"source", f.source},
          {"finding_id", f.finding_id},
          {"package", f.package},
          {"installed_version", f.installed_version},
          {"fixed_version", f.fixed_version},
          {"category", f.category},
          {"title", f.title},
          {"severity", f.severity},
          {"cvss", f.cvss < 0 ? json(nullptr) : json(f.cvss)},
          {"kev", f.kev},
          {"epss", f.epss < 0 ? json(nullptr) : json(f.epss)},
          {"patchable", f.patchable},
          {"in_use", f.in_use},
          {"layer", f.layer},
          {"evidence", f.evidence},
          {"remediation", f.remediation},
          {"first_seen", FormatTime(f.first_seen)},
          {"last_seen", FormatTime(f.last_seen)},
          {"resolved_at", FormatTime(f.resolved_at)}};
}

// RFC 4180 quoting; a cell starting with = + - @ (a formula to spreadsheets) gets a leading '.
std::string CsvCell(const std::string& value) {
  std::string cell = value;
  if (!cell.empty() && std::string("=+-@\t\r").find(cell[0]) != std::string::npos) {
    cell.insert(0, "'");
  }
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Number(double value) {
  if (value < 0) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

std::string FindingJson(const FindingRecord& finding) { return FindingObject(finding).dump(); }

std::string FindingsCsv(const std::vector<FindingRecord>& findings) {
  std::string out =
      "resource_kind,resource_id,source,finding_id,severity,cvss,kev,epss,package,"
      "installed_version,fixed_version,patchable,title,first_seen,resolved_at\r\n";
  for (const auto& f : findings) {
    const std::vector<std::string> cells = {f.resource_kind,
                                            f.resource_id,
                                            f.source,
                                            f.finding_id,
                                            f.severity,
                                            Number(f.cvss),
                                            f.kev ? "true" : "false",
                                            Number(f.epss),
                                            f.package,
                                            f.installed_version,
                                            f.fixed_version,
                                            f.patchable ? "true" : "false",
                                            f.title,
                                            FormatTime(f.first_seen),
                                            FormatTime(f.resolved_at)};
    for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + CsvCell(cells[i]);
    out += "\r\n";
  }
  return out;
}

std::string FindingsSarif(const std::vector<FindingRecord>& findings) {
  json rules = json::array();
  std::map<std::string, size_t> rule_index;
  json results = json::array();
  for (const auto& f : findings) {
    auto [it, inserted] = rule_index.try_emplace(f.finding_id, rule_index.size());
    if (inserted) {
      json rule = {{"id", f.finding_id},
                   {"shortDescription", {{"text", f.title.empty() ? f.finding_id : f.title}}},
                   {"properties", {{"security-severity", Number(std::max(f.cvss, 0.0))}}}};
      if (f.finding_id.rfind("CVE-", 0) == 0) {
        rule["helpUri"] = "https://nvd.nist.gov/vuln/detail/" + f.finding_id;
      }
      rules.push_back(rule);
    }
    const std::string level = f.severity == "CRITICAL" || f.severity == "HIGH" ? "error"
                              : f.severity == "MEDIUM"                         ? "warning"
                                                                               : "note";
    std::string message = f.finding_id + " in " + f.resource_kind + " " + f.resource_id;
    if (!f.package.empty()) message += ": " + f.package + " " + f.installed_version;
    if (!f.fixed_version.empty()) message += " (fixed in " + f.fixed_version + ")";
    results.push_back(
        {{"ruleId", f.finding_id},
         {"ruleIndex", it->second},
         {"level", level},
         {"message", {{"text", message}}},
         {"locations",
          json::array({{{"logicalLocations",
                         json::array({{{"name", f.resource_id},
                                       {"kind", f.resource_kind == "image" ? "module" : "resource"},
                                       {"fullyQualifiedName",
                                        f.resource_kind + "/" + f.resource_id}}})}}})}});
  }
  json sarif = {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs", json::array({{{"tool",
                              {{"driver",
                                {{"name", "moat"},
                                 {"informationUri", "https://github.com/moat-security/moat"},
                                 {"rules", rules}}}}},
                             {"results", results}}})}};
  return sarif.dump();
}

Result<assess::DisableRule> DisableRuleFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Fail("disable rule: expected a JSON object");
  assess::DisableRule rule;
  auto strings = [&](const char* key, std::vector<std::string>& out) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end()) return Ok();
    if (!it->is_array()) return Fail(key, ": expected an array of strings");
    for (const auto& v : *it) {
      if (!v.is_string()) return Fail(key, ": expected an array of strings");
      out.push_back(v.get<std::string>());
    }
    return Ok();
  };
  auto string = [&](const json& object, const char* key, std::string& out) -> Result<void> {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return Ok();
    if (!it->is_string()) return Fail(key, ": expected a string");
    out = it->get<std::string>();
    return Ok();
  };
  MOAT_TRY(strings("finding_ids", rule.finding_ids));
  MOAT_TRY(strings("severities", rule.severities));
  for (auto& s : rule.severities) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  MOAT_TRY(string(j, "category", rule.category));
  MOAT_TRY(string(j, "title_contains", rule.title_contains));
  if (auto it = j.find("cvss_below"); it != j.end() && !it->is_null()) {
    if (!it->is_number()) return Fail("cvss_below: expected a number");
    rule.cvss_below = it->get<double>();
  }
  if (auto it = j.find("patchable"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Fail("patchable: expected true or false");
    rule.patchable = it->get<bool>() ? 1 : 0;
  }
  if (auto it = j.find("scope"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Fail("scope: expected an object");
    MOAT_TRY(string(*it, "registry", rule.scope_registry));
    MOAT_TRY(string(*it, "cluster", rule.scope_cluster));
    MOAT_TRY(string(*it, "namespace", rule.scope_namespace));
  }
  std::string expires;
  MOAT_TRY(string(j, "expires_at", expires));
  if (!expires.empty()) {
    auto ns = ParseRfc3339Nanos(expires);
    if (!ns) return Fail("expires_at: expected an RFC 3339 time (got '", expires, "')");
    rule.expires_at = static_cast<std::time_t>(*ns / 1'000'000'000);
  }
  return rule;
}

std::string DisableRuleToJson(const assess::DisableRule& rule) {
  json j = json::object();
  if (!rule.finding_ids.empty()) j["finding_ids"] = rule.finding_ids;
  if (!rule.severities.empty()) j["severities"] = rule.severities;
  if (!rule.category.empty()) j["category"] = rule.category;
  if (!rule.title_contains.empty()) j["title_contains"] = rule.title_contains;
  if (rule.cvss_below >= 0) j["cvss_below"] = rule.cvss_below;
  if (rule.patchable >= 0) j["patchable"] = rule.patchable == 1;
  json scope = json::object();
  if (!rule.scope_registry.empty()) scope["registry"] = rule.scope_registry;
  if (!rule.scope_cluster.empty()) scope["cluster"] = rule.scope_cluster;
  if (!rule.scope_namespace.empty()) scope["namespace"] = rule.scope_namespace;
  if (!scope.empty()) j["scope"] = scope;
  if (rule.expires_at > 0) j["expires_at"] = FormatTime(rule.expires_at);
  return j.dump();
}

}  // namespace moat::server
