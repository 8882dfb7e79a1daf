#include "agent/cluster_watch.h"

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/bytes.h"
#include "core/log.h"
#include "k8s/checks.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A watch line longer than this is not an event we can use (an object is at most 1.5 MB in
// etcd; its JSON a little more).
constexpr size_t kMaxEventBytes = 4 << 20;
constexpr int kGone = 410;

std::string TextField(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Sleeps `duration`, waking early when `stop` is set.
void SleepUnlessStopped(std::chrono::milliseconds duration, const std::atomic<bool>& stop) {
  const auto until = Clock::now() + duration;
  while (!stop && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// What a kind's objects are, as far as the assessment cares: uid -> generation. Controlled
// objects are left out (their controller's template is what is assessed).
using Generations = std::map<std::string, int64_t>;

struct Listed {
  std::string resource_version;
  Generations generations;
};

// Every object of `kind`, page by page, and the list's resourceVersion to watch from.
Result<Listed> ListGenerations(const k8s::ClusterConnection& connection,
                               const k8s::ResourceKind& kind,
                               const k8s::ClusterListOptions& options) {
  Listed listed;
  std::string continue_token;
  for (size_t page = 0; page < options.max_pages_per_kind; ++page) {
    HttpRequest request = k8s::ApiRequest(connection, options);
    request.url = connection.server + kind.Path() + "?limit=" + std::to_string(options.page_limit);
    if (!continue_token.empty()) request.url += "&continue=" + continue_token;
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(request));
    if (response.status != 200) {
      return Fail("list ", kind.kind, ": HTTP ", std::to_string(response.status));
    }
    Json body = Json::parse(response.body, nullptr, false);
    if (!body.is_object() || !body.contains("items") || !body["items"].is_array()) {
      return Fail("list ", kind.kind, ": not a list");
    }
    const Json metadata = body.value("metadata", Json::object());
    if (metadata.is_object()) {
      listed.resource_version = TextField(metadata, "resourceVersion");
      continue_token = TextField(metadata, "continue");
    }
    for (const Json& item : body["items"]) {
      // Items are parsed as one watch event's object would be.
      auto event = ParseWatchEvent(Json{{"type", "ADDED"}, {"object", item}}.dump());
      if (event.ok() && !event->controlled && !event->uid.empty()) {
        listed.generations[event->uid] = event->generation;
      }
    }
    if (continue_token.empty()) return listed;
  }
  return Fail("list ", kind.kind, ": too many pages");
}

// Splits a watch stream into lines and hands each to `on_line`; an error from it ends the
// stream.
class LineSink : public ByteSink {
 public:
  explicit LineSink(std::function<Result<void>(std::string_view)> on_line)
      : on_line_(std::move(on_line)) {}
  Result<void> Write(ByteSpan chunk) override {
    buffer_.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    size_t start = 0;
    for (size_t end = buffer_.find('\n'); end != std::string::npos;
         end = buffer_.find('\n', start)) {
      std::string_view line(buffer_.data() + start, end - start);
      start = end + 1;
      if (!line.empty()) MOAT_TRY(on_line_(line));
    }
    buffer_.erase(0, start);
    if (buffer_.size() > kMaxEventBytes) return Fail("a watch event over ", "4 MiB");
    return Ok();
  }
  Result<void> Close() override { return Ok(); }

 private:
  std::function<Result<void>(std::string_view)> on_line_;
  std::string buffer_;
};

std::string Describe(const WatchEvent& event, const char* what) {
  return event.kind + " " + (event.namespace_name.empty() ? "" : event.namespace_name + "/") +
         event.name + " " + what;
}

// One kind: list, watch from the list's version, resume, list again after a 410.
void WatchKind(const k8s::ConnectionOptions& connection_options, const k8s::ResourceKind& kind,
               const ClusterWatchOptions& options, const std::atomic<bool>& stop,
               const std::function<void(const std::string&)>& changed) {
  Generations known;
  std::string resource_version;
  bool listed_once = false;
  std::chrono::milliseconds retry = options.first_retry;
  auto back_off = [&](const std::string& why) {
    log::Debug("watch " + kind.kind + ": " + why);
    SleepUnlessStopped(retry, stop);
    retry = std::min(retry * 2, options.max_retry);
  };
  while (!stop) {
    auto connection = k8s::ResolveConnection(connection_options);
    if (!connection.ok()) {
      back_off(connection.error().message);
      continue;
    }
    if (resource_version.empty()) {
      auto listed = ListGenerations(*connection, kind, options.list);
      if (!listed.ok()) {
        back_off(listed.error().message);
        continue;
      }
      // Listed again after a 410: what changed while the watch was away counts.
      if (listed_once && listed->generations != known) changed(kind.kind + " listed again");
      known = std::move(listed->generations);
      resource_version = listed->resource_version;
      listed_once = true;
    }
    HttpRequest request = k8s::ApiRequest(*connection, options.list);
    request.url = connection->server + kind.Path() +
                  "?watch=1&allowWatchBookmarks=true&resourceVersion=" + resource_version +
                  "&timeoutSeconds=" + std::to_string(options.watch_seconds);
    request.timeout_seconds = options.watch_seconds + 15;
    bool gone = false;
    size_t events = 0;
    LineSink sink([&](std::string_view line) -> Result<void> {
      MOAT_ASSIGN_OR_RETURN(WatchEvent event, ParseWatchEvent(line));
      ++events;
      if (event.type == "ERROR") {
        if (event.code == kGone) {
          gone = true;
          return Fail("410 Gone: ", event.message);
        }
        return Fail("watch error ", std::to_string(event.code), ": ", event.message);
      }
      if (!event.resource_version.empty()) resource_version = event.resource_version;
      if (event.type == "BOOKMARK" || event.controlled || event.uid.empty()) return Ok();
      if (event.type == "DELETED") {
        known.erase(event.uid);
        changed(Describe(event, "deleted"));
      } else {
        auto it = known.find(event.uid);
        if (it == known.end() || it->second != event.generation) {
          changed(Describe(event, it == known.end() ? "added" : "changed"));
        }
        known[event.uid] = event.generation;
      }
      if (stop) return Fail("stopping");
      return Ok();
    });
    const auto started = Clock::now();
    auto response = HttpFetch(request, &sink);
    if (gone || (response.ok() && response->status == kGone)) {
      log::Debug("watch " + kind.kind + ": resourceVersion " + resource_version +
                 " is gone; listing again");
      resource_version.clear();
      continue;
    }
    if (!response.ok()) {
      if (!stop) back_off(response.error().message);
      continue;
    }
    if (response->status != 200) {
      back_off("HTTP " + std::to_string(response->status));
      continue;
    }
    retry = options.first_retry;
    // A watch that ends at once with nothing in it is not resumed in a tight loop.
    if (events == 0 && Clock::now() - started < std::chrono::seconds(1)) {
      SleepUnlessStopped(std::chrono::seconds(1), stop);
    }
  }
}

}  // namespace

Result<WatchEvent> ParseWatchEvent(std::string_view line) {
  Json j = Json::parse(line, nullptr, false);
  if (!j.is_object()) return Fail("watch event: not a JSON object");
  WatchEvent event;
  event.type = TextField(j, "type");
  if (event.type != "ADDED" && event.type != "MODIFIED" && event.type != "DELETED" &&
      event.type != "BOOKMARK" && event.type != "ERROR") {
    return Fail("watch event: unknown type '", event.type, "'");
  }
  auto object = j.find("object");
  if (object == j.end() || !object->is_object()) return Fail("watch event: object missing");
  event.kind = TextField(*object, "kind");
  if (event.type == "ERROR") {
    auto code = object->find("code");
    if (code != object->end() && code->is_number_integer()) event.code = code->get<int64_t>();
    event.message = TextField(*object, "message");
    return event;
  }
  auto metadata = object->find("metadata");
  if (metadata == object->end() || !metadata->is_object()) {
    return Fail("watch event: object.metadata missing");
  }
  event.name = TextField(*metadata, "name");
  event.namespace_name = TextField(*metadata, "namespace");
  event.uid = TextField(*metadata, "uid");
  event.resource_version = TextField(*metadata, "resourceVersion");
  auto generation = metadata->find("generation");
  if (generation != metadata->end() && generation->is_number_integer()) {
    event.generation = generation->get<int64_t>();
  }
  auto owners = metadata->find("ownerReferences");
  if (owners != metadata->end() && owners->is_array()) {
    for (const Json& owner : *owners) {
      if (owner.is_object() && owner.value("controller", Json(false)) == Json(true)) {
        event.controlled = true;
      }
    }
  }
  return event;
}

const std::vector<k8s::ResourceKind>& WatchedKinds() {
  // The kinds with a pod template, as `moat k8s cluster` lists them.
  static const std::vector<k8s::ResourceKind> kKinds = [] {
    std::vector<k8s::ResourceKind> kinds;
    for (const k8s::ResourceKind& kind : k8s::ClusterResourceKinds()) {
      if (!kind.custom && k8s::IsWorkloadKind(kind.kind)) kinds.push_back(kind);
    }
    return kinds;
  }();
  return kKinds;
}

void WatchCluster(const k8s::ConnectionOptions& connection, const ClusterWatchOptions& options,
                  const std::atomic<bool>& stop,
                  const std::function<void(const std::string& what)>& changed) {
  std::vector<std::thread> threads;
  for (const k8s::ResourceKind& kind : options.kinds) {
    threads.emplace_back([&, kind] { WatchKind(connection, kind, options, stop, changed); });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace moat::agent
