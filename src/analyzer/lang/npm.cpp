// Node.js packages installed in node_modules trees (local and global npm installs): the
// package.json at the root of each installed package.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/text_util.h"

namespace moat {
namespace {

constexpr uint64_t kMaxPackageJsonSize = 8ull << 20;

// True for ".../node_modules/NAME/package.json" and ".../node_modules/@SCOPE/NAME/package.json":
// the manifest at the root of an installed package. Other package.json files inside a package
// (test fixtures, examples, sub-path exports like "lib/esm/package.json") describe no
// installed package and are not wanted.
bool IsInstalledPackageManifest(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  size_t n = segments.size();
  if (n < 3 || segments[n - 1] != "package.json") return false;
  std::string_view name = segments[n - 2];
  if (name.empty() || name.front() == '.' || name.front() == '@') return false;
  if (segments[n - 3] == "node_modules") return true;
  return n >= 4 && segments[n - 4] == "node_modules" && segments[n - 3].size() > 1 &&
         segments[n - 3].front() == '@';
}

void AddLicense(const nlohmann::json& value, std::vector<std::string>& licenses) {
  std::string name;
  if (value.is_string()) {
    name = value.get<std::string>();
  } else if (value.is_object()) {
    auto type = value.find("type");
    if (type != value.end() && type->is_string()) name = type->get<std::string>();
  }
  name = std::string(TrimSpace(name));
  if (name.empty()) return;
  for (const std::string& existing : licenses) {
    if (existing == name) return;
  }
  licenses.push_back(std::move(name));
}

class NpmAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxPackageJsonSize && lang::EndsWith(file.path, "/package.json") &&
           IsInstalledPackageManifest(file.path);
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    std::string file_path = "/" + std::string(file.path);
    nlohmann::json manifest;
    try {
      manifest = nlohmann::json::parse(content.begin(), content.end());
    } catch (const nlohmann::json::parse_error& error) {
      return Fail(file_path, ": invalid JSON at byte ", std::to_string(error.byte), ": ",
                  error.what());
    } catch (const std::exception& error) {
      return Fail(file_path, ": invalid JSON: ", error.what());
    }
    AnalysisResult result;
    // A manifest without a name and a version is not a published package (a private workspace
    // root, a placeholder): nothing to report, and not an error.
    if (!manifest.is_object()) return result;
    auto name = manifest.find("name");
    auto version = manifest.find("version");
    if (name == manifest.end() || version == manifest.end() || !name->is_string() ||
        !version->is_string()) {
      return result;
    }
    Package package;
    package.type = PackageType::kNpm;
    package.name = std::string(TrimSpace(name->get<std::string>()));
    package.version = std::string(TrimSpace(version->get<std::string>()));
    if (package.name.empty() || package.version.empty()) return result;

    // "license": "MIT" is the current form; {"type": "MIT"} and "licenses": [...] are the
    // deprecated ones still found in old packages.
    if (auto license = manifest.find("license"); license != manifest.end()) {
      AddLicense(*license, package.licenses);
    }
    if (auto licenses = manifest.find("licenses"); licenses != manifest.end()) {
      if (licenses->is_array()) {
        for (const auto& entry : *licenses) AddLicense(entry, package.licenses);
      } else {
        AddLicense(*licenses, package.licenses);
      }
    }
    package.file_path = std::move(file_path);
    result.packages.push_back(std::move(package));
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"npm", 1, AnalyzerKind::kLanguage, /*installed_only=*/true};
};

}  // namespace

std::unique_ptr<Analyzer> MakeNpmAnalyzer() { return std::make_unique<NpmAnalyzer>(); }

}  // namespace moat
