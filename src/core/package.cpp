#include "core/package.h"

#include <algorithm>
#include <tuple>

namespace moat {
namespace {
constexpr std::pair<PackageType, std::string_view> kTypeNames[] = {
    {PackageType::kDeb, "deb"},     {PackageType::kRpm, "rpm"}, {PackageType::kApk, "apk"},
    {PackageType::kPypi, "pypi"},   {PackageType::kNpm, "npm"}, {PackageType::kGolang, "golang"},
    {PackageType::kMaven, "maven"},
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

void SortPackages(std::vector<Package>& packages) {
  std::sort(packages.begin(), packages.end(), [](const Package& a, const Package& b) {
    return std::tie(a.type, a.name, a.version, a.release, a.arch, a.file_path) <
           std::tie(b.type, b.name, b.version, b.release, b.arch, b.file_path);
  });
}

}  // namespace moat
