// libFuzzer target: the RPM header blob decoder on arbitrary bytes.
// Seed corpus: ../shared/data/vuln/pkgdb/rpm/go-rpmdb_blob.bin

#include <cstddef>
#include <cstdint>

#include "analyzer/rpm/rpm_db.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)moat::rpm::DecodeRpmHeader(moat::ByteSpan(data, size));
  return 0;
}
