// Fuzzes the Go build-info reader through the gobinary analyzer: any bytes, as an executable.
#include <cstddef>
#include <cstdint>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto analyzer = moat::MakeGoBinaryAnalyzer();
  moat::FileMeta file;
  file.path = "usr/bin/fuzz";
  file.mode = 0755;
  file.size = size;
  auto result = analyzer->Analyze(file, moat::ByteSpan(data, size));
  (void)result;
  return 0;
}
