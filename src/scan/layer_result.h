#pragma once
// What one layer contributes: analyzed files and deletions. This is the unit of the layer cache.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "core/result.h"

namespace moat {

struct AnalyzedFile {
  std::string path;  // relative, as in the layer
  std::string analyzer;
  AnalysisResult result;
  /// Why nothing could be read from the file (the analyzer's error, or why the file was not
  /// analyzed at all); empty when `result` holds what was read.
  std::string error;
};

struct LayerResult {
  std::string diff_id;
  uint64_t size = 0;  // uncompressed bytes
  std::vector<AnalyzedFile> files;
  std::vector<std::string> whiteouts;    // paths deleted from lower layers
  std::vector<std::string> opaque_dirs;  // directories whose lower content is hidden
  /// The layer's executable files (regular files and hard links with any x bit), relative as in
  /// the layer, sorted and unique: what the sensor compares an exec against (drift, issue 13).
  std::vector<std::string> executables;
  /// Problems that concern no analyzed file (an unreadable release file); shown as warnings.
  std::vector<std::string> errors;
  /// True when the result depends on the scan's limits (a file over the size limit was not
  /// analyzed), so another scan with other limits must not reuse it from the cache.
  bool depends_on_limits = false;
};

std::string SerializeLayerResult(const LayerResult& layer);
Result<LayerResult> ParseLayerResult(std::string_view json, std::string_view input_name);

/// The image's files after applying every layer in order, with the layer that introduced each
/// package. `layers` bottom first; created_by aligned with layers.
struct SquashedView {
  OsInfo os;
  /// Language packages whose file an OS package installed have `owned_by` set.
  std::vector<Package> packages;
  /// The file lists of the installed OS packages.
  std::vector<OwnedFiles> os_package_files;
  std::vector<std::string> warnings;
  /// The files of the image (as the last layer left them) that were damaged, unreadable or
  /// empty package databases.
  std::vector<AssessmentGap> gaps;
};
SquashedView Squash(const std::vector<const LayerResult*>& layers,
                    const std::vector<std::string>& created_by);

/// Debian and others merged /bin, /sbin and /lib* into /usr behind symlinks, but their package
/// lists still name many files by the old path ("/bin/ls"), where the walker (and a running
/// process) sees "/usr/bin/ls": the /usr form of a path, to compare both.
std::string UsrMergedPath(std::string_view path);

}  // namespace moat
