#include "core/package.h"

#include <algorithm>
#include <cctype>
#include <tuple>

namespace moat {
namespace {
constexpr std::pair<PackageType, std::string_view> kTypeNames[] = {
    {PackageType::kDeb, "deb"},           {PackageType::kRpm, "rpm"},
    {PackageType::kApk, "apk"},           {PackageType::kPypi, "pypi"},
    {PackageType::kNpm, "npm"},           {PackageType::kGolang, "golang"},
    {PackageType::kMaven, "maven"},       {PackageType::kGem, "gem"},
    {PackageType::kCargo, "cargo"},       {PackageType::kNuget, "nuget"},
    {PackageType::kComposer, "composer"},
};
}  // namespace

std::string_view PackageTypeName(PackageType type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  return "unknown";
}

std::optional<PackageType> ParsePackageType(std::string_view name) {
  for (const auto& [t, type_name] : kTypeNames) {
    if (type_name == name) return t;
  }
  return std::nullopt;
}

std::string NormalizePythonName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool in_run = false;
  for (char c : name) {
    const bool separator = c == '-' || c == '_' || c == '.';
    if (separator && !in_run) out += '-';
    if (!separator) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    in_run = separator;
  }
  return out;
}

bool IsOsPackageType(PackageType type) {
  return type == PackageType::kDeb || type == PackageType::kRpm || type == PackageType::kApk;
}

std::string Package::DisplayVersion() const {
  if (type != PackageType::kRpm) return version;
  std::string out;
  if (!epoch.empty() && epoch != "0") out = epoch + ":";
  out += version;
  if (!release.empty()) out += "-" + release;
  return out;
}

namespace {
constexpr std::pair<AssessmentGap::Kind, std::string_view> kGapKindNames[] = {
    {AssessmentGap::Kind::kPartial, "partial"},
    {AssessmentGap::Kind::kUnreadable, "unreadable"},
    {AssessmentGap::Kind::kEmpty, "empty"},
    {AssessmentGap::Kind::kNoVulnerabilityData, "no_vulnerability_data"},
    {AssessmentGap::Kind::kVersionNotCompared, "version_not_compared"},
};
}  // namespace

std::string_view AssessmentGapKindName(AssessmentGap::Kind kind) {
  for (const auto& [k, name] : kGapKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<AssessmentGap::Kind> ParseAssessmentGapKind(std::string_view name) {
  for (const auto& [kind, kind_name] : kGapKindNames) {
    if (kind_name == name) return kind;
  }
  return std::nullopt;
}

std::string DescribeAssessmentGap(const AssessmentGap& gap) {
  std::string out = gap.subject + " (" + gap.source + "): ";
  const std::string count = std::to_string(gap.packages);
  switch (gap.kind) {
    case AssessmentGap::Kind::kPartial:
      out += "partly unreadable, damaged parts skipped, " + count + " package(s) read";
      break;
    case AssessmentGap::Kind::kUnreadable:
      out += "unreadable, no package read";
      break;
    case AssessmentGap::Kind::kEmpty:
      out += "package database present but lists no installed package";
      break;
    case AssessmentGap::Kind::kNoVulnerabilityData:
      out += "NOT ASSESSED: the vulnerability database has no data for this OS; " + count +
             " OS package(s) not checked";
      break;
    case AssessmentGap::Kind::kVersionNotCompared:
      out += "NOT ASSESSED against " + std::to_string(gap.details.size()) +
             " advisory(ies): the versions cannot be compared";
      break;
  }
  return out;
}

void SortPackages(std::vector<Package>& packages) {
  std::sort(packages.begin(), packages.end(), [](const Package& a, const Package& b) {
    return std::tie(a.type, a.name, a.version, a.release, a.arch, a.file_path) <
           std::tie(b.type, b.name, b.version, b.release, b.arch, b.file_path);
  });
}

}  // namespace moat
