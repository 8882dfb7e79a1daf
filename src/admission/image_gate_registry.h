#pragma once
// What the image policies ask of registries, each request bounded by the admission's deadline:
// the digest a tag points at (HEAD, as `crane digest` does), a manifest by tag or digest, a small
// blob (a signature payload). Authentication as `moat image` does it: the Docker config.json's
// credentials, Basic or Bearer challenges answered with the shared helpers of
// artifact/registry_auth.h, tokens kept per repository. Scans themselves go through
// OpenRegistryImage with Options().

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "admission/image_gate.h"
#include "artifact/reference.h"
#include "artifact/registry_auth.h"
#include "artifact/sources.h"
#include "core/http.h"

namespace moat::admission {

using Clock = std::chrono::steady_clock;

struct RegistryManifest {
  std::string body;
  std::string content_type;
  std::string digest;  // sha256 of body, checked against the registry's Docker-Content-Digest
};

class ImageRegistryClient {
 public:
  explicit ImageRegistryClient(RegistryAccess access) : access_(std::move(access)) {}

  /// The manifest digest `image` names: its own digest, else the tag's, asked of the registry.
  Result<std::string> ResolveDigest(const ImageReference& image, Clock::time_point deadline);
  /// The manifest `ref` (tag or digest) of the image's repository; nullopt when there is none
  /// (HTTP 404).
  Result<std::optional<RegistryManifest>> FetchManifest(const ImageReference& image,
                                                        const std::string& ref,
                                                        Clock::time_point deadline);
  /// A blob of at most `max_bytes`, checked against its digest.
  Result<std::string> FetchBlob(const ImageReference& image, const std::string& digest,
                                size_t max_bytes, Clock::time_point deadline);
  /// Options for OpenRegistryImage (scans) on `registry`.
  RegistryOptions Options(const std::string& registry, Clock::time_point deadline) const;

 private:
  Result<HttpResponse> Send(const ImageReference& image, HttpRequest request,
                            Clock::time_point deadline);
  Result<RegistryCredentials> Credentials(const std::string& registry);
  bool Insecure(const std::string& registry) const;
  std::string BaseUrl(const ImageReference& image) const;

  RegistryAccess access_;
  std::mutex mutex_;
  std::map<std::string, RegistryCredentials> credentials_;  // by registry
  std::map<std::string, std::string> authorization_;        // by registry/repository
};

}  // namespace moat::admission
