// libFuzzer: Red Hat CSAF VEX and advisory documents (vulndb::ParseCsafJson).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vulndb/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::vulndb::IngestResult out;
  auto r = moat::vulndb::ParseCsafJson(text, "fuzz.json", out);
  (void)r;
  return 0;
}
