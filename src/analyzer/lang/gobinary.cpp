// Go executables: the module graph embedded by the Go linker (main module and dependencies).

#include <memory>

#include "analyzer/analyzer.h"
#include "analyzer/lang/go_buildinfo.h"

namespace moat {
namespace {

// The smallest Go binaries (stripped, no dependencies) are over a megabyte; anything far below
// that is a script or a tiny C program, not worth reading. There is no upper bound: only the
// headers and the build-info section are read (ReadsInParts), and providers of 700 MB exist.
constexpr uint64_t kMinGoBinarySize = 256ull << 10;

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

// "go1.21.3" -> "v1.21.3"; "go1.22rc1 X:boringcrypto" -> "v1.22.0-rc.1" (Go's own mapping of
// toolchain names to semantic versions); "" for devel builds and anything unrecognised.
std::string StdlibVersion(std::string_view go_version) {
  if (size_t space = go_version.find(' '); space != std::string_view::npos) {
    go_version = go_version.substr(0, space);
  }
  if (!go_version.starts_with("go")) return "";
  go_version.remove_prefix(2);
  std::string numbers, prerelease;
  size_t i = 0;
  int parts = 0;
  while (i < go_version.size()) {
    size_t start = i;
    while (i < go_version.size() && go_version[i] >= '0' && go_version[i] <= '9') ++i;
    if (i == start) return "";
    if (parts > 0) numbers += '.';
    numbers.append(go_version.substr(start, i - start));
    ++parts;
    if (i == go_version.size()) break;
    if (go_version[i] == '.') {
      ++i;
      continue;
    }
    std::string_view rest = go_version.substr(i);
    for (std::string_view tag : {"rc", "beta"}) {
      if (rest.starts_with(tag) && rest.size() > tag.size() &&
          rest.find_first_not_of("0123456789", tag.size()) == std::string_view::npos) {
        prerelease = "-" + std::string(tag) + "." + std::string(rest.substr(tag.size()));
      }
    }
    if (prerelease.empty()) return "";
    break;
  }
  if (parts > 3) return "";
  while (parts++ < 3) numbers += ".0";
  return "v" + numbers + prerelease;
}

class GoBinaryAnalyzer : public lang::ExecutablePartsAnalyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return (file.mode & 0111) != 0 && file.size >= kMinGoBinarySize;
  }

  std::vector<FileRange> NextRanges(const FileMeta& file,
                                    const std::vector<FilePart>& parts) const override {
    return lang::GoBuildInfoRanges(parts, file.size);
  }

  Result<AnalysisResult> AnalyzeParts(const FileMeta& file,
                                      const std::vector<FilePart>& parts) const override {
    AnalysisResult result;
    std::string file_path = "/" + std::string(file.path);
    MOAT_ASSIGN_OR_RETURN(std::optional<lang::GoBuildInfo> info,
                          lang::ReadGoBuildInfo(parts, file.size, file_path));
    if (!info.has_value()) return result;  // scripts, other formats, non-Go ELF files
    if (info->main.has_value() && !info->main->path.empty()) {
      Package main = MakeGoPackage(*info->main, info->go_version, file_path);
      main.main_module = true;
      result.packages.push_back(std::move(main));
    }
    for (const lang::GoModule& dep : info->deps) {
      if (dep.path.empty()) continue;
      result.packages.push_back(MakeGoPackage(dep, info->go_version, file_path));
    }
    // The standard library is compiled into every Go binary, with or without module information
    // (GOPATH builds such as Debian's have none); the Go vulnerability database names it
    // "stdlib", so it is reported as a module at the toolchain's version.
    if (std::string version = StdlibVersion(info->go_version); !version.empty()) {
      lang::GoModule stdlib;
      stdlib.path = "stdlib";
      stdlib.version = version;
      result.packages.push_back(MakeGoPackage(stdlib, info->go_version, file_path));
    }
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"gobinary", 2, AnalyzerKind::kLanguage, /*installed_only=*/true};
};

}  // namespace

std::unique_ptr<Analyzer> MakeGoBinaryAnalyzer() { return std::make_unique<GoBinaryAnalyzer>(); }

}  // namespace moat
