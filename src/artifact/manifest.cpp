#include "artifact/manifest.h"

#include <nlohmann/json.hpp>

#include "artifact/image_source.h"

namespace moat {
namespace {

using Json = nlohmann::json;

Result<Json> ParseJsonObject(std::string_view text, std::string_view input_name) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Fail(input_name, ": not valid JSON");
  if (!json.is_object()) return Fail(input_name, ": JSON is not an object");
  return json;
}

// Optional string field: absent or null -> "", other types -> Error.
Result<std::string> OptionalString(const Json& object, const char* key, std::string_view input_name,
                                   std::string_view path) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Fail(input_name, ": ", path, key, " is not a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> OptionalStringArray(const Json& object, const char* key,
                                                     std::string_view input_name,
                                                     std::string_view path) {
  std::vector<std::string> values;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return values;
  if (!it->is_array()) return Fail(input_name, ": ", path, key, " is not an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    if (!item.is_string()) {
      return Fail(input_name, ": ", path, key, "[", std::to_string(i), "] is not a string");
    }
    values.push_back(item.get<std::string>());
  }
  return values;
}

Result<Descriptor> ParseDescriptor(const Json& json, std::string_view input_name,
                                   const std::string& path) {
  if (!json.is_object()) return Fail(input_name, ": ", path, " is not an object");
  Descriptor descriptor;
  MOAT_ASSIGN_OR_RETURN(descriptor.media_type,
                        OptionalString(json, "mediaType", input_name, path + "."));
  MOAT_ASSIGN_OR_RETURN(descriptor.digest, OptionalString(json, "digest", input_name, path + "."));
  if (!IsSha256Digest(descriptor.digest)) {
    return Fail(input_name, ": ", path, ".digest \"", descriptor.digest.substr(0, 80),
                "\" is not a sha256 digest");
  }
  auto size = json.find("size");
  if (size != json.end() && !size->is_null()) {
    if (!size->is_number_integer() || size->get<int64_t>() < 0) {
      return Fail(input_name, ": ", path, ".size is not a non-negative integer");
    }
    descriptor.size = size->get<int64_t>();
  }
  auto platform = json.find("platform");
  if (platform != json.end() && !platform->is_null()) {
    if (!platform->is_object()) return Fail(input_name, ": ", path, ".platform is not an object");
    descriptor.has_platform = true;
    std::string platform_path = path + ".platform.";
    MOAT_ASSIGN_OR_RETURN(descriptor.platform.os,
                          OptionalString(*platform, "os", input_name, platform_path));
    MOAT_ASSIGN_OR_RETURN(descriptor.platform.architecture,
                          OptionalString(*platform, "architecture", input_name, platform_path));
    MOAT_ASSIGN_OR_RETURN(descriptor.platform.variant,
                          OptionalString(*platform, "variant", input_name, platform_path));
  }
  auto annotations = json.find("annotations");
  if (annotations != json.end() && !annotations->is_null()) {
    if (!annotations->is_object()) {
      return Fail(input_name, ": ", path, ".annotations is not an object");
    }
    for (const auto& [key, value] : annotations->items()) {
      if (value.is_string()) descriptor.annotations[key] = value.get<std::string>();
    }
  }
  return descriptor;
}

Result<int> SchemaVersion(const Json& json, std::string_view input_name) {
  auto it = json.find("schemaVersion");
  if (it == json.end()) return 0;
  if (!it->is_number_integer()) return Fail(input_name, ": schemaVersion is not an integer");
  return static_cast<int>(it->get<int64_t>());
}

Error Schema1Error(std::string_view input_name) {
  return Fail(input_name,
              ": Docker image manifest schema 1 is not supported (deprecated since 2017); "
              "push the image again with a current Docker or skopeo");
}

bool IsAttestation(const Descriptor& descriptor) {
  auto it = descriptor.annotations.find("vnd.docker.reference.type");
  return it != descriptor.annotations.end() && it->second == "attestation-manifest";
}

}  // namespace

bool IsSha256Digest(std::string_view digest) {
  if (digest.size() != 71 || digest.substr(0, 7) != "sha256:") return false;
  for (char c : digest.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Platform NormalizePlatform(Platform platform) {
  for (auto* field : {&platform.os, &platform.architecture, &platform.variant}) {
    for (char& c : *field) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::string& arch = platform.architecture;
  std::string& variant = platform.variant;
  if (arch == "x86_64" || arch == "x86-64") {
    arch = "amd64";
  } else if (arch == "i386" || arch == "i686") {
    arch = "386";
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant.empty() || variant == "8") variant = "v8";
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") variant = "v7";
    if (variant == "5" || variant == "6" || variant == "8") variant = "v" + variant;
  }
  if (platform.os == "macos") platform.os = "darwin";
  return platform;
}

Result<Platform> ParsePlatform(std::string_view text) {
  Platform platform;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty() ||
      (parts.size() == 3 && parts[2].empty())) {
    return Fail("invalid platform \"", text, "\": expected os/arch[/variant]");
  }
  platform.os = parts[0];
  platform.architecture = parts[1];
  if (parts.size() == 3) platform.variant = parts[2];
  return NormalizePlatform(platform);
}

Result<ManifestKind> DetectManifestKind(std::string_view json_text, std::string_view content_type,
                                        std::string_view input_name) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseJsonObject(json_text, input_name));
  MOAT_ASSIGN_OR_RETURN(int schema_version, SchemaVersion(json, input_name));
  MOAT_ASSIGN_OR_RETURN(std::string type, OptionalString(json, "mediaType", input_name, ""));
  if (type.empty()) {
    type = std::string(content_type.substr(0, content_type.find(';')));
  }
  if (schema_version == 1 || type == media_type::kDockerManifestV1 ||
      type == media_type::kDockerManifestV1Signed) {
    return Schema1Error(input_name);
  }
  if (type == media_type::kOciIndex || type == media_type::kDockerManifestList) {
    return ManifestKind::kIndex;
  }
  if (type == media_type::kOciManifest || type == media_type::kDockerManifest) {
    return ManifestKind::kImageManifest;
  }
  // OCI allows omitting mediaType: decide by shape.
  if (json.contains("manifests")) return ManifestKind::kIndex;
  if (json.contains("config") && json.contains("layers")) return ManifestKind::kImageManifest;
  return Fail(input_name, ": unsupported manifest media type \"", type.substr(0, 100), "\"");
}

Result<ImageManifest> ParseImageManifest(std::string_view json_text, std::string_view input_name) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseJsonObject(json_text, input_name));
  MOAT_ASSIGN_OR_RETURN(int schema_version, SchemaVersion(json, input_name));
  if (schema_version == 1) return Schema1Error(input_name);
  if (schema_version != 2) {
    return Fail(input_name, ": unsupported schemaVersion ", std::to_string(schema_version));
  }
  ImageManifest manifest;
  MOAT_ASSIGN_OR_RETURN(manifest.media_type, OptionalString(json, "mediaType", input_name, ""));
  if (manifest.media_type == media_type::kOciIndex ||
      manifest.media_type == media_type::kDockerManifestList) {
    return Fail(input_name, ": is an image index, not an image manifest");
  }
  auto config = json.find("config");
  if (config == json.end()) return Fail(input_name, ": manifest has no config");
  MOAT_ASSIGN_OR_RETURN(manifest.config, ParseDescriptor(*config, input_name, "config"));
  auto layers = json.find("layers");
  if (layers == json.end() || !layers->is_array()) {
    return Fail(input_name, ": manifest has no layers array");
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    MOAT_ASSIGN_OR_RETURN(Descriptor layer, ParseDescriptor((*layers)[i], input_name,
                                                            "layers[" + std::to_string(i) + "]"));
    manifest.layers.push_back(std::move(layer));
  }
  return manifest;
}

Result<ImageIndex> ParseImageIndex(std::string_view json_text, std::string_view input_name) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseJsonObject(json_text, input_name));
  MOAT_ASSIGN_OR_RETURN(int schema_version, SchemaVersion(json, input_name));
  if (schema_version != 2) {
    return Fail(input_name, ": unsupported index schemaVersion ", std::to_string(schema_version));
  }
  ImageIndex index;
  MOAT_ASSIGN_OR_RETURN(index.media_type, OptionalString(json, "mediaType", input_name, ""));
  auto manifests = json.find("manifests");
  if (manifests == json.end() || !manifests->is_array()) {
    return Fail(input_name, ": index has no manifests array");
  }
  for (size_t i = 0; i < manifests->size(); ++i) {
    MOAT_ASSIGN_OR_RETURN(
        Descriptor entry,
        ParseDescriptor((*manifests)[i], input_name, "manifests[" + std::to_string(i) + "]"));
    index.manifests.push_back(std::move(entry));
  }
  return index;
}

Result<Descriptor> SelectPlatform(const ImageIndex& index, const Platform& wanted_platform,
                                  std::string_view input_name) {
  Platform wanted = NormalizePlatform(wanted_platform);
  const Descriptor* loose_match = nullptr;
  std::string available;
  for (const Descriptor& entry : index.manifests) {
    if (IsAttestation(entry) || !entry.has_platform) continue;
    Platform offered = NormalizePlatform(entry.platform);
    std::string name = offered.os + "/" + offered.architecture +
                       (offered.variant.empty() ? "" : "/" + offered.variant);
    available += (available.empty() ? "" : ", ") + name;
    if (offered.os != wanted.os || offered.architecture != wanted.architecture) continue;
    if (offered.variant == wanted.variant) return entry;
    if (wanted.variant.empty() && loose_match == nullptr) loose_match = &entry;
  }
  if (loose_match != nullptr) return *loose_match;
  return Fail(input_name, ": no image for platform ", wanted.os, "/", wanted.architecture,
              wanted.variant.empty() ? "" : "/" + wanted.variant,
              " (available: ", available.empty() ? "none" : available, ")");
}

Result<std::vector<DockerSaveImage>> ParseDockerSaveManifest(std::string_view json_text,
                                                             std::string_view input_name) {
  Json json = Json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (json.is_discarded()) return Fail(input_name, ": not valid JSON");
  if (!json.is_array()) return Fail(input_name, ": docker save manifest is not an array");
  std::vector<DockerSaveImage> images;
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& item = json[i];
    std::string path = "[" + std::to_string(i) + "].";
    if (!item.is_object()) return Fail(input_name, ": [", std::to_string(i), "] is not an object");
    DockerSaveImage image;
    MOAT_ASSIGN_OR_RETURN(image.config, OptionalString(item, "Config", input_name, path));
    if (image.config.empty()) return Fail(input_name, ": ", path, "Config is missing");
    MOAT_ASSIGN_OR_RETURN(image.repo_tags, OptionalStringArray(item, "RepoTags", input_name, path));
    MOAT_ASSIGN_OR_RETURN(image.layers, OptionalStringArray(item, "Layers", input_name, path));
    images.push_back(std::move(image));
  }
  return images;
}

std::vector<std::string> ImageConfig::LayerCreatedBy() const {
  std::vector<std::string> created_by;
  for (const HistoryEntry& entry : history) {
    if (!entry.empty_layer) created_by.push_back(entry.created_by);
  }
  // History is informational and sometimes incomplete (squashed or hand-made images).
  created_by.resize(diff_ids.size());
  return created_by;
}

Result<ImageConfig> ParseImageConfig(std::string_view json_text, std::string_view input_name) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseJsonObject(json_text, input_name));
  ImageConfig config;
  MOAT_ASSIGN_OR_RETURN(config.os, OptionalString(json, "os", input_name, ""));
  MOAT_ASSIGN_OR_RETURN(config.architecture, OptionalString(json, "architecture", input_name, ""));
  MOAT_ASSIGN_OR_RETURN(config.variant, OptionalString(json, "variant", input_name, ""));
  MOAT_ASSIGN_OR_RETURN(config.created, OptionalString(json, "created", input_name, ""));
  auto rootfs = json.find("rootfs");
  if (rootfs == json.end() || !rootfs->is_object()) {
    return Fail(input_name, ": image config has no rootfs object");
  }
  MOAT_ASSIGN_OR_RETURN(std::string rootfs_type,
                        OptionalString(*rootfs, "type", input_name, "rootfs."));
  if (!rootfs_type.empty() && rootfs_type != "layers") {
    return Fail(input_name, ": unsupported rootfs.type \"", rootfs_type.substr(0, 50), "\"");
  }
  auto diff_ids = rootfs->find("diff_ids");
  if (diff_ids == rootfs->end() || !diff_ids->is_array()) {
    return Fail(input_name, ": image config has no rootfs.diff_ids array");
  }
  MOAT_ASSIGN_OR_RETURN(config.diff_ids,
                        OptionalStringArray(*rootfs, "diff_ids", input_name, "rootfs."));
  for (size_t i = 0; i < config.diff_ids.size(); ++i) {
    if (!IsSha256Digest(config.diff_ids[i])) {
      return Fail(input_name, ": rootfs.diff_ids[", std::to_string(i), "] is not a sha256 digest");
    }
  }
  auto history = json.find("history");
  if (history != json.end() && !history->is_null()) {
    if (!history->is_array()) return Fail(input_name, ": history is not an array");
    for (size_t i = 0; i < history->size(); ++i) {
      const Json& item = (*history)[i];
      std::string path = "history[" + std::to_string(i) + "].";
      if (!item.is_object()) return Fail(input_name, ": ", path, " is not an object");
      HistoryEntry entry;
      MOAT_ASSIGN_OR_RETURN(entry.created, OptionalString(item, "created", input_name, path));
      MOAT_ASSIGN_OR_RETURN(entry.created_by, OptionalString(item, "created_by", input_name, path));
      MOAT_ASSIGN_OR_RETURN(entry.comment, OptionalString(item, "comment", input_name, path));
      auto empty_layer = item.find("empty_layer");
      if (empty_layer != item.end() && !empty_layer->is_null()) {
        if (!empty_layer->is_boolean()) {
          return Fail(input_name, ": ", path, "empty_layer is not a boolean");
        }
        entry.empty_layer = empty_layer->get<bool>();
      }
      config.history.push_back(std::move(entry));
    }
  }
  return config;
}

}  // namespace moat
