#pragma once
// Factories for the image sources. Heavy dependencies stay in the .cpp files.

#include <chrono>
#include <memory>
#include <string>

#include "artifact/image_source.h"

namespace moat {

struct RegistryOptions {
  std::string platform = "linux/amd64";  // os/arch[/variant] to pick from an index
  std::string username;
  std::string password;
  bool insecure = false;           // plain HTTP (and unverified TLS) for loopback/test registries
  std::string docker_config_path;  // default: $DOCKER_CONFIG/config.json or ~/.docker/config.json
  /// Retries of transient failures (refused connections, HTTP 429 and 5xx) with backoff.
  int max_retries = 3;
  /// A registry that accepts and then says nothing rarely recovers: one more try only, so that a
  /// hung registry fails in 2 x stall_timeout_seconds.
  int max_stall_retries = 1;
  long stall_timeout_seconds = 20;  // no byte for this long: the request has stalled
  long timeout_seconds = 300;       // whole request; stalled transfers fail earlier
  /// End of the whole scan (--timeout): no request runs past it.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

/// Docker Engine API over a unix socket (DOCKER_HOST unix://..., default /var/run/docker.sock).
/// The image is exported with GET /images/{name}/get and streamed, never written to disk.
/// No request runs past `deadline` (the scan's --timeout).
Result<std::unique_ptr<ImageSource>> OpenDockerEngineImage(
    const std::string& reference, const std::string& docker_host,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
/// OCI distribution (v2) registry.
Result<std::unique_ptr<ImageSource>> OpenRegistryImage(const std::string& reference,
                                                       const RegistryOptions& options);
/// `docker save` tarball, OCI archive (tar of a layout) or OCI layout directory, detected by
/// content. `reference` selects an image when the archive holds several (may be empty).
Result<std::unique_ptr<ImageSource>> OpenArchiveImage(const std::string& path,
                                                      const std::string& reference,
                                                      const std::string& platform);

/// The Docker host socket path from DOCKER_HOST (unix:// only) or the default.
std::string DefaultDockerSocket();

}  // namespace moat
