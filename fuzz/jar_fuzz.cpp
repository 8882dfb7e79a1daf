// Fuzzes the jar analyzer (zip reading, pom.properties, MANIFEST.MF, nested archives).
#include <cstddef>
#include <cstdint>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto analyzer = moat::MakeJarAnalyzer();
  moat::FileMeta file;
  file.path = "app/fuzz-1.0.war";
  file.mode = 0644;
  file.size = size;
  auto result = analyzer->Analyze(file, moat::ByteSpan(data, size));
  (void)result;
  return 0;
}
