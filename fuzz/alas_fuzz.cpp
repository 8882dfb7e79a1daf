// libFuzzer: Amazon Linux advisory pages and updateinfo.xml (vulndb::ParseAlasHtml,
// vulndb::ParseUpdateinfo) and Photon's CVE metadata (vulndb::ParsePhotonCves), by first byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vulndb/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  moat::vulndb::IngestResult out;
  switch (data[0] % 3) {
    case 0: {
      auto r = moat::vulndb::ParseAlasHtml(text, "fuzz.html", out);
      (void)r;
      break;
    }
    case 1: {
      auto r = moat::vulndb::ParseUpdateinfo(text, "fuzz.xml", out);
      (void)r;
      break;
    }
    default: {
      auto r = moat::vulndb::ParsePhotonCves(text, "cve_data_photon5.0.json");
      (void)r;
      break;
    }
  }
  return 0;
}
