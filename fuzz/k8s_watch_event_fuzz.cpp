// Watch stream lines from the API server (moat agent --kind cluster) are untrusted: any bytes must
// give an event or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/cluster_watch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)moat::agent::ParseWatchEvent(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
