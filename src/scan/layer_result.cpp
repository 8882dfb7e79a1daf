#include "scan/layer_result.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "core/json_model.h"

namespace moat {
namespace {

// 2: per-file errors, problems, package databases and file lists. 3: executable paths.
constexpr int kLayerResultSchema = 3;

// The executable paths front-coded: each entry is "N:SUFFIX", the path being the first N bytes
// of the previous one followed by SUFFIX. Sorted paths share most of their start
// ("usr/bin/", "usr/lib/gcc/x86_64-linux-gnu/12/"), which this removes (about half the bytes).
nlohmann::json FrontCodedPaths(const std::vector<std::string>& sorted_paths) {
  nlohmann::json out = nlohmann::json::array();
  std::string_view previous;
  for (const std::string& path : sorted_paths) {
    size_t shared = 0;
    const size_t limit = std::min(previous.size(), path.size());
    while (shared < limit && previous[shared] == path[shared]) ++shared;
    // Never inside a UTF-8 sequence: the suffix must stay valid text for JSON.
    while (shared > 0 && shared < path.size() &&
           (static_cast<unsigned char>(path[shared]) & 0xc0) == 0x80)
      --shared;
    out.push_back(std::to_string(shared) + ":" + path.substr(shared));
    previous = path;
  }
  return out;
}

Result<std::vector<std::string>> PathsFromFrontCoded(const nlohmann::json& entries,
                                                     std::string_view input_name) {
  if (!entries.is_array()) return Fail(input_name, ": executables: not an array");
  std::vector<std::string> paths;
  paths.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string where = std::string(input_name) + ": executables[" + std::to_string(i) + "]";
    if (!entries[i].is_string()) return Fail(where, ": not a string");
    std::string_view entry = entries[i].get_ref<const std::string&>();
    const size_t colon = entry.find(':');
    size_t shared = 0;
    const auto [end, ec] = std::from_chars(entry.data(), entry.data() + colon, shared);
    if (colon == std::string_view::npos || colon == 0 || ec != std::errc() ||
        end != entry.data() + colon) {
      return Fail(where, ": not \"N:SUFFIX\"");
    }
    const std::string_view previous = paths.empty() ? std::string_view() : paths.back();
    if (shared > previous.size()) {
      return Fail(where, ": shares ", std::to_string(shared), " bytes with a previous path of ",
                  std::to_string(previous.size()));
    }
    std::string path(previous.substr(0, shared));
    path.append(entry.substr(colon + 1));
    if (path.empty() || (!paths.empty() && path <= paths.back())) {
      return Fail(where, ": paths must be non-empty, sorted and unique");
    }
    paths.push_back(std::move(path));
  }
  return paths;
}

nlohmann::json AnalysisToJson(const AnalysisResult& result) {
  nlohmann::json j = nlohmann::json::object();
  if (!result.os.empty()) {
    j["os"] = result.os;
    j["os_priority"] = result.os_priority;
  }
  if (!result.packages.empty()) j["packages"] = result.packages;
  if (!result.problems.empty()) j["problems"] = result.problems;
  if (result.unlisted_problems != 0) j["unlisted_problems"] = result.unlisted_problems;
  if (result.package_database) j["package_database"] = true;
  if (!result.owned_files.empty()) {
    nlohmann::json owned = nlohmann::json::array();
    for (const OwnedFiles& files : result.owned_files) {
      owned.push_back({{"package", files.package}, {"paths", files.paths}});
    }
    j["owned_files"] = std::move(owned);
  }
  return j;
}

AnalysisResult AnalysisFromJson(const nlohmann::json& j) {
  AnalysisResult result;
  if (auto it = j.find("os"); it != j.end()) result.os = it->get<OsInfo>();
  if (auto it = j.find("os_priority"); it != j.end()) result.os_priority = it->get<int>();
  if (auto it = j.find("packages"); it != j.end()) {
    result.packages = it->get<std::vector<Package>>();
  }
  if (auto it = j.find("problems"); it != j.end()) {
    result.problems = it->get<std::vector<std::string>>();
  }
  result.package_database = j.value("package_database", false);
  result.unlisted_problems = j.value("unlisted_problems", size_t{0});
  if (auto it = j.find("owned_files"); it != j.end()) {
    for (const auto& owned : *it) {
      result.owned_files.push_back({owned.at("package").get<std::string>(),
                                    owned.at("paths").get<std::vector<std::string>>()});
    }
  }
  return result;
}

// Identifies "the same package" across versions of a database file for layer attribution.
using PackageKey = std::tuple<PackageType, std::string, std::string, std::string, std::string>;
PackageKey KeyOf(const Package& p) { return {p.type, p.name, p.version, p.release, p.arch}; }

// The file of the image a language package was found in: "/app/a.jar!/BOOT-INF/lib/b.jar" is in
// "/app/a.jar".
std::string_view ImageFileOf(std::string_view file_path) {
  return file_path.substr(0, file_path.find("!/"));
}

// Marks the language packages whose file an OS package installed. Only packages the squashed
// image still has own files: a removed package's file list is gone or names no installed package.
void MarkOsOwnedPackages(const std::vector<const AnalyzedFile*>& final_files,
                         std::vector<Package>& packages) {
  std::unordered_map<std::string, std::vector<Package*>> by_file;
  std::set<std::string> installed_os_packages;
  for (Package& package : packages) {
    if (IsOsPackageType(package.type)) {
      installed_os_packages.insert(package.name);
    } else if (!package.file_path.empty()) {
      by_file[UsrMergedPath(ImageFileOf(package.file_path))].push_back(&package);
    }
  }
  if (by_file.empty()) return;
  for (const AnalyzedFile* file : final_files) {
    for (const OwnedFiles& owned : file->result.owned_files) {
      if (installed_os_packages.count(owned.package) == 0) continue;
      for (const std::string& path : owned.paths) {
        auto it = by_file.find(UsrMergedPath(path));
        if (it == by_file.end()) continue;
        for (Package* package : it->second) {
          if (package->owned_by.empty()) package->owned_by = owned.package;
        }
      }
    }
  }
}

// The incomplete assessments among the image's files: unreadable and damaged files, and package
// databases that list no package while no other database of their analyzer does.
std::vector<AssessmentGap> FindGaps(const std::vector<const AnalyzedFile*>& final_files) {
  std::vector<AssessmentGap> gaps;
  std::map<std::string, std::vector<const AnalyzedFile*>> empty_databases;
  std::set<std::string> analyzers_with_packages_or_gaps;
  for (const AnalyzedFile* file : final_files) {
    const std::string subject = "/" + file->path;
    if (!file->error.empty()) {
      gaps.push_back({AssessmentGap::Kind::kUnreadable, subject, file->analyzer, {file->error}, 0});
    } else if (!file->result.problems.empty()) {
      gaps.push_back({AssessmentGap::Kind::kPartial, subject, file->analyzer, file->result.problems,
                      file->result.packages.size()});
      if (file->result.unlisted_problems != 0) {
        gaps.back().details.push_back("... and " + std::to_string(file->result.unlisted_problems) +
                                      " more damaged parts");
      }
    } else if (file->result.package_database && file->result.packages.empty()) {
      empty_databases[file->analyzer].push_back(file);
      continue;
    }
    if (!file->error.empty() || !file->result.problems.empty() ||
        (file->result.package_database && !file->result.packages.empty())) {
      analyzers_with_packages_or_gaps.insert(file->analyzer);
    }
  }
  // An empty placeholder next to a database in another format (rpm's Packages beside
  // rpmdb.sqlite) is normal; a package manager whose every database is empty is not.
  for (const auto& [analyzer, files] : empty_databases) {
    if (analyzers_with_packages_or_gaps.count(analyzer) != 0) continue;
    for (const AnalyzedFile* file : files) {
      gaps.push_back({AssessmentGap::Kind::kEmpty, "/" + file->path, analyzer, {}, 0});
    }
  }
  return gaps;
}

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir.empty()) return true;  // opaque root
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

// The file lists of the OS packages the squashed image has installed (a removed package's list
// is gone or names no installed package).
std::vector<OwnedFiles> InstalledPackageFiles(const std::vector<const AnalyzedFile*>& final_files,
                                              const std::vector<Package>& packages) {
  std::set<std::string> installed;
  for (const Package& package : packages) {
    if (IsOsPackageType(package.type)) installed.insert(package.name);
  }
  std::vector<OwnedFiles> lists;
  for (const AnalyzedFile* file : final_files) {
    for (const OwnedFiles& owned : file->result.owned_files) {
      if (installed.count(owned.package) != 0) lists.push_back(owned);
    }
  }
  return lists;
}

}  // namespace

std::string UsrMergedPath(std::string_view path) {
  for (std::string_view dir : {"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"}) {
    if (path.starts_with(dir)) return "/usr" + std::string(path);
  }
  return std::string(path);
}

std::string SerializeLayerResult(const LayerResult& layer) {
  nlohmann::json j;
  j["schema"] = kLayerResultSchema;
  j["diff_id"] = layer.diff_id;
  j["size"] = layer.size;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : layer.files) {
    nlohmann::json entry = {
        {"path", file.path}, {"analyzer", file.analyzer}, {"result", AnalysisToJson(file.result)}};
    if (!file.error.empty()) entry["error"] = file.error;
    files.push_back(std::move(entry));
  }
  j["files"] = std::move(files);
  j["whiteouts"] = layer.whiteouts;
  j["opaque_dirs"] = layer.opaque_dirs;
  j["errors"] = layer.errors;
  j["executables"] = FrontCodedPaths(layer.executables);
  // A tar may hold names that are not UTF-8; such a name is stored with U+FFFD rather than
  // failing the cache write (the entry then only fails to match that name).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
                             AnalysisFromJson(f.at("result")), f.value("error", std::string())});
    }
    layer.whiteouts = j.at("whiteouts").get<std::vector<std::string>>();
    layer.opaque_dirs = j.at("opaque_dirs").get<std::vector<std::string>>();
    layer.errors = j.at("errors").get<std::vector<std::string>>();
    MOAT_ASSIGN_OR_RETURN(layer.executables, PathsFromFrontCoded(j.at("executables"), input_name));
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
    const AnalyzedFile* file;
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
      files[{file.path, file.analyzer}].push_back({index, &file});
    }
  }

  int best_os_priority = -1;
  std::vector<std::pair<int, OsInfo>> os_candidates;
  std::vector<const AnalyzedFile*> final_files;  // as the last layer left them
  for (const auto& [key, versions] : files) {
    const Version& current = versions.back();
    final_files.push_back(current.file);
    const AnalysisResult& result = current.file->result;
    if (!result.os.empty()) {
      os_candidates.emplace_back(result.os_priority, result.os);
    }
    for (const Package& package : result.packages) {
      // Walk back while earlier versions of the file still hold the same package.
      size_t introduced = current.layer;
      for (size_t v = versions.size() - 1; v-- > 0;) {
        bool present = false;
        for (const Package& older : versions[v].file->result.packages) {
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
  // Analyzers see one file at a time; a Python package described twice is merged here.
  MergeDuplicatePythonPackages(view.packages);
  MarkOsOwnedPackages(final_files, view.packages);
  view.os_package_files = InstalledPackageFiles(final_files, view.packages);
  view.gaps = FindGaps(final_files);
  SortPackages(view.packages);
  return view;
}

}  // namespace moat
