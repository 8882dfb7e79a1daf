#include "analyzer/analyzer.h"

namespace moat {

std::string AnalyzerRegistry::VersionKey() const {
  std::string key;
  for (const auto& analyzer : analyzers_) {
    if (!key.empty()) key += ',';
    key += analyzer->descriptor().name + "@" + std::to_string(analyzer->descriptor().version);
  }
  return key;
}

void RegisterBuiltinAnalyzers(AnalyzerRegistry& registry) {
  registry.Add(MakeOsReleaseAnalyzer());
  registry.Add(MakeDpkgAnalyzer());
  registry.Add(MakeApkAnalyzer());
  registry.Add(MakeRpmAnalyzer());
  registry.Add(MakePythonAnalyzer());
  registry.Add(MakeNpmAnalyzer());
  registry.Add(MakeGoBinaryAnalyzer());
  registry.Add(MakeJarAnalyzer());
}

}  // namespace moat
