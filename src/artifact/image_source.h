#pragma once
// Image sources: Docker Engine, OCI distribution registries, archives/layouts. Each describes the
// image (config, names, digests) and streams its layer blobs into sinks the scanner provides.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace moat {

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string comment;
  bool empty_layer = false;
};

/// The parts of the OCI/Docker image configuration Moat uses.
struct ImageConfig {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string created;
  std::vector<std::string> diff_ids;  // "sha256:<hex>", bottom layer first
  std::vector<HistoryEntry> history;

  /// created_by of each layer, aligned with diff_ids (empty_layer entries skipped).
  std::vector<std::string> LayerCreatedBy() const;
};

/// Parses an image configuration JSON; errors name `input_name` and the offending field.
Result<ImageConfig> ParseImageConfig(std::string_view json, std::string_view input_name);

struct ImageDescription {
  std::string image_id;         // "sha256:<hex>" of the config blob
  std::string manifest_digest;  // where known (registry, OCI layout)
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;  // "repo@sha256:..."
  /// Blob digests of the layers, aligned with config.diff_ids, where the source knows them.
  std::vector<std::string> layer_digests;
  /// Raw config JSON when the source already has it (registry, archive). The Docker Engine
  /// source leaves it empty: the config then arrives through LayerHandler::OnConfig.
  std::string config_json;
  /// diff IDs known without the config (Docker Engine inspect's RootFS.Layers).
  std::vector<std::string> diff_ids;
};

class LayerHandler {
 public:
  virtual ~LayerHandler() = default;
  /// Called once per layer blob, possibly from several threads at once. `expected_diff_id` is
  /// the layer's diff ID when the source knows which layer the blob is, else empty (the scanner
  /// then identifies the layer by the digest of its uncompressed content). `blob_name` names the
  /// blob in errors ("blobs/sha256/ab..", "3f2a../layer.tar").
  virtual Result<std::unique_ptr<ByteSink>> OpenLayer(std::string_view expected_diff_id,
                                                      std::string_view blob_name) = 0;
  /// Receives the image config JSON when the source meets it while streaming.
  virtual void OnConfig(std::string_view config_json) { (void)config_json; }
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  /// Human name for messages: "docker engine", "registry 127.0.0.1:5000", "archive x.tar".
  virtual std::string SourceName() const = 0;
  /// Cheap where possible (no layer bytes).
  virtual Result<ImageDescription> Describe() = 0;
  /// Delivers at least the layers whose diff IDs are in `wanted` (a stream export may deliver
  /// all). Sources that can, deliver layers in parallel on up to `threads` threads.
  virtual Result<void> StreamLayers(const std::vector<std::string>& wanted, LayerHandler& handler,
                                    size_t threads) = 0;
};

}  // namespace moat
