// The "dpkg" analyzer: Debian packages from var/lib/dpkg/status and from the per-package files
// of var/lib/dpkg/status.d/ that distroless images carry instead of a status file.
//
// The files are deb822 control data: paragraphs separated by blank lines, "Field: value" lines
// (field names case-insensitive), continuation lines starting with a space or tab. Like dpkg
// itself, a syntax error anywhere rejects the whole file (with its line): a status file dpkg
// could not read does not describe a working system, and silently dropping one paragraph would
// hide packages. Paragraphs that parse but lack Package or Version are skipped.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyzer/analyzer.h"

namespace moat {
namespace {

constexpr std::string_view kStatusPath = "var/lib/dpkg/status";
constexpr std::string_view kStatusDirPrefix = "var/lib/dpkg/status.d/";
constexpr std::string_view kMd5sumsSuffix = ".md5sums";

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

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
  return text;
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
  bool any_field = false;
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

class StatusParser {
 public:
  StatusParser(std::string_view text, std::string display_path, bool per_package_file)
      : text_(text), path_(std::move(display_path)), per_package_file_(per_package_file) {}

  Result<std::vector<Package>> Parse() {
    // Status paragraphs of real systems average about 1 KB; reserving avoids re-moving the
    // (large) Package records as the vector grows.
    packages_.reserve(text_.size() / 1024 + 1);
    Paragraph paragraph;
    // True while the previous line belongs to a field, so a continuation line may follow.
    bool in_field = false;
    size_t pos = 0;
    size_t line_number = 0;
    while (pos < text_.size()) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos, end - pos);
      pos = end + 1;
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

      if (Trim(line).empty()) {
        MOAT_TRY(Finish(paragraph));
        paragraph = Paragraph{};
        in_field = false;
        continue;
      }
      if (IsBlank(line.front())) {
        if (!in_field) return Fail(Where(line_number), ": continuation line outside a field");
        continue;  // only multi-line fields we do not read (Description, Conffiles) continue
      }
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Fail(Where(line_number), ": expected \"Field: value\"");
      }
      std::string_view name = line.substr(0, colon);
      if (!IsValidFieldName(name)) return Fail(Where(line_number), ": invalid field name");
      in_field = true;
      paragraph.any_field = true;
      int field = FieldIndex(name);
      if (field < 0) continue;
      if (paragraph.lines[field] != 0) {
        return Fail(Where(line_number), ": duplicate field \"", std::string(name), "\"");
      }
      paragraph.values[field] = Trim(line.substr(colon + 1));
      paragraph.lines[field] = line_number;
    }
    MOAT_TRY(Finish(paragraph));
    return std::move(packages_);
  }

 private:
  std::string Where(size_t line) const { return path_ + ": line " + std::to_string(line); }

  Result<void> Finish(const Paragraph& paragraph) {
    if (!paragraph.any_field) return Ok();
    std::string_view name = paragraph.values[kPackage];
    std::string_view version = paragraph.values[kVersion];
    if (name.empty() || version.empty()) return Ok();

    if (paragraph.lines[kStatus] != 0) {
      std::string_view words[3];
      if (!SplitStatus(paragraph.values[kStatus], words)) {
        return Fail(Where(paragraph.lines[kStatus]), ": Status must be \"<want> <flag> <state>\"");
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
    package.arch = std::string(paragraph.values[kArchitecture]);
    package.maintainer = std::string(paragraph.values[kMaintainer]);
    package.file_path = path_;
    MOAT_TRY(SetSource(paragraph, package));
    packages_.push_back(std::move(package));
    return Ok();
  }

  /// "Source: name" or "Source: name (version)"; without it the source is the package itself.
  Result<void> SetSource(const Paragraph& paragraph, Package& package) const {
    std::string_view source = paragraph.values[kSource];
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
      return Fail(Where(paragraph.lines[kSource]),
                  ": Source must be \"name\" or \"name (version)\"");
    }
    package.source_name = std::string(source_name);
    package.source_version = std::string(Trim(rest.substr(0, close)));
    return Ok();
  }

  std::string_view text_;
  std::string path_;
  bool per_package_file_;
  std::vector<Package> packages_;
};

class DpkgAnalyzer final : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.path == kStatusPath || IsStatusDirEntry(file.path);
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    StatusParser parser(AsText(content), "/" + std::string(file.path), IsStatusDirEntry(file.path));
    MOAT_ASSIGN_OR_RETURN(std::vector<Package> packages, parser.Parse());
    AnalysisResult result;
    result.packages = std::move(packages);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"dpkg", 1, AnalyzerKind::kOsPackages};
};

}  // namespace

std::unique_ptr<Analyzer> MakeDpkgAnalyzer() { return std::make_unique<DpkgAnalyzer>(); }

}  // namespace moat
