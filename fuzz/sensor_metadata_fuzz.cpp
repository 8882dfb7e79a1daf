// libFuzzer target for the container runtime's answers the sensor parses (GET
// /containers/{id}/json and /images/{id}/json of the Docker Engine API): names, labels, image,
// bind mounts and layers are whatever the container's or image's creator wrote. Any input gives
// a container (an image) or an error; nothing throws.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sensor/container_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto info = moat::sensor::ParseDockerInspect(body, "fuzz");
  if (info.ok()) {
    if (info->id.empty()) __builtin_trap();  // an id is required
    for (const std::string& source : info->host_mounts) {
      if (source.empty()) __builtin_trap();
    }
  }
  // The same bytes as an image's answer.
  auto image = moat::sensor::ParseDockerImageInspect(body, "fuzz");
  (void)image;
  return 0;
}
