#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace moat {

/// A Docker image reference normalized the way Docker does: "nginx" is
/// docker.io/library/nginx:latest; a first component with "." or ":" or "localhost" is a registry.
struct ImageReference {
  std::string registry;    // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/nginx"
  std::string tag;         // "latest" when neither tag nor digest is given
  std::string digest;      // "sha256:..."

  static Result<ImageReference> Parse(std::string_view text);
  /// "docker.io/library/nginx:1.25" (digest form when a digest is set).
  std::string ToString() const;
  /// The short form Docker shows in RepoTags/RepoDigests: "nginx", "user/app",
  /// "127.0.0.1:5000/app" (no tag or digest).
  std::string FamiliarName() const;
  /// The host to contact: docker.io -> registry-1.docker.io.
  std::string ApiHost() const;
  /// The tag or digest to request from /v2/<repo>/manifests/<ref>.
  std::string ManifestRef() const { return digest.empty() ? tag : digest; }
};

}  // namespace moat
