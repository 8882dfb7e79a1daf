#include "sensor/container_metadata.h"

#include <nlohmann/json.hpp>
#include <thread>

#include "core/http.h"
#include "core/log.h"
#include "scan/image_executables.h"

namespace moat::sensor {

namespace {

std::string StringAt(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<ContainerInfo> ParseDockerInspect(std::string_view body, const std::string& source) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Fail(source, ": not a JSON object");
  }
  ContainerInfo info;
  info.runtime = "docker";
  info.id = StringAt(json, "Id");
  if (info.id.empty()) return Fail(source, ": no Id");
  info.name = StringAt(json, "Name");
  if (!info.name.empty() && info.name[0] == '/') info.name.erase(0, 1);
  info.image_id = StringAt(json, "Image");
  if (auto config = json.find("Config"); config != json.end() && config->is_object()) {
    info.image = StringAt(*config, "Image");
    if (auto labels = config->find("Labels"); labels != config->end() && labels->is_object()) {
      for (const auto& [key, value] : labels->items()) {
        if (value.is_string()) info.labels[key] = value.get<std::string>();
      }
    }
  }
  if (auto host = json.find("HostConfig"); host != json.end() && host->is_object()) {
    auto privileged = host->find("Privileged");
    info.privileged =
        privileged != host->end() && privileged->is_boolean() && privileged->get<bool>();
  }
  // Mounts lists what the container got, whichever way it was asked for (-v, --mount, a
  // Kubernetes hostPath through cri-dockerd); bind mounts are the host's own paths.
  if (auto mounts = json.find("Mounts"); mounts != json.end() && mounts->is_array()) {
    for (const auto& mount : *mounts) {
      if (!mount.is_object() || StringAt(mount, "Type") != "bind") continue;
      std::string source = StringAt(mount, "Source");
      if (!source.empty()) info.host_mounts.push_back(std::move(source));
    }
  }
  if (auto driver = json.find("GraphDriver"); driver != json.end() && driver->is_object()) {
    const std::string name = StringAt(*driver, "Name");
    info.rootfs_overlay = name == "overlay2" || name == "overlay";
  }
  info.image_digest = info.image_id;
  info.resolved = true;
  return info;
}

Result<ImageMetadata> ParseDockerImageInspect(std::string_view body, const std::string& source) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Fail(source, ": not a JSON object");
  ImageMetadata image;
  if (auto digests = json.find("RepoDigests"); digests != json.end() && digests->is_array() &&
                                               !digests->empty() && digests->front().is_string()) {
    image.repo_digest = digests->front().get<std::string>();
  }
  if (auto rootfs = json.find("RootFS"); rootfs != json.end() && rootfs->is_object()) {
    if (auto layers = rootfs->find("Layers"); layers != rootfs->end() && layers->is_array()) {
      for (size_t i = 0; i < layers->size(); ++i) {
        const nlohmann::json& layer = (*layers)[i];
        if (!layer.is_string()) {
          return Fail(source, ": RootFS.Layers[", std::to_string(i), "]: not a string");
        }
        image.layers.push_back(layer.get<std::string>());
      }
    }
  }
  return image;
}

ContainerMetadataCache::ContainerMetadataCache(ContainerMetadataOptions options)
    : options_(std::move(options)) {}

Result<std::string> ContainerMetadataCache::Get(const std::string& path, bool& retryable,
                                                bool& not_found) {
  HttpRequest request;
  request.url = "http://localhost" + path;
  request.unix_socket = options_.docker_socket;
  request.connect_timeout_seconds = 2;
  request.timeout_seconds = 5;
  request.stall_timeout_seconds = 5;
  auto response = HttpFetch(request);
  retryable = false;
  not_found = false;
  if (!response.ok()) {
    retryable = true;
    return response.error();
  }
  if (response->status == 404) {
    not_found = true;
    return Fail("docker engine (", options_.docker_socket, "): GET ", path, ": not found");
  }
  if (response->status != 200) {
    retryable = response->status >= 500;
    return Fail("docker engine (", options_.docker_socket, "): GET ", path, " answered HTTP ",
                std::to_string(response->status));
  }
  return std::move(response->body);
}

Result<ContainerInfo> ContainerMetadataCache::Fetch(const std::string& id) {
  auto backoff = options_.first_backoff;
  Error last{"no attempt"};
  for (int attempt = 0; attempt < options_.attempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
    bool retryable = false, not_found = false;
    const std::string path = "/containers/" + id + "/json";
    auto body = Get(path, retryable, not_found);
    if (!body.ok()) {
      ++failed_requests_;
      last = body.error();
      if (!retryable) break;
      continue;
    }
    MOAT_ASSIGN_OR_RETURN(ContainerInfo info,
                          ParseDockerInspect(*body, "docker engine GET " + path));
    // The repository digest (what a registry serves) and the layers are the image's, not the
    // container's: asked once per image.
    if (!info.image_id.empty()) {
      if (Image* image = ImageOf(info.image_id)) {
        if (!image->metadata.repo_digest.empty()) info.image_digest = image->metadata.repo_digest;
        info.image_layers = image->metadata.layers;
        info.image_executables = image->executables;
      }
    }
    return info;
  }
  return last;
}

ContainerMetadataCache::Image* ContainerMetadataCache::ImageOf(const std::string& image_id) {
  if (auto found = images_.find(image_id); found != images_.end()) return &found->second;
  bool retryable = false, not_found = false;
  const std::string path = "/images/" + image_id + "/json";
  ++image_requests_;
  auto body = Get(path, retryable, not_found);
  if (!body.ok()) {
    ++failed_requests_;
    return nullptr;
  }
  auto metadata = ParseDockerImageInspect(*body, "docker engine GET " + path);
  if (!metadata.ok()) {
    log::Warn("sensor: " + metadata.error().message);
    return nullptr;
  }
  Image& image = images_[image_id];
  image.metadata = std::move(*metadata);
  ReadInventory(image_id, image);
  return &image;
}

void ContainerMetadataCache::ReadInventory(const std::string& image_id, Image& image) {
  if (options_.image_cache_dir.empty()) return;
  const bool first = image.next_inventory_attempt == std::chrono::steady_clock::time_point{};
  image.next_inventory_attempt =
      std::chrono::steady_clock::now() + options_.inventory_retry_interval;
  const auto started = std::chrono::steady_clock::now();
  auto executables = ReadImageExecutables(options_.image_cache_dir, image.metadata.layers);
  if (executables.ok()) {
    image.executables = std::move(*executables);
    // Read on the event thread, once per image: the time says what a new image costs.
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    log::Info("sensor: image " + image_id + ": " + std::to_string(image.executables->size()) +
              " executables from the layer cache in " + std::to_string(took.count()) +
              " ms (drift against the image inventory on)");
  } else if (first) {
    log::Info("sensor: image " + image_id +
              ": no drift check against the image inventory yet: " + executables.error().message);
  }
}

void ContainerMetadataCache::RetryUnknownInventories() {
  if (options_.image_cache_dir.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& [image_id, image] : images_) {
    if (image.executables || now < image.next_inventory_attempt) continue;
    ReadInventory(image_id, image);
    if (!image.executables) continue;
    for (auto& [id, entry] : entries_) {
      if (entry.info.image_id == image_id) entry.info.image_executables = image.executables;
    }
  }
}

const ContainerInfo& ContainerMetadataCache::Lookup(const ContainerRef& ref) {
  Entry& entry = entries_[ref.id];
  if (entry.info.id.empty()) {
    entry.info.id = ref.id;
    entry.info.runtime = ref.runtime;
  }
  if (entry.info.resolved || options_.docker_socket.empty()) return entry.info;
  auto now = std::chrono::steady_clock::now();
  if (now < entry.next_attempt) return entry.info;
  auto fetched = Fetch(ref.id);
  if (fetched.ok()) {
    fetched->runtime = ref.runtime;
    entry.info = std::move(*fetched);
  } else {
    entry.retry_interval = entry.retry_interval.count() == 0
                               ? options_.retry_interval
                               : std::min(entry.retry_interval * 2, options_.max_retry_interval);
    entry.next_attempt = std::chrono::steady_clock::now() + entry.retry_interval;
  }
  return entry.info;
}

}  // namespace moat::sensor
