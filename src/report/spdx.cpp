// SPDX 2.3 JSON. The document DESCRIBES the image; the image CONTAINS the OS and the language
// packages; the OS CONTAINS the OS packages (the same tree as the CycloneDX dependencies).

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "report/render.h"
#include "report/spdx_licenses.h"

namespace moat::report {
namespace {

using nlohmann::json;

constexpr char kNoAssertion[] = "NOASSERTION";

// License strings that are not SPDX expressions become LicenseRef-<name> entries, declared once
// in hasExtractedLicensingInfos with the original text.
class LicenseRefs {
 public:
  std::string Declared(const std::vector<std::string>& licenses) {
    std::vector<std::string> parts;
    for (const auto& license : licenses) {
      if (license.empty()) continue;
      auto expression = CanonicalSpdxExpression(license);
      std::string part = expression.ok() ? *expression : RefFor(license);
      const bool compound = part.find(' ') != std::string::npos;
      parts.push_back(compound && licenses.size() > 1 ? "(" + part + ")" : part);
    }
    if (parts.empty()) return kNoAssertion;
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : " AND ") + part;
    return out;
  }

  json Extracted() const {
    json out = json::array();
    for (const auto& [text, id] : by_text_) {
      out.push_back({{"licenseId", id}, {"extractedText", text}, {"name", text}});
    }
    return out;
  }

 private:
  std::string RefFor(const std::string& text) {
    if (auto it = by_text_.find(text); it != by_text_.end()) return it->second;
    std::string base = "LicenseRef-";
    for (char c : text) {
      const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '-';
      base.push_back(allowed ? c : '-');
    }
    std::string id = base;
    for (int n = 2; !ids_.insert(id).second; ++n) id = base + "-" + std::to_string(n);
    by_text_[text] = id;
    return id;
  }

  std::map<std::string, std::string> by_text_;
  std::set<std::string> ids_;
};

json PurlRef(const std::string& purl) {
  return json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                       {"referenceType", "purl"},
                       {"referenceLocator", purl}}});
}

json Relationship(const std::string& from, const char* type, const std::string& to) {
  return {{"spdxElementId", from}, {"relationshipType", type}, {"relatedSpdxElement", to}};
}

json BasePackage(const std::string& id, const std::string& name) {
  return {{"SPDXID", id},
          {"name", name},
          {"downloadLocation", kNoAssertion},
          {"filesAnalyzed", false},
          {"licenseConcluded", kNoAssertion},
          {"licenseDeclared", kNoAssertion},
          {"copyrightText", kNoAssertion}};
}

// SPDX document names and namespaces are URIs-ish; keep the artifact name readable but safe.
std::string UriSafe(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    out.push_back(allowed ? c : '-');
  }
  return out.empty() ? "unnamed" : out;
}

}  // namespace

std::string RenderSpdxJson(const PreparedInventory& input) {
  const Inventory& inventory = input.inventory;
  const ArtifactInfo& artifact = inventory.artifact;
  const std::string tool = "Tool: moat-" + input.context.tool_version;
  const std::string name = artifact.name.empty() ? "unnamed" : artifact.name;

  json doc = json::object();
  doc["spdxVersion"] = "SPDX-2.3";
  doc["dataLicense"] = "CC0-1.0";
  doc["SPDXID"] = "SPDXRef-DOCUMENT";
  doc["name"] = name;
  // ".invalid" (RFC 2606) can never resolve or belong to anyone else: the namespace is an
  // identifier, not a location.
  doc["documentNamespace"] = "https://moat.invalid/spdx/" +
                             UriSafe(artifact.type.empty() ? "artifact" : artifact.type) + "/" +
                             UriSafe(name) + "-" + DocumentUuid(input);
  doc["creationInfo"] = {{"created", input.context.timestamp}, {"creators", json::array({tool})}};
  if (!inventory.assessment_gaps.empty()) {
    std::string comment = "INCOMPLETE ASSESSMENT: parts of the target could not be assessed.";
    for (const AssessmentGap& gap : inventory.assessment_gaps) comment += "\n" + GapText(gap);
    doc["comment"] = comment;
  }

  json packages = json::array();
  json relationships = json::array();

  const std::string image_id = "SPDXRef-Artifact";
  json image = BasePackage(image_id, name);
  const bool directory = artifact.type == "filesystem" || artifact.type == "repository";
  image["primaryPackagePurpose"] = directory ? "FILE" : "CONTAINER";
  if (!artifact.image_id.empty()) image["versionInfo"] = artifact.image_id;
  if (std::string purl = ArtifactPurl(artifact); !purl.empty())
    image["externalRefs"] = PurlRef(purl);
  packages.push_back(image);
  relationships.push_back(Relationship("SPDXRef-DOCUMENT", "DESCRIBES", image_id));

  const std::string os_id = "SPDXRef-OperatingSystem";
  const bool has_os = !inventory.os.empty();
  if (has_os) {
    json os = BasePackage(os_id, inventory.os.family.empty() ? "unknown" : inventory.os.family);
    if (!inventory.os.version.empty()) os["versionInfo"] = inventory.os.version;
    if (!inventory.os.name.empty()) os["description"] = inventory.os.name;
    os["primaryPackagePurpose"] = "OPERATING_SYSTEM";
    packages.push_back(os);
    relationships.push_back(Relationship(image_id, "CONTAINS", os_id));
  }

  LicenseRefs license_refs;
  std::set<std::string> used_ids = {image_id, os_id};
  for (const Package& package : inventory.packages) {
    const std::string base = "SPDXRef-Package-" + PackageIdentity(package);
    std::string id = base;
    for (int n = 2; !used_ids.insert(id).second; ++n) id = base + "-" + std::to_string(n);
    json entry = BasePackage(id, package.name);
    entry["versionInfo"] = package.DisplayVersion();
    entry["licenseDeclared"] = license_refs.Declared(package.licenses);
    entry["primaryPackagePurpose"] = package.main_module ? "APPLICATION" : "LIBRARY";
    if (!package.purl.empty()) entry["externalRefs"] = PurlRef(package.purl);
    if (!package.source_name.empty()) {
      std::string source = package.source_name;
      if (!package.source_version.empty()) source += " " + package.source_version;
      if (!package.source_release.empty()) source += "-" + package.source_release;
      entry["sourceInfo"] = "built package from: " + source;
    }
    // Where the package was found, as annotations from the tool (SPDX 2.3 has no property bag).
    json annotations = json::array();
    auto annotate = [&](const char* key, const std::string& value) {
      if (value.empty()) return;
      annotations.push_back({{"annotator", tool},
                             {"annotationDate", input.context.timestamp},
                             {"annotationType", "OTHER"},
                             {"comment", std::string(key) + ": " + value}});
    };
    annotate("moat:package_type", std::string(PackageTypeName(package.type)));
    annotate("moat:file_path", package.file_path);
    annotate("moat:layer_diff_id", package.layer_diff_id);
    annotate("moat:layer_created_by", package.layer_created_by);
    annotate("moat:owned_by", package.owned_by);
    if (!annotations.empty()) entry["annotations"] = annotations;
    packages.push_back(entry);
    const bool under_os = has_os && IsOsPackageType(package.type);
    relationships.push_back(Relationship(under_os ? os_id : image_id, "CONTAINS", id));
  }

  doc["packages"] = packages;
  doc["relationships"] = relationships;
  if (json extracted = license_refs.Extracted(); !extracted.empty()) {
    doc["hasExtractedLicensingInfos"] = extracted;
  }
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace moat::report
