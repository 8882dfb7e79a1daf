#pragma once
// The dashboard (web/, docs/dashboard.md): built by npm into static files that CMake compiles
// into the binary (web/scripts/embed.mjs), served by moat server at every path the API does not
// own. The page holds no data, so it needs no token; every API call it makes sends one.

#include <optional>
#include <span>
#include <string_view>

#include "http/server.h"

namespace moat::server {

struct WebFile {
  std::string_view path;  // "/index.html", "/assets/index-C1a2b3.js"
  std::string_view content_type;
  std::string_view body;
  std::string_view gzip;  // the body gzip-compressed; empty when that is not smaller
  std::string_view etag;  // strong ETag, quoted: "\"9f86d0...\""
  bool immutable;         // a content-hashed name (assets/): cacheable for a year
};

/// The built dashboard; empty when the binary was built without npm (the build said so).
std::span<const WebFile> EmbeddedWebFiles();

/// The answer to a GET or HEAD for the dashboard: the file at the path; index.html for "/" and,
/// when the client asks for HTML, for any other path (the page's own routes: /images/..., so a
/// shared link loads); 304 when If-None-Match names the file's ETag; gzip when the client accepts
/// it. nullopt for other methods and for paths under /api/, which stay the API's.
std::optional<http::Response> ServeWebAsset(const http::Request& request,
                                            std::span<const WebFile> files);

}  // namespace moat::server
