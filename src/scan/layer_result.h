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
};

struct LayerResult {
  std::string diff_id;
  uint64_t size = 0;  // uncompressed bytes
  std::vector<AnalyzedFile> files;
  std::vector<std::string> whiteouts;    // paths deleted from lower layers
  std::vector<std::string> opaque_dirs;  // directories whose lower content is hidden
  std::vector<std::string> errors;       // files that failed to analyze; the rest went on
};

std::string SerializeLayerResult(const LayerResult& layer);
Result<LayerResult> ParseLayerResult(std::string_view json, std::string_view input_name);

/// The image's files after applying every layer in order, with the layer that introduced each
/// package. `layers` bottom first; created_by aligned with layers.
struct SquashedView {
  OsInfo os;
  std::vector<Package> packages;
  std::vector<std::string> warnings;
};
SquashedView Squash(const std::vector<const LayerResult*>& layers,
                    const std::vector<std::string>& created_by);

}  // namespace moat
