// libFuzzer target: SBOM input (CycloneDX / SPDX JSON) and VEX documents never crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "match/filter.h"
#include "match/sbom.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)moat::match::ParseSbom(text, "fuzz.json");
  (void)moat::match::ParseVex(text, "fuzz.json");
  (void)moat::match::ParseIgnoreFile(text, ".moatignore");
  return 0;
}
