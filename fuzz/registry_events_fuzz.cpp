// Registry notification envelopes (POST /api/v1/registry-events) are untrusted: any bytes must
// give events or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/monitor/registry_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto events = moat::server::ParseRegistryEvents(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (events.ok()) {
    for (const auto& event : *events) (void)event.IsManifest();
  }
  return 0;
}
