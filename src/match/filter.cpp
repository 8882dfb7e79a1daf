#include "match/filter.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/text_format.h"
#include "purl/purl.h"

namespace moat::match {
namespace {

using nlohmann::json;

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

bool IsDate(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (d[i] < '0' || d[i] > '9') return false;
  }
  int month = (d[5] - '0') * 10 + (d[6] - '0');
  int day = (d[8] - '0') * 10 + (d[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

std::string TodayUtc() { return FormatUtcDay(std::time(nullptr)); }

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool HasId(const DetectedVulnerability& f, const std::string& id) {
  return f.id == id || std::find(f.aliases.begin(), f.aliases.end(), id) != f.aliases.end();
}

}  // namespace

Result<std::vector<IgnoreRule>> ParseIgnoreFile(std::string_view text, const std::string& name) {
  std::vector<IgnoreRule> rules;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    const std::string where = name + ":" + std::to_string(line_number);
    std::string comment;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) {
      comment = Trim(line.substr(hash + 1));
      line = line.substr(0, hash);
    }
    std::string body = Trim(line);
    if (body.empty()) continue;
    IgnoreRule rule;
    rule.statement = comment;
    rule.source = where;
    size_t pos = 0;
    bool first = true;
    while (pos < body.size()) {
      size_t next = body.find_first_of(" \t", pos);
      std::string token =
          body.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      pos = next == std::string::npos ? body.size() : body.find_first_not_of(" \t", next);
      if (pos == std::string::npos) pos = body.size();
      if (token.empty()) continue;
      if (first) {
        rule.id = token;
        first = false;
        continue;
      }
      size_t sep = token.find('=');
      // Trivy's expiry spelling "exp:2024-01-01" is accepted as well.
      if (sep == std::string::npos && token.starts_with("exp:")) sep = 3;
      if (sep == std::string::npos) {
        return Fail(where, ": '", token, "': expected key=value (pkg=, path=, exp=)");
      }
      std::string key = token.substr(0, sep);
      std::string value = token.substr(sep + 1);
      if (value.empty()) return Fail(where, ": '", token, "': empty value");
      if (key == "pkg") {
        rule.package = value;
      } else if (key == "path") {
        rule.path = value;
      } else if (key == "exp") {
        if (!IsDate(value)) return Fail(where, ": exp '", value, "' is not a YYYY-MM-DD date");
        rule.expires = value;
      } else {
        return Fail(where, ": unknown key '", key, "' (expected pkg, path or exp)");
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

namespace {

Result<std::vector<VexStatement>> ParseOpenVex(const json& doc, const std::string& name) {
  std::vector<VexStatement> out;
  const json& statements = doc.contains("statements") ? doc["statements"] : json();
  if (!statements.is_array()) return Fail(name, ": /statements: not an array");
  for (size_t i = 0; i < statements.size(); ++i) {
    const std::string where = name + ": /statements/" + std::to_string(i);
    const json& s = statements[i];
    if (!s.is_object()) return Fail(where, ": not an object");
    VexStatement v;
    v.source = name;
    const json& vuln = s.contains("vulnerability") ? s["vulnerability"] : json();
    if (vuln.is_string()) {  // OpenVEX before 0.2.0
      v.vulnerability = vuln.get<std::string>();
    } else if (vuln.is_object()) {
      v.vulnerability = Str(vuln, "name");
      if (v.vulnerability.empty()) v.vulnerability = Str(vuln, "@id");
      if (vuln.contains("aliases") && vuln["aliases"].is_array()) {
        for (const auto& a : vuln["aliases"]) {
          if (a.is_string()) v.aliases.push_back(a.get<std::string>());
        }
      }
    }
    if (v.vulnerability.empty()) return Fail(where, "/vulnerability: no name");
    v.state = Str(s, "status");
    if (v.state.empty()) return Fail(where, "/status: missing");
    v.justification = Str(s, "justification");
    v.statement = Str(s, "impact_statement");
    if (v.statement.empty()) v.statement = Str(s, "status_notes");
    const json& products = s.contains("products") ? s["products"] : json::array();
    if (!products.is_array()) return Fail(where, "/products: not an array");
    for (const auto& p : products) {
      std::string id = p.is_string() ? p.get<std::string>() : Str(p, "@id");
      std::vector<std::string> subs;
      if (p.is_object() && p.contains("subcomponents") && p["subcomponents"].is_array()) {
        for (const auto& sub : p["subcomponents"]) {
          std::string sub_id = sub.is_string() ? sub.get<std::string>() : Str(sub, "@id");
          if (!sub_id.empty()) subs.push_back(sub_id);
        }
      }
      if (!subs.empty()) {
        for (auto& sub : subs) v.products.push_back(std::move(sub));
      } else if (!id.empty()) {
        // A product that is not a package (the image itself) covers every package in it.
        v.products.push_back(id.starts_with("pkg:oci/") || !id.starts_with("pkg:") ? "*" : id);
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

void CollectComponents(const json& list, std::map<std::string, std::string>& refs) {
  if (!list.is_array()) return;
  for (const auto& c : list) {
    std::string ref = Str(c, "bom-ref");
    std::string purl = Str(c, "purl");
    if (!ref.empty() && !purl.empty()) refs[ref] = purl;
    if (c.is_object() && c.contains("components")) CollectComponents(c["components"], refs);
  }
}

Result<std::vector<VexStatement>> ParseCycloneDxVex(const json& doc, const std::string& name) {
  std::map<std::string, std::string> refs;
  if (doc.contains("components")) CollectComponents(doc["components"], refs);
  if (doc.contains("metadata") && doc["metadata"].is_object() &&
      doc["metadata"].contains("component")) {
    CollectComponents(json::array({doc["metadata"]["component"]}), refs);
  }
  std::vector<VexStatement> out;
  const json& vulns = doc.contains("vulnerabilities") ? doc["vulnerabilities"] : json::array();
  if (!vulns.is_array()) return Fail(name, ": /vulnerabilities: not an array");
  for (size_t i = 0; i < vulns.size(); ++i) {
    const std::string where = name + ": /vulnerabilities/" + std::to_string(i);
    const json& v = vulns[i];
    if (!v.is_object()) return Fail(where, ": not an object");
    VexStatement s;
    s.source = name;
    s.vulnerability = Str(v, "id");
    if (s.vulnerability.empty()) return Fail(where, "/id: missing");
    if (v.contains("references") && v["references"].is_array()) {
      for (const auto& r : v["references"]) {
        std::string id = Str(r, "id");
        if (!id.empty()) s.aliases.push_back(id);
      }
    }
    const json& analysis = v.contains("analysis") ? v["analysis"] : json();
    s.state = Str(analysis, "state");
    s.justification = Str(analysis, "justification");
    s.statement = Str(analysis, "detail");
    if (v.contains("affects") && v["affects"].is_array()) {
      for (const auto& a : v["affects"]) {
        std::string ref = Str(a, "ref");
        if (size_t hash = ref.find('#'); ref.starts_with("urn:cdx:") && hash != std::string::npos) {
          ref = ref.substr(hash + 1);
        }
        if (auto it = refs.find(ref); it != refs.end()) {
          s.products.push_back(it->second);
        } else if (ref.starts_with("pkg:")) {
          s.products.push_back(ref);
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<std::vector<VexStatement>> ParseVex(std::string_view text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return Fail(name, ": not JSON: ", e.what());
  }
  if (!doc.is_object()) return Fail(name, ": not a JSON object");
  if (Str(doc, "@context").find("openvex") != std::string::npos || doc.contains("statements")) {
    return ParseOpenVex(doc, name);
  }
  if (Str(doc, "bomFormat") == "CycloneDX") return ParseCycloneDxVex(doc, name);
  return Fail(name, ": neither an OpenVEX document (@context) nor CycloneDX (bomFormat)");
}

bool VexProductMatches(std::string_view vex_purl, std::string_view package_purl) {
  if (vex_purl == "*") return true;
  if (vex_purl == package_purl) return true;
  auto vex = PackageUrl::ParseLenient(vex_purl);
  auto pkg = PackageUrl::ParseLenient(package_purl);
  if (!vex.ok() || !pkg.ok()) return false;
  if (vex->type != pkg->type || vex->namespace_ != pkg->namespace_ || vex->name != pkg->name) {
    return false;
  }
  if (!vex->version.empty() && vex->version != pkg->version) return false;
  for (const auto& [key, value] : vex->qualifiers) {
    auto it = pkg->qualifiers.find(key);
    if (it != pkg->qualifiers.end() && it->second != value) return false;
  }
  return true;
}

Result<void> ValidateFilterOptions(const FilterOptions& options) {
  static const std::set<std::string> kSeverities{
      "CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "NEGLIGIBLE",
      "critical", "high", "medium", "low", "unknown", "negligible"};
  for (const auto& s : options.severities) {
    if (!kSeverities.count(s)) {
      return Fail("--severity: unknown severity '", s,
                  "' (expected CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN)");
    }
  }
  // Trivy's names where the two overlap (fix_deferred, will_not_fix, end_of_life).
  static const std::set<std::string> kStatuses{"fixed",        "affected",    "will_not_fix",
                                               "fix_deferred", "end_of_life", "unimportant",
                                               "undetermined"};
  for (const auto& s : options.ignore_statuses) {
    if (!kStatuses.count(s)) {
      return Fail("--ignore-status: unknown status '", s,
                  "' (expected fixed, affected, will_not_fix, fix_deferred, end_of_life, "
                  "unimportant, undetermined)");
    }
  }
  return Ok();
}

void ApplyFilters(Inventory& inventory, const FilterOptions& options) {
  const std::string today = options.today.empty() ? TodayUtc() : options.today;
  std::set<std::string> severities;
  for (const auto& s : options.severities) {
    std::string lower = s;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    severities.insert(lower);
  }
  std::set<std::string> statuses(options.ignore_statuses.begin(), options.ignore_statuses.end());
  std::vector<DetectedVulnerability> kept;
  for (auto& f : inventory.vulnerabilities) {
    if (!severities.empty()) {
      std::string severity = SeverityRank(f.severity) == 0 ? "unknown" : f.severity;
      if (severity == "none") severity = "negligible";
      if (!severities.count(severity)) continue;
    }
    if (options.ignore_unfixed && f.fixed_versions.empty()) continue;
    if (statuses.count(f.status)) continue;
    std::optional<Suppression> suppression;
    for (const auto& rule : options.ignore_rules) {
      if (!HasId(f, rule.id)) continue;
      if (!rule.expires.empty() && today > rule.expires) continue;  // expired
      if (!rule.package.empty() && rule.package != f.package_name &&
          rule.package != f.source_package && rule.package != f.package_purl) {
        continue;
      }
      if (!rule.path.empty()) {
        bool prefix = rule.path.ends_with("*");
        std::string_view p = rule.path;
        if (prefix) p.remove_suffix(1);
        if (prefix ? !f.file_path.starts_with(p) : f.file_path != p) continue;
      }
      suppression = Suppression{"ignorefile", "ignored", "", rule.statement, rule.source};
      break;
    }
    if (!suppression) {
      for (const auto& v : options.vex) {
        bool names = HasId(f, v.vulnerability) ||
                     std::any_of(v.aliases.begin(), v.aliases.end(),
                                 [&](const std::string& a) { return HasId(f, a); });
        if (!names) continue;
        bool product = v.products.empty() ||
                       std::any_of(v.products.begin(), v.products.end(), [&](const auto& p) {
                         return VexProductMatches(p, f.package_purl);
                       });
        if (!product) continue;
        if (v.state == "not_affected" || v.state == "fixed" || v.state == "false_positive" ||
            v.state == "resolved" || v.state == "resolved_with_pedigree") {
          suppression = Suppression{"vex", v.state, v.justification, v.statement, v.source};
          break;
        }
      }
    }
    if (suppression) {
      f.suppression = std::move(suppression);
      inventory.suppressed_vulnerabilities.push_back(std::move(f));
    } else {
      kept.push_back(std::move(f));
    }
  }
  inventory.vulnerabilities = std::move(kept);
}

}  // namespace moat::match
