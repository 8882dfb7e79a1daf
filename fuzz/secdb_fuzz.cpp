// libFuzzer: Alpine/Wolfi/Chainguard secdb JSON, plus the enrichment parsers that take the same
// kind of untrusted bytes (NVD, KEV, EPSS CSV), chosen by the first byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vulndb/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto r = moat::vulndb::ParseSecdb(text, "fuzz.json");
      (void)r;
      break;
    }
    case 1: {
      auto r = moat::vulndb::ParseNvdJson(text, "fuzz.json");
      (void)r;
      break;
    }
    case 2: {
      auto r = moat::vulndb::ParseKev(text, "fuzz.json");
      (void)r;
      break;
    }
    default: {
      auto r = moat::vulndb::ParseEpssCsv(text, "fuzz.csv");
      (void)r;
      break;
    }
  }
  return 0;
}
