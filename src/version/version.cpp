#include "version/version.h"

#include <cstdio>

#include "version/internal.h"

namespace moat::version {

namespace internal {

Error VersionError(std::string_view scheme, std::string_view version, std::string_view problem) {
  constexpr size_t kMaxShown = 80;
  std::string shown;
  for (size_t i = 0; i < version.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(version[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      shown += buf;
    } else {
      shown += static_cast<char>(c);
    }
  }
  if (version.size() > kMaxShown) shown += "...";
  return Fail(scheme, " version \"", shown, "\": ", problem);
}

}  // namespace internal

std::optional<Scheme> ParseScheme(std::string_view name) {
  struct Alias {
    std::string_view name;
    Scheme scheme;
  };
  static constexpr Alias kAliases[] = {
      {"deb", Scheme::kDeb},
      {"debian", Scheme::kDeb},
      {"dpkg", Scheme::kDeb},
      {"rpm", Scheme::kRpm},
      {"apk", Scheme::kApk},
      {"alpine", Scheme::kApk},
      {"pypi", Scheme::kPep440},
      {"pep440", Scheme::kPep440},
      {"python", Scheme::kPep440},
      {"npm", Scheme::kSemver},
      {"semver", Scheme::kSemver},
      {"go", Scheme::kGo},
      {"golang", Scheme::kGo},
      {"maven", Scheme::kMaven},
      {"gem", Scheme::kGem},
      {"rubygems", Scheme::kGem},
      {"nuget", Scheme::kNuget},
      {"composer", Scheme::kComposer},
      {"packagist", Scheme::kComposer},
      {"php", Scheme::kComposer},
  };
  for (const auto& alias : kAliases) {
    if (internal::EqualsIgnoreCase(alias.name, name)) return alias.scheme;
  }
  return std::nullopt;
}

std::string_view SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kDeb:
      return "deb";
    case Scheme::kRpm:
      return "rpm";
    case Scheme::kApk:
      return "apk";
    case Scheme::kPep440:
      return "pypi";
    case Scheme::kSemver:
      return "npm";
    case Scheme::kGo:
      return "go";
    case Scheme::kMaven:
      return "maven";
    case Scheme::kGem:
      return "gem";
    case Scheme::kNuget:
      return "nuget";
    case Scheme::kComposer:
      return "composer";
  }
  return "unknown";
}

Result<int> Compare(Scheme scheme, std::string_view a, std::string_view b) {
  switch (scheme) {
    case Scheme::kDeb:
      return internal::CompareDeb(a, b);
    case Scheme::kRpm:
      return internal::CompareRpm(a, b);
    case Scheme::kApk:
      return internal::CompareApk(a, b);
    case Scheme::kPep440:
      return internal::ComparePep440(a, b);
    case Scheme::kSemver:
      return internal::CompareSemver(a, b, /*loose=*/false);
    case Scheme::kGo:
      return internal::CompareGo(a, b);
    case Scheme::kMaven:
      return internal::CompareMaven(a, b);
    case Scheme::kGem:
      return internal::CompareGem(a, b);
    case Scheme::kNuget:
      return internal::CompareNuget(a, b);
    case Scheme::kComposer:
      return internal::CompareComposer(a, b);
  }
  return Fail("unknown version scheme");
}

Result<void> Validate(Scheme scheme, std::string_view version) {
  switch (scheme) {
    case Scheme::kDeb:
      return internal::ValidateDeb(version);
    case Scheme::kRpm:
      return internal::ValidateRpm(version);
    case Scheme::kApk:
      return internal::ValidateApk(version);
    case Scheme::kPep440:
      return internal::ValidatePep440(version);
    case Scheme::kSemver:
      return internal::ValidateSemver(version, /*loose=*/false);
    case Scheme::kGo:
      return internal::ValidateGo(version);
    case Scheme::kMaven:
      return internal::ValidateMaven(version);
    case Scheme::kGem:
      return internal::ValidateGem(version);
    case Scheme::kNuget:
      return internal::ValidateNuget(version);
    case Scheme::kComposer:
      return internal::ValidateComposer(version);
  }
  return Fail("unknown version scheme");
}

}  // namespace moat::version
