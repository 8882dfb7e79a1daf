#include "match/sbom.h"

#include <map>
#include <nlohmann/json.hpp>

#include "purl/purl.h"

namespace moat::match {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// A purl -> a package; nullopt for types Moat does not match.
std::optional<Package> PackageFromPurl(const PackageUrl& purl, const std::string& text) {
  auto type = ParsePackageType(purl.type);
  if (!type) return std::nullopt;
  Package p;
  p.type = *type;
  p.purl = text;
  p.version = purl.version;
  switch (*type) {
    case PackageType::kNpm:
    case PackageType::kGolang:
    case PackageType::kComposer:
      p.name = purl.namespace_.empty() ? purl.name : purl.namespace_ + "/" + purl.name;
      break;
    case PackageType::kMaven:
      p.name = purl.namespace_ + ":" + purl.name;
      break;
    default:
      p.name = purl.name;
  }
  auto q = [&](const char* key) {
    auto it = purl.qualifiers.find(key);
    return it == purl.qualifiers.end() ? std::string() : it->second;
  };
  p.arch = q("arch");
  if (IsOsPackageType(*type)) p.source_name = q("upstream");
  if (size_t at = p.source_name.find('@'); at != std::string::npos) {
    p.source_version = p.source_name.substr(at + 1);
    p.source_name.resize(at);
  }
  // Trivy writes a deb's epoch as a qualifier (pkg:deb/debian/bsdutils@2.38.1-5?epoch=1), not in
  // the version as dpkg and Syft do; Moat's deb version is dpkg's, epoch included, or it would
  // compare 2.38.1-5 below a fix 1:2.30-1 and report a fixed package.
  if (*type == PackageType::kDeb && !q("epoch").empty() && q("epoch") != "0" &&
      p.version.find(':') == std::string::npos) {
    p.version = q("epoch") + ":" + p.version;
  }
  if (*type == PackageType::kRpm) {
    p.epoch = q("epoch");
    if (size_t dash = p.version.rfind('-'); dash != std::string::npos) {
      p.release = p.version.substr(dash + 1);
      p.version.resize(dash);
    }
  }
  return p;
}

// Trivy splits a source version as it splits a binary one: SrcEpoch, SrcVersion (upstream) and
// SrcRelease (the Debian revision or the rpm release). Read alone, SrcVersion "2.0.5" of
// libidn2-0 2.0.5-1+deb10u1 would be older than the fix 2.0.5-1+deb10u1 and report a fixed CVE.
void SetTrivySourceVersion(const std::string& version, const std::string& release,
                           const std::string& epoch, Package& package) {
  if (package.type == PackageType::kRpm) {
    package.source_version = version;
    package.source_release = release;
    return;
  }
  package.source_version = version;
  if (!release.empty()) package.source_version += "-" + release;
  if (!epoch.empty() && epoch != "0") package.source_version = epoch + ":" + package.source_version;
}

// Trivy's SPDX has no properties: it writes the source package of an OS package as the package's
// sourceInfo, "built package from: NAME [EPOCH:]VERSION[-RELEASE]" (libjq1 -> "built package
// from: jq 1.6-2.1"). Without it, advisories filed under the source name (Debian's tracker) would
// miss every binary package whose name differs. Returned as the properties Trivy's CycloneDX
// carries, so both formats go through one path.
std::map<std::string, std::string> TrivySourceInfoProperties(const std::string& source_info) {
  constexpr std::string_view kPrefix = "built package from: ";
  std::map<std::string, std::string> out;
  if (!source_info.starts_with(kPrefix)) return out;
  std::string rest = source_info.substr(kPrefix.size());
  size_t space = rest.find(' ');
  if (space == 0 || space == std::string::npos) return out;
  std::string version = rest.substr(space + 1);
  out["aquasecurity:trivy:SrcName"] = rest.substr(0, space);
  if (size_t colon = version.find(':'); colon != std::string::npos) {
    out["aquasecurity:trivy:SrcEpoch"] = version.substr(0, colon);
    version.erase(0, colon + 1);
  }
  if (size_t dash = version.rfind('-'); dash != std::string::npos) {
    out["aquasecurity:trivy:SrcRelease"] = version.substr(dash + 1);
    version.resize(dash);
  }
  out["aquasecurity:trivy:SrcVersion"] = version;
  return out;
}

void OsFromDistro(const PackageUrl& purl, OsInfo& os) {
  if (!os.empty()) return;
  auto it = purl.qualifiers.find("distro");
  std::string distro = it == purl.qualifiers.end() ? "" : it->second;
  os.family = purl.namespace_;
  if (size_t dash = distro.find('-'); dash != std::string::npos) {
    os.version = distro.substr(dash + 1);
    if (os.family.empty()) os.family = distro.substr(0, dash);
  } else if (!distro.empty() && distro != os.family) {
    os.codename = distro;  // "distro=bookworm"
  }
}

struct Collector {
  Inventory inventory;
  size_t skipped = 0;

  void Add(const std::string& purl_text, const std::string& where,
           const std::map<std::string, std::string>& properties) {
    if (purl_text.empty()) return;
    auto purl = PackageUrl::ParseLenient(purl_text);
    if (!purl.ok()) {
      inventory.warnings.push_back(where + ": " + purl.error().message);
      return;
    }
    auto package = PackageFromPurl(*purl, purl_text);
    if (!package) {
      ++skipped;
      return;
    }
    auto prop = [&](const char* key) {
      auto it = properties.find(key);
      return it == properties.end() ? std::string() : it->second;
    };
    if (auto v = prop("moat:source_name"); !v.empty()) package->source_name = v;
    if (auto v = prop("moat:source_version"); !v.empty()) package->source_version = v;
    if (auto v = prop("aquasecurity:trivy:SrcName"); !v.empty()) package->source_name = v;
    if (auto v = prop("aquasecurity:trivy:SrcVersion"); !v.empty()) {
      SetTrivySourceVersion(v, prop("aquasecurity:trivy:SrcRelease"),
                            prop("aquasecurity:trivy:SrcEpoch"), *package);
    }
    if (auto v = prop("moat:file_path"); !v.empty()) package->file_path = v;
    if (auto v = prop("aquasecurity:trivy:FilePath"); !v.empty()) package->file_path = v;
    if (auto v = prop("moat:layer_diff_id"); !v.empty()) package->layer_diff_id = v;
    if (IsOsPackageType(package->type)) OsFromDistro(*purl, inventory.os);
    inventory.packages.push_back(std::move(*package));
  }
};

std::map<std::string, std::string> Properties(const json& component) {
  std::map<std::string, std::string> out;
  if (!component.is_object() || !component.contains("properties")) return out;
  const json& list = component["properties"];
  if (!list.is_array()) return out;
  for (const auto& p : list) out.emplace(Str(p, "name"), Str(p, "value"));
  return out;
}

void WalkCycloneDx(const json& components, const std::string& where, Collector& c,
                   OsInfo& os_component) {
  if (!components.is_array()) return;
  for (size_t i = 0; i < components.size(); ++i) {
    const json& component = components[i];
    const std::string here = where + "/" + std::to_string(i);
    if (Str(component, "type") == "operating-system" && os_component.empty()) {
      os_component.family = Str(component, "name");
      os_component.version = Str(component, "version");
      os_component.name = Str(component, "description");
    }
    c.Add(Str(component, "purl"), here + "/purl", Properties(component));
    if (component.is_object() && component.contains("components")) {
      WalkCycloneDx(component["components"], here + "/components", c, os_component);
    }
  }
}

}  // namespace

Result<Inventory> ParseSbom(std::string_view text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return Fail(name, ": not JSON: ", e.what());
  }
  if (!doc.is_object()) return Fail(name, ": not a JSON object");
  Collector c;
  c.inventory.artifact.name = name;
  c.inventory.artifact.type = "sbom";
  OsInfo os_component;
  if (Str(doc, "bomFormat") == "CycloneDX") {
    std::string spec = Str(doc, "specVersion");
    if (spec != "1.4" && spec != "1.5" && spec != "1.6" && spec != "1.7") {
      return Fail(name, ": /specVersion: CycloneDX '", spec, "' (expected 1.4 to 1.7)");
    }
    if (doc.contains("metadata") && doc["metadata"].is_object()) {
      const json& meta = doc["metadata"];
      if (meta.contains("component") && meta["component"].is_object()) {
        std::string component_name = Str(meta["component"], "name");
        if (!component_name.empty()) c.inventory.artifact.name = component_name;
      }
    }
    if (doc.contains("components") && !doc["components"].is_array()) {
      return Fail(name, ": /components: not an array");
    }
    if (doc.contains("components")) {
      WalkCycloneDx(doc["components"], "/components", c, os_component);
    }
  } else if (Str(doc, "spdxVersion").starts_with("SPDX-2.")) {
    if (!doc.contains("packages")) return c.inventory;
    const json& packages = doc["packages"];
    if (!packages.is_array()) return Fail(name, ": /packages: not an array");
    std::string doc_name = Str(doc, "name");
    if (!doc_name.empty()) c.inventory.artifact.name = doc_name;
    for (size_t i = 0; i < packages.size(); ++i) {
      const json& p = packages[i];
      const std::string here = "/packages/" + std::to_string(i);
      if (!p.is_object()) return Fail(name, ": ", here, ": not an object");
      const std::string purpose = Str(p, "primaryPackagePurpose");
      if ((purpose == "OPERATING_SYSTEM" || purpose == "OPERATING-SYSTEM") &&
          os_component.empty()) {
        os_component.family = Str(p, "name");
        os_component.version = Str(p, "versionInfo");
      }
      if (!p.contains("externalRefs") || !p["externalRefs"].is_array()) continue;
      const json& refs = p["externalRefs"];
      for (size_t r = 0; r < refs.size(); ++r) {
        if (Str(refs[r], "referenceType") != "purl") continue;
        c.Add(Str(refs[r], "referenceLocator"),
              here + "/externalRefs/" + std::to_string(r) + "/referenceLocator",
              TrivySourceInfoProperties(Str(p, "sourceInfo")));
      }
    }
  } else {
    return Fail(name, ": neither CycloneDX (bomFormat) nor SPDX 2.x (spdxVersion) JSON");
  }
  if (!os_component.empty()) c.inventory.os = os_component;
  for (auto& w : c.inventory.warnings) w = name + ": " + w;
  SortPackages(c.inventory.packages);
  return std::move(c.inventory);
}

}  // namespace moat::match
