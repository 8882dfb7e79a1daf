#pragma once
// Container metadata for the sensor's events: name, image, image digest and labels (the
// Kubernetes pod, namespace and container names that kubelet sets among them) from the Docker
// Engine API over its unix socket. A container is looked up when its first event arrives, with
// retries and backoff while the engine does not answer, and kept until it is forgotten.

#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>

#include "core/result.h"
#include "sensor/container_id.h"
#include "sensor/event.h"

namespace moat::sensor {

struct ContainerMetadataOptions {
  std::string docker_socket;  // "" : no engine to ask (events carry the id and runtime only)
  int attempts = 4;           // per lookup, for transport failures and 5xx answers
  std::chrono::milliseconds first_backoff{25};  // doubled after each failed attempt
  /// After a lookup that failed altogether, the next one waits this long, doubled each time up
  /// to max_retry_interval.
  std::chrono::milliseconds retry_interval{500};
  std::chrono::milliseconds max_retry_interval{30000};
  /// The scanner's layer cache (moat image --cache-dir), for the images' executables; "" off.
  std::string image_cache_dir;
  /// An image whose inventory the cache lacked is looked up again after this long (it may have
  /// been scanned meanwhile).
  std::chrono::milliseconds inventory_retry_interval{60000};
};

/// What the sensor reads of GET /images/{id}/json.
struct ImageMetadata {
  std::string repo_digest;          // the first RepoDigests entry; "" when none
  std::vector<std::string> layers;  // RootFS.Layers: diff IDs, bottom first
};

/// Parses GET /containers/{id}/json (and, for the digest, the image's RepoDigests).
Result<ContainerInfo> ParseDockerInspect(std::string_view body, const std::string& source);
/// Parses GET /images/{id}/json.
Result<ImageMetadata> ParseDockerImageInspect(std::string_view body, const std::string& source);

class ContainerMetadataCache {
 public:
  explicit ContainerMetadataCache(ContainerMetadataOptions options);

  /// The container's metadata; `resolved` is false until the runtime has answered.
  const ContainerInfo& Lookup(const ContainerRef& ref);

  /// Reads again, from the layer cache, the inventories of images that were missing from it
  /// (at most once per inventory_retry_interval each) and gives them to their containers.
  void RetryUnknownInventories();

  /// How many engine requests failed (for the statistics line).
  uint64_t failed_requests() const { return failed_requests_; }
  /// How many GET /images/{id}/json were made (each image is asked once).
  uint64_t image_requests() const { return image_requests_; }

 private:
  struct Image {
    ImageMetadata metadata;
    std::shared_ptr<const ImageExecutables> executables;  // null: unknown
    std::chrono::steady_clock::time_point next_inventory_attempt{};
  };
  /// The image's entry, asked of the engine the first time; nullptr when the engine did not
  /// answer (asked again with the container's next lookup).
  Image* ImageOf(const std::string& image_id);
  void ReadInventory(const std::string& image_id, Image& image);
  struct Entry {
    ContainerInfo info;
    std::chrono::steady_clock::time_point next_attempt{};
    std::chrono::milliseconds retry_interval{0};
  };
  Result<ContainerInfo> Fetch(const std::string& id);
  Result<std::string> Get(const std::string& path, bool& retryable, bool& not_found);

  ContainerMetadataOptions options_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, Image> images_;  // by image id
  uint64_t failed_requests_ = 0;
  uint64_t image_requests_ = 0;
};

}  // namespace moat::sensor
