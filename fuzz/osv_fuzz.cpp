// libFuzzer: OSV JSON advisories (untrusted feed input).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vulndb/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moat::vulndb::IngestResult out;
  auto status = moat::vulndb::ParseOsvJson(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json", out);
  (void)status;
  return 0;
}
