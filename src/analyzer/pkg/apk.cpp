// The "apk" analyzer: Alpine (and Wolfi/Chainguard) packages from lib/apk/db/installed.
//
// The database is a list of records separated by blank lines; every line is "X:value" with a
// one-letter key. Like apk-tools, a line of another shape makes the whole database unreadable
// (reported with its line); records without a name or version are skipped.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyzer/analyzer.h"

namespace moat {
namespace {

// apk-tools 3 can keep its database under usr/ on usr-merged systems.
constexpr std::string_view kInstalledPaths[] = {"lib/apk/db/installed", "usr/lib/apk/db/installed"};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
  return text;
}

/// "MIT", "MPL-2.0 AND MIT" and "( Apache-2.0 OR MIT ) AND MPL-2.0" are one license each (an
/// SPDX expression); old packages list several licenses separated by spaces ("MIT BSD GPL2+"),
/// which are split.
std::vector<std::string> ParseLicenses(std::string_view value) {
  std::vector<std::string> licenses;
  value = Trim(value);
  if (value.empty()) return licenses;
  bool is_expression = value.find('(') != std::string_view::npos;
  for (std::string_view op : {" AND ", " OR ", " WITH ", " and ", " or ", " with "}) {
    if (value.find(op) != std::string_view::npos) is_expression = true;
  }
  if (is_expression) {
    licenses.emplace_back(value);
    return licenses;
  }
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && IsBlank(value[i])) ++i;
    size_t start = i;
    while (i < value.size() && !IsBlank(value[i])) ++i;
    if (i > start) licenses.emplace_back(value.substr(start, i - start));
  }
  return licenses;
}

struct Record {
  std::string_view name, version, arch, origin, license, maintainer;
  bool any_field = false;
};

class InstalledParser {
 public:
  InstalledParser(std::string_view text, std::string display_path)
      : text_(text), path_(std::move(display_path)) {}

  Result<std::vector<Package>> Parse() {
    Record record;
    size_t pos = 0;
    size_t line_number = 0;
    while (pos < text_.size()) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos, end - pos);
      pos = end + 1;
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

      if (line.empty()) {
        Finish(record);
        record = Record{};
        continue;
      }
      if (line.size() < 2 || line[1] != ':' || IsBlank(line[0])) {
        return Fail(Where(line_number), ": expected \"X:value\"");
      }
      record.any_field = true;
      std::string_view value = line.substr(2);
      std::string_view* slot = nullptr;
      switch (line[0]) {
        case 'P':
          slot = &record.name;
          break;
        case 'V':
          slot = &record.version;
          break;
        case 'A':
          slot = &record.arch;
          break;
        case 'o':
          slot = &record.origin;
          break;
        case 'L':
          slot = &record.license;
          break;
        case 'm':
          slot = &record.maintainer;
          break;
        default:
          continue;  // files (F/R/Z/M/a), checksums, dependencies...
      }
      if (slot->data() != nullptr) {
        return Fail(Where(line_number), ": duplicate field \"", std::string(1, line[0]),
                    "\" in one package");
      }
      *slot = value;
    }
    Finish(record);
    return std::move(packages_);
  }

 private:
  std::string Where(size_t line) const { return path_ + ": line " + std::to_string(line); }

  void Finish(const Record& record) {
    if (!record.any_field) return;
    std::string_view name = Trim(record.name);
    std::string_view version = Trim(record.version);
    if (name.empty() || version.empty()) return;
    Package package;
    package.type = PackageType::kApk;
    package.name = std::string(name);
    package.version = std::string(version);
    package.arch = std::string(Trim(record.arch));
    std::string_view origin = Trim(record.origin);
    package.source_name = origin.empty() ? package.name : std::string(origin);
    // Every package built from one APKBUILD shares its version.
    package.source_version = package.version;
    package.maintainer = std::string(Trim(record.maintainer));
    package.licenses = ParseLicenses(record.license);
    package.file_path = path_;
    packages_.push_back(std::move(package));
  }

  std::string_view text_;
  std::string path_;
  std::vector<Package> packages_;
};

class ApkAnalyzer final : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    for (std::string_view path : kInstalledPaths) {
      if (file.path == path) return true;
    }
    return false;
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    InstalledParser parser(AsText(content), "/" + std::string(file.path));
    MOAT_ASSIGN_OR_RETURN(std::vector<Package> packages, parser.Parse());
    AnalysisResult result;
    result.packages = std::move(packages);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"apk", 1, AnalyzerKind::kOsPackages};
};

}  // namespace

std::unique_ptr<Analyzer> MakeApkAnalyzer() { return std::make_unique<ApkAnalyzer>(); }

}  // namespace moat
