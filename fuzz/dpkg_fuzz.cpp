// libFuzzer target for the dpkg analyzer: any bytes as var/lib/dpkg/status or as a distroless
// status.d/ file. Crashes, hangs and sanitizer reports are bugs; so is a package without a
// name or version, which the parser promises never to return.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<moat::Analyzer> analyzer = moat::MakeDpkgAnalyzer();
  if (size == 0) return 0;
  // The first byte picks the file: the two kinds differ in how a missing Status is read.
  const moat::FileMeta file{(data[0] & 1) ? "var/lib/dpkg/status.d/pkg" : "var/lib/dpkg/status",
                            0644, size - 1};
  moat::Result<moat::AnalysisResult> result = analyzer->Analyze(file, {data + 1, size - 1});
  if (result.ok()) {
    for (const moat::Package& package : result->packages) {
      if (package.name.empty() || package.version.empty() || package.source_name.empty() ||
          package.source_version.empty()) {
        std::abort();
      }
    }
  } else if (result.error().message.empty()) {
    std::abort();
  }
  return 0;
}
