#pragma once
// Package URLs (ECMA-427 / purl-spec): parse, build, canonical string form.

#include <map>
#include <string>
#include <string_view>

#include "core/package.h"
#include "core/result.h"

namespace moat {

struct PackageUrl {
  std::string type;
  std::string namespace_;  // "/"-separated segments, unencoded
  std::string name;
  std::string version;
  std::map<std::string, std::string> qualifiers;  // keys lower-case, sorted
  std::string subpath;

  /// Parses per the spec; errors say what is wrong and where.
  static Result<PackageUrl> Parse(std::string_view text);
  /// Like Parse, but also accepts upper-case qualifier keys and lower-cases them (the purl-spec
  /// "recommended" normalizations and purls written before ECMA-427). Everything else is strict.
  static Result<PackageUrl> ParseLenient(std::string_view text);
  /// Checks components built by hand: a valid type, a name, valid qualifier keys and the type's
  /// own rules (e.g. deb/rpm/apk/maven/golang need a namespace, pypi/gem/cargo forbid one).
  Result<void> Validate() const;
  /// The canonical form: type-specific normalization, percent-encoding, sorted qualifiers.
  std::string ToString() const;

  bool operator==(const PackageUrl&) const = default;
};

/// The purl of an inventory package: deb/rpm/apk with namespace = OS family and
/// distro=<ID>-<VERSION_ID>, arch, epoch (rpm) and upstream (source package) qualifiers; pypi,
/// npm (scope in namespace), golang (module path split), maven (groupId in namespace).
std::string PurlForPackage(const Package& package, const OsInfo& os);

}  // namespace moat
