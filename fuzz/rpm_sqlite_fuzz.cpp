// libFuzzer target: rpmdb.sqlite through SQLite's in-memory reader and the header decoder.
// Seed corpus: ../shared/data/vuln/pkgdb/rpm/*.sqlite (run with -max_len large enough for them).

#include <cstddef>
#include <cstdint>

#include "analyzer/rpm/rpm_db.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)moat::rpm::ParseRpmDatabase("var/lib/rpm/rpmdb.sqlite", moat::ByteSpan(data, size));
  return 0;
}
