// The "apk" analyzer: Alpine (and Wolfi/Chainguard) packages from lib/apk/db/installed.
//
// The database is a list of records separated by blank lines; every line is "X:value" with a
// one-letter key. apk-tools refuses the whole database over a line of another shape; a scanner
// must not: the record holding it is skipped and named (the file is reported as partly
// unreadable), the others are read. Records without a name or version are skipped. The records'
// file lists (F: directory, R: file in it) tell which files each package installed.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/pkg/stanza_file.h"

namespace moat {
namespace {

// apk-tools 3 can keep its database under usr/ on usr-merged systems.
constexpr std::string_view kInstalledPaths[] = {"lib/apk/db/installed", "usr/lib/apk/db/installed"};

using pkg::IsBlank;
using pkg::Trim;

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
  std::string directory;  // the last F: line, "" for the root
  std::vector<std::string> files;
};

class InstalledParser final : public pkg::StanzaFileParser {
 public:
  using StanzaFileParser::StanzaFileParser;

 protected:
  Result<void> OnLine(std::string_view line) override {
    if (line.size() < 2 || line[1] != ':' || IsBlank(line[0])) {
      return Fail(Where(line_number()), ": expected \"X:value\"");
    }
    std::string_view value = line.substr(2);
    std::string_view* slot = nullptr;
    switch (line[0]) {
      case 'P':
        slot = &record_.name;
        break;
      case 'V':
        slot = &record_.version;
        break;
      case 'A':
        slot = &record_.arch;
        break;
      case 'o':
        slot = &record_.origin;
        break;
      case 'L':
        slot = &record_.license;
        break;
      case 'm':
        slot = &record_.maintainer;
        break;
      case 'F':
        record_.directory = std::string(value);
        return Ok();
      case 'R':
        record_.files.push_back("/" + (record_.directory.empty() ? "" : record_.directory + "/") +
                                std::string(value));
        return Ok();
      default:
        return Ok();  // file attributes (a/M/Z), checksums, dependencies...
    }
    if (slot->data() != nullptr) {
      return Fail(Where(line_number()), ": duplicate field \"", std::string(1, line[0]),
                  "\" in one package");
    }
    *slot = value;
    return Ok();
  }

  std::string_view StanzaName() const override { return Trim(record_.name); }

  void Reset() override { record_ = Record{}; }

  Result<void> OnStanzaEnd(AnalysisResult& result) override {
    std::string_view name = Trim(record_.name);
    std::string_view version = Trim(record_.version);
    if (name.empty() || version.empty()) return Ok();
    Package package;
    package.type = PackageType::kApk;
    package.name = std::string(name);
    package.version = std::string(version);
    package.arch = std::string(Trim(record_.arch));
    std::string_view origin = Trim(record_.origin);
    package.source_name = origin.empty() ? package.name : std::string(origin);
    // Every package built from one APKBUILD shares its version.
    package.source_version = package.version;
    package.maintainer = std::string(Trim(record_.maintainer));
    package.licenses = ParseLicenses(record_.license);
    package.file_path = display_path();
    if (!record_.files.empty())
      result.owned_files.push_back({package.name, std::move(record_.files)});
    result.packages.push_back(std::move(package));
    return Ok();
  }

 private:
  Record record_;
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
    return InstalledParser(AsText(content), "/" + std::string(file.path)).Parse();
  }

 private:
  // 2: damaged records skipped instead of failing the file; file lists.
  AnalyzerDescriptor descriptor_{"apk", 2, AnalyzerKind::kOsPackages};
};

}  // namespace

std::unique_ptr<Analyzer> MakeApkAnalyzer() { return std::make_unique<ApkAnalyzer>(); }

}  // namespace moat
