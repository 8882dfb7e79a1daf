#include "server/api/web_assets.h"

#include <string>

#include "core/text.h"

namespace moat::server {

namespace {

// The page loads only its own scripts and styles and talks only to this server.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Whether a comma-separated header (Accept, Accept-Encoding) lists `token` without q=0
// (RFC 9110 12.5.3).
bool AcceptsToken(std::string_view header, std::string_view token) {
  const std::string lower = AsciiLower(header);
  std::string_view rest = lower;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t semicolon = item.find(';');
    if (Trim(item.substr(0, semicolon)) != token) continue;
    if (semicolon == std::string_view::npos) return true;
    std::string_view params = item.substr(semicolon + 1);
    const size_t q = params.find("q=");
    if (q == std::string_view::npos) return true;
    std::string_view value = Trim(params.substr(q + 2));
    // q=0, q=0.0, q=0.000: refused; anything else accepted.
    return value.find_first_not_of("0.") != std::string_view::npos;
  }
  return false;
}

// Whether If-None-Match ("*", or a list of possibly weak tags) matches the ETag (weak comparison,
// RFC 9110 13.1.2).
bool NoneMatch(std::string_view header, std::string_view etag) {
  std::string_view rest = header;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view tag = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (tag == "*") return true;
    if (StartsWith(tag, "W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

const WebFile* Find(std::span<const WebFile> files, std::string_view path) {
  for (const auto& file : files) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

}  // namespace

std::optional<http::Response> ServeWebAsset(const http::Request& request,
                                            std::span<const WebFile> files) {
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  if (request.path == "/api" || StartsWith(request.path, "/api/")) return std::nullopt;
  if (files.empty()) {
    return http::Response::Text(
        404,
        "This moat binary was built without its dashboard: npm was missing when it was built.\n"
        "Install nodejs and npm (scripts/install-deps.sh build) and build again.\n"
        "The REST API is served at /api/v1 (docs/server.md).\n",
        "text/plain; charset=utf-8");
  }
  const WebFile* file = Find(files, request.path == "/" ? "/index.html" : request.path);
  // A path of the page's own (/images/sha256:...) loads the page, which then shows that view; a
  // missing script or image stays a 404 so that a broken build is seen as one.
  if (file == nullptr && !StartsWith(request.path, "/assets/") &&
      AcceptsToken(request.Header("accept"), "text/html")) {
    file = Find(files, "/index.html");
  }
  if (file == nullptr) {
    return http::Response::Text(404, "not found: " + request.path + "\n",
                                "text/plain; charset=utf-8");
  }
  http::Response response;
  response.content_type = std::string(file->content_type);
  response.headers.emplace_back("ETag", std::string(file->etag));
  // index.html names the current hashed assets: it is revalidated on every load (cheap with the
  // ETag); the hashed assets themselves never change.
  response.headers.emplace_back(
      "Cache-Control", file->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (!file->gzip.empty()) response.headers.emplace_back("Vary", "Accept-Encoding");
  response.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  if (NoneMatch(request.Header("if-none-match"), file->etag)) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  if (!file->gzip.empty() && AcceptsToken(request.Header("accept-encoding"), "gzip")) {
    response.headers.emplace_back("Content-Encoding", "gzip");
    response.body = std::string(file->gzip);
  } else {
    response.body = std::string(file->body);
  }
  return response;
}

}  // namespace moat::server
