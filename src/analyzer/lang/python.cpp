// Python packages installed by pip or distro packages: *.dist-info/METADATA (wheels),
// *.egg-info/PKG-INFO and single-file *.egg-info (setuptools), EGG-INFO/PKG-INFO (unzipped eggs).

#include <memory>

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
  AnalyzerDescriptor descriptor_{"python", 1, AnalyzerKind::kLanguage};
};

}  // namespace

std::unique_ptr<Analyzer> MakePythonAnalyzer() { return std::make_unique<PythonAnalyzer>(); }

}  // namespace moat
