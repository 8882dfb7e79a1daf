#include "server/api/api.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "core/alert.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/text_format.h"
#include "http/metrics.h"
#include "k8s/checks.h"
#include "report/report.h"
#include "server/api/agent_messages.h"
#include "server/api/export.h"
#include "server/api/web_assets.h"
#include "server/assess/assess.h"
#include "server/center.h"
#include "server/monitor/image_scan.h"
#include "server/monitor/registry_events.h"
#include "server/monitor/registry_poll.h"
#include "server/notify/notify.h"
#include "server/posture.h"
#include "server/store/secret_box.h"

namespace moat::server {

namespace {

using nlohmann::json;
using Handler = std::function<http::Response(const http::Request&, const TokenInfo&)>;

bool RoleHas(Role role, Access access) {
  switch (access) {
    case Access::kPublic:
      return true;
    case Access::kRead:
      return role == Role::kAdmin || role == Role::kAnalyst || role == Role::kReader;
    case Access::kTriage:
      return role == Role::kAdmin || role == Role::kAnalyst;
    case Access::kIngest:
      return role == Role::kAdmin || role == Role::kAgent;
    case Access::kAdmin:
      return role == Role::kAdmin;
    case Access::kPolicies:
      return role == Role::kAdmin || role == Role::kAnalyst || role == Role::kReader ||
             role == Role::kAgent;
  }
  return false;
}

http::Response JsonResponse(int status, const json& body) {
  return http::Response::Json(status, body.dump());
}

http::Response StoreError(const Error& error) {
  log::Error("store: " + error.message);
  return http::Response::Error(500, "store error: " + error.message);
}

// Parses a JSON object body; the error is the 400 to return.
Result<json> ParseBody(const http::Request& request) {
  const std::string type = request.Header("content-type");
  if (type.rfind("application/json", 0) != 0 &&
      type.rfind("application/vnd.docker.distribution.events", 0) != 0) {
    return Fail("expected Content-Type application/json (got '", type, "')");
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return Fail("request body is not valid JSON");
  if (!body.is_object()) return Fail("request body: expected a JSON object");
  return body;
}

Result<std::string> StringField(const json& object, const char* key, bool required,
                                const std::string& where = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return Fail(where, key, ": required");
    return std::string();
  }
  if (!it->is_string()) return Fail(where, key, ": expected a string");
  return it->get<std::string>();
}

// The integer query parameter `name` within [min, max]; nullopt when absent.
Result<std::optional<int64_t>> IntQuery(const http::Request& request, const char* name, int64_t min,
                                        int64_t max) {
  if (!request.HasQuery(name)) return std::optional<int64_t>();
  const std::string text = request.Query(name);
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < min || value > max) {
    return Fail(name, ": expected a number from ", std::to_string(min), " to ", std::to_string(max),
                " (got '", text, "')");
  }
  return std::optional<int64_t>(value);
}

Result<PageRequest> ParsePage(const http::Request& request) {
  PageRequest page;
  MOAT_ASSIGN_OR_RETURN(auto limit, IntQuery(request, "limit", 1, 1000));
  if (limit) page.limit = static_cast<size_t>(*limit);
  page.cursor = request.Query("cursor");
  return page;
}

Result<std::optional<bool>> ParseBoolQuery(const http::Request& request, const char* name) {
  if (!request.HasQuery(name)) return std::optional<bool>();
  const std::string value = request.Query(name);
  if (value == "true" || value == "1") return std::optional<bool>(true);
  if (value == "false" || value == "0") return std::optional<bool>(false);
  return Fail(name, ": expected true or false (got '", value, "')");
}

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

json SeverityCountsJson(const SeverityCounts& c) {
  return {{"critical", c.critical}, {"high", c.high},       {"medium", c.medium},
          {"low", c.low},           {"unknown", c.unknown}, {"fixable", c.fixable}};
}

json ImageJson(const ImageRecord& image) {
  json locations = json::array();
  for (const auto& l : image.locations) {
    locations.push_back({{"registry_id", l.registry_id},
                         {"registry", l.registry_name},
                         {"repository", l.repository},
                         {"tags", l.tags},
                         {"pushed_at", FormatTime(l.pushed_at)},
                         {"last_pulled_at", FormatTime(l.last_pulled_at)}});
  }
  return {{"digest", image.digest},
          {"os", image.os},
          {"platform", image.platform},
          {"scan_status", image.scan_status},
          {"scan_error", image.scan_error},
          {"scanned_at", FormatTime(image.scanned_at)},
          {"first_seen", FormatTime(image.first_seen)},
          {"last_seen_running", FormatTime(image.last_seen_running)},
          {"packages", image.package_count},
          {"vulnerabilities", SeverityCountsJson(image.counts)},
          {"locations", locations}};
}

json HostJson(const HostRecord& host) {
  json j = {{"id", host.id},
            {"name", host.name},
            {"agent_id", host.agent_id},
            {"os", host.os},
            {"kernel", host.kernel},
            {"docker_version", host.docker_version},
            {"last_report_at", FormatTime(host.last_report_at)},
            {"cis", {{"passed", host.cis_passed}, {"failed", host.cis_failed}}}};
  return j;
}

json ClusterJson(const ClusterRecord& cluster) {
  return {{"id", cluster.id},
          {"name", cluster.name},
          {"uid", cluster.uid},
          {"agent_id", cluster.agent_id},
          {"server", cluster.server},
          {"context", cluster.context},
          {"last_report_at", FormatTime(cluster.last_report_at)},
          {"checks", {{"passed", cluster.checks_passed}, {"failed", cluster.checks_failed}}},
          {"workloads", cluster.workloads},
          {"nodes", cluster.nodes},
          {"findings", SeverityCountsJson(cluster.findings)}};
}

json NodeJson(const NodeRecord& node) {
  json conditions = json::parse(node.conditions_json, nullptr, false);
  json j = {{"name", node.name},
            {"cluster_id", node.cluster_id},
            {"kubelet_version", node.kubelet_version},
            {"os_image", node.os_image},
            {"kernel", node.kernel},
            {"container_runtime", node.container_runtime},
            {"architecture", node.architecture},
            {"ready", node.ready},
            {"unschedulable", node.unschedulable},
            {"roles", node.roles},
            {"conditions", conditions.is_array() ? conditions : json::array()},
            {"pods", node.pod_count},
            {"containers", node.container_count},
            {"last_seen", FormatTime(node.last_seen)}};
  return j;
}

json WorkloadJson(const WorkloadRecord& workload) {
  json containers = json::array();
  for (const auto& c : workload.containers) {
    containers.push_back(
        {{"name", c.name}, {"image", c.image}, {"image_digest", c.image_digest}, {"init", c.init}});
  }
  return {{"id", workload.id},
          {"cluster_id", workload.cluster_id},
          {"namespace", workload.namespace_name},
          {"kind", workload.kind},
          {"name", workload.name},
          {"last_seen", FormatTime(workload.last_seen)},
          {"containers", containers},
          {"findings", SeverityCountsJson(workload.findings)}};
}

json AgentJson(const AgentRecord& agent) {
  return {{"id", agent.id},
          {"kind", agent.kind},
          {"version", agent.version},
          {"hostname", agent.hostname},
          {"acked_through", agent.acked_through},
          {"registered_at", FormatTime(agent.registered_at)},
          {"last_heartbeat", FormatTime(agent.last_heartbeat)}};
}

json AlertJson(const StoredAlert& a) {
  json alert = json::parse(a.body, nullptr, false);
  return {{"id", a.id},
          {"status", a.status},
          {"status_by", a.status_by},
          {"status_reason", a.status_reason},
          {"count", a.count},
          {"first_time", FormatTimeNs(a.time_ns)},
          {"last_time", FormatTimeNs(a.last_time_ns)},
          {"incident_id", a.incident_id},
          {"alert", alert.is_discarded() ? json(nullptr) : alert}};
}

json IncidentJson(const IncidentRecord& i) {
  return {{"id", i.id},
          {"first_time", FormatTimeNs(i.first_ns)},
          {"last_time", FormatTimeNs(i.last_ns)},
          {"alerts", i.alerts},
          {"occurrences", i.occurrences},
          {"active", i.active},
          {"status", i.active > 0 ? "active" : "closed"},
          {"priority", i.priority},
          {"rules", i.rules},
          {"tactics", i.tactics},
          {"container_id", i.container_id},
          {"namespace", i.namespace_name},
          {"pod", i.pod},
          {"node", i.node},
          {"image", i.image}};
}

json RegistryJson(const RegistryRecord& r) {
  // The secret never leaves the server: only whether one is set.
  return {{"id", r.id},
          {"name", r.name},
          {"url", r.url},
          {"username", r.username},
          {"has_secret", !r.secret.empty()},
          {"poll_seconds", r.poll_seconds},
          {"created_at", FormatTime(r.created_at)},
          {"last_polled_at", FormatTime(r.last_polled_at)},
          {"last_event_at", FormatTime(r.last_event_at)},
          {"last_error", r.last_error}};
}

json TokenJson(const TokenInfo& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", std::string(RoleName(t.role))},
          {"created_at", FormatTime(t.created_at)},
          {"last_used_at", FormatTime(t.last_used_at)},
          {"created_by", t.created_by}};
}

// "host:port" of a registry URL, lower case.
std::string UrlHostPort(std::string url) {
  for (const char* scheme : {"http://", "https://"}) {
    if (url.rfind(scheme, 0) == 0) url = url.substr(std::string(scheme).size());
  }
  url = url.substr(0, url.find('/'));
  for (char& c : url) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return url;
}

// A listing's error: a bad cursor is the client's (400), anything else the store's (500).
http::Response ListingError(const Error& error) {
  if (error.message.rfind("cursor", 0) == 0) return http::Response::Error(400, error.message);
  return StoreError(error);
}

// GET of a whole small table: {"items": [record as JSON, ...]}.
template <typename Record>
Handler ListAll(std::function<Result<std::vector<Record>>()> list, json (*to_json)(const Record&)) {
  return [list, to_json](const http::Request&, const TokenInfo&) {
    auto records = list();
    if (!records.ok()) return StoreError(records.error());
    json items = json::array();
    for (const auto& record : *records) items.push_back(to_json(record));
    return JsonResponse(200, {{"items", items}});
  };
}

// The numeric {id} of a route; the error is the 400 to give.
Result<int64_t> PathId(const http::Request& request) {
  const std::string text = request.PathParam("id");
  char* end = nullptr;
  const long long id = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') return Fail("id: expected a number (got '", text, "')");
  return static_cast<int64_t>(id);
}

// DELETE /.../{id} of a store record: 404 when absent; audited as `action`.
Handler DeleteById(Store& store, std::string what, std::string action,
                   std::function<Result<bool>(int64_t)> remove) {
  return [&store, what, action, remove](const http::Request& r, const TokenInfo& t) {
    auto id = PathId(r);
    if (!id.ok()) return http::Response::Error(400, id.error().message);
    auto removed = remove(*id);
    if (!removed.ok()) return StoreError(removed.error());
    const std::string id_text = std::to_string(*id);
    if (!*removed) return http::Response::Error(404, "no " + what + " " + id_text);
    (void)store.Audit(t.name, action, id_text, "");
    return http::Response::Json(200, "{\"deleted\":true}");
  };
}

Store::AlertWindows AlertWindowsOf(const CenterOptions& options) {
  return Store::AlertWindows{options.alert_dedupe_window_seconds * 1'000'000'000,
                             options.alert_incident_window_seconds * 1'000'000'000};
}

class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  /// True when the token may make a request now.
  bool Allow(int64_t token_id) {
    const double now =
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    std::lock_guard lock(mutex_);
    auto [it, inserted] = buckets_.try_emplace(token_id, Bucket{burst_, now});
    Bucket& b = it->second;
    b.tokens = std::min(burst_, b.tokens + (now - b.updated) * rate_);
    b.updated = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens;
    double updated;
  };
  double rate_, burst_;
  std::mutex mutex_;
  std::map<int64_t, Bucket> buckets_;
};

}  // namespace

struct Api::State {
  Center& center;
  ApiOptions options;
  http::Router router;
  std::vector<ApiRoute> routes;
  RateLimiter limiter;
  // Metrics.
  std::mutex metrics_mutex;
  std::map<std::pair<std::string, int>, int64_t> requests;  // (route, status) -> count
  // The live alert stream: woken when this process has stored new alerts; alerts that other
  // replicas stored arrive through the stream's poll of the store every second.
  std::mutex stream_mutex;
  std::condition_variable stream_wake;
  std::atomic<bool> stopping{false};
  http::Histogram latency{{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}};
  // The trend's findings per day count every finding first seen or resolved in the period (all
  // 250,000 of a new estate): kept until the store counts a posture change (which every write of
  // findings is) or for a minute (other processes' writes), as PostureKeeper does.
  struct FlowCache {
    std::mutex mutex;
    int64_t from = 0, to = 0;
    uint64_t changes = 0;
    std::chrono::steady_clock::time_point at;
    std::shared_ptr<const std::vector<FindingsFlow>> flow;
  } flow_cache;
  Result<std::shared_ptr<const std::vector<FindingsFlow>>> FlowByDay(int64_t from, int64_t to);

  State(Center& c, ApiOptions o) : center(c), options(o), limiter(o.rate_per_second, o.burst) {}

  void Add(const std::string& method, const std::string& pattern, Access access, Handler handler);
  http::Response Authorize(const http::Request& request, Access access, TokenInfo* token);
  void Record(const std::string& route, int status, double seconds);
  std::string Metrics();

  // Handlers.
  http::Response Images(const http::Request& request);
  http::Response Image(const http::Request& request);
  http::Response Findings(const http::Request& request);
  http::Response Recommendations(const http::Request& request, const std::string& only_id);
  http::Response Score(const http::Request& request);
  http::Response Trend(const http::Request& request);
  http::Response RegistryEvents(const http::Request& request, const TokenInfo& token);
  http::Response AddRegistry(const http::Request& request, const TokenInfo& token);
  http::Response RegisterAgent(const http::Request& request);
  http::Response AgentMessages(const http::Request& request);
  http::Response IngestAlerts(const http::Request& request);
  http::Response AlertStatus(const http::Request& request, const TokenInfo& token);
  http::Response AddRule(const http::Request& request, const TokenInfo& token);
  http::Response CreateToken(const http::Request& request, const TokenInfo& token);
  // Dashboard views.
  http::Response Summary(const http::Request& request);
  http::Response QueryImages(const http::Request& request);
  http::Response ImageSbom(const http::Request& request);
  http::Response ImageUsage(const http::Request& request);
  http::Response HostCis(const http::Request& request);
  http::Response AlertStream(const http::Request& request);
  http::Response TestRegistry(const http::Request& request, const TokenInfo& token);
  http::Response CreateUser(const http::Request& request, const TokenInfo& token);
  http::Response SignIn(const http::Request& request);
  // Settings: notification targets and admission policy modes.
  http::Response NotificationTargets();
  http::Response SaveNotificationTarget(const http::Request& request, const TokenInfo& token,
                                        bool update);
  http::Response TestNotificationTarget(const http::Request& request, const TokenInfo& token);
  /// Reads stored target `id` into `target`: status 0, or the error (404) to answer.
  http::Response StoredTarget(int64_t id, NotificationTargetRecord& target);
  http::Response AdmissionPolicies(const http::Request& request);
  http::Response SetAdmissionPolicies(const http::Request& request, const TokenInfo& token);
  http::Response SetAdmissionPolicy(const http::Request& request, const TokenInfo& token);
  void AlertsStored() { stream_wake.notify_all(); }

  // Assessment input from the store.
};

void Api::State::Add(const std::string& method, const std::string& pattern, Access access,
                     Handler handler) {
  routes.push_back(ApiRoute{method, pattern, access});
  router.Add(method, pattern, [this, access, pattern, handler](const http::Request& request) {
    const auto start = std::chrono::steady_clock::now();
    TokenInfo token;
    http::Response response = Authorize(request, access, &token);
    if (response.status == 0) {
      try {
        response = handler(request, token);
      } catch (const std::exception& e) {
        response = http::Response::Error(500, std::string("internal error: ") + e.what());
      }
    }
    Record(pattern, response.status,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return response;
  });
}

http::Response Api::State::Authorize(const http::Request& request, Access access,
                                     TokenInfo* token) {
  http::Response pass;
  pass.status = 0;
  if (access == Access::kPublic) return pass;
  const std::string header = request.Header("authorization");
  if (header.rfind("Bearer ", 0) != 0 || header.size() <= 7) {
    auto response = http::Response::Error(401,
                                          "a bearer token is required (Authorization: "
                                          "Bearer TOKEN)");
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"moat\"");
    return response;
  }
  auto found = center.store().Authenticate(header.substr(7));
  if (!found.ok()) return StoreError(found.error());
  if (!*found) {
    auto response = http::Response::Error(401, "unknown or revoked token");
    response.headers.emplace_back("WWW-Authenticate",
                                  "Bearer realm=\"moat\", error=\"invalid_token\"");
    return response;
  }
  *token = **found;
  if (!RoleHas(token->role, access)) {
    return http::Response::Error(403, "role " + std::string(RoleName(token->role)) + " may not " +
                                          request.method + " " + request.path);
  }
  if (!limiter.Allow(token->id)) {
    auto response =
        http::Response::Error(429, "rate limit exceeded for token '" + token->name + "'");
    response.headers.emplace_back("Retry-After", "1");
    return response;
  }
  return pass;
}

void Api::State::Record(const std::string& route, int status, double seconds) {
  std::lock_guard lock(metrics_mutex);
  ++requests[{route, status}];
  latency.Observe(seconds);
}

std::string Api::State::Metrics() {
  std::string out;
  {
    std::lock_guard lock(metrics_mutex);
    out += "# HELP moat_http_requests_total API requests by route and status.\n";
    out += "# TYPE moat_http_requests_total counter\n";
    for (const auto& [key, count] : requests) {
      out += "moat_http_requests_total{route=\"" + key.first + "\",code=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
    }
    latency.Render("moat_http_request_duration_seconds", "API request latency.", out);
  }
  auto& stats = center.stats();
  out +=
      "# HELP moat_jobs_total Jobs run by this process (scan: pull and match; match: re-match).\n";
  out += "# TYPE moat_jobs_total counter\n";
  const std::pair<const char*, int64_t> jobs_run[] = {
      {"kind=\"scan\",result=\"done\"", stats.scans_done.load()},
      {"kind=\"scan\",result=\"failed\"", stats.scans_failed.load()},
      {"kind=\"match\",result=\"done\"", stats.matches_done.load()},
      {"kind=\"match\",result=\"failed\"", stats.matches_failed.load()}};
  for (const auto& [labels, count] : jobs_run) {
    out += std::string("moat_jobs_total{") + labels + "} " + std::to_string(count) + "\n";
  }
  out +=
      "# HELP moat_jobs_taken_over_total Jobs whose lease another worker took over before this "
      "process finished them (their result was dropped).\n";
  out += "# TYPE moat_jobs_taken_over_total counter\n";
  out += "moat_jobs_taken_over_total " + std::to_string(stats.jobs_taken_over.load()) + "\n";
  out += "# TYPE moat_alerts_ingested_total counter\n";
  out += "moat_alerts_ingested_total " + std::to_string(stats.alerts_ingested.load()) + "\n";
  out += "# TYPE moat_registry_events_total counter\n";
  out += "moat_registry_events_total " + std::to_string(stats.registry_events.load()) + "\n";
  if (!options.metrics_only) {  // a worker assesses nothing
    const PostureKeeper::Stats posture = center.posture().stats();
    out +=
        "# HELP moat_posture_assessments_total Assessments of the whole posture (score, "
        "recommendations) by this process.\n";
    out += "# TYPE moat_posture_assessments_total counter\n";
    out += "moat_posture_assessments_total " + std::to_string(posture.assessments) + "\n";
    out += "# HELP moat_posture_assessment_seconds How long the last assessment took.\n";
    out += "# TYPE moat_posture_assessment_seconds gauge\n";
    out += "moat_posture_assessment_seconds " + http::PrometheusNumber(posture.last_seconds) + "\n";
    out +=
        "# HELP moat_posture_assessed_at_seconds When the posture shown was assessed (Unix "
        "time).\n";
    out += "# TYPE moat_posture_assessed_at_seconds gauge\n";
    out += "moat_posture_assessed_at_seconds " + std::to_string(posture.assessed_at) + "\n";
  }
  if (auto jobs = center.store().CountJobs(); jobs.ok()) {
    out += "# TYPE moat_jobs gauge\n";
    out += "moat_jobs{state=\"queued\"} " + std::to_string(jobs->queued) + "\n";
    out += "moat_jobs{state=\"running\"} " + std::to_string(jobs->running) + "\n";
    out += "moat_jobs{state=\"done\"} " + std::to_string(jobs->done) + "\n";
    out += "moat_jobs{state=\"failed\"} " + std::to_string(jobs->failed) + "\n";
  }
  return out;
}

// ---- images and findings ------------------------------------------------------------------------

http::Response Api::State::Images(const http::Request& request) {
  for (const char* name :
       {"severity", "fixable", "kev", "running", "registry_id", "repository", "q", "sort"}) {
    if (request.HasQuery(name)) return QueryImages(request);
  }
  auto page = ParsePage(request);
  if (!page.ok()) return http::Response::Error(400, page.error().message);
  auto images = center.store().ListImages(*page);
  if (!images.ok()) return ListingError(images.error());
  json items = json::array();
  for (const auto& image : images->items) items.push_back(ImageJson(image));
  return JsonResponse(200, {{"items", items}, {"next_cursor", images->next_cursor}});
}

http::Response Api::State::Image(const http::Request& request) {
  const std::string digest = request.PathParam("digest");
  auto image = center.store().GetImage(digest, /*with_inventory=*/true);
  if (!image.ok()) return StoreError(image.error());
  if (!*image) return http::Response::Error(404, "no image " + digest);
  json j = ImageJson(**image);
  json inventory = json::parse((*image)->inventory_json, nullptr, false);
  j["inventory"] = inventory.is_discarded() ? json(nullptr) : inventory;
  return JsonResponse(200, j);
}

http::Response Api::State::Findings(const http::Request& request) {
  auto page = ParsePage(request);
  if (!page.ok()) return http::Response::Error(400, page.error().message);
  FindingFilter filter;
  for (const auto& s : request.QueryList("severity")) {
    const std::string severity = Upper(s);
    if (severity != "CRITICAL" && severity != "HIGH" && severity != "MEDIUM" && severity != "LOW" &&
        severity != "UNKNOWN") {
      return http::Response::Error(400, "severity: unknown severity '" + s + "'");
    }
    filter.severities.push_back(severity);
  }
  filter.resource_kind = request.Query("resource_kind");
  filter.resource_id = request.Query("resource_id");
  filter.source = request.Query("source");
  filter.finding_id = request.Query("finding_id");
  filter.package = request.Query("package");
  auto kev = ParseBoolQuery(request, "kev");
  if (!kev.ok()) return http::Response::Error(400, kev.error().message);
  filter.kev = *kev;
  auto patchable = ParseBoolQuery(request, "patchable");
  if (!patchable.ok()) return http::Response::Error(400, patchable.error().message);
  filter.patchable = *patchable;
  auto in_use = ParseBoolQuery(request, "in_use");
  if (!in_use.ok()) return http::Response::Error(400, in_use.error().message);
  filter.in_use = *in_use;
  const std::string status = request.Query("status");
  if (status == "all") {
    filter.include_resolved = true;
  } else if (!status.empty() && status != "open") {
    return http::Response::Error(400, "status: expected open or all");
  }
  const std::string sort_text = request.Query("sort");
  FindingSort sort = FindingSort::kSeverity;
  if (sort_text == "cvss") {
    sort = FindingSort::kCvss;
  } else if (sort_text == "first_seen") {
    sort = FindingSort::kFirstSeen;
  } else if (sort_text == "in_use") {
    sort = FindingSort::kInUse;
  } else if (!sort_text.empty() && sort_text != "severity") {
    return http::Response::Error(400, "sort: expected severity, in_use, cvss or first_seen");
  }
  const std::string format = request.Query("format");
  if (!format.empty() && format != "json" && format != "csv" && format != "sarif") {
    return http::Response::Error(400, "format: expected json, csv or sarif");
  }
  auto findings = center.store().ListFindings(filter, sort, *page);
  if (!findings.ok()) return ListingError(findings.error());
  if (format == "csv") {
    auto response = http::Response::Text(200, FindingsCsv(findings->items), "text/csv");
    if (!findings->next_cursor.empty()) {
      response.headers.emplace_back("X-Next-Cursor", findings->next_cursor);
    }
    return response;
  }
  if (format == "sarif") return http::Response::Json(200, FindingsSarif(findings->items));
  json items = json::array();
  for (const auto& f : findings->items) items.push_back(json::parse(FindingJson(f)));
  return JsonResponse(200, {{"items", items}, {"next_cursor", findings->next_cursor}});
}

// ---- assessment -------------------------------------------------------------------------------

http::Response Api::State::Recommendations(const http::Request& request,
                                           const std::string& only_id) {
  // Both read the kept posture. One recommendation's page lists a page of its unhealthy
  // resources (in the posture's order) with every finding that makes each unhealthy, read from
  // the store for those resources only (the kept posture holds each one's few worst findings,
  // which answer `findings=N` for small N without reading the store).
  PageRequest page;
  size_t offset = 0;
  // `findings=N`: each resource's N worst findings and their total, the page's summary of what
  // makes it unhealthy; the first page of the registry images' recommendation would otherwise
  // carry some 15,000 findings.
  size_t findings_shown = std::numeric_limits<size_t>::max();
  if (!only_id.empty()) {
    auto parsed = ParsePage(request);
    if (!parsed.ok()) return http::Response::Error(400, parsed.error().message);
    page = *parsed;
    auto skipped = ParseOffsetCursor(page.cursor);
    if (!skipped.ok()) return http::Response::Error(400, skipped.error().message);
    offset = *skipped;
    auto shown = IntQuery(request, "findings", 0, 100000);
    if (!shown.ok()) return http::Response::Error(400, shown.error().message);
    if (*shown) findings_shown = static_cast<size_t>(**shown);
  }
  auto kept = center.posture().Get();
  if (!kept.ok()) return StoreError(kept.error());
  const std::shared_ptr<const Posture> posture = std::move(*kept);
  const int64_t now = std::time(nullptr);
  json items = json::array();
  for (const auto& rec : posture->recommendations) {
    if (!only_id.empty() && rec.definition->id != only_id) continue;
    json j = {{"id", rec.definition->id},
              {"title", rec.definition->title},
              {"severity", rec.definition->severity},
              {"control", rec.definition->control},
              {"resource_kind", rec.definition->resource_kind},
              {"description", rec.definition->description},
              {"remediation", rec.definition->remediation},
              {"unhealthy_count", rec.unhealthy.size()},
              {"assessed_count", rec.assessed}};
    if (!only_id.empty()) {
      json unhealthy = json::array();
      const size_t begin = std::min(rec.unhealthy.size(), offset);
      const size_t end = std::min(rec.unhealthy.size(), offset + page.limit);
      // A few worst findings of each come from the kept posture; more are read from the store.
      const bool from_posture = findings_shown <= assess::kWorstFindingsKept;
      std::vector<std::vector<assess::FindingFacts>> read;
      if (!from_posture) {
        std::vector<assess::Resource> shown;
        for (size_t i = begin; i < end; ++i) shown.push_back(rec.unhealthy[i].resource);
        auto facts = FindingsOfUnhealthy(center.store(), *posture, shown, only_id, now);
        if (!facts.ok()) return StoreError(facts.error());
        read = std::move(*facts);
      }
      for (size_t i = begin; i < end; ++i) {
        const auto& u = rec.unhealthy[i];
        const auto& worst = from_posture ? u.findings : read[i - begin];
        const size_t finding_count = from_posture ? u.finding_count : worst.size();
        json findings = json::array();
        for (const auto& f : worst) {
          if (findings.size() == findings_shown) break;
          findings.push_back({{"finding_id", f.finding_id},
                              {"severity", f.severity},
                              {"title", f.title},
                              {"cvss", f.cvss},
                              {"patchable", f.patchable},
                              {"kev", f.kev},
                              {"in_use", f.in_use}});
        }
        unhealthy.push_back({{"kind", u.resource.kind},
                             {"id", u.resource.id},
                             {"name", u.resource.name},
                             {"finding_count", finding_count},
                             {"findings", findings}});
      }
      j["unhealthy"] = unhealthy;
      j["next_cursor"] = end < rec.unhealthy.size() ? "o:" + std::to_string(end) : "";
      return JsonResponse(200, j);
    }
    items.push_back(j);
  }
  if (!only_id.empty()) {
    bool known = false;
    for (const auto& def : assess::RecommendationCatalog()) known |= def.id == only_id;
    if (!known) return http::Response::Error(404, "no recommendation " + only_id);
    // Known and nothing unhealthy: healthy resources produce nothing.
    return http::Response::Error(404, "recommendation " + only_id + " has no unhealthy resource");
  }
  return JsonResponse(200, {{"items", items}});
}

namespace {

json ScoreJson(const assess::SecureScore& score) {
  json controls = json::array();
  for (const auto& c : score.controls) {
    controls.push_back({{"control", c.control},
                        {"max_points", c.max_points},
                        {"points", c.total > 0 ? json(c.points) : json(nullptr)},
                        {"healthy", c.healthy},
                        {"total", c.total}});
  }
  // Nothing assessed yet: no score, rather than a 0 % nobody earned.
  const bool scored = score.assessed > 0;
  return {{"points", scored ? json(score.points) : json(nullptr)},
          {"max_points", score.max_points},
          {"percent", scored ? json(score.percent) : json(nullptr)},
          {"assessed", score.assessed},
          {"controls", controls}};
}

}  // namespace

http::Response Api::State::Score(const http::Request& request) {
  (void)request;
  auto posture = center.posture().Get();
  if (!posture.ok()) return StoreError(posture.error());
  return JsonResponse(200, ScoreJson((*posture)->score));
}

Result<std::shared_ptr<const std::vector<FindingsFlow>>> Api::State::FlowByDay(int64_t from,
                                                                               int64_t to) {
  constexpr auto kMaxAge = std::chrono::seconds(60);
  std::lock_guard lock(flow_cache.mutex);  // one count at a time; the others wait for it
  const uint64_t changes = center.store().posture_changes();
  const auto now = std::chrono::steady_clock::now();
  if (flow_cache.flow && flow_cache.from == from && flow_cache.to == to &&
      flow_cache.changes == changes && now - flow_cache.at < kMaxAge) {
    return flow_cache.flow;
  }
  MOAT_ASSIGN_OR_RETURN(auto flow, center.store().FindingsFlowByDay(from, to));
  flow_cache.flow = std::make_shared<const std::vector<FindingsFlow>>(std::move(flow));
  flow_cache.from = from;
  flow_cache.to = to;
  flow_cache.changes = changes;
  flow_cache.at = now;
  return flow_cache.flow;
}

http::Response Api::State::Trend(const http::Request& request) {
  auto days_query = IntQuery(request, "days", 1, 366);
  if (!days_query.ok()) return http::Response::Error(400, days_query.error().message);
  const int64_t days = days_query->value_or(30);
  constexpr int64_t kDay = 86400;
  const int64_t today = static_cast<int64_t>(std::time(nullptr)) / kDay * kDay;
  const int64_t from = today - (days - 1) * kDay;
  auto stats = center.store().ListDailyStats(FormatUtcDay(from), FormatUtcDay(today));
  if (!stats.ok()) return StoreError(stats.error());
  auto flow = FlowByDay(from, today + kDay);
  if (!flow.ok()) return StoreError(flow.error());
  // One entry per day, oldest first; a day without a snapshot has empty figures.
  std::map<std::string, json> by_day;
  for (int64_t day = from; day <= today; day += kDay) {
    by_day[FormatUtcDay(day)] = {{"day", FormatUtcDay(day)},
                                 {"findings_new", 0},
                                 {"findings_resolved", 0},
                                 {"figures", json::object()}};
  }
  for (const auto& stat : *stats) {
    auto it = by_day.find(stat.day);
    if (it != by_day.end()) it->second["figures"][stat.name] = stat.value;
  }
  for (const auto& day : **flow) {
    auto it = by_day.find(day.day);
    if (it == by_day.end()) continue;
    it->second["findings_new"] = day.first_seen;
    it->second["findings_resolved"] = day.resolved;
  }
  json items = json::array();
  for (auto& [day, entry] : by_day) items.push_back(std::move(entry));
  return JsonResponse(200, {{"days", items}});
}

// ---- registries ----------------------------------------------------------------------------

http::Response Api::State::AddRegistry(const http::Request& request, const TokenInfo& token) {
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  RegistryRecord registry;
  auto name = StringField(*body, "name", true);
  auto url = StringField(*body, "url", true);
  auto username = StringField(*body, "username", false);
  auto password = StringField(*body, "password", false);
  for (auto* field : {&name, &url, &username, &password}) {
    if (!field->ok()) return http::Response::Error(400, field->error().message);
  }
  registry.name = *name;
  registry.url = *url;
  registry.username = *username;
  registry.secret = *password;
  if (registry.url.rfind("https://", 0) != 0 && registry.url.rfind("http://", 0) != 0) {
    return http::Response::Error(400, "url: expected https://HOST[:PORT] (or http:// on loopback)");
  }
  if (registry.url.rfind("http://", 0) == 0) {
    std::string host = UrlHostPort(registry.url);
    if (host.front() == '[') {
      host = host.substr(1, host.find(']') - 1);
    } else {
      host = host.substr(0, host.find(':'));
    }
    if (!http::IsLoopbackHost(host)) {
      return http::Response::Error(400,
                                   "url: plain http:// is allowed only for a loopback "
                                   "registry; use https://");
    }
  }
  if (auto poll = body->find("poll_seconds"); poll != body->end()) {
    if (!poll->is_number_integer() || poll->get<int64_t>() < 0) {
      return http::Response::Error(400, "poll_seconds: expected a non-negative integer");
    }
    registry.poll_seconds = poll->get<int64_t>();
  }
  auto added = center.store().AddRegistry(registry);
  if (!added.ok()) {
    if (added.error().message.find("exists already") != std::string::npos) {
      return http::Response::Error(409, added.error().message);
    }
    return StoreError(added.error());
  }
  (void)center.store().Audit(token.name, "registry.add", registry.name, registry.url);
  return JsonResponse(201, RegistryJson(*added));
}

http::Response Api::State::RegistryEvents(const http::Request& request, const TokenInfo& token) {
  (void)token;
  auto events = ParseRegistryEvents(request.body);
  if (!events.ok()) return http::Response::Error(400, events.error().message);
  auto registries = center.store().ListRegistries();
  if (!registries.ok()) return StoreError(registries.error());
  size_t queued = 0, recorded = 0;
  std::vector<std::string> unknown;
  for (const auto& event : *events) {
    center.stats().registry_events++;
    if (!event.IsManifest()) continue;  // layer blobs
    // The registry is the one whose URL names the host the client used (or the event's URL).
    const RegistryRecord* registry = nullptr;
    for (const auto& candidate : *registries) {
      const std::string host = UrlHostPort(candidate.url);
      if (host == UrlHostPort(event.request_host) || host == UrlHostPort(event.url) ||
          host == UrlHostPort(event.source_addr)) {
        registry = &candidate;
        break;
      }
    }
    if (registry == nullptr) {
      unknown.push_back(event.request_host.empty() ? event.url : event.request_host);
      continue;
    }
    const int64_t time = event.time > 0 ? event.time : std::time(nullptr);
    Result<void> stored = Ok();
    if (event.action == "push") {
      stored =
          center.store().RecordPush(registry->id, event.repository, event.digest, event.tag, time);
      if (stored.ok()) {
        auto enqueued = center.EnqueueScan(registry->id, event.repository, event.digest, "push");
        if (!enqueued.ok()) return StoreError(enqueued.error());
        queued += *enqueued ? 1 : 0;
      }
    } else if (event.action == "pull") {
      stored = center.store().RecordPull(registry->id, event.repository, event.digest, time);
    } else if (event.action == "delete") {
      stored = center.store().RecordDelete(registry->id, event.repository, event.digest);
    } else {
      continue;  // mount: the blob of another repository; nothing to do
    }
    if (!stored.ok()) return StoreError(stored.error());
    ++recorded;
  }
  json answer = {{"events", events->size()}, {"recorded", recorded}, {"scans_queued", queued}};
  if (!unknown.empty()) answer["unknown_registries"] = unknown;
  return JsonResponse(200, answer);
}

// ---- settings: notification targets ------------------------------------------------------------

namespace {

// A target as the API shows it: the URL without its secret part and the headers' names only
// (their values, Authorization among them, are write-only).
json NotificationTargetJson(const notify::NotifierConfig& c) {
  json header_names = json::array();
  for (const auto& header : c.headers) header_names.push_back(header.first);
  return {{"kind", c.kind},
          {"url", notify::RedactUrl(c.url)},
          {"min_priority", std::string(AlertPriorityName(c.min_priority))},
          {"batch", c.batch},
          {"header_names", header_names},
          {"slack_blocks", c.slack_blocks},
          {"syslog_facility", c.syslog_facility},
          {"syslog_hostname", c.syslog_hostname}};
}

json StoredTargetJson(const NotificationTargetRecord& target) {
  json j = NotificationTargetJson(target.config);
  j["id"] = target.id;
  j["name"] = target.name;
  j["source"] = "api";
  j["read_only"] = false;
  j["created_by"] = target.created_by;
  j["created_at"] = FormatTime(target.created_at);
  j["updated_at"] = FormatTime(target.updated_at);
  return j;
}

Result<bool> BoolField(const json& object, const char* key, bool fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return Fail(key, ": expected true or false");
  return it->get<bool>();
}

// A POST or PUT body onto `target` (a PUT starts from the stored target: an absent url or
// headers keeps the stored one, so the dashboard can edit a target without knowing them).
Result<void> ReadNotificationTarget(const json& body, bool update,
                                    NotificationTargetRecord& target) {
  MOAT_ASSIGN_OR_RETURN(target.name, StringField(body, "name", true));
  if (target.name.empty() || target.name.size() > 100) return Fail("name: 1 to 100 characters");
  for (char c : target.name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return Fail("name: no control characters");
    }
  }
  auto& c = target.config;
  MOAT_ASSIGN_OR_RETURN(c.kind, StringField(body, "kind", true));
  MOAT_ASSIGN_OR_RETURN(std::string url, StringField(body, "url", !update));
  if (!url.empty()) c.url = url;
  MOAT_ASSIGN_OR_RETURN(std::string priority, StringField(body, "min_priority", false));
  if (!priority.empty()) {
    auto parsed = ParseAlertPriority(priority);
    if (!parsed) {
      return Fail("min_priority: '", priority,
                  "' is not a priority (emergency, alert, critical, error, warning, notice, "
                  "informational, debug)");
    }
    c.min_priority = *parsed;
  } else if (!update) {
    c.min_priority = AlertPriority::kDebug;
  }
  MOAT_ASSIGN_OR_RETURN(c.batch, BoolField(body, "batch", update && c.batch));
  MOAT_ASSIGN_OR_RETURN(c.slack_blocks, BoolField(body, "slack_blocks", !update || c.slack_blocks));
  if (auto it = body.find("syslog_facility"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 23) {
      return Fail("syslog_facility: expected an integer from 0 to 23");
    }
    c.syslog_facility = it->get<int>();
  }
  MOAT_ASSIGN_OR_RETURN(std::string hostname, StringField(body, "syslog_hostname", false));
  if (!hostname.empty() || !update) c.syslog_hostname = hostname;
  if (auto it = body.find("headers"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Fail("headers: expected an object of header names and values");
    c.headers.clear();
    for (const auto& [name, value] : it->items()) {
      const bool token_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) ||
               std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
      });
      if (!token_name) return Fail("headers: '", name, "' is not a header name");
      if (!value.is_string()) return Fail("headers.", name, ": expected a string");
      const std::string text = value.get<std::string>();
      if (text.find_first_of("\r\n", 0) != std::string::npos || text.find('\0') != text.npos) {
        return Fail("headers.", name, ": no line breaks");
      }
      c.headers.emplace_back(name, text);
    }
  }
  // The kind, URL and options are checked as the notifier would use them.
  if (auto made = notify::MakeNotifier(c); !made.ok()) return made.error();
  return Ok();
}

}  // namespace

http::Response Api::State::NotificationTargets() {
  auto stored = center.store().ListNotificationTargets();
  if (!stored.ok()) return StoreError(stored.error());
  json items = json::array();
  // The --notify targets first, read-only: they are changed where they are set.
  const auto& configured = center.options().notifications;
  for (size_t i = 0; i < configured.size(); ++i) {
    json j = NotificationTargetJson(configured[i]);
    j["id"] = nullptr;
    j["name"] = "--notify " + std::to_string(i + 1);
    j["source"] = "config";
    j["read_only"] = true;
    items.push_back(j);
  }
  for (const auto& target : *stored) items.push_back(StoredTargetJson(target));
  return JsonResponse(200, {{"items", items}});
}

http::Response Api::State::SaveNotificationTarget(const http::Request& request,
                                                  const TokenInfo& token, bool update) {
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  NotificationTargetRecord target;
  if (update) {
    auto id = PathId(request);
    if (!id.ok()) return http::Response::Error(400, id.error().message);
    if (auto missing = StoredTarget(*id, target); missing.status != 0) return missing;
  } else {
    target.created_by = token.name;
  }
  if (auto read = ReadNotificationTarget(*body, update, target); !read.ok()) {
    return http::Response::Error(400, read.error().message);
  }
  Result<bool> saved = true;
  if (update) {
    saved = center.store().UpdateNotificationTarget(target);
  } else {
    auto added = center.store().AddNotificationTarget(target);
    if (added.ok()) target = std::move(*added);
    saved = added.ok() ? Result<bool>(true) : Result<bool>(added.error());
  }
  if (!saved.ok()) {
    if (saved.error().message.find("exists already") != std::string::npos) {
      return http::Response::Error(409, saved.error().message);
    }
    return StoreError(saved.error());
  }
  if (!*saved)
    return http::Response::Error(404, "no notification target " + std::to_string(target.id));
  (void)center.store().Audit(token.name, update ? "notification.update" : "notification.add",
                             target.name,
                             target.config.kind + " " + notify::RedactUrl(target.config.url));
  // The running dispatcher sends to the new set from the next alert on.
  if (auto reloaded = center.ReloadNotificationTargets(); !reloaded.ok()) {
    log::Warn("notification targets: " + reloaded.error().message);
  }
  if (auto missing = StoredTarget(target.id, target); missing.status != 0) return missing;
  return JsonResponse(update ? 200 : 201, StoredTargetJson(target));
}

http::Response Api::State::StoredTarget(int64_t id, NotificationTargetRecord& target) {
  auto stored = center.store().GetNotificationTarget(id);
  if (!stored.ok()) return StoreError(stored.error());
  if (!*stored) return http::Response::Error(404, "no notification target " + std::to_string(id));
  target = std::move(**stored);
  http::Response found;
  found.status = 0;
  return found;
}

http::Response Api::State::TestNotificationTarget(const http::Request& request,
                                                  const TokenInfo& token) {
  auto id = PathId(request);
  if (!id.ok()) return http::Response::Error(400, id.error().message);
  NotificationTargetRecord target;
  if (auto missing = StoredTarget(*id, target); missing.status != 0) return missing;
  // A made-up alert at the target's own threshold, so that its priority filter lets it through.
  Alert alert;
  alert.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  alert.time = FormatRfc3339Nanos(alert.time_ns);
  alert.rule = "Moat test notification";
  alert.priority = target.config.min_priority;
  alert.source = "moat";
  alert.tags = {"test"};
  alert.output = "A test alert sent by " + token.name + " from the Moat security center to " +
                 target.name + " (nothing happened)";
  auto notifier = notify::MakeNotifier(target.config);
  const Result<void> sent = notifier.ok() ? (*notifier)->Send({alert}) : notifier.error();
  (void)center.store().Audit(token.name, "notification.test", target.name,
                             sent.ok() ? "sent" : sent.error().message);
  return JsonResponse(200, {{"ok", sent.ok()},
                            {"message", sent.ok() ? "a test alert was sent to " + target.name
                                                  : sent.error().message}});
}

// ---- settings: admission policy modes ---------------------------------------------------------

namespace {

// The image policies of the admission webhook (src/admission/image_gate.h), which the k8s
// checks do not list.
constexpr const char* kImagePolicies[] = {"image-vulnerabilities", "image-signature"};

// The canonical admission action of `text` (admission/policy.h ParseAction's names and aliases,
// plus "off"), or nullopt.
std::optional<std::string> CanonicalAdmissionAction(const std::string& text) {
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "deny" || lower == "enforce") return "deny";
  if (lower == "warn") return "warn";
  if (lower == "audit" || lower == "dryrun") return "audit";
  if (lower == "disabled" || lower == "off") return "disabled";
  return std::nullopt;
}

// Whether `policy` names something a `checks:` entry can: a check id or alias, a group or glob
// that selects a check, all, optional, or an image policy.
Result<void> ValidateAdmissionPolicy(const std::string& policy) {
  if (policy.empty() || policy.size() > 200) return Fail("expected 1 to 200 characters");
  for (const char* image_policy : kImagePolicies) {
    if (policy == image_policy) return Ok();
  }
  if (policy == "all" || policy == "optional" || k8s::FindCheck(policy) != nullptr) return Ok();
  if (auto selected = k8s::SelectChecks({policy}); selected.ok() && !selected->empty()) {
    return Ok();
  }
  return Fail("\"", policy,
              "\" selects no check (a check id, group or glob as `moat k8s --checks`, ",
              "all, optional, image-vulnerabilities or image-signature)");
}

json AdmissionPolicyEntry(const std::string& policy, const std::string& action) {
  return {{"checks", json::array({policy})}, {"action", action}};
}

// The `policies:` section the GET answers, with its ETag.
std::pair<std::string, std::string> AdmissionPoliciesBody(
    const std::vector<AdmissionPolicyMode>& modes) {
  json policies = json::array();
  for (const auto& mode : modes) policies.push_back(AdmissionPolicyEntry(mode.policy, mode.action));
  std::string body = json{{"policies", policies}}.dump();
  return {body, "\"" + Sha256Hex(AsBytes(body)).substr(0, 32) + "\""};
}

}  // namespace

http::Response Api::State::AdmissionPolicies(const http::Request& request) {
  auto modes = center.store().ListAdmissionPolicyModes();
  if (!modes.ok()) return StoreError(modes.error());
  auto [body, etag] = AdmissionPoliciesBody(*modes);
  if (request.Header("if-none-match") == etag) {
    http::Response response;
    response.status = 304;
    response.headers.emplace_back("ETag", etag);
    return response;
  }
  auto response = http::Response::Json(200, body);
  response.headers.emplace_back("ETag", etag);
  return response;
}

http::Response Api::State::SetAdmissionPolicies(const http::Request& request,
                                                const TokenInfo& token) {
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto policies = body->find("policies");
  if (policies == body->end() || !policies->is_array()) {
    return http::Response::Error(400, "policies: expected a list of {checks, action}");
  }
  std::vector<AdmissionPolicyMode> modes;
  std::set<std::string> seen;
  const int64_t now = std::time(nullptr);
  for (size_t i = 0; i < policies->size(); ++i) {
    const json& entry = (*policies)[i];
    const std::string where = "policies[" + std::to_string(i) + "]";
    if (!entry.is_object()) return http::Response::Error(400, where + ": expected an object");
    for (const auto& [key, value] : entry.items()) {
      if (key != "checks" && key != "action") {
        return http::Response::Error(
            400, where + ": unknown key \"" + key + "\" (expected checks and action)");
      }
    }
    auto action = StringField(entry, "action", true, where + ".");
    if (!action.ok()) return http::Response::Error(400, action.error().message);
    auto canonical = CanonicalAdmissionAction(*action);
    if (!canonical) {
      return http::Response::Error(
          400, where + ".action: \"" + *action + "\" is not deny, warn, audit or disabled");
    }
    auto checks = entry.find("checks");
    if (checks == entry.end() || !checks->is_array() || checks->empty()) {
      return http::Response::Error(400, where + ".checks: expected a non-empty list of policies");
    }
    for (size_t j = 0; j < checks->size(); ++j) {
      const std::string at = where + ".checks[" + std::to_string(j) + "]";
      if (!(*checks)[j].is_string()) return http::Response::Error(400, at + ": expected a string");
      const std::string policy = (*checks)[j].get<std::string>();
      if (auto valid = ValidateAdmissionPolicy(policy); !valid.ok()) {
        return http::Response::Error(400, at + ": " + valid.error().message);
      }
      if (!seen.insert(policy).second) {
        return http::Response::Error(400, at + ": \"" + policy + "\" is given twice");
      }
      modes.push_back(AdmissionPolicyMode{policy, *canonical, token.name, now});
    }
  }
  if (auto replaced = center.store().ReplaceAdmissionPolicyModes(modes); !replaced.ok()) {
    return StoreError(replaced.error());
  }
  (void)center.store().Audit(token.name, "admission.policies.set",
                             std::to_string(modes.size()) + " policies", body->dump());
  return AdmissionPolicies(http::Request{});
}

http::Response Api::State::SetAdmissionPolicy(const http::Request& request,
                                              const TokenInfo& token) {
  const std::string policy = request.PathParam("policy");
  if (auto valid = ValidateAdmissionPolicy(policy); !valid.ok()) {
    return http::Response::Error(400, "policy: " + valid.error().message);
  }
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto action = StringField(*body, "action", true);
  if (!action.ok()) return http::Response::Error(400, action.error().message);
  auto canonical = CanonicalAdmissionAction(*action);
  if (!canonical) {
    return http::Response::Error(
        400, "action: \"" + *action + "\" is not deny, warn, audit or disabled");
  }
  AdmissionPolicyMode mode{policy, *canonical, token.name, int64_t{std::time(nullptr)}};
  if (auto set = center.store().SetAdmissionPolicyMode(mode); !set.ok()) {
    return StoreError(set.error());
  }
  (void)center.store().Audit(token.name, "admission.policy.set", policy, *canonical);
  return JsonResponse(200, AdmissionPolicyEntry(policy, *canonical));
}

// ---- agents and alerts -------------------------------------------------------------------------

http::Response Api::State::RegisterAgent(const http::Request& request) {
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto name = StringField(*body, "name", true);
  auto kind = StringField(*body, "kind", true);
  auto version = StringField(*body, "version", false);
  auto hostname = StringField(*body, "hostname", false);
  for (auto* field : {&name, &kind, &version, &hostname}) {
    if (!field->ok()) return http::Response::Error(400, field->error().message);
  }
  if (*kind != "host" && *kind != "cluster") {
    return http::Response::Error(400, "kind: expected host or cluster");
  }
  if (!IsValidResourceName(*name)) {
    return http::Response::Error(400, "name: 1 to 253 letters, digits, '-', '.', '_'");
  }
  auto agent = center.store().RegisterAgent(*name, *kind, *version, *hostname, std::time(nullptr));
  if (!agent.ok()) return StoreError(agent.error());
  return JsonResponse(200, {{"agent_id", agent->id}, {"acked_through", agent->acked_through}});
}

namespace {

// The alerts of a batch that became new alerts (not duplicates counted into an earlier one).
std::vector<Alert> CreatedAlerts(AlertBatch& batch, const std::vector<bool>& created) {
  std::vector<Alert> alerts;
  for (size_t i = 0; i < batch.alerts.size() && i < created.size(); ++i) {
    if (created[i]) alerts.push_back(std::move(batch.alerts[i]));
  }
  return alerts;
}

}  // namespace

http::Response Api::State::AgentMessages(const http::Request& request) {
  const std::string agent_id = request.PathParam("agent");
  if (auto body = ParseBody(request); !body.ok()) {
    return http::Response::Error(400, body.error().message);
  }
  // The whole batch is validated before anything is applied.
  auto messages = ParseAgentBatch(request.body, agent_id);
  if (!messages.ok()) return http::Response::Error(400, messages.error().message);
  auto agent = center.store().GetAgent(agent_id);
  if (!agent.ok()) return StoreError(agent.error());
  if (!*agent) return http::Response::Error(404, "agent '" + agent_id + "' is not registered");
  const int64_t now = std::time(nullptr);
  const Store::AlertWindows windows = AlertWindowsOf(center.options());
  // By message: a transaction that is retried applies its messages again.
  std::map<int64_t, AlertBatch> new_alerts;
  std::map<int64_t, size_t> alert_counts;
  auto applied = center.store().ApplyAgentMessages(
      agent_id, *messages, now,
      [&](SqlConnection& sql, const Store::AgentMessage& message) -> Result<void> {
        json b = json::parse(message.body);
        if (message.type == "alerts") {
          MOAT_ASSIGN_OR_RETURN(auto batch, ParseAlertList(b["alerts"].dump(), "alerts"));
          std::vector<bool> created;
          MOAT_TRY(Store::InsertAlerts(sql, batch.stored, windows, &created));
          alert_counts[message.seq] = batch.stored.size();
          new_alerts[message.seq].alerts = CreatedAlerts(batch, created);
        } else if (message.type == "host_report") {
          MOAT_ASSIGN_OR_RETURN(HostReport report, ParseHostReport(message.body, agent_id));
          MOAT_TRY(
              Store::SaveHostReport(sql, report.host, report.containers, report.cis_findings, now));
        } else if (message.type == "cluster_report") {
          MOAT_ASSIGN_OR_RETURN(ClusterReport report, ParseClusterReport(message.body, agent_id));
          MOAT_TRY(Store::SaveClusterReport(sql, report, now));
        } else if (message.type == "in_use") {
          MOAT_ASSIGN_OR_RETURN(InUseReport report, ParseInUseReport(message.body));
          MOAT_TRY(Store::SaveInUse(sql, agent_id, report, now));
        } else if (message.type == "dropped") {
          // Messages the agent lost before sending them: recorded, never silently skipped.
          const int64_t through = std::max(message.seq, message.through);
          const std::string detail =
              "messages " + std::to_string(message.seq) + ".." + std::to_string(through) +
              " lost by the agent (" + std::to_string(b.value("messages", int64_t{0})) +
              " messages, " + std::to_string(b.value("heartbeats", int64_t{0})) +
              " heartbeats): " + b.value("reason", std::string("no reason given"));
          log::Warn("agent " + agent_id + ": " + detail);
          MOAT_TRY(
              sql.Query("INSERT INTO audit_events (time, actor, action, target, detail) "
                        "VALUES ($1, $2, 'agent.dropped', $2, $3)",
                        {now, agent_id, detail}));
        }
        return Ok();
      });
  if (!applied.ok()) {
    if (applied.error().message.rfind("gap:", 0) == 0) {
      return JsonResponse(409, {{"error", applied.error().message},
                                {"acked_through", agent.value()->acked_through}});
    }
    return StoreError(applied.error());
  }
  std::vector<Alert> to_notify;
  for (auto& [seq, batch] : new_alerts) {
    center.stats().alerts_ingested += static_cast<int64_t>(alert_counts[seq]);
    for (auto& alert : batch.alerts) to_notify.push_back(std::move(alert));
  }
  if (!to_notify.empty()) AlertsStored();
  center.Notify(std::move(to_notify));  // committed: now the targets may hear of them
  return JsonResponse(200, {{"acked_through", *applied}});
}

http::Response Api::State::IngestAlerts(const http::Request& request) {
  const std::string type = request.Header("content-type");
  if (type.rfind("application/json", 0) != 0 && type.rfind("application/x-ndjson", 0) != 0) {
    return http::Response::Error(400,
                                 "expected Content-Type application/json or "
                                 "application/x-ndjson (got '" +
                                     type + "')");
  }
  auto alerts = ParseAlertList(request.body, "request body");
  if (!alerts.ok()) return http::Response::Error(400, alerts.error().message);
  std::vector<bool> created;
  auto ids =
      center.store().InsertAlerts(alerts->stored, AlertWindowsOf(center.options()), &created);
  if (!ids.ok()) return StoreError(ids.error());
  const size_t accepted = alerts->stored.size();
  center.stats().alerts_ingested += static_cast<int64_t>(accepted);
  const auto created_count = std::count(created.begin(), created.end(), true);
  if (created_count > 0) AlertsStored();
  center.Notify(CreatedAlerts(*alerts, created));  // committed: now the targets may hear of them
  return JsonResponse(200, {{"accepted", accepted}, {"alert_ids", *ids}, {"new", created_count}});
}

http::Response Api::State::AlertStatus(const http::Request& request, const TokenInfo& token) {
  auto parsed_id = PathId(request);
  if (!parsed_id.ok()) return http::Response::Error(400, parsed_id.error().message);
  const int64_t id = *parsed_id;
  const std::string id_text = std::to_string(id);
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto status = StringField(*body, "status", true);
  auto reason = StringField(*body, "reason", false);
  if (!status.ok()) return http::Response::Error(400, status.error().message);
  if (!reason.ok()) return http::Response::Error(400, reason.error().message);
  if (*status != "active" && *status != "dismissed" && *status != "resolved") {
    return http::Response::Error(400, "status: expected active, dismissed or resolved");
  }
  if (*status != "active" && reason->empty()) {
    return http::Response::Error(400, "reason: say why the alert is " + *status);
  }
  auto updated = center.store().SetAlertStatus(id, *status, token.name, *reason);
  if (!updated.ok()) return StoreError(updated.error());
  if (!*updated) return http::Response::Error(404, "no alert " + id_text);
  (void)center.store().Audit(token.name, "alert.status", id_text, *status + ": " + *reason);
  auto alert = center.store().GetAlert(id);
  if (!alert.ok() || !*alert) return http::Response::Error(404, "no alert " + id_text);
  return JsonResponse(200, AlertJson(**alert));
}

http::Response Api::State::AddRule(const http::Request& request, const TokenInfo& token) {
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto rule = DisableRuleFromJson(request.body);
  if (!rule.ok()) return http::Response::Error(400, rule.error().message);
  if (auto valid = assess::ValidateDisableRule(*rule); !valid.ok()) {
    return http::Response::Error(400, valid.error().message);
  }
  DisableRuleRecord record;
  record.name = body->value("name", "");
  if (record.name.empty()) return http::Response::Error(400, "name: required");
  record.rule_json = DisableRuleToJson(*rule);
  record.created_by = token.name;
  record.expires_at = rule->expires_at;
  auto added = center.store().AddDisableRule(record);
  if (!added.ok()) return StoreError(added.error());
  (void)center.store().Audit(token.name, "rule.add", record.name, record.rule_json);
  json j = json::parse(added->rule_json);
  j["id"] = added->id;
  j["name"] = added->name;
  j["created_by"] = added->created_by;
  return JsonResponse(201, j);
}

http::Response Api::State::CreateToken(const http::Request& request, const TokenInfo& token) {
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto name = StringField(*body, "name", true);
  auto role_name = StringField(*body, "role", true);
  if (!name.ok()) return http::Response::Error(400, name.error().message);
  if (!role_name.ok()) return http::Response::Error(400, role_name.error().message);
  auto role = ParseRole(*role_name);
  if (!role) return http::Response::Error(400, "role: expected admin, analyst, agent or reader");
  if (name->empty()) return http::Response::Error(400, "name: required");
  auto created = center.store().CreateToken(*name, *role, token.name);
  if (!created.ok()) return StoreError(created.error());
  (void)center.store().Audit(token.name, "token.create", *name, *role_name);
  return JsonResponse(201, {{"name", *name}, {"role", *role_name}, {"token", *created}});
}

// ---- dashboard views ---------------------------------------------------------------------------

namespace {

const char* WorstSeverity(const SeverityCounts& c) {
  if (c.critical) return "CRITICAL";
  if (c.high) return "HIGH";
  if (c.medium) return "MEDIUM";
  if (c.low) return "LOW";
  if (c.unknown) return "UNKNOWN";
  return nullptr;
}

json RiskJson(const ImageRisk& risk) {
  return {{"score", risk.score}, {"kev", risk.kev}, {"running", risk.running}};
}

// Passed of assessed as a percentage; null when nothing was assessed.
json PercentOf(int64_t passed, int64_t failed) {
  if (passed + failed == 0) return nullptr;
  return std::round(1000.0 * static_cast<double>(passed) / static_cast<double>(passed + failed)) /
         10.0;
}

// A host's or cluster's checks: passed, failed and the percentage passed.
json AssessedJson(const std::string& id, const std::string& name, int64_t passed, int64_t failed) {
  return {{"id", id},
          {"name", name},
          {"passed", passed},
          {"failed", failed},
          {"percent", PercentOf(passed, failed)}};
}

// Worst first; the unassessed last.
void SortByScore(json& items) {
  std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
    const double pa = a["percent"].is_null() ? 101 : a["percent"].get<double>();
    const double pb = b["percent"].is_null() ? 101 : b["percent"].get<double>();
    return pa < pb;
  });
}

constexpr int64_t kAgentHealthySeconds = 300;

}  // namespace

http::Response Api::State::Summary(const http::Request& request) {
  (void)request;
  Store& store = center.store();
  const int64_t now = std::time(nullptr);
  auto posture = center.posture().Get();
  if (!posture.ok()) return StoreError(posture.error());
  json recommendations = {{"total", (*posture)->recommendations.size()},
                          {"by_severity", {{"High", 0}, {"Medium", 0}, {"Low", 0}}}};
  for (const auto& rec : (*posture)->recommendations) {
    auto& slot = recommendations["by_severity"][rec.definition->severity];
    slot = slot.is_number() ? slot.get<int64_t>() + 1 : 1;
  }
  const json score_json = ScoreJson((*posture)->score);

  auto risks = store.ListImageRisks();
  if (!risks.ok()) return StoreError(risks.error());
  ImageQuery riskiest;
  auto top = store.QueryImages(riskiest, PageRequest{10, ""});
  if (!top.ok()) return StoreError(top.error());
  json by_worst = json::object();
  for (const char* severity : {"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}) {
    by_worst[severity] = {{"images", 0}, {"fixable", 0}};
  }
  int64_t vulnerable = 0, fixable = 0, kev_images = 0, running_vulnerable = 0;
  for (const auto& risk : *risks) {
    const char* worst = WorstSeverity(risk.counts);
    if (worst == nullptr) continue;
    ++vulnerable;
    by_worst[worst]["images"] = by_worst[worst]["images"].get<int64_t>() + 1;
    if (risk.counts.fixable > 0) {
      ++fixable;
      by_worst[worst]["fixable"] = by_worst[worst]["fixable"].get<int64_t>() + 1;
    }
    kev_images += risk.kev > 0 ? 1 : 0;
    running_vulnerable += risk.running ? 1 : 0;
  }
  json top_images = json::array();
  for (size_t i = 0; i < top->items.size(); ++i) {
    if (WorstSeverity(top->risks[i].counts) == nullptr) continue;
    json j = ImageJson(top->items[i]);
    j["risk"] = RiskJson(top->risks[i]);
    top_images.push_back(std::move(j));
  }
  json images = {{"total", top->total},
                 {"vulnerable", vulnerable},
                 {"fixable", fixable},
                 {"with_kev", kev_images},
                 {"running_vulnerable", running_vulnerable},
                 {"by_worst", by_worst},
                 {"top", top_images}};

  auto hosts = store.ListHosts();
  if (!hosts.ok()) return StoreError(hosts.error());
  json host_items = json::array();
  for (const auto& h : *hosts) {
    host_items.push_back(AssessedJson(h.id, h.name, h.cis_passed, h.cis_failed));
  }
  SortByScore(host_items);
  auto clusters = store.ListClusters();
  if (!clusters.ok()) return StoreError(clusters.error());
  json cluster_items = json::array();
  for (const auto& c : *clusters) {
    cluster_items.push_back(AssessedJson(c.id, c.name, c.checks_passed, c.checks_failed));
  }
  SortByScore(cluster_items);

  auto alerts = store.SummarizeAlerts();
  if (!alerts.ok()) return StoreError(alerts.error());
  json buckets = json::array();
  for (const auto& b : alerts->buckets) {
    buckets.push_back(
        {{"start", FormatTime(b.start)}, {"priority", b.priority}, {"count", b.count}});
  }
  json alerts_json = {{"total", alerts->total},
                      {"active", alerts->active},
                      {"bucket", alerts->bucket_seconds == 3600 ? "hour" : "day"},
                      {"buckets", buckets},
                      {"by_priority", alerts->by_priority},
                      {"by_tactic", alerts->by_tactic}};

  auto agents = store.ListAgents();
  if (!agents.ok()) return StoreError(agents.error());
  json agent_items = json::array();
  int64_t healthy = 0;
  for (const auto& a : *agents) {
    const bool ok = a.last_heartbeat > 0 && now - a.last_heartbeat <= kAgentHealthySeconds;
    healthy += ok ? 1 : 0;
    json j = AgentJson(a);
    j["healthy"] = ok;
    agent_items.push_back(std::move(j));
  }
  return JsonResponse(
      200, {{"generated_at", FormatTime(now)},
            {"score", score_json},
            {"recommendations", recommendations},
            {"images", images},
            {"hosts", host_items},
            {"clusters", cluster_items},
            {"alerts", alerts_json},
            {"agents", {{"total", agents->size()}, {"healthy", healthy}, {"items", agent_items}}}});
}

http::Response Api::State::QueryImages(const http::Request& request) {
  auto page = ParsePage(request);
  if (!page.ok()) return http::Response::Error(400, page.error().message);
  ImageQuery query;
  if (request.HasQuery("severity")) {
    query.severity = Upper(request.Query("severity"));
    if (query.severity != "CRITICAL" && query.severity != "HIGH" && query.severity != "MEDIUM" &&
        query.severity != "LOW" && query.severity != "UNKNOWN") {
      return http::Response::Error(
          400, "severity: unknown severity '" + request.Query("severity") + "'");
    }
  }
  for (auto [name, slot] : {std::pair{"fixable", &query.fixable}, std::pair{"kev", &query.kev},
                            std::pair{"running", &query.running}}) {
    auto value = ParseBoolQuery(request, name);
    if (!value.ok()) return http::Response::Error(400, value.error().message);
    *slot = *value;
  }
  if (request.HasQuery("registry_id")) {
    const std::string text = request.Query("registry_id");
    char* end = nullptr;
    query.registry_id = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || query.registry_id < 1) {
      return http::Response::Error(400, "registry_id: expected a registry id (got '" + text + "')");
    }
  }
  query.repository = request.Query("repository");
  query.search = request.Query("q");
  const std::string sort = request.Query("sort");
  if (sort == "name") {
    query.sort = ImageQuery::Sort::kName;
  } else if (sort == "digest") {
    query.sort = ImageQuery::Sort::kDigest;
  } else if (!sort.empty() && sort != "risk") {
    return http::Response::Error(400, "sort: expected risk, name or digest");
  }
  auto listing = center.store().QueryImages(query, *page);
  if (!listing.ok()) return ListingError(listing.error());
  json items = json::array();
  for (size_t i = 0; i < listing->items.size(); ++i) {
    json j = ImageJson(listing->items[i]);
    j["risk"] = RiskJson(listing->risks[i]);
    items.push_back(std::move(j));
  }
  return JsonResponse(
      200, {{"items", items}, {"next_cursor", listing->next_cursor}, {"total", listing->total}});
}

http::Response Api::State::ImageSbom(const http::Request& request) {
  const std::string digest = request.PathParam("digest");
  const std::string format = request.HasQuery("format") ? request.Query("format") : "cyclonedx";
  if (format != "cyclonedx" && format != "spdx") {
    return http::Response::Error(400, "format: expected cyclonedx or spdx (got '" + format + "')");
  }
  auto image = center.store().GetImage(digest, /*with_inventory=*/true);
  if (!image.ok()) return StoreError(image.error());
  if (!*image) return http::Response::Error(404, "no image " + digest);
  if ((*image)->inventory_json.empty()) {
    return http::Response::Error(409, "image " + digest + " has no inventory yet (scan status " +
                                          (*image)->scan_status + ")");
  }
  auto inventory = ParseStoredInventory((*image)->inventory_json, digest);
  if (!inventory.ok()) return StoreError(inventory.error());
  auto document = RenderInventory(*inventory, format == "spdx" ? "spdx-json" : "cyclonedx",
                                  ReportContext{options.tool_version, NowRfc3339Utc(), 0});
  if (!document.ok()) return http::Response::Error(500, document.error().message);
  std::string file = digest;
  std::replace(file.begin(), file.end(), ':', '-');
  auto response = http::Response::Text(
      200, std::move(*document),
      format == "spdx" ? "application/spdx+json" : "application/vnd.cyclonedx+json");
  response.headers.emplace_back(
      "Content-Disposition",
      "attachment; filename=\"" + file + (format == "spdx" ? ".spdx.json\"" : ".cdx.json\""));
  return response;
}

http::Response Api::State::ImageUsage(const http::Request& request) {
  const std::string digest = request.PathParam("digest");
  auto image = center.store().GetImage(digest);
  if (!image.ok()) return StoreError(image.error());
  if (!*image) return http::Response::Error(404, "no image " + digest);
  auto usage = center.store().ImageUsageOf(digest);
  if (!usage.ok()) return StoreError(usage.error());
  auto hosts = center.store().ListHosts();
  if (!hosts.ok()) return StoreError(hosts.error());
  std::map<std::string, std::string> host_names;
  for (const auto& h : *hosts) host_names[h.id] = h.name;
  json containers = json::array();
  for (const auto& c : usage->containers) {
    containers.push_back({{"host_id", c.host_id},
                          {"host", host_names[c.host_id]},
                          {"id", c.id},
                          {"name", c.name},
                          {"image", c.image},
                          {"state", c.state},
                          {"started_at", c.started_at}});
  }
  json workloads = json::array();
  for (const auto& w : usage->workloads) {
    workloads.push_back({{"id", w.workload_id},
                         {"cluster_id", w.cluster_id},
                         {"namespace", w.namespace_name},
                         {"kind", w.kind},
                         {"name", w.name},
                         {"container", w.container}});
  }
  return JsonResponse(200, {{"containers", containers}, {"workloads", workloads}});
}

http::Response Api::State::HostCis(const http::Request& request) {
  const std::string id = request.PathParam("id");
  auto host = center.store().GetHost(id);
  if (!host.ok()) return StoreError(host.error());
  if (!*host) return http::Response::Error(404, "no host " + id);
  FindingFilter filter;
  filter.resource_kind = "host";
  filter.resource_id = id;
  filter.source = "cis-docker";
  // Sections in benchmark order ("1", "2", ... "10"), each with its failed checks in order.
  auto section_of = [](const std::string& check) { return check.substr(0, check.find('.')); };
  auto numeric = [](const std::string& check) {
    std::vector<long> parts;
    for (size_t at = 0; at < check.size();) {
      const size_t dot = std::min(check.find('.', at), check.size());
      parts.push_back(std::strtol(check.substr(at, dot - at).c_str(), nullptr, 10));
      at = dot + 1;
    }
    return parts;
  };
  std::vector<FindingRecord> failed;
  PageRequest page{1000, ""};
  do {
    auto findings = center.store().ListFindings(filter, FindingSort::kSeverity, page);
    if (!findings.ok()) return StoreError(findings.error());
    for (auto& f : findings->items) failed.push_back(std::move(f));
    page.cursor = findings->next_cursor;
  } while (!page.cursor.empty());
  std::stable_sort(failed.begin(), failed.end(), [&](const auto& a, const auto& b) {
    return numeric(a.finding_id) < numeric(b.finding_id);
  });
  json sections = json::array();
  for (const auto& f : failed) {
    const std::string section = section_of(f.finding_id);
    if (sections.empty() || sections.back()["section"] != section) {
      sections.push_back({{"section", section}, {"title", f.category}, {"failed", json::array()}});
    }
    sections.back()["failed"].push_back({{"id", f.finding_id},
                                         {"title", f.title},
                                         {"severity", f.severity},
                                         {"evidence", f.evidence},
                                         {"remediation", f.remediation},
                                         {"first_seen", FormatTime(f.first_seen)}});
  }
  return JsonResponse(200, {{"host_id", id},
                            {"passed", (*host)->cis_passed},
                            {"failed", (*host)->cis_failed},
                            {"percent", PercentOf((*host)->cis_passed, (*host)->cis_failed)},
                            {"last_report_at", FormatTime((*host)->last_report_at)},
                            {"sections", sections}});
}

// Server-sent events: each new alert as `event: alert` with its id (a reconnecting client sends
// Last-Event-ID and gets what it missed), a comment every 15 s so that a gone client is noticed.
http::Response Api::State::AlertStream(const http::Request& request) {
  // An endless body only for a client that asked for one (EventSource sends this Accept).
  if (request.Header("accept").find("text/event-stream") == std::string::npos) {
    return http::Response::Error(406,
                                 "this is a server-sent event stream: send Accept: "
                                 "text/event-stream");
  }
  int64_t after = 0;
  const std::string last_event = request.Header("last-event-id");
  if (!last_event.empty()) {
    char* end = nullptr;
    after = std::strtoll(last_event.c_str(), &end, 10);
    if (*end != '\0' || after < 0) {
      return http::Response::Error(400, "Last-Event-ID: expected an alert id");
    }
  } else {
    auto last = center.store().LastAlertId();
    if (!last.ok()) return StoreError(last.error());
    after = *last;
  }
  http::Response response;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-store");
  response.stream = [this, after](const http::ChunkWriter& write) mutable {
    using Clock = std::chrono::steady_clock;
    if (!write("retry: 2000\n\n")) return;
    auto last_write = Clock::now();
    while (!stopping) {
      auto alerts = center.store().AlertsAfter(after, 100);
      if (!alerts.ok()) {
        log::Error("alert stream: " + alerts.error().message);
        (void)write("event: error\ndata: " + json(alerts.error().message).dump() + "\n\n");
        return;
      }
      for (const auto& alert : *alerts) {
        after = alert.id;
        if (!write("id: " + std::to_string(alert.id) +
                   "\nevent: alert\ndata: " + AlertJson(alert).dump() + "\n\n")) {
          return;
        }
        last_write = Clock::now();
      }
      if (alerts->size() == 100) continue;  // more are waiting
      if (Clock::now() - last_write >= std::chrono::seconds(15)) {
        if (!write(": keep-alive\n\n")) return;
        last_write = Clock::now();
      }
      if (!write("")) return;  // the server stops or the stream was closed
      std::unique_lock lock(stream_mutex);
      stream_wake.wait_for(lock, std::chrono::seconds(1));
    }
  };
  return response;
}

http::Response Api::State::TestRegistry(const http::Request& request, const TokenInfo& token) {
  auto id = PathId(request);
  if (!id.ok()) return http::Response::Error(400, id.error().message);
  auto registry = center.store().GetRegistry(*id);
  if (!registry.ok()) return StoreError(registry.error());
  if (!*registry) return http::Response::Error(404, "no registry " + std::to_string(*id));
  const RegistryCheck check = CheckRegistryConnection(**registry);
  (void)center.store().Audit(token.name, "registry.test", (*registry)->name, check.message);
  return JsonResponse(200,
                      {{"ok", check.ok}, {"status", check.status}, {"message", check.message}});
}

// ---- users and sessions -------------------------------------------------------------------------

namespace {

json UserJson(const UserRecord& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"role", std::string(RoleName(u.role))},
          {"created_at", FormatTime(u.created_at)},
          {"created_by", u.created_by},
          {"last_sign_in_at", FormatTime(u.last_sign_in_at)}};
}

constexpr size_t kMinPasswordLength = 12;
constexpr size_t kMaxPasswordLength = 1024;
constexpr int64_t kSessionSeconds = 12 * 3600;

}  // namespace

http::Response Api::State::CreateUser(const http::Request& request, const TokenInfo& token) {
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto name = StringField(*body, "name", true);
  auto role_name = StringField(*body, "role", true);
  auto password = StringField(*body, "password", true);
  for (auto* field : {&name, &role_name, &password}) {
    if (!field->ok()) return http::Response::Error(400, field->error().message);
  }
  if (!IsValidResourceName(*name)) {
    return http::Response::Error(400, "name: 1 to 253 letters, digits, '-', '.', '_'");
  }
  auto role = ParseRole(*role_name);
  if (!role || *role == Role::kAgent) {
    return http::Response::Error(400,
                                 "role: expected admin, analyst or reader (agents use tokens)");
  }
  if (password->size() < kMinPasswordLength || password->size() > kMaxPasswordLength) {
    return http::Response::Error(400, "password: " + std::to_string(kMinPasswordLength) + " to " +
                                          std::to_string(kMaxPasswordLength) + " characters");
  }
  auto created = center.store().CreateUser(*name, *role, HashPassword(*password), token.name);
  if (!created.ok()) {
    if (created.error().message.find("exists already") != std::string::npos) {
      return http::Response::Error(409, created.error().message);
    }
    return StoreError(created.error());
  }
  (void)center.store().Audit(token.name, "user.create", *name, *role_name);
  return JsonResponse(201, UserJson(*created));
}

// Name and password for a session token. An unknown name costs the same key derivation as a
// wrong password, and both get the same answer, so that neither timing nor text tells which
// names exist.
http::Response Api::State::SignIn(const http::Request& request) {
  // Guessing is slowed per client address (the key derivation slows it further).
  const int64_t client_key =
      -static_cast<int64_t>(std::hash<std::string>{}(request.remote_address) >> 1) - 1;
  if (!limiter.Allow(client_key)) {
    auto response = http::Response::Error(429, "too many sign-in attempts; try again later");
    response.headers.emplace_back("Retry-After", "1");
    return response;
  }
  auto body = ParseBody(request);
  if (!body.ok()) return http::Response::Error(400, body.error().message);
  auto name = StringField(*body, "name", true);
  auto password = StringField(*body, "password", true);
  if (!name.ok()) return http::Response::Error(400, name.error().message);
  if (!password.ok()) return http::Response::Error(400, password.error().message);
  if (password->size() > kMaxPasswordLength) {
    return http::Response::Error(
        400, "password: at most " + std::to_string(kMaxPasswordLength) + " characters");
  }
  auto user = center.store().GetUserByName(*name);
  if (!user.ok()) return StoreError(user.error());
  static const std::string kNoUserHash = HashPassword("no such user");
  const bool verified = VerifyPassword(*password, *user ? (*user)->password_hash : kNoUserHash);
  if (!*user || !verified) {
    (void)center.store().Audit(*name, "session.refused", *name, request.remote_address);
    return http::Response::Error(401, "unknown user or wrong password");
  }
  const int64_t expires_at = static_cast<int64_t>(std::time(nullptr)) + kSessionSeconds;
  auto token = center.store().CreateSession(**user, expires_at);
  if (!token.ok()) return StoreError(token.error());
  (void)center.store().Audit(*name, "session.create", *name, request.remote_address);
  return JsonResponse(201, {{"token", *token},
                            {"name", (*user)->name},
                            {"role", std::string(RoleName((*user)->role))},
                            {"expires_at", FormatTime(expires_at)}});
}

// ---- the API -----------------------------------------------------------------------------------

Api::Api(Center& center, ApiOptions options) : state_(std::make_unique<State>(center, options)) {
  State& s = *state_;
  auto& store = center.store();
  s.Add("GET", "/healthz", Access::kPublic,
        [](const http::Request&, const TokenInfo&) { return http::Response::Text(200, "ok\n"); });
  s.Add("GET", "/readyz", Access::kPublic, [&store](const http::Request&, const TokenInfo&) {
    auto counted = store.CountTokens();
    if (!counted.ok()) return http::Response::Text(503, "store unavailable\n");
    return http::Response::Text(200, "ready\n");
  });
  s.Add("GET", "/metrics", Access::kRead, [&s](const http::Request&, const TokenInfo&) {
    return http::Response::Text(200, s.Metrics(), "text/plain; version=0.0.4");
  });
  if (options.metrics_only) return;
  // Who the token is: the dashboard shows the name and offers triage only to roles that have it.
  s.Add("GET", "/api/v1/whoami", Access::kRead, [](const http::Request&, const TokenInfo& t) {
    return JsonResponse(200,
                        {{"id", t.id}, {"name", t.name}, {"role", std::string(RoleName(t.role))}});
  });
  s.Add("GET", "/api/v1/openapi.json", Access::kRead, [](const http::Request&, const TokenInfo&) {
    return http::Response::Json(200, OpenApiDocument());
  });
  s.Add("GET", "/api/v1/images", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.Images(r); });
  s.Add("GET", "/api/v1/images/{digest}", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.Image(r); });
  s.Add("GET", "/api/v1/images/{digest}/sbom", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.ImageSbom(r); });
  s.Add("GET", "/api/v1/images/{digest}/usage", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.ImageUsage(r); });
  s.Add("GET", "/api/v1/repositories", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          int64_t registry_id = 0;
          if (r.HasQuery("registry_id")) {
            const std::string text = r.Query("registry_id");
            char* end = nullptr;
            registry_id = std::strtoll(text.c_str(), &end, 10);
            if (text.empty() || *end != '\0' || registry_id < 1) {
              return http::Response::Error(
                  400, "registry_id: expected a registry id (got '" + text + "')");
            }
          }
          auto repositories = store.ListRepositories(registry_id);
          if (!repositories.ok()) return StoreError(repositories.error());
          json items = json::array();
          for (const auto& repo : *repositories) {
            items.push_back({{"registry_id", repo.registry_id},
                             {"registry", repo.registry},
                             {"repository", repo.repository},
                             {"images", repo.images},
                             {"tags", repo.tags},
                             {"last_pushed_at", FormatTime(repo.last_pushed_at)},
                             {"vulnerabilities", SeverityCountsJson(repo.counts)}});
          }
          return JsonResponse(200, {{"items", items}});
        });
  s.Add("GET", "/api/v1/summary", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.Summary(r); });
  s.Add("GET", "/api/v1/findings", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.Findings(r); });
  s.Add("GET", "/api/v1/recommendations", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.Recommendations(r, ""); });
  s.Add("GET", "/api/v1/recommendations/{id}", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) {
          return s.Recommendations(r, r.PathParam("id"));
        });
  s.Add("GET", "/api/v1/score", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.Score(r); });
  s.Add("GET", "/api/v1/trend", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.Trend(r); });
  s.Add("GET", "/api/v1/hosts", Access::kRead,
        ListAll<HostRecord>([&store] { return store.ListHosts(); }, &HostJson));
  s.Add("GET", "/api/v1/hosts/{id}", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto host = store.GetHost(r.PathParam("id"));
          if (!host.ok()) return StoreError(host.error());
          if (!*host) return http::Response::Error(404, "no host " + r.PathParam("id"));
          json j = HostJson(**host);
          json containers = json::array();
          for (const auto& c : (*host)->containers) {
            containers.push_back({{"id", c.id},
                                  {"name", c.name},
                                  {"image", c.image},
                                  {"image_id", c.image_id},
                                  {"image_digest", c.image_digest},
                                  {"state", c.state},
                                  {"started_at", c.started_at}});
          }
          j["containers"] = containers;
          return JsonResponse(200, j);
        });
  s.Add("GET", "/api/v1/hosts/{id}/cis", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.HostCis(r); });
  s.Add("GET", "/api/v1/clusters", Access::kRead,
        ListAll<ClusterRecord>([&store] { return store.ListClusters(); }, &ClusterJson));
  s.Add("GET", "/api/v1/clusters/{id}", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto cluster = store.GetCluster(r.PathParam("id"));
          if (!cluster.ok()) return StoreError(cluster.error());
          if (!*cluster) return http::Response::Error(404, "no cluster " + r.PathParam("id"));
          json j = ClusterJson(**cluster);
          json namespaces = json::array();
          for (const auto& n : (*cluster)->namespaces) {
            namespaces.push_back({{"name", n.name},
                                  {"workloads", n.workloads},
                                  {"findings", SeverityCountsJson(n.findings)}});
          }
          j["namespaces"] = namespaces;
          j["workloads_by_kind"] = (*cluster)->workloads_by_kind;
          json audit = (*cluster)->admission_by_action;
          audit["audited_at"] = (*cluster)->admission_audited_at == 0
                                    ? json(nullptr)
                                    : json(FormatTime((*cluster)->admission_audited_at));
          j["admission_audit"] = audit;
          return JsonResponse(200, j);
        });
  s.Add("GET", "/api/v1/clusters/{id}/admission-audit", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto page = ParsePage(r);
          if (!page.ok()) return http::Response::Error(400, page.error().message);
          const std::string action = r.Query("action");
          if (!action.empty() && action != "deny" && action != "warn" && action != "audit") {
            return http::Response::Error(
                400, "action: expected deny, warn or audit (got '" + action.substr(0, 64) + "')");
          }
          auto cluster = store.GetCluster(r.PathParam("id"));
          if (!cluster.ok()) return StoreError(cluster.error());
          if (!*cluster) return http::Response::Error(404, "no cluster " + r.PathParam("id"));
          AdmissionAuditFilter filter{r.PathParam("id"), action, r.Query("namespace")};
          auto results = store.ListAdmissionAudit(filter, *page);
          if (!results.ok()) return ListingError(results.error());
          json items = json::array();
          for (const AdmissionAuditRecord& a : results->items) {
            items.push_back({{"namespace", a.namespace_name},
                             {"kind", a.kind},
                             {"name", a.name},
                             {"policy", a.policy},
                             {"action", a.action},
                             {"path", a.path},
                             {"message", a.message}});
          }
          return JsonResponse(200, {{"items", items}, {"next_cursor", results->next_cursor}});
        });
  s.Add("GET", "/api/v1/clusters/{id}/workloads", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto page = ParsePage(r);
          if (!page.ok()) return http::Response::Error(400, page.error().message);
          auto cluster = store.GetCluster(r.PathParam("id"));
          if (!cluster.ok()) return StoreError(cluster.error());
          if (!*cluster) return http::Response::Error(404, "no cluster " + r.PathParam("id"));
          WorkloadFilter filter{r.PathParam("id"), r.Query("namespace"), r.Query("kind")};
          auto workloads = store.ListWorkloads(filter, *page);
          if (!workloads.ok()) return ListingError(workloads.error());
          json items = json::array();
          for (const auto& w : workloads->items) items.push_back(WorkloadJson(w));
          return JsonResponse(200, {{"items", items}, {"next_cursor", workloads->next_cursor}});
        });
  s.Add("GET", "/api/v1/clusters/{id}/nodes", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto cluster = store.GetCluster(r.PathParam("id"));
          if (!cluster.ok()) return StoreError(cluster.error());
          if (!*cluster) return http::Response::Error(404, "no cluster " + r.PathParam("id"));
          auto nodes = store.ListClusterNodes(r.PathParam("id"), r.Query("q"));
          if (!nodes.ok()) return StoreError(nodes.error());
          json items = json::array();
          for (const auto& n : *nodes) items.push_back(NodeJson(n));
          return JsonResponse(200, {{"items", items}});
        });
  s.Add("GET", "/api/v1/clusters/{id}/nodes/{node}", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto node = store.GetClusterNode(r.PathParam("id"), r.PathParam("node"));
          if (!node.ok()) return StoreError(node.error());
          if (!*node) {
            return http::Response::Error(
                404, "no node " + r.PathParam("node") + " in cluster " + r.PathParam("id"));
          }
          json j = NodeJson(**node);
          json pods = json::array();
          for (const auto& p : (*node)->pods) {
            pods.push_back({{"namespace", p.namespace_name},
                            {"name", p.name},
                            {"workload_id", p.workload_id},
                            {"phase", p.phase},
                            {"containers", p.containers}});
          }
          j["pod_items"] = pods;
          return JsonResponse(200, j);
        });
  s.Add("GET", "/api/v1/agents", Access::kRead,
        ListAll<AgentRecord>([&store] { return store.ListAgents(); }, &AgentJson));
  s.Add("POST", "/api/v1/agents/register", Access::kIngest,
        [&s](const http::Request& r, const TokenInfo&) { return s.RegisterAgent(r); });
  s.Add("POST", "/api/v1/agents/{agent}/messages", Access::kIngest,
        [&s](const http::Request& r, const TokenInfo&) { return s.AgentMessages(r); });
  s.Add("GET", "/api/v1/alerts", Access::kRead, [&store](const http::Request& r, const TokenInfo&) {
    auto page = ParsePage(r);
    if (!page.ok()) return http::Response::Error(400, page.error().message);
    AlertFilter filter;
    filter.statuses = r.QueryList("status");
    filter.priorities = r.QueryList("priority");
    filter.rule = r.Query("rule");
    filter.container_id = r.Query("container_id");
    filter.namespace_name = r.Query("namespace");
    auto alerts = store.ListAlerts(filter, *page);
    if (!alerts.ok()) return ListingError(alerts.error());
    json items = json::array();
    for (const auto& a : alerts->items) items.push_back(AlertJson(a));
    return JsonResponse(200, {{"items", items}, {"next_cursor", alerts->next_cursor}});
  });
  s.Add("POST", "/api/v1/alerts", Access::kIngest,
        [&s](const http::Request& r, const TokenInfo&) { return s.IngestAlerts(r); });
  s.Add("GET", "/api/v1/alerts/stream", Access::kRead,
        [&s](const http::Request& r, const TokenInfo&) { return s.AlertStream(r); });
  s.Add("GET", "/api/v1/alerts/{id}/similar", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto id = PathId(r);
          if (!id.ok()) return http::Response::Error(400, id.error().message);
          auto alert = store.GetAlert(*id);
          if (!alert.ok()) return StoreError(alert.error());
          if (!*alert) return http::Response::Error(404, "no alert " + std::to_string(*id));
          auto similar = store.SimilarAlerts(*id, 50);
          if (!similar.ok()) return StoreError(similar.error());
          json items = json::array();
          for (const auto& a : *similar) items.push_back(AlertJson(a));
          return JsonResponse(200, {{"items", items}});
        });
  s.Add("GET", "/api/v1/alerts/{id}", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto id = PathId(r);
          if (!id.ok()) return http::Response::Error(400, id.error().message);
          auto alert = store.GetAlert(*id);
          if (!alert.ok()) return StoreError(alert.error());
          if (!*alert) return http::Response::Error(404, "no alert " + std::to_string(*id));
          return JsonResponse(200, AlertJson(**alert));
        });
  s.Add("POST", "/api/v1/alerts/{id}/status", Access::kTriage,
        [&s](const http::Request& r, const TokenInfo& t) { return s.AlertStatus(r, t); });
  s.Add("GET", "/api/v1/incidents", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto page = ParsePage(r);
          if (!page.ok()) return http::Response::Error(400, page.error().message);
          IncidentFilter filter;
          filter.status = r.Query("status");
          if (!filter.status.empty() && filter.status != "active" && filter.status != "closed") {
            return http::Response::Error(
                400, "status '" + filter.status + "': expected active or closed");
          }
          auto incidents = store.ListIncidents(filter, *page);
          if (!incidents.ok()) return ListingError(incidents.error());
          json items = json::array();
          for (const auto& i : incidents->items) items.push_back(IncidentJson(i));
          return JsonResponse(200, {{"items", items}, {"next_cursor", incidents->next_cursor}});
        });
  s.Add("GET", "/api/v1/incidents/{id}", Access::kRead,
        [&store](const http::Request& r, const TokenInfo&) {
          auto id = PathId(r);
          if (!id.ok()) return http::Response::Error(400, id.error().message);
          auto incident = store.GetIncident(*id);
          if (!incident.ok()) return StoreError(incident.error());
          if (!*incident) return http::Response::Error(404, "no incident " + std::to_string(*id));
          // The alerts of one container's incident, oldest first: the attack as it unfolded.
          constexpr size_t kMaxAlerts = 1000;
          auto alerts = store.IncidentAlerts(*id, kMaxAlerts);
          if (!alerts.ok()) return StoreError(alerts.error());
          json j = IncidentJson(**incident);
          json items = json::array();
          for (const auto& a : *alerts) items.push_back(AlertJson(a));
          j["alert_items"] = items;
          j["alert_items_truncated"] = static_cast<int64_t>(alerts->size()) < (*incident)->alerts;
          return JsonResponse(200, j);
        });
  s.Add("GET", "/api/v1/registries", Access::kRead,
        ListAll<RegistryRecord>([&store] { return store.ListRegistries(); }, &RegistryJson));
  s.Add("POST", "/api/v1/registries", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) { return s.AddRegistry(r, t); });
  s.Add("POST", "/api/v1/registries/{id}/test", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) { return s.TestRegistry(r, t); });
  s.Add("DELETE", "/api/v1/registries/{id}", Access::kAdmin,
        DeleteById(store, "registry", "registry.delete",
                   [&store](int64_t id) { return store.DeleteRegistry(id); }));
  s.Add("POST", "/api/v1/registry-events", Access::kIngest,
        [&s](const http::Request& r, const TokenInfo& t) { return s.RegistryEvents(r, t); });
  s.Add("GET", "/api/v1/rules", Access::kRead, [&store](const http::Request&, const TokenInfo&) {
    auto rules = store.ListDisableRules();
    if (!rules.ok()) return StoreError(rules.error());
    json items = json::array();
    for (const auto& rule : *rules) {
      json j = json::parse(rule.rule_json, nullptr, false);
      if (j.is_discarded()) j = json::object();
      j["id"] = rule.id;
      j["name"] = rule.name;
      j["created_by"] = rule.created_by;
      j["created_at"] = FormatTime(rule.created_at);
      items.push_back(j);
    }
    return JsonResponse(200, {{"items", items}});
  });
  s.Add("POST", "/api/v1/rules", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) { return s.AddRule(r, t); });
  s.Add("DELETE", "/api/v1/rules/{id}", Access::kAdmin,
        DeleteById(store, "rule", "rule.delete",
                   [&store](int64_t id) { return store.DeleteDisableRule(id); }));
  s.Add("GET", "/api/v1/notifications", Access::kAdmin,
        [&s](const http::Request&, const TokenInfo&) { return s.NotificationTargets(); });
  s.Add("POST", "/api/v1/notifications", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) {
          return s.SaveNotificationTarget(r, t, false);
        });
  s.Add("PUT", "/api/v1/notifications/{id}", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) {
          return s.SaveNotificationTarget(r, t, true);
        });
  s.Add("DELETE", "/api/v1/notifications/{id}", Access::kAdmin,
        DeleteById(store, "notification target", "notification.delete", [&s, &store](int64_t id) {
          auto deleted = store.DeleteNotificationTarget(id);
          if (deleted.ok() && *deleted) {
            if (auto reloaded = s.center.ReloadNotificationTargets(); !reloaded.ok()) {
              log::Warn("notification targets: " + reloaded.error().message);
            }
          }
          return deleted;
        }));
  s.Add(
      "POST", "/api/v1/notifications/{id}/test", Access::kAdmin,
      [&s](const http::Request& r, const TokenInfo& t) { return s.TestNotificationTarget(r, t); });
  s.Add("GET", "/api/v1/admission/policies", Access::kPolicies,
        [&s](const http::Request& r, const TokenInfo&) { return s.AdmissionPolicies(r); });
  s.Add("PUT", "/api/v1/admission/policies", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) { return s.SetAdmissionPolicies(r, t); });
  s.Add("PUT", "/api/v1/admission/policies/{policy}", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) { return s.SetAdmissionPolicy(r, t); });
  s.Add("DELETE", "/api/v1/admission/policies/{policy}", Access::kAdmin,
        [&store](const http::Request& r, const TokenInfo& t) {
          const std::string policy = r.PathParam("policy");
          auto deleted = store.DeleteAdmissionPolicyMode(policy);
          if (!deleted.ok()) return StoreError(deleted.error());
          if (!*deleted) return http::Response::Error(404, "no mode stored for " + policy);
          (void)store.Audit(t.name, "admission.policy.delete", policy, "");
          http::Response response;
          response.status = 204;
          return response;
        });
  s.Add("GET", "/api/v1/admission/checks", Access::kRead,
        [](const http::Request&, const TokenInfo&) {
          json items = json::array();
          for (const char* policy : kImagePolicies) {
            items.push_back({{"id", policy},
                             {"group", "image"},
                             {"title", policy == std::string_view("image-signature")
                                           ? "Images carry a valid cosign signature"
                                           : "Images have no vulnerability at or above the "
                                             "configured severity"},
                             {"severity", "HIGH"},
                             {"optional", false},
                             {"bundle", false}});
          }
          for (const auto& check : k8s::AllChecks()) {
            items.push_back({{"id", check.id},
                             {"group", check.group},
                             {"title", check.title},
                             {"severity", std::string(k8s::SeverityName(check.severity))},
                             {"optional", check.optional},
                             {"bundle", check.bundle}});
          }
          return JsonResponse(200, {{"items", items}});
        });
  s.Add("GET", "/api/v1/tokens", Access::kAdmin,
        ListAll<TokenInfo>([&store] { return store.ListTokens(); }, &TokenJson));
  s.Add("POST", "/api/v1/tokens", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) { return s.CreateToken(r, t); });
  s.Add("DELETE", "/api/v1/tokens/{id}", Access::kAdmin,
        DeleteById(store, "token", "token.revoke",
                   [&store](int64_t id) { return store.RevokeToken(id); }));
  s.Add("GET", "/api/v1/users", Access::kAdmin,
        ListAll<UserRecord>([&store] { return store.ListUsers(); }, &UserJson));
  s.Add("POST", "/api/v1/users", Access::kAdmin,
        [&s](const http::Request& r, const TokenInfo& t) { return s.CreateUser(r, t); });
  s.Add("DELETE", "/api/v1/users/{id}", Access::kAdmin,
        DeleteById(store, "user", "user.delete",
                   [&store](int64_t id) { return store.DeleteUser(id); }));
  s.Add("POST", "/api/v1/sessions", Access::kPublic,
        [&s](const http::Request& r, const TokenInfo&) { return s.SignIn(r); });
  s.Add("GET", "/api/v1/sessions", Access::kAdmin,
        [&store](const http::Request&, const TokenInfo&) {
          auto sessions = store.ListSessions(std::time(nullptr));
          if (!sessions.ok()) return StoreError(sessions.error());
          json items = json::array();
          for (const auto& t : *sessions) {
            json j = TokenJson(t);
            j["user_id"] = t.user_id;
            j["expires_at"] = FormatTime(t.expires_at);
            items.push_back(std::move(j));
          }
          return JsonResponse(200, {{"items", items}});
        });
  // Sign-out: the caller's own session ends on the server too, so a copy of its token is
  // worthless from then on. An API token is not ended this way (an admin revokes it).
  s.Add("DELETE", "/api/v1/sessions/current", Access::kRead,
        [&store](const http::Request&, const TokenInfo& t) {
          if (t.user_id == 0) {
            return http::Response::Error(
                409,
                "this is an API token, not a sign-in session: an admin revokes it (DELETE "
                "/api/v1/tokens/{id})");
          }
          auto revoked = store.RevokeSession(t.id);
          if (!revoked.ok()) return StoreError(revoked.error());
          (void)store.Audit(t.name, "session.end", std::to_string(t.id), "");
          return http::Response::Json(200, "{\"deleted\":true}");
        });
  s.Add("DELETE", "/api/v1/sessions/{id}", Access::kAdmin,
        DeleteById(store, "session", "session.revoke",
                   [&store](int64_t id) { return store.RevokeSession(id); }));
  s.Add("GET", "/api/v1/audit", Access::kAdmin, [&store](const http::Request&, const TokenInfo&) {
    auto events = store.ListAudit(1000);
    if (!events.ok()) return StoreError(events.error());
    json items = json::array();
    for (const auto& e : *events) {
      items.push_back({{"id", e.id},
                       {"time", FormatTime(e.time)},
                       {"actor", e.actor},
                       {"action", e.action},
                       {"target", e.target},
                       {"detail", e.detail}});
    }
    return JsonResponse(200, {{"items", items}});
  });
}

Api::~Api() {
  state_->stopping = true;
  state_->stream_wake.notify_all();
}

http::Response Api::Handle(http::Request& request) {
  http::Response response = state_->router.Route(request);
  // Every path the API does not know, outside /api/, is the dashboard's (its page and assets).
  if (response.status == 404 && !state_->options.metrics_only) {
    if (auto page = ServeWebAsset(request, EmbeddedWebFiles())) return std::move(*page);
  }
  return response;
}

const std::vector<ApiRoute>& Api::routes() const { return state_->routes; }

}  // namespace moat::server
