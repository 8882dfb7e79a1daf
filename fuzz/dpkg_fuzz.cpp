// libFuzzer target for the dpkg analyzer: any bytes as var/lib/dpkg/status, as a distroless
// status.d/ file or as a file list (info/*.list). Crashes, hangs and sanitizer reports are bugs; so
// is a package without a name or version, which the parser promises never to return.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<moat::Analyzer> analyzer = moat::MakeDpkgAnalyzer();
  if (size == 0) return 0;
  // The first byte picks the file: the status kinds differ in how a missing Status is read.
  static constexpr const char* kPaths[] = {"var/lib/dpkg/status", "var/lib/dpkg/status.d/pkg",
                                           "var/lib/dpkg/info/pkg:amd64.list"};
  const moat::FileMeta file{kPaths[data[0] % 3], 0644, size - 1};
  moat::Result<moat::AnalysisResult> result = analyzer->Analyze(file, {data + 1, size - 1});
  if (result.ok()) {
    for (const moat::Package& package : result->packages) {
      if (package.name.empty() || package.version.empty() || package.source_name.empty() ||
          package.source_version.empty()) {
        std::abort();
      }
    }
    // A skipped stanza is always named with its line.
    for (const std::string& problem : result->problems) {
      if (problem.find("line ") == std::string::npos) std::abort();
    }
  } else if (result.error().message.empty()) {
    std::abort();
  }
  return 0;
}
