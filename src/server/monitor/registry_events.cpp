#include "server/monitor/registry_events.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace moat::server {

namespace {

// "2026-12-02T01:00:00.123456789Z" -> Unix seconds; 0 when it does not parse.
int64_t ParseTimestamp(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Result<std::string> OptionalString(const nlohmann::json& object, const char* key,
                                   const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Fail(where, ".", key, ": expected a string");
  return it->get<std::string>();
}

}  // namespace

bool RegistryEvent::IsManifest() const {
  return media_type.find("manifest") != std::string::npos ||
         media_type == "application/vnd.oci.image.index.v1+json" ||
         (media_type.empty() && action == "delete");
}

Result<std::vector<RegistryEvent>> ParseRegistryEvents(std::string_view body) {
  nlohmann::json envelope = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (envelope.is_discarded()) return Fail("registry events: not JSON");
  if (!envelope.is_object() || !envelope.contains("events") || !envelope["events"].is_array()) {
    return Fail("registry events: expected an object with an \"events\" array");
  }
  std::vector<RegistryEvent> events;
  const auto& list = envelope["events"];
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "events[" + std::to_string(i) + "]";
    const auto& item = list[i];
    if (!item.is_object()) return Fail(where, ": expected an object");
    RegistryEvent event;
    MOAT_ASSIGN_OR_RETURN(event.id, OptionalString(item, "id", where));
    MOAT_ASSIGN_OR_RETURN(event.action, OptionalString(item, "action", where));
    if (event.action.empty()) return Fail(where, ".action: missing");
    MOAT_ASSIGN_OR_RETURN(std::string timestamp, OptionalString(item, "timestamp", where));
    event.time = ParseTimestamp(timestamp);
    auto target = item.find("target");
    if (target == item.end() || !target->is_object()) return Fail(where, ".target: missing");
    const std::string target_where = where + ".target";
    MOAT_ASSIGN_OR_RETURN(event.media_type, OptionalString(*target, "mediaType", target_where));
    MOAT_ASSIGN_OR_RETURN(event.digest, OptionalString(*target, "digest", target_where));
    MOAT_ASSIGN_OR_RETURN(event.repository, OptionalString(*target, "repository", target_where));
    MOAT_ASSIGN_OR_RETURN(event.tag, OptionalString(*target, "tag", target_where));
    MOAT_ASSIGN_OR_RETURN(event.url, OptionalString(*target, "url", target_where));
    if (event.repository.empty()) return Fail(target_where, ".repository: missing");
    if (auto request = item.find("request"); request != item.end() && request->is_object()) {
      MOAT_ASSIGN_OR_RETURN(event.request_host,
                            OptionalString(*request, "host", where + ".request"));
    }
    if (auto source = item.find("source"); source != item.end() && source->is_object()) {
      MOAT_ASSIGN_OR_RETURN(event.source_addr, OptionalString(*source, "addr", where + ".source"));
    }
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace moat::server
