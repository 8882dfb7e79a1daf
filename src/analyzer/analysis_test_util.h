#pragma once
// Test helper shared by the analyzer tests (test code only).

#include <string>

#include "analyzer/analyzer.h"

namespace moat::testing {

/// The damage an analyzer reported: the error of a file nothing could be read from, or the
/// skipped parts of a partly read one, one a line; "" when there was none.
inline std::string Damage(const Result<AnalysisResult>& result) {
  if (!result.ok()) return result.error().message;
  std::string out;
  for (const std::string& problem : result->problems) out += problem + "\n";
  return out;
}

}  // namespace moat::testing
