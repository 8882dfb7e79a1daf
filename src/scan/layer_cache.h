#pragma once
// Content-addressed cache of layer results, keyed by the layer diff ID and the analyzers'
// versions, plus image configs keyed by image ID (so a warm Docker Engine scan needs no export).
// Cache problems never fail a scan: they are logged and the layer is analyzed again.

#include <optional>
#include <string>

#include "scan/layer_result.h"

namespace moat {

class LayerCache {
 public:
  /// An empty directory disables the cache.
  LayerCache(std::string directory, std::string analyzers_key);
  bool enabled() const { return !directory_.empty(); }
  std::optional<LayerResult> GetLayer(const std::string& diff_id) const;
  void PutLayer(const LayerResult& layer) const;
  std::optional<std::string> GetImageConfig(const std::string& image_id) const;
  void PutImageConfig(const std::string& image_id, const std::string& config_json) const;

 private:
  std::string LayerPath(const std::string& diff_id) const;
  std::string directory_;
  std::string analyzers_key_;
};

}  // namespace moat
