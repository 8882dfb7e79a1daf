// Go executables: the module graph embedded by the Go linker (main module and dependencies).

#include <memory>

#include "analyzer/analyzer.h"
#include "analyzer/lang/go_buildinfo.h"

namespace moat {
namespace {

// The smallest Go binaries (stripped, no dependencies) are over a megabyte; anything far below
// that is a script or a tiny C program, not worth reading.
constexpr uint64_t kMinGoBinarySize = 256ull << 10;
constexpr uint64_t kMaxGoBinarySize = 1ull << 30;

Package MakeGoPackage(const lang::GoModule& module, const std::string& go_version,
                      const std::string& file_path) {
  Package package;
  package.type = PackageType::kGolang;
  // A replaced module was built from its replacement: that is the code in the binary.
  if (module.replaced && !module.replace_path.empty()) {
    package.name = module.replace_path;
    package.version = module.replace_version;
  } else {
    package.name = module.path;
    package.version = module.version;
  }
  package.go_version = go_version;
  package.file_path = file_path;
  return package;
}

class GoBinaryAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return (file.mode & 0111) != 0 && file.size >= kMinGoBinarySize &&
           file.size <= kMaxGoBinarySize;
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    AnalysisResult result;
    if (!lang::LooksLikeElf(content)) return result;  // scripts, other formats: not ours
    std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(std::optional<lang::GoBuildInfo> info,
                          lang::ReadGoBuildInfo(content, file_path));
    if (!info.has_value()) return result;
    if (info->main.has_value() && !info->main->path.empty()) {
      Package main = MakeGoPackage(*info->main, info->go_version, file_path);
      main.main_module = true;
      result.packages.push_back(std::move(main));
    }
    for (const lang::GoModule& dep : info->deps) {
      if (dep.path.empty()) continue;
      result.packages.push_back(MakeGoPackage(dep, info->go_version, file_path));
    }
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"gobinary", 1, AnalyzerKind::kLanguage};
};

}  // namespace

std::unique_ptr<Analyzer> MakeGoBinaryAnalyzer() { return std::make_unique<GoBinaryAnalyzer>(); }

}  // namespace moat
