#pragma once
// The executable files of an image as the layer cache knows them, for the sensor's drift check
// (issue 13): an exec in a container whose path is not among its image's executables ran
// something the image did not ship (a volume, a bind mount, a tmpfs, the writable layer).

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/result.h"

namespace moat {

/// Absolute paths in their /usr-merged form (UsrMergedPath), so that "/bin/ls" of an image and
/// "/usr/bin/ls" as the kernel reports it compare equal.
class ImageExecutables {
 public:
  ImageExecutables() = default;
  /// `relative_paths` as in the layers ("usr/bin/ls").
  explicit ImageExecutables(const std::vector<std::string>& relative_paths);
  void Add(std::string_view relative_path);
  /// `path`: absolute, as a process in the container sees it.
  bool Contains(std::string_view path) const;
  size_t size() const { return paths_.size(); }

 private:
  std::unordered_set<std::string> paths_;
};

/// The union of the executables of the image's layers (`diff_ids` bottom first) from the layer
/// cache in `cache_dir` as `moat image` wrote it (the built-in analyzers' key). An error (the
/// inventory is unknown) when the cache is off or a layer is not in it, naming the layer.
Result<std::shared_ptr<const ImageExecutables>> ReadImageExecutables(
    const std::string& cache_dir, const std::vector<std::string>& diff_ids);

/// The same with the cache key of another analyzer set (tests).
Result<std::shared_ptr<const ImageExecutables>> ReadImageExecutables(
    const std::string& cache_dir, const std::string& analyzers_key,
    const std::vector<std::string>& diff_ids);

}  // namespace moat
