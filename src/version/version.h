#pragma once
// Version ordering exactly as each ecosystem defines it. Malformed versions are errors, never
// crashes. The comparators are pure functions; they allocate only for error messages.

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::version {

enum class Scheme { kDeb, kRpm, kApk, kPep440, kSemver, kGo, kMaven, kGem, kNuget };

/// Accepts the CLI spellings: deb|debian|dpkg, rpm, apk|alpine, pypi|pep440|python, npm|semver,
/// go|golang, maven, gem|rubygems, nuget.
std::optional<Scheme> ParseScheme(std::string_view name);
/// "deb", "rpm", "apk", "pypi", "npm", "go", "maven", "gem", "nuget".
std::string_view SchemeName(Scheme scheme);

/// Compares a and b under the scheme's rules: negative when a < b, 0 when equal, positive when
/// a > b. An invalid version gives an error naming the version and what is wrong with it.
Result<int> Compare(Scheme scheme, std::string_view a, std::string_view b);

/// Checks that a version is valid under the scheme.
Result<void> Validate(Scheme scheme, std::string_view version);

/// npm range syntax (node-semver): `>=1.2.3 <2.0.0 || ^3.1`, hyphen ranges, x-ranges, `~`, `^`.
struct NpmRangeOptions {
  bool loose = false;
  bool include_prerelease = false;
};
Result<bool> SatisfiesNpmRange(std::string_view version, std::string_view range,
                               NpmRangeOptions options = {});

}  // namespace moat::version
