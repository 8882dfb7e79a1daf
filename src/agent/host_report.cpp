#include "agent/host_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "artifact/reference.h"
#include "artifact/sources.h"
#include "cis/docker/collect.h"
#include "cis/output.h"
#include "core/http.h"
#include "core/log.h"
#include "core/text_format.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;

std::string SocketPath(const std::string& docker_host) {
  std::string socket = docker_host.empty() ? DefaultDockerSocket() : docker_host;
  if (socket.rfind("unix://", 0) == 0) socket = socket.substr(7);
  return socket;
}

// The repository part of a reference, the way RepoDigests spell it ("nginx", "reg:5000/app").
std::string FamiliarRepository(const std::string& reference) {
  auto parsed = ImageReference::Parse(reference);
  return parsed.ok() ? parsed->FamiliarName() : "";
}

// Splits Docker's event stream (one JSON object per line) and reports each event's action.
class EventLineSink : public ByteSink {
 public:
  explicit EventLineSink(const std::function<void(const std::string&)>& on_event)
      : on_event_(on_event) {}
  Result<void> Write(ByteSpan chunk) override {
    buffer_.append(AsText(chunk));
    size_t newline;
    while ((newline = buffer_.find('\n')) != std::string::npos) {
      Handle(buffer_.substr(0, newline));
      buffer_.erase(0, newline + 1);
    }
    if (buffer_.size() > (1u << 20)) return Fail("docker engine events: a line over 1 MiB");
    return Ok();
  }
  Result<void> Close() override {
    if (!buffer_.empty()) Handle(buffer_);
    buffer_.clear();
    return Ok();
  }

 private:
  void Handle(const std::string& line) {
    if (line.find_first_not_of(" \r\t") == std::string::npos) return;
    Json event = Json::parse(line, nullptr, false);
    if (!event.is_object()) {
      log::Debug("docker engine events: not a JSON object: " + line.substr(0, 120));
      return;
    }
    std::string action;
    for (const char* key : {"Action", "status"}) {
      auto found = event.find(key);
      if (found != event.end() && found->is_string()) {
        action = found->get<std::string>();
        break;
      }
    }
    on_event_(action);
  }

  const std::function<void(const std::string&)>& on_event_;
  std::string buffer_;
};

}  // namespace

std::string PickImageDigest(const std::vector<std::string>& repo_digests,
                            const std::string& image_ref) {
  std::string repository = FamiliarRepository(image_ref);
  std::string first;
  for (const std::string& entry : repo_digests) {
    size_t at = entry.rfind('@');
    if (at == std::string::npos || entry.compare(at + 1, 7, "sha256:") != 0) continue;
    std::string digest = entry.substr(at + 1);
    if (first.empty()) first = digest;
    if (!repository.empty() && FamiliarRepository(entry.substr(0, at)) == repository) {
      return digest;
    }
  }
  return first;
}

std::string BuildHostReport(const HostReportOptions& options, std::vector<std::string>& notes) {
  cis::docker::CollectOptions collect;
  collect.docker_host = options.docker_host;
  collect.host_root = options.host_root;
  collect.threads = options.threads;
  cis::docker::DockerFacts facts = cis::docker::CollectDockerFacts(collect, notes);

  // The same run and JSON as `moat bench docker --format json` (every control).
  cis::BenchReport bench = cis::docker::AssessDocker(facts, cis::Selection{});
  bench.tool_version = options.tool_version;
  bench.timestamp = NowRfc3339Utc();
  bench.notes = notes;
  Json cis = Json::object();
  if (auto rendered = cis::RenderBenchReport(bench, "json"); rendered.ok()) {
    cis = Json::parse(*rendered, nullptr, false);
    if (cis.is_discarded()) cis = Json::object();
  } else {
    notes.push_back("CIS report: " + rendered.error().message);
  }

  // RepoDigests per image, through the artifact module's Engine client (one inspect per image).
  std::map<std::string, std::vector<std::string>> repo_digests;
  if (facts.InputError("engine.containers") == nullptr) {
    for (const auto& container : facts.containers) {
      if (container.image_id.empty() || repo_digests.count(container.image_id) > 0) continue;
      auto& digests = repo_digests[container.image_id];
      auto source = OpenDockerEngineImage(container.image_id, options.docker_host);
      if (!source.ok()) {
        notes.push_back("image " + container.image_id + ": " + source.error().message);
        continue;
      }
      auto description = (*source)->Describe();
      if (!description.ok()) {
        notes.push_back("image " + container.image_id + ": " + description.error().message);
        continue;
      }
      digests = description->repo_digests;
    }
  }

  Json containers = Json::array();
  for (const auto& container : facts.containers) {
    containers.push_back(
        {{"id", container.id},
         {"name", container.name},
         {"image", container.image_ref},
         {"image_id", container.image_id},
         {"image_digest", PickImageDigest(repo_digests[container.image_id], container.image_ref)},
         {"state", container.status}});
  }

  utsname uts{};
  ::uname(&uts);
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  const auto& info = facts.info;
  Json host = {{"name", info.name.empty() ? std::string(hostname) : info.name},
               {"os", !info.os.empty() ? info.os : facts.os_pretty_name},
               {"kernel", info.kernel.empty() ? std::string(uts.release) : info.kernel},
               {"docker_version", info.server_version},
               {"docker_socket", facts.socket_path}};
  Json body = {{"host", std::move(host)},
               {"containers", std::move(containers)},
               {"cis", std::move(cis)},
               {"notes", notes}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void WatchContainerEvents(const std::string& docker_host, const std::atomic<bool>& stop,
                          const std::function<void(const std::string& action)>& on_event,
                          std::chrono::seconds window, std::chrono::seconds retry) {
  // {"type":["container"],"event":["start","die","destroy"]}, URL-encoded.
  static constexpr const char* kFilters =
      "%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%2C%22die%22%2C%22"
      "destroy%22%5D%7D";
  const std::string socket = SocketPath(docker_host);
  int64_t since = static_cast<int64_t>(std::time(nullptr));
  bool down_reported = false;
  while (!stop) {
    const int64_t until = since + window.count();
    HttpRequest request;
    request.url = "http://localhost/events?since=" + std::to_string(since) +
                  "&until=" + std::to_string(until) + "&filters=" + kFilters;
    request.unix_socket = socket;
    request.connect_timeout_seconds = 5;
    request.timeout_seconds = window.count() + 30;
    request.stall_timeout_seconds = 0;  // a quiet host sends nothing for the whole window
    EventLineSink sink(on_event);
    auto response = HttpFetch(request, &sink);
    if (response.ok() && response->status == 200) {
      (void)sink.Close();
      if (down_reported) log::Info("docker engine events: following " + socket + " again");
      down_reported = false;
      since = until;  // the next window starts where this one ended
      // The engine answers at once when `until` is already past (after a slow request).
      continue;
    }
    std::string why = response.ok() ? "HTTP " + std::to_string(response->status) + ": " +
                                          response->body.substr(0, 200)
                                    : response.error().message;
    if (!down_reported) {
      log::Warn("docker engine events (" + socket + "): " + why + "; retrying every " +
                std::to_string(retry.count()) + " s");
    }
    down_reported = true;
    for (auto waited = std::chrono::milliseconds(0); !stop && waited < retry;
         waited += std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Events while the engine was unreachable are not replayed: the next report covers them,
    // and the agent sends one as soon as the engine answers again (a start event or the timer).
    since = static_cast<int64_t>(std::time(nullptr));
  }
}

}  // namespace moat::agent
