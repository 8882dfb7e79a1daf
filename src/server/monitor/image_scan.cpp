#include "server/monitor/image_scan.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "artifact/sources.h"
#include "core/json_model.h"
#include "match/match.h"
#include "scan/scanner.h"
#include "vulndb/vulndb.h"

namespace moat::server {

namespace {

std::string InventoryJson(const Inventory& inventory) {
  nlohmann::json j;
  j["artifact"] = inventory.artifact;
  j["os"] = inventory.os;
  j["packages"] = inventory.packages;
  j["warnings"] = inventory.warnings;
  nlohmann::json gaps = nlohmann::json::array();
  for (const auto& gap : inventory.assessment_gaps) {
    gaps.push_back({{"kind", AssessmentGapKindName(gap.kind)},
                    {"subject", gap.subject},
                    {"source", gap.source},
                    {"details", gap.details},
                    {"packages", gap.packages}});
  }
  j["assessment_gaps"] = gaps;
  return j.dump();
}

double BestCvss(const DetectedVulnerability& v) {
  double best = -1;
  for (const auto& rating : v.cvss) {
    if (rating.version.rfind("3", 0) == 0) best = std::max(best, rating.score);
  }
  if (best < 0) {
    for (const auto& rating : v.cvss) best = std::max(best, rating.score);
  }
  return best;
}

}  // namespace

Result<Inventory> InventoryRegistryImage(const std::string& reference, bool insecure,
                                         const std::string& username, const std::string& password,
                                         const ImageScanOptions& options) {
  RegistryOptions registry;
  registry.insecure = insecure;
  registry.username = username;
  registry.password = password;
  MOAT_ASSIGN_OR_RETURN(auto source, OpenRegistryImage(reference, registry));
  ScanOptions scan;
  scan.cache_dir = options.cache_dir;
  scan.threads = options.threads;
  return ScanImage(*source, reference, BuiltinAnalyzers(), scan);
}

ImageScan MatchImage(Inventory inventory, const vulndb::Database* db) {
  ImageScan scan;
  if (db != nullptr) {
    auto matched = match::MatchInventory(inventory, *db, match::MatchOptions{1, false});
    for (auto& w : matched.warnings) inventory.warnings.push_back(std::move(w));
    for (auto& gap : matched.gaps) inventory.assessment_gaps.push_back(std::move(gap));
    for (const auto& v : matched.findings) {
      FindingRecord f;
      f.resource_kind = "image";
      f.resource_id = inventory.artifact.manifest_digest;
      f.source = "vulnerability";
      f.finding_id = v.id;
      f.package = v.package_name;
      f.installed_version = v.package_version;
      f.fixed_version = v.fixed_versions.empty() ? "" : v.fixed_versions.front();
      f.category = v.package_type;
      f.title = v.title;
      f.severity = v.severity;
      f.cvss = BestCvss(v);
      f.kev = v.known_exploited;
      f.epss = v.epss_score.value_or(-1);
      f.patchable = !v.fixed_versions.empty();
      f.layer = v.layer_diff_id;
      f.evidence = v.layer_created_by;
      f.remediation = f.patchable ? "Upgrade " + v.package_name + " to " + f.fixed_version
                                  : "No fixed version yet";
      scan.findings.push_back(std::move(f));
    }
  }
  // The keys the matcher looks packages up by: after a database update, the images holding a
  // key the update touched are the ones to re-match.
  // Every name a package is looked up by (rpm: binary and source), in the OS's own namespace
  // and in the one whose data applies to it (CentOS: Red Hat's).
  std::set<std::pair<std::string, std::string>> keys;
  const std::string os_namespace = match::OsNamespace(inventory.os);
  std::vector<std::string> os_namespaces = {os_namespace};
  if (db != nullptr) {
    std::string data_namespace = match::DataNamespace(os_namespace, db->metadata().namespaces);
    if (!data_namespace.empty() && data_namespace != os_namespace) {
      os_namespaces.push_back(std::move(data_namespace));
    }
  }
  for (const auto& package : inventory.packages) {
    std::vector<std::string> namespaces = os_namespaces;
    if (!IsOsPackageType(package.type)) namespaces = {match::LanguageNamespace(package.type)};
    for (std::string& ns : namespaces) {
      if (ns.empty()) ns = std::string(PackageTypeName(package.type));
      for (std::string& name : match::LookupNames(ns, package)) keys.emplace(ns, std::move(name));
    }
  }
  scan.package_keys.assign(keys.begin(), keys.end());
  scan.inventory_json = InventoryJson(inventory);
  scan.inventory = std::move(inventory);
  return scan;
}

Result<Inventory> ParseStoredInventory(const std::string& json, const std::string& digest) {
  try {
    auto j = nlohmann::json::parse(json);
    Inventory inventory;
    inventory.artifact = j.at("artifact").get<ArtifactInfo>();
    inventory.os = j.at("os").get<OsInfo>();
    inventory.packages = j.at("packages").get<std::vector<Package>>();
    return inventory;
  } catch (const std::exception& e) {
    return Fail("stored inventory of ", digest, ": ", e.what());
  }
}

}  // namespace moat::server
