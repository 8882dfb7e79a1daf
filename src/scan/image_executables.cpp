#include "scan/image_executables.h"

#include "scan/layer_cache.h"
#include "scan/layer_result.h"
#include "scan/scanner.h"

namespace moat {

ImageExecutables::ImageExecutables(const std::vector<std::string>& relative_paths) {
  paths_.reserve(relative_paths.size());
  for (const std::string& path : relative_paths) Add(path);
}

void ImageExecutables::Add(std::string_view relative_path) {
  paths_.insert(UsrMergedPath("/" + std::string(relative_path)));
}

bool ImageExecutables::Contains(std::string_view path) const {
  return paths_.count(UsrMergedPath(path)) != 0;
}

Result<std::shared_ptr<const ImageExecutables>> ReadImageExecutables(
    const std::string& cache_dir, const std::vector<std::string>& diff_ids) {
  return ReadImageExecutables(cache_dir, BuiltinAnalyzers().VersionKey(), diff_ids);
}

Result<std::shared_ptr<const ImageExecutables>> ReadImageExecutables(
    const std::string& cache_dir, const std::string& analyzers_key,
    const std::vector<std::string>& diff_ids) {
  if (cache_dir.empty()) return Fail("no layer cache directory");
  if (diff_ids.empty()) return Fail("the image names no layers");
  LayerCache cache(cache_dir, analyzers_key);
  auto executables = std::make_shared<ImageExecutables>();
  // Top layer first: the one a new image adds is the likeliest to be missing, and it is found
  // before the large base layers are read.
  for (auto it = diff_ids.rbegin(); it != diff_ids.rend(); ++it) {
    std::optional<LayerResult> layer = cache.GetLayer(*it);
    if (!layer) {
      return Fail("layer ", *it, " (", std::to_string(diff_ids.rend() - it), " of ",
                  std::to_string(diff_ids.size()), ") is not in the layer cache ", cache_dir,
                  " (scan the image with moat image)");
    }
    // A union over the layers, whiteouts not applied: a file a later layer deleted cannot be run
    // from the image, and one put back at its path at run time is on the writable layer (which
    // proc.is_exe_upper_layer reports) or a mount over the path. Counting it as the image's can
    // only keep an alert back, never raise a false one.
    for (const std::string& path : layer->executables) executables->Add(path);
  }
  return std::shared_ptr<const ImageExecutables>(std::move(executables));
}

}  // namespace moat
