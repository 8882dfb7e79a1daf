// Fuzzes every parser of registry/archive metadata: manifests, indexes, image configs, docker
// save manifest.json, WWW-Authenticate challenges and Docker config files.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "artifact/image_source.h"
#include "artifact/manifest.h"
#include "artifact/registry_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)moat::DetectManifestKind(text, "", "fuzz");
  auto manifest = moat::ParseImageManifest(text, "fuzz");
  if (manifest.ok()) {
    for (const auto& layer : manifest->layers) {
      if (!moat::IsSha256Digest(layer.digest)) __builtin_trap();
    }
  }
  auto index = moat::ParseImageIndex(text, "fuzz");
  if (index.ok()) {
    for (const char* platform : {"linux/amd64", "linux/arm64", "linux/arm/v6"}) {
      auto wanted = moat::ParsePlatform(platform);
      if (wanted.ok()) (void)moat::SelectPlatform(*index, *wanted, "fuzz");
    }
  }
  auto config = moat::ParseImageConfig(text, "fuzz");
  if (config.ok() && config->LayerCreatedBy().size() != config->diff_ids.size()) __builtin_trap();
  (void)moat::ParseDockerSaveManifest(text, "fuzz");
  (void)moat::ParseWwwAuthenticate(text);
  (void)moat::CredentialsFromDockerConfig(text, "docker.io", "fuzz");
  (void)moat::ParsePlatform(text);
  return 0;
}
