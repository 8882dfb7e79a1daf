#pragma once
// Version ordering exactly as each ecosystem defines it. Malformed versions are errors, never
// crashes. The comparators are pure functions; they allocate only for error messages.

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::version {

enum class Scheme { kDeb, kRpm, kApk, kPep440, kSemver, kGo, kMaven, kGem, kNuget, kComposer };

/// Accepts the CLI spellings: deb|debian|dpkg, rpm, apk|alpine, pypi|pep440|python, npm|semver,
/// go|golang, maven, gem|rubygems, nuget, composer|packagist|php. Rust crates are SemVer (npm).
std::optional<Scheme> ParseScheme(std::string_view name);
/// "deb", "rpm", "apk", "pypi", "npm", "go", "maven", "gem", "nuget", "composer".
std::string_view SchemeName(Scheme scheme);

/// Compares a and b under the scheme's rules: negative when a < b, 0 when equal, positive when
/// a > b (always -1, 0 or 1). Versions the scheme's specification does not allow are compared as
/// the ecosystem's own tool orders them where it does (apk-tools, pip's LegacyVersion, Maven,
/// Gem::Version's segments, NuGet numbers of any size); a version even the tool cannot order gives
/// an error naming the version and what is wrong with it. kDeb compares like `dpkg
/// --compare-versions`, which also orders versions that dpkg merely warns about (no leading digit,
/// odd characters); Validate() rejects those.
Result<int> Compare(Scheme scheme, std::string_view a, std::string_view b);

/// Checks that a version is valid under the scheme.
Result<void> Validate(Scheme scheme, std::string_view version);

/// npm range syntax (node-semver 7.8): `>=1.2.3 <2.0.0 || ^3.1`, hyphen ranges, x-ranges, `~`,
/// `^`. Where node-semver's satisfies() quietly answers false for an invalid range or version,
/// this returns an error naming it.
struct NpmRangeOptions {
  bool loose = false;
  bool include_prerelease = false;
};
Result<bool> SatisfiesNpmRange(std::string_view version, std::string_view range,
                               NpmRangeOptions options = {});
/// node-semver compare() with the loose option (Compare(kSemver, ...) is strict).
Result<int> CompareNpm(std::string_view a, std::string_view b, bool loose);

// ---- Helpers for callers that need one ecosystem's exact upstream behaviour. ----

/// rpmvercmp() on one version or release string (no epoch/release split); total, never fails.
int RpmVercmp(std::string_view a, std::string_view b);

/// apk-tools apk_version_compare (fuzzy = the `~` operator's prefix match). Total like apk-tools:
/// invalid versions are ordered the way apk orders them. Returns -1, 0 or 1.
int ApkCompareRaw(std::string_view a, std::string_view b, bool fuzzy = false);

/// golang.org/x/mod/semver.Compare: `v` required, invalid versions equal each other and sort
/// before all valid ones. Compare(Scheme::kGo, ...) instead accepts a missing `v` and rejects
/// invalid versions.
int GoSemverCompare(std::string_view a, std::string_view b);
/// golang.org/x/mod/semver.Canonical ("v1.2" -> "v1.2.0", build dropped); "" when invalid.
std::string GoCanonical(std::string_view version);
/// golang.org/x/mod/module.IsPseudoVersion (v0.0.0-20191109021931-daa7c04131f5 and friends).
bool IsGoPseudoVersion(std::string_view version);

/// PEP 440 normal form, as packaging's str(Version(v)): "1.0-Alpha.1" -> "1.0a1".
Result<std::string> NormalizePep440(std::string_view version);

/// Composer\Semver\VersionParser::normalize: "v1.2-b2" -> "1.2.0.0-beta2"; branches and
/// strings it refuses are errors.
Result<std::string> NormalizeComposerVersion(std::string_view version);
/// PHP's version_compare() on two strings as given (no Composer normalization): -1, 0 or 1.
int PhpVersionCompareRaw(std::string_view a, std::string_view b);

}  // namespace moat::version
