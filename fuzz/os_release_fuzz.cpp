// libFuzzer target for the os-release analyzer: any bytes as each kind of release file.
// Crashes, hangs and sanitizer reports are bugs.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<moat::Analyzer> analyzer = moat::MakeOsReleaseAnalyzer();
  static constexpr std::array<std::string_view, 6> kPaths = {
      "etc/os-release",     "etc/lsb-release",    "etc/alpine-release",
      "etc/redhat-release", "etc/debian_version", "etc/system-release"};
  if (size == 0) return 0;
  const moat::FileMeta file{kPaths[data[0] % kPaths.size()], 0644, size - 1};
  moat::Result<moat::AnalysisResult> result = analyzer->Analyze(file, {data + 1, size - 1});
  if (!result.ok() && result.error().message.empty()) std::abort();
  if (result.ok() && !result->packages.empty()) std::abort();
  return 0;
}
