// libFuzzer target: the Berkeley DB hash reader (rpm's Packages) and the header decoder behind it.
// Seed corpus: ../shared/data/vuln/pkgdb/rpm/*_Packages.bdb

#include <cstddef>
#include <cstdint>

#include "analyzer/rpm/rpm_db.h"
#include "rpm_fuzz_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const moat::ByteSpan content(data, size);
  // The reader alone, decoding every record (so every overflow chain is walked)...
  moat::rpm::DecodingSink sink;
  (void)moat::rpm::ReadBerkeleyDbHash(content, sink);
  // ...and the analyzer's whole path, format detection included.
  (void)moat::rpm::ParseRpmDatabase("var/lib/rpm/Packages", content);
  return 0;
}
