// Python packages installed by pip or distro packages: *.dist-info/METADATA (wheels),
// *.egg-info/PKG-INFO and single-file *.egg-info (setuptools), EGG-INFO/PKG-INFO (unzipped eggs).

#include <cctype>
#include <map>
#include <memory>
#include <tuple>
#include <utility>

#include "analyzer/analyzer.h"
#include "analyzer/lang/python_metadata.h"
#include "analyzer/lang/text_util.h"

namespace moat {
namespace {

// Metadata files carry the long description after the header; anything this big is not one.
constexpr uint64_t kMaxMetadataSize = 16ull << 20;

class PythonAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    if (file.size > kMaxMetadataSize) return false;
    std::string_view path = file.path;
    return lang::EndsWith(path, ".dist-info/METADATA") ||
           lang::EndsWith(path, ".egg-info/PKG-INFO") ||
           lang::EndsWith(path, "EGG-INFO/PKG-INFO") || lang::EndsWith(path, ".egg-info");
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(lang::PythonMetadata metadata,
                          lang::ParsePythonMetadata(AsText(content), file_path));
    Package package;
    package.type = PackageType::kPypi;
    package.name = std::move(metadata.name);
    package.version = std::move(metadata.version);
    package.licenses = std::move(metadata.licenses);
    package.file_path = std::move(file_path);
    AnalysisResult result;
    result.packages.push_back(std::move(package));
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"python", 1, AnalyzerKind::kLanguage, /*installed_only=*/true};
};

// The directory the metadata lies in (site-packages) and how authoritative the metadata kind is
// (lower is better): "/sp/x-1.dist-info/METADATA" -> ("/sp", 0); "/sp/x.egg-info/PKG-INFO" and
// "/sp/x-1.egg-info" -> ("/sp", 1); "/sp/x-1.egg/EGG-INFO/PKG-INFO" -> ("/sp", 2).
std::pair<std::string_view, int> SiteDirectory(std::string_view path) {
  auto parent = [](std::string_view p) {
    size_t slash = p.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : p.substr(0, slash);
  };
  if (lang::EndsWith(path, ".dist-info/METADATA")) return {parent(parent(path)), 0};
  if (lang::EndsWith(path, ".egg-info/PKG-INFO")) return {parent(parent(path)), 1};
  if (lang::EndsWith(path, ".egg-info")) return {parent(path), 1};
  if (lang::EndsWith(path, "EGG-INFO/PKG-INFO")) return {parent(parent(parent(path))), 2};
  return {path, 3};
}

}  // namespace

std::unique_ptr<Analyzer> MakePythonAnalyzer() { return std::make_unique<PythonAnalyzer>(); }

void MergeDuplicatePythonPackages(std::vector<Package>& packages) {
  // (name, version, site directory) -> index of the best record so far.
  std::map<std::tuple<std::string, std::string, std::string>, size_t> best;
  std::vector<bool> drop(packages.size(), false);
  for (size_t i = 0; i < packages.size(); ++i) {
    const Package& package = packages[i];
    if (package.type != PackageType::kPypi) continue;
    auto [site, rank] = SiteDirectory(package.file_path);
    auto key =
        std::make_tuple(NormalizePythonName(package.name), package.version, std::string(site));
    auto [it, inserted] = best.emplace(std::move(key), i);
    if (inserted) continue;
    if (rank < SiteDirectory(packages[it->second].file_path).second) {
      drop[it->second] = true;
      it->second = i;
    } else {
      drop[i] = true;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < packages.size(); ++i) {
    if (drop[i]) continue;
    if (kept != i) packages[kept] = std::move(packages[i]);  // never a self-move: it empties
    ++kept;
  }
  packages.resize(kept);
}

}  // namespace moat
