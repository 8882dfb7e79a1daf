#include "server/in_use.h"

#include <map>
#include <nlohmann/json.hpp>

#include "scan/layer_result.h"

namespace moat::server {
namespace {

using nlohmann::json;

// Files nothing runs or maps: leaving them out keeps the index at about a tenth of the lists.
bool IsDocumentation(std::string_view path) {
  for (std::string_view dir : {"/usr/share/doc/", "/usr/share/man/", "/usr/share/info/",
                               "/usr/share/locale/", "/usr/share/lintian/", "/usr/share/bug/"}) {
    if (path.starts_with(dir)) return true;
  }
  return false;
}

std::string_view Parent(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

// A file of `files` (sorted) under `dir` + "/", and not in a nested node_modules of it when
// `npm` (that is another package's).
bool HasFileUnder(const std::set<std::string>& files, const std::string& dir, bool npm) {
  const std::string prefix = dir + "/";
  for (auto it = files.lower_bound(prefix); it != files.end() && it->starts_with(prefix); ++it) {
    if (!npm || std::string_view(*it).substr(prefix.size()).find("node_modules/") ==
                    std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// A language package whose file, or own directory, holds a file that runs.
bool LanguagePackageInUse(const Package& package, const std::set<std::string>& files) {
  if (package.file_path.empty()) return false;
  // "/app/a.jar!/BOOT-INF/lib/b.jar" is in "/app/a.jar".
  const std::string_view image_file =
      std::string_view(package.file_path).substr(0, package.file_path.find("!/"));
  if (files.count(UsrMergedPath(image_file)) != 0) return true;  // a Go or Rust binary
  if (package.type == PackageType::kNpm && image_file.ends_with("/package.json")) {
    return HasFileUnder(files, UsrMergedPath(Parent(image_file)), true);  // a native addon
  }
  if (package.type == PackageType::kPypi &&
      (image_file.ends_with(".dist-info/METADATA") || image_file.ends_with(".egg-info/PKG-INFO"))) {
    // Its import package beside the metadata: "site-packages/numpy/..." and the wheel's
    // vendored libraries "site-packages/numpy.libs/...".
    const std::string site = UsrMergedPath(Parent(Parent(image_file)));
    std::string module = NormalizePythonName(package.name);
    for (char& c : module) {
      if (c == '-') c = '_';
    }
    return HasFileUnder(files, site + "/" + module, false) ||
           HasFileUnder(files, site + "/" + module + ".libs", false);
  }
  return false;
}

}  // namespace

std::string PackageFilesIndex(const Inventory& inventory) {
  std::map<std::string, PackageType> os_types;
  for (const Package& package : inventory.packages) {
    if (IsOsPackageType(package.type)) os_types.emplace(package.name, package.type);
  }
  json list = json::array();
  for (const OwnedFiles& owned : inventory.os_package_files) {
    auto type = os_types.find(owned.package);
    if (type == os_types.end()) continue;
    std::set<std::string> paths;
    for (const std::string& path : owned.paths) {
      if (path.empty() || path.front() != '/' || path.ends_with("/.") || IsDocumentation(path)) {
        continue;
      }
      paths.insert(UsrMergedPath(path));
    }
    // The lists name the package's directories too: a path with another path under it.
    std::vector<std::string> kept;
    for (const std::string& path : paths) {
      if (!HasFileUnder(paths, path, false)) kept.push_back(path);
    }
    if (kept.empty()) continue;
    list.push_back({PackageTypeName(type->second), owned.package, kept});
  }
  if (list.empty()) return "";
  return json{{"packages", list}}.dump();
}

std::set<PackageRef> PackagesInUse(const std::string& files_index,
                                   const std::vector<Package>& packages,
                                   const std::set<std::string>& files) {
  std::set<std::string> merged;
  for (const std::string& file : files) merged.insert(UsrMergedPath(file));
  std::set<PackageRef> in_use;
  if (!files_index.empty()) {
    const json index = json::parse(files_index, nullptr, false);
    const json* list =
        index.is_object() && index.contains("packages") ? &index["packages"] : nullptr;
    if (list != nullptr && list->is_array()) {
      for (const json& entry : *list) {
        if (!entry.is_array() || entry.size() != 3 || !entry[0].is_string() ||
            !entry[1].is_string() || !entry[2].is_array()) {
          continue;
        }
        for (const json& path : entry[2]) {
          if (path.is_string() && merged.count(path.get<std::string>()) != 0) {
            in_use.emplace(entry[0].get<std::string>(), entry[1].get<std::string>());
            break;
          }
        }
      }
    }
  }
  for (const Package& package : packages) {
    if (!IsOsPackageType(package.type) && LanguagePackageInUse(package, merged)) {
      in_use.emplace(PackageTypeName(package.type), package.name);
    }
  }
  return in_use;
}

}  // namespace moat::server
