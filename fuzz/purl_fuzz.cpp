// libFuzzer target for the purl parser: any input parses or fails cleanly, and whatever parses
// has a canonical form that parses back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "purl/purl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool lenient : {false, true}) {
    auto parsed = lenient ? moat::PackageUrl::ParseLenient(text) : moat::PackageUrl::Parse(text);
    if (!parsed.ok()) continue;
    const std::string canonical = parsed->ToString();
    auto again = moat::PackageUrl::Parse(canonical);
    if (!again.ok() || again->ToString() != canonical) std::abort();
  }
  return 0;
}
