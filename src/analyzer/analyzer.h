#pragma once
// Analyzers look at single files of a layer or root filesystem and report what they find.
// The walker asks each analyzer whether it wants a file (by path, mode and size), captures the
// content of wanted files, and calls Analyze with it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/package.h"
#include "core/result.h"
#include "walker/file_parts.h"

namespace moat {

enum class AnalyzerKind { kOs, kOsPackages, kLanguage };

struct AnalyzerDescriptor {
  std::string name;  // "dpkg", "apk", "rpm", "os-release", "python", "npm", "gobinary", "jar"
  int version = 1;   // bump when results change: it is part of the layer cache key
  AnalyzerKind kind = AnalyzerKind::kOsPackages;
  /// Trivy's split of language analyzers: installed packages (node_modules, dist-info, jars, Go
  /// binaries) are read in images and root filesystems only, where they are what runs; a source
  /// tree (`moat fs`, `moat repo`) is read through its lock files instead, which name the same
  /// packages without the duplicates an installed copy would add.
  bool installed_only = false;
};

/// Reads a file of the tree being scanned by its path relative to the root ("app/pom.xml").
using TreeFileReader = std::function<Result<std::string>(std::string_view relative_path)>;

struct FileMeta {
  /// Path relative to the root, without a leading "/" or "./": "var/lib/dpkg/status".
  std::string_view path;
  uint32_t mode = 0;  // permission bits (0777 and setuid etc.), as in tar
  uint64_t size = 0;
  /// Other files of the tree, where the scan has the tree at hand (`moat fs`, `moat rootfs`) and
  /// null while a layer streams: a requirements file's -r includes, a pom.xml's local parent,
  /// the go.sum beside a go.mod.
  const TreeFileReader* read_tree = nullptr;
};

struct AnalysisResult {
  /// OS facts from release files; fields left empty when this file does not say them.
  OsInfo os;
  /// Precedence of `os` when several release files are present (os-release wins): higher wins.
  int os_priority = 0;
  /// Packages, with file_path set to "/" + path (or the path of a nested archive member, as
  /// "/app/lib/a.jar!/BOOT-INF/lib/b.jar" style for nested jars).
  std::vector<Package> packages;
  /// Damaged parts of the file that were skipped while the rest was read, each naming the place
  /// ("line 12: ...; stanza of package \"x\" skipped"). Non-empty makes the file an incomplete
  /// assessment (AssessmentGap kPartial).
  std::vector<std::string> problems;
  /// Damaged parts past the first kMaxListedProblems, only counted: a hostile file can have
  /// millions.
  size_t unlisted_problems = 0;
  static constexpr size_t kMaxListedProblems = 100;
  void AddProblem(std::string problem) {
    if (problems.size() < kMaxListedProblems) {
      problems.push_back(std::move(problem));
    } else {
      ++unlisted_problems;
    }
  }
  /// True when the file is an OS package database (dpkg status, apk installed, rpmdb): one that
  /// yields no package is reported as an empty database.
  bool package_database = false;
  /// OS packages' file lists (dpkg info/*.list, rpm headers, apk installed), which tell the
  /// language packages that belong to an OS package.
  std::vector<OwnedFiles> owned_files;
  bool empty() const {
    return os.empty() && packages.empty() && problems.empty() && !package_database &&
           owned_files.empty();
  }
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  virtual const AnalyzerDescriptor& descriptor() const = 0;
  /// Cheap: called for every file in every layer.
  virtual bool Wants(const FileMeta& file) const = 0;
  /// Called with the whole content of a wanted file. Must never crash on any input. A file
  /// nothing can be read from gives an Error naming the file and the place (line, offset); a file
  /// with damaged parts that could be skipped gives what was read, the parts in `problems`.
  /// Either way the scan reports the file as incompletely assessed.
  /// Must be thread-safe (layers are analyzed in parallel).
  virtual Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const = 0;

  /// Analyzers that can work from a few parts of a file (an executable's headers and one
  /// section) get files of any size, even those too large for the walker to read whole: the
  /// walker hands them the file's start, then the ranges NextRanges asks for, until it asks for
  /// nothing more, and calls AnalyzeParts.
  virtual bool ReadsInParts() const { return false; }
  /// The ranges still needed, given the parts read so far (ranges not held are missing).
  virtual std::vector<FileRange> NextRanges(const FileMeta& file,
                                            const std::vector<FilePart>& parts) const {
    (void)file;
    (void)parts;
    return {};
  }
  virtual Result<AnalysisResult> AnalyzeParts(const FileMeta& file,
                                              const std::vector<FilePart>& parts) const {
    (void)file;
    (void)parts;
    return AnalysisResult{};
  }
};

/// The file's start the walker reads first for ReadsInParts analyzers (ELF and program headers,
/// and for Go's linker also the section headers, lie there).
constexpr uint64_t kFilePartsHeadBytes = 64u << 10;
/// Bytes the walker holds for one file read in parts.
constexpr uint64_t kFilePartsMaxBytes = 64u << 20;

class AnalyzerRegistry {
 public:
  void Add(std::unique_ptr<Analyzer> analyzer) { analyzers_.push_back(std::move(analyzer)); }
  const std::vector<std::unique_ptr<Analyzer>>& analyzers() const { return analyzers_; }
  std::vector<std::unique_ptr<Analyzer>> TakeAnalyzers() { return std::move(analyzers_); }
  /// "dpkg@1,apk@2,...": part of the layer cache key.
  std::string VersionKey() const;

 private:
  std::vector<std::unique_ptr<Analyzer>> analyzers_;
};

/// Registers every built-in analyzer (explicit registration, no static initializers): the set
/// for images and root filesystems.
void RegisterBuiltinAnalyzers(AnalyzerRegistry& registry);
/// The set for source trees (`moat fs`, `moat repo`): the built-in analyzers that are not
/// installed_only, and the lock-file analyzers.
void RegisterSourceTreeAnalyzers(AnalyzerRegistry& registry);

// Each analyzer folder provides one factory; RegisterBuiltinAnalyzers calls them all.
std::unique_ptr<Analyzer> MakeOsReleaseAnalyzer();
std::unique_ptr<Analyzer> MakeDpkgAnalyzer();
std::unique_ptr<Analyzer> MakeApkAnalyzer();
std::unique_ptr<Analyzer> MakeRpmAnalyzer();
std::unique_ptr<Analyzer> MakePythonAnalyzer();
std::unique_ptr<Analyzer> MakeNpmAnalyzer();
std::unique_ptr<Analyzer> MakeGoBinaryAnalyzer();
std::unique_ptr<Analyzer> MakeJarAnalyzer();
// Ruby, Rust, .NET and PHP (src/analyzer/lang/{ruby,rust,dotnet,php}.cpp).
std::unique_ptr<Analyzer> MakeGemspecAnalyzer();            // specifications/*.gemspec
std::unique_ptr<Analyzer> MakeCargoLockAnalyzer();          // Cargo.lock
std::unique_ptr<Analyzer> MakeCargoAuditableAnalyzer();     // .dep-v0 of Rust executables
std::unique_ptr<Analyzer> MakeDotnetDepsAnalyzer();         // *.deps.json
std::unique_ptr<Analyzer> MakeNugetLockAnalyzer();          // packages.lock.json
std::unique_ptr<Analyzer> MakePackagesConfigAnalyzer();     // packages.config
std::unique_ptr<Analyzer> MakeNuspecAnalyzer();             // *.nuspec, *.nupkg
std::unique_ptr<Analyzer> MakeComposerInstalledAnalyzer();  // vendor/composer/installed.json
std::unique_ptr<Analyzer> MakeGemfileLockAnalyzer();        // Gemfile.lock (source trees)
std::unique_ptr<Analyzer> MakeComposerLockAnalyzer();       // composer.lock (source trees)
// Lock files (src/analyzer/lang/lockfile_*.cpp): source trees only.
std::unique_ptr<Analyzer> MakeNpmLockAnalyzer();          // package-lock.json, npm-shrinkwrap.json
std::unique_ptr<Analyzer> MakeYarnLockAnalyzer();         // yarn.lock v1 and berry
std::unique_ptr<Analyzer> MakePnpmLockAnalyzer();         // pnpm-lock.yaml v5, v6, v9
std::unique_ptr<Analyzer> MakePipRequirementsAnalyzer();  // requirements*.txt
std::unique_ptr<Analyzer> MakePipenvLockAnalyzer();       // Pipfile.lock
std::unique_ptr<Analyzer> MakePoetryLockAnalyzer();       // poetry.lock
std::unique_ptr<Analyzer> MakeUvLockAnalyzer();           // uv.lock
std::unique_ptr<Analyzer> MakeGoModAnalyzer();            // go.mod (+ go.sum)
std::unique_ptr<Analyzer> MakePomAnalyzer();              // pom.xml
std::unique_ptr<Analyzer> MakeGradleLockAnalyzer();       // *gradle.lockfile

/// One installed Python package described by several metadata files in one site-packages
/// directory (Debian ships both *.dist-info/METADATA and *.egg-info/PKG-INFO for some, e.g.
/// python3-cryptography) is one package: keeps the dist-info record (the wheel standard's) and
/// drops the others with the same PEP 503 name and version. The squash (src/scan) runs it, since
/// the analyzer sees one file at a time.
void MergeDuplicatePythonPackages(std::vector<Package>& packages);

}  // namespace moat
