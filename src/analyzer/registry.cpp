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
  registry.Add(MakeGemspecAnalyzer());
  registry.Add(MakeCargoLockAnalyzer());
  registry.Add(MakeCargoAuditableAnalyzer());
  registry.Add(MakeDotnetDepsAnalyzer());
  registry.Add(MakeNugetLockAnalyzer());
  registry.Add(MakePackagesConfigAnalyzer());
  registry.Add(MakeNuspecAnalyzer());
  registry.Add(MakeComposerInstalledAnalyzer());
}

void RegisterSourceTreeAnalyzers(AnalyzerRegistry& registry) {
  AnalyzerRegistry builtin;
  RegisterBuiltinAnalyzers(builtin);
  for (auto& analyzer : builtin.TakeAnalyzers()) {
    if (!analyzer->descriptor().installed_only) registry.Add(std::move(analyzer));
  }
  registry.Add(MakeNpmLockAnalyzer());
  registry.Add(MakeYarnLockAnalyzer());
  registry.Add(MakePnpmLockAnalyzer());
  registry.Add(MakePipRequirementsAnalyzer());
  registry.Add(MakePipenvLockAnalyzer());
  registry.Add(MakePoetryLockAnalyzer());
  registry.Add(MakeUvLockAnalyzer());
  registry.Add(MakeGoModAnalyzer());
  registry.Add(MakePomAnalyzer());
  registry.Add(MakeGradleLockAnalyzer());
  // Trivy reads these in source trees only: an image has the installed gems' specifications and
  // Composer's installed.json, which name the same packages.
  registry.Add(MakeGemfileLockAnalyzer());
  registry.Add(MakeComposerLockAnalyzer());
}

}  // namespace moat
