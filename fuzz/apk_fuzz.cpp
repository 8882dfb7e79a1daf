// libFuzzer target for the apk analyzer: any bytes as lib/apk/db/installed. Crashes, hangs and
// sanitizer reports are bugs; so is a package without a name or version.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<moat::Analyzer> analyzer = moat::MakeApkAnalyzer();
  const moat::FileMeta file{"lib/apk/db/installed", 0644, size};
  moat::Result<moat::AnalysisResult> result = analyzer->Analyze(file, {data, size});
  if (result.ok()) {
    for (const moat::Package& package : result->packages) {
      if (package.name.empty() || package.version.empty() || package.source_name.empty()) {
        std::abort();
      }
    }
  } else if (result.error().message.empty()) {
    std::abort();
  }
  return 0;
}
