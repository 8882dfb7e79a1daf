#pragma once
// Image references as the rules' fields give them: the repository and tag exactly as written in
// the pod spec or container config (Falco does not normalise "nginx" to
// "docker.io/library/nginx"), unlike artifact/reference.h, which resolves them for pulling.

#include <string_view>
#include <utility>

namespace moat::rules {

/// "registry:5000/team/app:1.2@sha256:ab" -> {"registry:5000/team/app", "1.2"}; "app" -> {"app",
/// ""}. A colon before the last slash is a registry port, not a tag.
inline std::pair<std::string_view, std::string_view> SplitImageName(std::string_view image) {
  if (size_t at = image.find('@'); at != std::string_view::npos) image = image.substr(0, at);
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    return {image.substr(0, colon), image.substr(colon + 1)};
  }
  return {image, ""};
}

}  // namespace moat::rules
