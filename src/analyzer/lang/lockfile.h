#pragma once
// What the lock-file analyzers (lockfile_*.cpp: npm, yarn, pnpm, pip, Pipenv, Poetry, uv, Go
// modules, Maven, Gradle) share: collecting one file's packages, dependency-graph walks that tell
// development dependencies from production ones, and error places.

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/analyzer.h"
#include "core/text.h"

namespace moat::lang {

/// The packages of one lock file: one per (name, version), in the order first listed. A package
/// that is both a development and a production dependency (two paths to it) is production.
class LockfilePackages {
 public:
  LockfilePackages(PackageType type, std::string file_path)
      : type_(type), file_path_(std::move(file_path)) {}
  void Add(std::string_view name, std::string_view version, bool dev);
  /// Adds a package found in another file (a requirements file's -r include), named by it.
  void AddFrom(std::string_view name, std::string_view version, bool dev,
               const std::string& file_path);
  size_t size() const { return packages_.size(); }
  /// Moves the packages into `result`.
  void MoveTo(AnalysisResult& result);

 private:
  PackageType type_;
  std::string file_path_;
  std::vector<Package> packages_;
  std::map<std::pair<std::string, std::string>, size_t> index_;
};

/// A dependency graph of lock-file entries (keys as the format writes them: "name@version",
/// "/name/1.0.0"): which entries only development roots reach.
class DependencyGraph {
 public:
  void AddEdge(const std::string& from, const std::string& to) { edges_[from].push_back(to); }
  /// The entries reachable from `roots`, the roots included.
  std::set<std::string> Reachable(const std::vector<std::string>& roots) const;

 private:
  std::map<std::string, std::vector<std::string>> edges_;
};

/// "line L, column C" of the byte at `offset` in `text` (both 1-based), for parse errors of
/// formats whose parser reports byte offsets (JSON).
std::string PlaceOfOffset(std::string_view text, size_t offset);

/// Parses a JSON lock file; the error names the file and the line and column.
Result<nlohmann::json> ParseLockfileJson(std::string_view text, const std::string& file_path);

/// True when a path lies in a node_modules tree: lock files there belong to installed packages,
/// not to the project (Trivy skips them too).
bool InNodeModules(std::string_view path);

/// The directory part of a relative path ("" for a file at the root), and a path joined to it
/// with "." and ".." resolved; nullopt when ".." climbs out of the tree.
std::string_view DirName(std::string_view path);
std::optional<std::string> JoinRelative(std::string_view dir, std::string_view relative);

}  // namespace moat::lang
