#include "agent/in_use.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/http.h"
#include "core/text_format.h"

namespace moat::agent {

namespace {
using Json = nlohmann::json;
constexpr const char* kFormat = "moat-in-use/1";
}  // namespace

Result<std::string> CollectInUse(const std::vector<std::string>& sensor_urls,
                                 const std::map<std::string, std::string>& digest_by_container,
                                 std::vector<std::string>& notes) {
  Json containers = Json::array();
  std::set<std::string> ids;
  size_t answered = 0;
  for (const std::string& base : sensor_urls) {
    HttpRequest request;
    request.url = base + "/in-use";
    request.connect_timeout_seconds = 5;
    request.timeout_seconds = 30;
    auto response = HttpFetch(request);
    if (!response.ok()) {
      notes.push_back("sensor " + base + ": " + response.error().message);
      continue;
    }
    if (response->status != 200) {
      notes.push_back("sensor " + request.url + ": HTTP " + std::to_string(response->status));
      continue;
    }
    Json document = Json::parse(response->body, nullptr, false);
    if (!document.is_object() || document.value("format", "") != kFormat ||
        !document.contains("containers") || !document["containers"].is_array()) {
      notes.push_back("sensor " + request.url + ": not a " + kFormat + " export");
      continue;
    }
    ++answered;
    // A container is on one node; should two sensors name it, the first export stands.
    for (Json& container : document["containers"]) {
      if (!container.is_object() || !container.contains("id") || !container["id"].is_string()) {
        continue;
      }
      const std::string id = container["id"].get<std::string>();
      if (!ids.insert(id).second) continue;
      auto known = digest_by_container.find(id);
      const bool has_digest =
          container.contains("image_digest") && container["image_digest"].is_string() &&
          container["image_digest"].get<std::string>().find("sha256:") != std::string::npos;
      if (!has_digest && known != digest_by_container.end()) {
        container["image_digest"] = known->second;
      }
      containers.push_back(std::move(container));
    }
  }
  if (answered == 0) return Fail("no sensor gave its in-use export");
  return Json{{"format", kFormat}, {"generated", NowRfc3339Utc()}, {"containers", containers}}
      .dump();
}

uint64_t InUseFingerprint(const std::string& body) {
  Json document = Json::parse(body, nullptr, false);
  if (!document.is_object()) return 0;
  return std::hash<std::string>{}(document.value("containers", Json::array()).dump());
}

}  // namespace moat::agent
