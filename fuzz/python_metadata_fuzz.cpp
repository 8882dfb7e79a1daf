// Fuzzes the Python metadata parser, and the npm package.json reader with the same input.
#include <cstddef>
#include <cstdint>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto python = moat::MakePythonAnalyzer();
  static auto npm = moat::MakeNpmAnalyzer();
  moat::ByteSpan content(data, size);
  moat::FileMeta metadata;
  metadata.path = "usr/lib/python3/dist-packages/fuzz-1.0.dist-info/METADATA";
  metadata.size = size;
  (void)python->Analyze(metadata, content);
  moat::FileMeta package_json;
  package_json.path = "app/node_modules/fuzz/package.json";
  package_json.size = size;
  (void)npm->Analyze(package_json, content);
  return 0;
}
