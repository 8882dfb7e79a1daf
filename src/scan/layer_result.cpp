#include "scan/layer_result.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/json_model.h"

namespace moat {
namespace {

constexpr int kLayerResultSchema = 1;

nlohmann::json AnalysisToJson(const AnalysisResult& result) {
  nlohmann::json j = nlohmann::json::object();
  if (!result.os.empty()) {
    j["os"] = result.os;
    j["os_priority"] = result.os_priority;
  }
  if (!result.packages.empty()) j["packages"] = result.packages;
  return j;
}

AnalysisResult AnalysisFromJson(const nlohmann::json& j) {
  AnalysisResult result;
  if (auto it = j.find("os"); it != j.end()) result.os = it->get<OsInfo>();
  if (auto it = j.find("os_priority"); it != j.end()) result.os_priority = it->get<int>();
  if (auto it = j.find("packages"); it != j.end()) {
    result.packages = it->get<std::vector<Package>>();
  }
  return result;
}

// Identifies "the same package" across versions of a database file for layer attribution.
using PackageKey = std::tuple<PackageType, std::string, std::string, std::string, std::string>;
PackageKey KeyOf(const Package& p) { return {p.type, p.name, p.version, p.release, p.arch}; }

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir.empty()) return true;  // opaque root
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

}  // namespace

std::string SerializeLayerResult(const LayerResult& layer) {
  nlohmann::json j;
  j["schema"] = kLayerResultSchema;
  j["diff_id"] = layer.diff_id;
  j["size"] = layer.size;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : layer.files) {
    files.push_back({{"path", file.path},
                     {"analyzer", file.analyzer},
                     {"result", AnalysisToJson(file.result)}});
  }
  j["files"] = std::move(files);
  j["whiteouts"] = layer.whiteouts;
  j["opaque_dirs"] = layer.opaque_dirs;
  j["errors"] = layer.errors;
  return j.dump();
}

Result<LayerResult> ParseLayerResult(std::string_view json, std::string_view input_name) {
  try {
    auto j = nlohmann::json::parse(json);
    if (j.value("schema", 0) != kLayerResultSchema) {
      return Fail(std::string(input_name), ": unsupported layer result schema");
    }
    LayerResult layer;
    layer.diff_id = j.at("diff_id").get<std::string>();
    layer.size = j.value("size", uint64_t{0});
    for (const auto& f : j.at("files")) {
      layer.files.push_back({f.at("path").get<std::string>(), f.at("analyzer").get<std::string>(),
                             AnalysisFromJson(f.at("result"))});
    }
    layer.whiteouts = j.at("whiteouts").get<std::vector<std::string>>();
    layer.opaque_dirs = j.at("opaque_dirs").get<std::vector<std::string>>();
    layer.errors = j.at("errors").get<std::vector<std::string>>();
    return layer;
  } catch (const std::exception& e) {
    return Fail(std::string(input_name), ": ", e.what());
  }
}

SquashedView Squash(const std::vector<const LayerResult*>& layers,
                    const std::vector<std::string>& created_by) {
  // For each (path, analyzer): the versions of that file in consecutive layers since it was last
  // created; a deletion starts the chain over. The last version is what the image contains.
  struct Version {
    size_t layer;
    const AnalysisResult* result;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Version>> files;
  SquashedView view;

  for (size_t index = 0; index < layers.size(); ++index) {
    const LayerResult& layer = *layers[index];
    for (const auto& error : layer.errors) view.warnings.push_back(error);
    auto erase_if = [&](auto&& predicate) {
      for (auto it = files.begin(); it != files.end();) {
        it = predicate(it->first.first) ? files.erase(it) : std::next(it);
      }
    };
    for (const auto& dir : layer.opaque_dirs) {
      erase_if([&](const std::string& path) { return IsUnder(path, dir); });
    }
    for (const auto& target : layer.whiteouts) {
      erase_if([&](const std::string& path) { return path == target || IsUnder(path, target); });
    }
    for (const auto& file : layer.files) {
      files[{file.path, file.analyzer}].push_back({index, &file.result});
    }
  }

  int best_os_priority = -1;
  std::vector<std::pair<int, OsInfo>> os_candidates;
  for (const auto& [key, versions] : files) {
    const Version& current = versions.back();
    if (!current.result->os.empty()) {
      os_candidates.emplace_back(current.result->os_priority, current.result->os);
    }
    for (const Package& package : current.result->packages) {
      // Walk back while earlier versions of the file still hold the same package.
      size_t introduced = current.layer;
      for (size_t v = versions.size() - 1; v-- > 0;) {
        bool present = false;
        for (const Package& older : versions[v].result->packages) {
          if (KeyOf(older) == KeyOf(package)) {
            present = true;
            break;
          }
        }
        if (!present) break;
        introduced = versions[v].layer;
      }
      Package out = package;
      out.layer_diff_id = layers[introduced]->diff_id;
      if (introduced < created_by.size()) out.layer_created_by = created_by[introduced];
      view.packages.push_back(std::move(out));
    }
  }

  // The highest-priority release file names the OS; lower ones fill fields it leaves empty.
  std::stable_sort(os_candidates.begin(), os_candidates.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [priority, os] : os_candidates) {
    if (best_os_priority < 0) {
      view.os = os;
      best_os_priority = priority;
      continue;
    }
    if (!os.family.empty() && !view.os.family.empty() && os.family != view.os.family) continue;
    if (view.os.family.empty()) view.os.family = os.family;
    if (view.os.name.empty()) view.os.name = os.name;
    if (view.os.version.empty()) view.os.version = os.version;
    if (view.os.codename.empty()) view.os.codename = os.codename;
  }
  SortPackages(view.packages);
  return view;
}

}  // namespace moat
