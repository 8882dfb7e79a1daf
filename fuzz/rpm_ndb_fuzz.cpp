// libFuzzer target: the NDB reader (SUSE's Packages.db) and the header decoder behind it.
// Seed corpus: ../shared/data/vuln/pkgdb/rpm/*_Packages.ndb

#include <cstddef>
#include <cstdint>

#include "analyzer/rpm/rpm_db.h"
#include "rpm_fuzz_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const moat::ByteSpan content(data, size);
  moat::rpm::DecodingSink sink;
  (void)moat::rpm::ReadNdbRpmDb(content, sink);
  // The analyzer's whole path too, format detection included.
  (void)moat::rpm::ParseRpmDatabase("usr/lib/sysimage/rpm/Packages.db", content);
  return 0;
}
