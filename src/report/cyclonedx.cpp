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
  json component = {{"bom-ref", ref},
                    {"type", artifact.type == "filesystem" ? "application" : "container"},
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
  component["properties"] = properties;
  return component;
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
  return bom.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace moat::report
