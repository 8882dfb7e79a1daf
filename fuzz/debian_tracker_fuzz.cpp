// libFuzzer: Debian Security Tracker JSON (untrusted feed input).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vulndb/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = moat::vulndb::ParseDebianTracker(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
  (void)result;
  return 0;
}
