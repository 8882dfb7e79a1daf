// The "dpkg" analyzer: Debian packages from var/lib/dpkg/status and from the per-package files
// of var/lib/dpkg/status.d/ that distroless images carry instead of a status file, and the
// packages' file lists (var/lib/dpkg/info/<package>[:<arch>].list).
//
// The status files are deb822 control data: paragraphs separated by blank lines, "Field: value"
// lines (field names case-insensitive), continuation lines starting with a space or tab. dpkg
// itself refuses a whole status file over one syntax error; a scanner must not: a paragraph with
// a syntax error is skipped and named (the file is reported as partly unreadable), the others
// are read. Paragraphs that parse but lack Package or Version are skipped.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/pkg/stanza_file.h"
#include "core/text.h"

namespace moat {
namespace {

using pkg::IsBlank;
using pkg::Trim;

constexpr std::string_view kStatusPath = "var/lib/dpkg/status";
constexpr std::string_view kStatusDirPrefix = "var/lib/dpkg/status.d/";
constexpr std::string_view kMd5sumsSuffix = ".md5sums";
constexpr std::string_view kInfoDirPrefix = "var/lib/dpkg/info/";
constexpr std::string_view kListSuffix = ".list";

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

/// A control file directly inside status.d/ (not its *.md5sums file lists).
bool IsStatusDirEntry(std::string_view path) {
  if (path.substr(0, kStatusDirPrefix.size()) != kStatusDirPrefix) return false;
  std::string_view name = path.substr(kStatusDirPrefix.size());
  return !name.empty() && name.find('/') == std::string_view::npos &&
         !EndsWith(name, kMd5sumsSuffix);
}

/// The package of a file list "var/lib/dpkg/info/<package>[:<arch>].list"; "" for other paths.
std::string_view InfoListPackage(std::string_view path) {
  if (path.substr(0, kInfoDirPrefix.size()) != kInfoDirPrefix || !EndsWith(path, kListSuffix)) {
    return "";
  }
  std::string_view name = path.substr(kInfoDirPrefix.size());
  name.remove_suffix(kListSuffix.size());
  if (name.find('/') != std::string_view::npos) return "";
  return name.substr(0, name.find(':'));
}

/// A file list names one path a line: "/.", the package's directories and files.
OwnedFiles ParseInfoList(std::string_view package, std::string_view text) {
  OwnedFiles owned;
  owned.package = std::string(package);
  for (std::string_view line : SplitLines(text)) {
    if (line.size() > 2 && line.front() == '/') owned.paths.emplace_back(line);
  }
  return owned;
}

char FoldCase(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

/// `lower` must be lower case.
bool EqualsIgnoreCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (FoldCase(text[i]) != lower[i]) return false;
  }
  return true;
}

/// dpkg field names are printable ASCII without spaces or colons.
bool IsValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

// The fields we read. Others (Description, Depends, Conffiles...) are skipped.
enum Field : int { kPackage, kVersion, kArchitecture, kSource, kMaintainer, kStatus, kFieldCount };
constexpr std::string_view kFieldNames[kFieldCount] = {"package", "version",    "architecture",
                                                       "source",  "maintainer", "status"};

int FieldIndex(std::string_view name) {
  for (int i = 0; i < kFieldCount; ++i) {
    if (EqualsIgnoreCase(name, kFieldNames[i])) return i;
  }
  return -1;
}

struct Paragraph {
  std::string_view values[kFieldCount];
  size_t lines[kFieldCount] = {};  // where each field was; 0 when absent
};

/// The package-state word of "Status: <want> <error-flag> <state>" says whether the package's
/// files are on disk. "config-files", "half-installed" and "not-installed" packages are gone
/// or half-gone; the states from "unpacked" on have all their files in place. A trigger still
/// pending does not make an installed package less installed.
bool StateHasFilesOnDisk(std::string_view state) {
  return state == "installed" || state == "triggers-pending" || state == "triggers-awaited" ||
         state == "half-configured" || state == "unpacked";
}

/// Splits "want flag state" into its three words; false when it has another shape.
bool SplitStatus(std::string_view status, std::string_view words[3]) {
  size_t count = 0;
  size_t i = 0;
  while (i < status.size()) {
    while (i < status.size() && IsBlank(status[i])) ++i;
    if (i == status.size()) break;
    size_t start = i;
    while (i < status.size() && !IsBlank(status[i])) ++i;
    if (count == 3) return false;
    words[count++] = status.substr(start, i - start);
  }
  return count == 3;
}

class StatusParser final : public pkg::StanzaFileParser {
 public:
  StatusParser(std::string_view text, std::string display_path, bool per_package_file)
      : StanzaFileParser(text, std::move(display_path)), per_package_file_(per_package_file) {}

 protected:
  bool IsSeparator(std::string_view line) const override { return Trim(line).empty(); }

  Result<void> OnLine(std::string_view line) override {
    if (IsBlank(line.front())) {
      if (!in_field_) return Fail(Where(line_number()), ": continuation line outside a field");
      return Ok();  // only multi-line fields we do not read (Description, Conffiles) continue
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Fail(Where(line_number()), ": expected \"Field: value\"");
    }
    std::string_view name = line.substr(0, colon);
    if (!IsValidFieldName(name)) return Fail(Where(line_number()), ": invalid field name");
    in_field_ = true;
    int field = FieldIndex(name);
    if (field < 0) return Ok();
    if (paragraph_.lines[field] != 0) {
      return Fail(Where(line_number()), ": duplicate field \"", std::string(name), "\"");
    }
    paragraph_.values[field] = Trim(line.substr(colon + 1));
    paragraph_.lines[field] = line_number();
    return Ok();
  }

  std::string_view StanzaName() const override { return paragraph_.values[kPackage]; }

  void Reset() override {
    paragraph_ = Paragraph{};
    in_field_ = false;
  }

  Result<void> OnStanzaEnd(AnalysisResult& result) override {
    std::string_view name = paragraph_.values[kPackage];
    std::string_view version = paragraph_.values[kVersion];
    if (name.empty() || version.empty()) return Ok();

    if (paragraph_.lines[kStatus] != 0) {
      std::string_view words[3];
      if (!SplitStatus(paragraph_.values[kStatus], words)) {
        return Fail(Where(paragraph_.lines[kStatus]), ": Status must be \"<want> <flag> <state>\"");
      }
      if (!StateHasFilesOnDisk(words[2])) return Ok();
    } else if (!per_package_file_) {
      // The status file records every package's state; one without it is not installed.
      // status.d/ files of distroless images have no Status: being there means installed.
      return Ok();
    }

    Package package;
    package.type = PackageType::kDeb;
    package.name = std::string(name);
    package.version = std::string(version);
    package.arch = std::string(paragraph_.values[kArchitecture]);
    package.maintainer = std::string(paragraph_.values[kMaintainer]);
    package.file_path = display_path();
    MOAT_TRY(SetSource(package));
    result.packages.push_back(std::move(package));
    return Ok();
  }

 private:
  /// "Source: name" or "Source: name (version)"; without it the source is the package itself.
  Result<void> SetSource(Package& package) const {
    std::string_view source = paragraph_.values[kSource];
    if (source.empty()) {
      package.source_name = package.name;
      package.source_version = package.version;
      return Ok();
    }
    size_t open = source.find('(');
    if (open == std::string_view::npos) {
      package.source_name = std::string(source);
      package.source_version = package.version;
      return Ok();
    }
    std::string_view source_name = Trim(source.substr(0, open));
    std::string_view rest = source.substr(open + 1);
    size_t close = rest.find(')');
    if (close == std::string_view::npos || source_name.empty() ||
        Trim(rest.substr(0, close)).empty() || !Trim(rest.substr(close + 1)).empty()) {
      return Fail(Where(paragraph_.lines[kSource]),
                  ": Source must be \"name\" or \"name (version)\"");
    }
    package.source_name = std::string(source_name);
    package.source_version = std::string(Trim(rest.substr(0, close)));
    return Ok();
  }

  bool per_package_file_;
  Paragraph paragraph_;
  // True while the previous line belongs to a field, so a continuation line may follow.
  bool in_field_ = false;
};

class DpkgAnalyzer final : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.path == kStatusPath || IsStatusDirEntry(file.path) ||
           !InfoListPackage(file.path).empty();
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    if (std::string_view package = InfoListPackage(file.path); !package.empty()) {
      AnalysisResult result;
      result.owned_files.push_back(ParseInfoList(package, AsText(content)));
      return result;
    }
    return StatusParser(AsText(content), "/" + std::string(file.path), IsStatusDirEntry(file.path))
        .Parse();
  }

 private:
  // 2: damaged paragraphs skipped instead of failing the file; file lists (info/*.list).
  AnalyzerDescriptor descriptor_{"dpkg", 2, AnalyzerKind::kOsPackages};
};

}  // namespace

std::unique_ptr<Analyzer> MakeDpkgAnalyzer() { return std::make_unique<DpkgAnalyzer>(); }

}  // namespace moat
