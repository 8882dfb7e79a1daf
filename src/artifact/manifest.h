#pragma once
// OCI / Docker manifests, indexes and `docker save` manifest.json: parsed from untrusted bytes
// (registry replies, archive entries) into small value types. Shared by the registry and archive
// sources; exposed for the fuzz target.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat {

namespace media_type {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestV1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerManifestV1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
};

/// Parses "os/arch[/variant]" and normalizes it the way containerd does (x86_64 -> amd64,
/// aarch64 -> arm64, arm64 variant v8 implied, arm variant v7 implied).
Result<Platform> ParsePlatform(std::string_view text);
Platform NormalizePlatform(Platform platform);

struct Descriptor {
  std::string media_type;
  std::string digest;  // validated "sha256:<64 lower hex>"
  int64_t size = -1;   // -1 when absent
  bool has_platform = false;
  Platform platform;
  std::map<std::string, std::string> annotations;
};

struct ImageManifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageIndex {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

enum class ManifestKind { kImageManifest, kIndex };

/// Decides from the JSON's mediaType/fields (and the Content-Type when the JSON has no
/// mediaType) whether the document is a manifest or an index. Schema 1 is an Error.
Result<ManifestKind> DetectManifestKind(std::string_view json, std::string_view content_type,
                                        std::string_view input_name);
Result<ImageManifest> ParseImageManifest(std::string_view json, std::string_view input_name);
Result<ImageIndex> ParseImageIndex(std::string_view json, std::string_view input_name);

/// Picks the manifest for `wanted` from an index (attestation manifests are skipped). An exact
/// normalized match wins; with no variant asked, any variant of the os/arch matches.
Result<Descriptor> SelectPlatform(const ImageIndex& index, const Platform& wanted,
                                  std::string_view input_name);

/// One image of a `docker save` manifest.json.
struct DockerSaveImage {
  std::string config;  // path inside the archive
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;  // paths inside the archive, bottom first
};
Result<std::vector<DockerSaveImage>> ParseDockerSaveManifest(std::string_view json,
                                                             std::string_view input_name);

/// "sha256:<64 lower-case hex>": the only digests Moat accepts (they also become file paths).
bool IsSha256Digest(std::string_view digest);

}  // namespace moat
