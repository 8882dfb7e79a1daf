// Fuzzes the Go build-info reader through the gobinary analyzer: any bytes, as an executable,
// read whole and read in parts (streamed through the walker's collector in small chunks, with a
// small head so that every round of range requests is exercised).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "analyzer/analyzer.h"
#include "walker/file_parts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto analyzer = moat::MakeGoBinaryAnalyzer();
  moat::FileMeta file;
  file.path = "usr/bin/fuzz";
  file.mode = 0755;
  file.size = size;
  auto result = analyzer->Analyze(file, moat::ByteSpan(data, size));
  (void)result;

  moat::FilePartsCollector collector(
      size, 256, 1 << 20,
      [&](const std::vector<moat::FilePart>& parts) { return analyzer->NextRanges(file, parts); });
  for (size_t offset = 0; offset < size; offset += 4096) {
    collector.Write(moat::ByteSpan(data + offset, std::min<size_t>(4096, size - offset)));
  }
  auto parts_result = analyzer->AnalyzeParts(file, collector.parts());
  (void)parts_result;
  return 0;
}
