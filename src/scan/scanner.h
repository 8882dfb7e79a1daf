#pragma once
// Scans an image source or a root filesystem into an Inventory: streams each layer through
// decompression and the tar walker into the analyzers, caches per-layer results by diff ID, then
// applies the layers in order (whiteouts included) to get the squashed view of the image.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "analyzer/analyzer.h"
#include "artifact/image_source.h"
#include "core/package.h"
#include "core/result.h"

namespace moat {

struct ScanOptions {
  /// Layer cache directory; empty disables the cache.
  std::string cache_dir;
  /// A layer that expands past this many bytes is stopped (decompression bombs).
  uint64_t max_layer_bytes = 32ull << 30;
  /// Files larger than this are not analyzed (reported as a warning).
  uint64_t max_file_bytes = 512ull << 20;
  /// Layers analyzed at once (0 = one per core).
  size_t threads = 0;
  /// Called as layers finish: (done, total). For progress display only.
  std::function<void(size_t, size_t)> on_progress;
  /// ScanRootfs: directories (relative to the root, "app/.git") not descended into.
  std::function<bool(std::string_view relative_dir)> skip_dir;
};

/// The default cache directory: $XDG_CACHE_HOME/moat or ~/.cache/moat.
std::string DefaultCacheDir();

Result<Inventory> ScanImage(ImageSource& source, const std::string& target_name,
                            const AnalyzerRegistry& analyzers, const ScanOptions& options);

/// Every built-in analyzer, registered once for the process (the server's scan workers and the
/// admission image gate share it; analyzers are stateless).
const AnalyzerRegistry& BuiltinAnalyzers();

/// Inventories an unpacked filesystem. Skips /proc, /sys and /dev when scanning "/". Analyzers
/// may read other files of the tree (FileMeta::read_tree); a package that several files name
/// identically (a requirements file and the one it includes) is reported once.
Result<Inventory> ScanRootfs(const std::string& root_dir, const AnalyzerRegistry& analyzers,
                             const ScanOptions& options);

}  // namespace moat
