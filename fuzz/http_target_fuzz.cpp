// libFuzzer target for what the HTTP server does with a client's request target before a
// handler sees it: splitting, percent-decoding, the checks on the path, and routing the result
// (Beast parses the rest of the request). Whatever is accepted must hold the promises handlers
// rely on; listen addresses go through their parser too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/text.h"
#include "http/server.h"
#include "http/target.h"

namespace {

const moat::http::Router& TestRouter() {
  static const moat::http::Router router = [] {
    moat::http::Router built;
    auto echo = [](const moat::http::Request& request) {
      // Parameters are never empty and never hold a "." or ".." segment.
      for (const auto& [name, value] : request.path_params) {
        if (value.empty()) std::abort();
        for (std::string_view segment : moat::Split(value, '/')) {
          if (segment == "." || segment == "..") std::abort();
        }
      }
      return moat::http::Response::Text(200, request.PathParam("name"));
    };
    built.Add("GET", "/api/v1/images", echo);
    built.Add("GET", "/api/v1/images/{name}", echo);
    built.Add("POST", "/api/v1/images/export", echo);
    built.Add("GET", "/api/v1/images/{name}/vulnerabilities", echo);
    built.Add("GET", "/v2/{name...}", echo);
    built.Add("GET", "/", echo);
    return built;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto target = moat::http::ParseTarget(text);
  if (target.ok()) {
    if (target->path.empty() || target->path.front() != '/') std::abort();
    if (target->path.find('\0') != std::string::npos) std::abort();
    moat::http::Request request;
    request.target = std::string(text);
    request.path = target->path;
    request.query = target->query;
    for (const char* method : {"GET", "HEAD", "POST", "DELETE"}) {
      request.method = method;
      moat::http::Response response = TestRouter().Route(request);
      if (response.status != 200 && response.status != 404 && response.status != 405) {
        std::abort();
      }
    }
    for (const auto& [name, value] : request.query) {
      (void)request.QueryList(name);
      if (!request.HasQuery(name)) std::abort();
    }
  }
  auto listen = moat::http::ParseListenAddress(text);
  if (listen.ok() && listen->first.empty()) std::abort();
  (void)moat::http::IsLoopbackHost(text);
  return 0;
}
