#pragma once
// Parsers of the metadata files inside Java archives: META-INF/maven/**/pom.properties and
// META-INF/MANIFEST.MF, and the "artifact-1.2.3.jar" file-name convention.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace moat::lang {

struct MavenCoordinates {
  std::string group_id;  // may be empty when only the manifest or file name identified the jar
  std::string artifact_id;
  std::string version;
  /// "groupId:artifactId", or the artifactId alone when the group is unknown.
  std::string Name() const { return group_id.empty() ? artifact_id : group_id + ":" + artifact_id; }
};

/// Java .properties "key=value" / "key: value" lines (comments, continuations, escapes of the
/// common forms). Later keys override earlier ones, as in java.util.Properties.
std::map<std::string, std::string> ParseJavaProperties(std::string_view text);

/// groupId, artifactId and version from a pom.properties; nullopt when one is missing.
std::optional<MavenCoordinates> ParsePomProperties(std::string_view text);

/// The main section of a MANIFEST.MF, keys lower-cased (attribute names are case-insensitive).
std::map<std::string, std::string> ParseManifest(std::string_view text);

/// Identifies a jar from its manifest (Implementation-*, Specification-*, Bundle-*); nullopt when
/// the manifest names no artifact id and version.
std::optional<MavenCoordinates> CoordinatesFromManifest(
    const std::map<std::string, std::string>& manifest);

/// The groupId a manifest suggests for `artifact_id` (Implementation-Vendor-Id, else derived from
/// Bundle-SymbolicName); empty when it suggests none.
std::string GroupFromManifest(const std::map<std::string, std::string>& manifest,
                              std::string_view artifact_id);

/// "commons-lang3-3.12.0.jar" -> artifact "commons-lang3", version "3.12.0" (the version starts at
/// the last "-" followed by a digit); nullopt when the name carries no version.
std::optional<MavenCoordinates> CoordinatesFromFileName(std::string_view file_name);

}  // namespace moat::lang
