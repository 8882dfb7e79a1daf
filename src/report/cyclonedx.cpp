// CycloneDX 1.6 JSON. Structure: metadata.component is the image (type "container"); the OS is
// an "operating-system" component; every package is a "library" (a Go main module an
// "application"). Dependencies: image -> OS -> OS packages, image -> language packages.

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "report/render.h"
#include "report/spdx_licenses.h"

namespace moat::report {
namespace {

using nlohmann::json;

void AddProperty(json& properties, const std::string& name, const std::string& value) {
  if (!value.empty()) properties.push_back({{"name", name}, {"value", value}});
}

json Licenses(const Package& package) {
  json licenses = json::array();
  for (const auto& license : package.licenses) {
    if (license.empty()) continue;
    if (auto id = CanonicalSpdxLicenseId(license)) {
      licenses.push_back({{"license", {{"id", std::string(*id)}}}});
    } else {
      licenses.push_back({{"license", {{"name", license}}}});
    }
  }
  return licenses;
}

// bom-refs: the purl when it names one package, otherwise the purl plus a package identity so
// that the same purl found twice (two files, two layers) stays two components.
std::vector<std::string> BomRefs(const std::vector<Package>& packages) {
  std::map<std::string, int> purl_counts;
  for (const auto& package : packages) ++purl_counts[package.purl];
  std::vector<std::string> refs;
  std::set<std::string> used = {"image", "operating-system"};
  for (const auto& package : packages) {
    std::string ref = package.purl;
    if (purl_counts[package.purl] > 1 || ref.empty()) {
      ref += (ref.find('?') == std::string::npos ? "?" : "&");
      ref += "package-id=" + PackageIdentity(package);
    }
    // Exact duplicates (same identity) still need distinct refs.
    std::string unique = ref;
    for (int n = 2; !used.insert(unique).second; ++n) unique = ref + "-" + std::to_string(n);
    refs.push_back(unique);
  }
  return refs;
}

json ImageComponent(const PreparedInventory& input, const std::string& ref) {
  const ArtifactInfo& artifact = input.inventory.artifact;
  // A scanned directory or repository (`moat rootfs`, `fs`, `repo`) is an application.
  const bool directory = artifact.type == "filesystem" || artifact.type == "repository";
  json component = {{"bom-ref", ref},
                    {"type", directory ? "application" : "container"},
                    {"name", artifact.name.empty() ? "unnamed" : artifact.name}};
  if (!artifact.image_id.empty()) component["version"] = artifact.image_id;
  if (std::string purl = ArtifactPurl(artifact); !purl.empty()) component["purl"] = purl;
  json properties = json::array();
  AddProperty(properties, "moat:artifact_type", artifact.type);
  AddProperty(properties, "moat:image_id", artifact.image_id);
  AddProperty(properties, "moat:manifest_digest", artifact.manifest_digest);
  for (const auto& tag : artifact.repo_tags) AddProperty(properties, "moat:repo_tag", tag);
  for (const auto& digest : artifact.repo_digests) {
    AddProperty(properties, "moat:repo_digest", digest);
  }
  AddProperty(properties, "moat:os", artifact.os);
  AddProperty(properties, "moat:architecture", artifact.architecture);
  AddProperty(properties, "moat:created", artifact.created);
  for (const auto& layer : artifact.layers) {
    AddProperty(properties, "moat:layer_diff_id", layer.diff_id);
  }
  if (!properties.empty()) component["properties"] = properties;
  return component;
}

json PackageComponent(const Package& package, const std::string& ref) {
  json component = {{"bom-ref", ref},
                    {"type", package.main_module ? "application" : "library"},
                    {"name", package.name},
                    {"version", package.DisplayVersion()}};
  if (package.type == PackageType::kMaven) {
    // Maven coordinates: groupId is CycloneDX's group.
    if (const size_t colon = package.name.find(':'); colon != std::string::npos) {
      component["group"] = package.name.substr(0, colon);
      component["name"] = package.name.substr(colon + 1);
    }
  }
  if (!package.purl.empty()) component["purl"] = package.purl;
  if (json licenses = Licenses(package); !licenses.empty()) component["licenses"] = licenses;
  json properties = json::array();
  AddProperty(properties, "moat:package_type", std::string(PackageTypeName(package.type)));
  AddProperty(properties, "moat:arch", package.arch);
  AddProperty(properties, "moat:epoch", package.epoch);
  AddProperty(properties, "moat:source_name", package.source_name);
  AddProperty(properties, "moat:source_version", package.source_version);
  AddProperty(properties, "moat:source_release", package.source_release);
  AddProperty(properties, "moat:maintainer", package.maintainer);
  AddProperty(properties, "moat:modularity_label", package.modularity_label);
  AddProperty(properties, "moat:go_version", package.go_version);
  AddProperty(properties, "moat:file_path", package.file_path);
  AddProperty(properties, "moat:layer_diff_id", package.layer_diff_id);
  AddProperty(properties, "moat:layer_created_by", package.layer_created_by);
  AddProperty(properties, "moat:owned_by", package.owned_by);
  component["properties"] = properties;
  return component;
}

// Must agree with the matcher's key (src/match/match.cpp PackageKey).
std::string MatchKey(const Package& p) {
  return std::string(PackageTypeName(p.type)) + "|" + p.name + "|" + p.DisplayVersion() + "|" +
         p.arch + "|" + p.file_path + "|" + p.layer_diff_id;
}

json CycloneDxVulnerability(const DetectedVulnerability& v, const std::string& ref) {
  json j = {{"bom-ref", v.id + "/" + ref}, {"id", v.id}};
  std::string source_name = v.id.starts_with("CVE-")    ? "NVD"
                            : v.id.starts_with("GHSA-") ? "GitHub"
                                                        : "OSV";
  j["source"] = {{"name", source_name}};
  if (!v.primary_url.empty()) j["source"]["url"] = v.primary_url;
  json references = json::array();
  for (const auto& alias : v.aliases) {
    references.push_back(
        {{"id", alias}, {"source", {{"name", alias.starts_with("CVE-") ? "NVD" : "OSV"}}}});
  }
  if (!references.empty()) j["references"] = references;
  json ratings = json::array();
  for (const auto& c : v.cvss) {
    std::string method = c.version.starts_with("4")     ? "CVSSv4"
                         : c.version.starts_with("3.1") ? "CVSSv31"
                         : c.version.starts_with("3")   ? "CVSSv3"
                                                        : "CVSSv2";
    json r = {{"source", {{"name", c.source}}},
              {"score", c.score},
              {"method", method},
              {"vector", c.vector}};
    ratings.push_back(r);
  }
  static const std::set<std::string> kCdxSeverities{"critical", "high", "medium", "low",
                                                    "info",     "none", "unknown"};
  std::string severity = kCdxSeverities.count(v.severity) ? v.severity : "unknown";
  json own = {{"severity", severity}, {"method", "other"}};
  if (!v.severity_source.empty()) own["source"] = {{"name", v.severity_source}};
  ratings.push_back(own);
  j["ratings"] = ratings;
  json cwes = json::array();
  for (const auto& cwe : v.cwes) {
    std::string digits = cwe.starts_with("CWE-") ? cwe.substr(4) : cwe;
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit) &&
        digits.size() < 9) {
      cwes.push_back(std::stoi(digits));
    }
  }
  if (!cwes.empty()) j["cwes"] = cwes;
  if (!v.description.empty()) j["description"] = v.description;
  if (!v.title.empty()) j["detail"] = v.title;
  if (!v.fixed_versions.empty()) {
    std::string fixed;
    for (const auto& f : v.fixed_versions) fixed += (fixed.empty() ? "" : ", ") + f;
    j["recommendation"] = "Upgrade " + v.package_name + " to " + fixed;
  }
  json advisories = json::array();
  for (const auto& r : v.references) {
    if (r.starts_with("http")) advisories.push_back({{"url", r}});
  }
  if (!advisories.empty()) j["advisories"] = advisories;
  if (!v.published.empty()) j["published"] = v.published;
  if (!v.modified.empty()) j["updated"] = v.modified;
  json affect = {
      {"ref", ref},
      {"versions", json::array({{{"version", v.package_version}, {"status", "affected"}}})}};
  j["affects"] = json::array({affect});
  if (v.suppression) {
    static const std::set<std::string> kStates{"resolved",       "resolved_with_pedigree",
                                               "exploitable",    "in_triage",
                                               "false_positive", "not_affected"};
    static const std::set<std::string> kJustifications{
        "code_not_present",     "code_not_reachable",     "requires_configuration",
        "requires_dependency",  "requires_environment",   "protected_by_compiler",
        "protected_at_runtime", "protected_at_perimeter", "protected_by_mitigating_control"};
    // OpenVEX words -> CycloneDX words.
    std::string state = v.suppression->state == "fixed" ? "resolved" : v.suppression->state;
    if (!kStates.count(state)) state = "not_affected";
    std::string justification = v.suppression->justification;
    if (justification == "vulnerable_code_not_present" ||
        justification == "component_not_present") {
      justification = "code_not_present";
    } else if (justification == "vulnerable_code_not_in_execute_path" ||
               justification == "vulnerable_code_cannot_be_controlled_by_adversary") {
      justification = "code_not_reachable";
    } else if (justification == "inline_mitigations_already_exist") {
      justification = "protected_by_mitigating_control";
    }
    json analysis = {{"state", state}};
    if (kJustifications.count(justification)) analysis["justification"] = justification;
    std::string detail = v.suppression->statement;
    if (!v.suppression->source.empty()) {
      detail += (detail.empty() ? "" : " ") + std::string("(") + v.suppression->kind + ": " +
                v.suppression->source + ")";
    }
    if (!detail.empty()) analysis["detail"] = detail;
    j["analysis"] = analysis;
  }
  return j;
}

}  // namespace

std::string RenderCycloneDx(const PreparedInventory& input) {
  const Inventory& inventory = input.inventory;
  const std::string image_ref = "image";
  const std::string os_ref = "operating-system";
  const bool has_os = !inventory.os.empty();

  json bom = json::object();
  bom["$schema"] = "http://cyclonedx.org/schema/bom-1.6.schema.json";
  bom["bomFormat"] = "CycloneDX";
  bom["specVersion"] = "1.6";
  bom["serialNumber"] = "urn:uuid:" + DocumentUuid(input);
  bom["version"] = 1;
  bom["metadata"] = {{"timestamp", input.context.timestamp},
                     {"tools",
                      {{"components", json::array({{{"type", "application"},
                                                    {"name", "moat"},
                                                    {"version", input.context.tool_version}}})}}},
                     {"component", ImageComponent(input, image_ref)}};
  // What the scan could not assess, where every consumer of the document sees it.
  json gap_properties = json::array();
  for (const AssessmentGap& gap : inventory.assessment_gaps) {
    AddProperty(gap_properties, "moat:assessment_gap", GapText(gap));
  }
  if (!gap_properties.empty()) bom["metadata"]["properties"] = gap_properties;

  json components = json::array();
  json image_depends = json::array();
  json os_depends = json::array();
  json dependencies = json::array();
  if (has_os) {
    json os = {{"bom-ref", os_ref},
               {"type", "operating-system"},
               {"name", inventory.os.family.empty() ? "unknown" : inventory.os.family}};
    if (!inventory.os.version.empty()) os["version"] = inventory.os.version;
    if (!inventory.os.name.empty()) os["description"] = inventory.os.name;
    if (!inventory.os.codename.empty()) {
      os["properties"] =
          json::array({{{"name", "moat:os_codename"}, {"value", inventory.os.codename}}});
    }
    components.push_back(os);
    image_depends.push_back(os_ref);
  }
  const std::vector<std::string> refs = BomRefs(inventory.packages);
  for (size_t i = 0; i < inventory.packages.size(); ++i) {
    const Package& package = inventory.packages[i];
    components.push_back(PackageComponent(package, refs[i]));
    if (IsOsPackageType(package.type) && has_os) {
      os_depends.push_back(refs[i]);
    } else {
      image_depends.push_back(refs[i]);
    }
    dependencies.push_back({{"ref", refs[i]}, {"dependsOn", json::array()}});
  }
  json head = json::array({{{"ref", image_ref}, {"dependsOn", image_depends}}});
  if (has_os) head.push_back({{"ref", os_ref}, {"dependsOn", os_depends}});
  head.insert(head.end(), dependencies.begin(), dependencies.end());
  bom["components"] = components;
  bom["dependencies"] = head;
  if (inventory.vulnerability_scan) {
    std::map<std::string, std::string> ref_of;
    for (size_t i = 0; i < inventory.packages.size(); ++i) {
      ref_of.emplace(MatchKey(inventory.packages[i]), refs[i]);
    }
    json vulns = json::array();
    for (const auto* list : {&inventory.vulnerabilities, &inventory.suppressed_vulnerabilities}) {
      for (const auto& v : *list) {
        auto it = ref_of.find(v.package_id);
        if (it == ref_of.end()) continue;
        vulns.push_back(CycloneDxVulnerability(v, it->second));
      }
    }
    bom["vulnerabilities"] = vulns;
  }
  return bom.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace moat::report
