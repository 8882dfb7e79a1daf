#include "scan/layer_cache.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/log.h"
#include "core/sha256.h"

namespace moat {
namespace {

// Bump when the cache layout or the scanner's treatment of layers changes. 2: layers list their
// executable files (entries of 1 lack them and would read as "no executables").
constexpr const char* kCacheFormat = "moat-layer-cache-2";

bool IsDigest(const std::string& digest) {
  if (digest.size() != 71 || digest.compare(0, 7, "sha256:") != 0) return false;
  for (size_t i = 7; i < digest.size(); ++i) {
    char c = digest[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Write to a temporary name and rename, so readers never see a partial file.
void WriteAtomically(const std::string& path, const std::string& content) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string temp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  if (!WriteOutput(temp, content).ok()) {
    log::Debug("cache: cannot write " + temp);
    std::filesystem::remove(temp, ec);
    return;
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    log::Debug("cache: cannot rename " + temp + ": " + ec.message());
    std::filesystem::remove(temp, ec);
  }
}

}  // namespace

LayerCache::LayerCache(std::string directory, std::string analyzers_key)
    : directory_(std::move(directory)), analyzers_key_(std::move(analyzers_key)) {}

std::string LayerCache::LayerPath(const std::string& diff_id) const {
  std::string key =
      Sha256Hex(AsBytes(std::string(kCacheFormat) + "|" + analyzers_key_ + "|" + diff_id));
  return directory_ + "/layers/" + key.substr(0, 2) + "/" + key + ".json";
}

std::optional<LayerResult> LayerCache::GetLayer(const std::string& diff_id) const {
  if (!enabled() || !IsDigest(diff_id)) return std::nullopt;
  std::string path = LayerPath(diff_id);
  auto text = ReadFileToString(path);
  if (!text.ok()) return std::nullopt;
  auto layer = ParseLayerResult(*text, path);
  if (!layer.ok() || layer->diff_id != diff_id) {
    log::Warn("cache: ignoring unreadable entry " + path);
    return std::nullopt;
  }
  return std::move(*layer);
}

void LayerCache::PutLayer(const LayerResult& layer) const {
  if (!enabled() || !IsDigest(layer.diff_id) || !layer.errors.empty() || layer.depends_on_limits) {
    return;
  }
  WriteAtomically(LayerPath(layer.diff_id), SerializeLayerResult(layer));
}

std::optional<std::string> LayerCache::GetImageConfig(const std::string& image_id) const {
  if (!enabled() || !IsDigest(image_id)) return std::nullopt;
  auto text = ReadFileToString(directory_ + "/images/" + image_id.substr(7) + ".json");
  // The image ID is the digest of the config: verify, so a damaged entry is never trusted.
  if (!text.ok() || "sha256:" + Sha256Hex(AsBytes(*text)) != image_id) return std::nullopt;
  return std::move(*text);
}

void LayerCache::PutImageConfig(const std::string& image_id, const std::string& config_json) const {
  if (!enabled() || !IsDigest(image_id)) return;
  WriteAtomically(directory_ + "/images/" + image_id.substr(7) + ".json", config_json);
}

}  // namespace moat
