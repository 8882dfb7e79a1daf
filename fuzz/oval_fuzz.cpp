// libFuzzer: OVAL definitions (vulndb::ParseOval, libxml2's streaming reader behind libarchive)
// and Alpine's YAML secdb (vulndb::ParseSecdbYaml), chosen by the first byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vulndb/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto r = moat::vulndb::ParseOval(text, "fuzz.xml");
    (void)r;
  } else {
    auto r = moat::vulndb::ParseSecdbYaml(text, "fuzz.yaml");
    (void)r;
  }
  return 0;
}
