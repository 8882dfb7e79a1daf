#pragma once
// Analyzers look at single files of a layer or root filesystem and report what they find.
// The walker asks each analyzer whether it wants a file (by path, mode and size), captures the
// content of wanted files, and calls Analyze with it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/package.h"
#include "core/result.h"

namespace moat {

enum class AnalyzerKind { kOs, kOsPackages, kLanguage };

struct AnalyzerDescriptor {
  std::string name;  // "dpkg", "apk", "rpm", "os-release", "python", "npm", "gobinary", "jar"
  int version = 1;   // bump when results change: it is part of the layer cache key
  AnalyzerKind kind = AnalyzerKind::kOsPackages;
};

struct FileMeta {
  /// Path relative to the root, without a leading "/" or "./": "var/lib/dpkg/status".
  std::string_view path;
  uint32_t mode = 0;  // permission bits (0777 and setuid etc.), as in tar
  uint64_t size = 0;
};

struct AnalysisResult {
  /// OS facts from release files; fields left empty when this file does not say them.
  OsInfo os;
  /// Precedence of `os` when several release files are present (os-release wins): higher wins.
  int os_priority = 0;
  /// Packages, with file_path set to "/" + path (or the path of a nested archive member, as
  /// "/app/lib/a.jar!/BOOT-INF/lib/b.jar" style for nested jars).
  std::vector<Package> packages;
  bool empty() const { return os.empty() && packages.empty(); }
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  virtual const AnalyzerDescriptor& descriptor() const = 0;
  /// Cheap: called for every file in every layer.
  virtual bool Wants(const FileMeta& file) const = 0;
  /// Called with the whole content of a wanted file. Must never crash on any input; a file that
  /// does not parse gives an Error naming the file and the place (line, offset).
  /// Must be thread-safe (layers are analyzed in parallel).
  virtual Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const = 0;
};

class AnalyzerRegistry {
 public:
  void Add(std::unique_ptr<Analyzer> analyzer) { analyzers_.push_back(std::move(analyzer)); }
  const std::vector<std::unique_ptr<Analyzer>>& analyzers() const { return analyzers_; }
  /// "dpkg@1,apk@2,...": part of the layer cache key.
  std::string VersionKey() const;

 private:
  std::vector<std::unique_ptr<Analyzer>> analyzers_;
};

/// Registers every built-in analyzer (explicit registration, no static initializers).
void RegisterBuiltinAnalyzers(AnalyzerRegistry& registry);

// Each analyzer folder provides one factory; RegisterBuiltinAnalyzers calls them all.
std::unique_ptr<Analyzer> MakeOsReleaseAnalyzer();
std::unique_ptr<Analyzer> MakeDpkgAnalyzer();
std::unique_ptr<Analyzer> MakeApkAnalyzer();
std::unique_ptr<Analyzer> MakeRpmAnalyzer();
std::unique_ptr<Analyzer> MakePythonAnalyzer();
std::unique_ptr<Analyzer> MakeNpmAnalyzer();
std::unique_ptr<Analyzer> MakeGoBinaryAnalyzer();
std::unique_ptr<Analyzer> MakeJarAnalyzer();

}  // namespace moat
