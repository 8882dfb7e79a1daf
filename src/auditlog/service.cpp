#include "auditlog/service.h"

#include <mutex>
#include <tuple>

#include "core/log.h"
#include "http/metrics.h"

namespace moat::auditlog {
namespace {

void RenderFollowStats(const FollowerStats& s, std::string& out) {
  const std::tuple<const char*, const char*, uint64_t> counters[] = {
      {"moat_auditlog_follow_lines_total", "Lines read from the log.", s.lines},
      {"moat_auditlog_follow_bytes_total", "Bytes of those lines.", s.bytes},
      {"moat_auditlog_follow_rotations_total", "Rotations by rename followed.", s.rotations},
      {"moat_auditlog_follow_truncations_total", "Truncations (copytruncate) followed.",
       s.truncations},
      {"moat_auditlog_follow_recovered_lines_total",
       "Lines read from a rotated file or copy found beside the log.", s.recovered_lines},
      {"moat_auditlog_follow_oversized_lines_total", "Lines skipped for their length.",
       s.oversized_lines},
      {"moat_auditlog_follow_lost_rotations_total",
       "Rotated files gone before they were read to their end.", s.lost_rotations}};
  for (const auto& [name, help, value] : counters) {
    http::RenderSample(name, "counter", help, value, out);
  }
}

}  // namespace

AuditLogService::~AuditLogService() { Stop(); }

Result<void> AuditLogService::StartCommon(const ServiceOptions& options) {
  MOAT_ASSIGN_OR_RETURN(outputs_, rules::AlertOutputs::Open(options.outputs));
  if (options.baseline) {
    MOAT_ASSIGN_OR_RETURN(baseline_, Baseline::Open(*options.baseline));
  }
  MOAT_ASSIGN_OR_RETURN(
      detector_, Detector::Create(options.detector, outputs_.get(), baseline_.get(), &report_));
  for (const rules::DisabledRule& rule : report_.disabled) {
    log::Warn("audit-log: rule \"" + rule.name + "\" (" + rule.location.file + ":" +
              std::to_string(rule.location.line) + ") disabled: " + rule.reason);
  }
  for (const std::string& warning : report_.warnings) log::Warn("audit-log: " + warning);
  save_interval_ = options.baseline_save_interval;
  last_save_ = std::chrono::steady_clock::now();
  return Ok();
}

Result<void> AuditLogService::StartHttp(http::ServerOptions options, bool with_webhook) {
  auto handler = [this, with_webhook](http::Request& request) {
    if (request.path == "/metrics" && request.method == "GET") {
      return http::Response::Text(200, Metrics(), "text/plain; version=0.0.4");
    }
    if (request.path == "/healthz" && request.method == "GET") {
      return http::Response::Text(200, "ok\n");
    }
    if (with_webhook && request.path == "/k8s-audit") return backend_->Handle(request);
    return http::Response::Error(404, "not found: POST /k8s-audit, GET /metrics, GET /healthz");
  };
  MOAT_ASSIGN_OR_RETURN(server_, http::Server::Start(options, handler));
  return Ok();
}

Result<std::unique_ptr<AuditLogService>> AuditLogService::StartWatch(const ServiceOptions& options,
                                                                     const WatchOptions& watch) {
  std::unique_ptr<AuditLogService> service(new AuditLogService());
  MOAT_TRY(service->StartCommon(options));
  std::vector<std::string> notes;
  MOAT_ASSIGN_OR_RETURN(service->follower_, LogFollower::Open(watch.follow, &notes));
  for (const std::string& note : notes) log::Warn("audit-log watch: " + note);
  if (!watch.metrics_listen.empty()) {
    http::ServerOptions server_options;
    server_options.listen = watch.metrics_listen;
    MOAT_TRY(service->StartHttp(server_options, /*with_webhook=*/false));
  }
  service->follow_thread_ = std::thread(
      [raw = service.get(), interval = watch.poll_interval] { raw->FollowLoop(interval); });
  return service;
}

Result<std::unique_ptr<AuditLogService>> AuditLogService::StartServe(const ServiceOptions& options,
                                                                     const ServeOptions& serve) {
  std::unique_ptr<AuditLogService> service(new AuditLogService());
  MOAT_TRY(service->StartCommon(options));
  Detector* detector = service->detector_.get();
  service->backend_ = AuditWebhookBackend::Start(
      serve.backend, [detector](std::string body, const std::string& name) {
        detector->ProcessBatch(std::move(body), name);
      });
  MOAT_TRY(service->StartHttp(serve.server, /*with_webhook=*/true));
  if (service->baseline_) {
    service->save_thread_ = std::thread([raw = service.get()] {
      while (!raw->stopping_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (std::chrono::steady_clock::now() - raw->last_save_ >= raw->save_interval_) {
          raw->SaveState();
        }
      }
    });
  }
  return service;
}

void AuditLogService::SaveState() {
  last_save_ = std::chrono::steady_clock::now();
  if (baseline_) {
    auto saved = baseline_->Save();
    if (!saved.ok()) log::Error("audit-log: baseline: " + saved.error().message);
  }
}

void AuditLogService::FollowLoop(std::chrono::milliseconds poll_interval) {
  while (!stopping_) {
    auto polled = follower_->Poll(
        [this](const FollowedLine& line) { detector_->ProcessLine(line.text, line.where); });
    if (!polled.ok()) log::Error("audit-log watch: " + polled.error().message);
    {
      std::lock_guard lock(follow_mutex_);
      follow_stats_ = follower_->stats();
    }
    for (const std::string& note : follower_->notes()) log::Warn("audit-log watch: " + note);
    // The position moves only after the lines' alerts were handed to the outputs.
    auto saved = follower_->SavePosition();
    if (!saved.ok()) log::Error("audit-log watch: position: " + saved.error().message);
    if (std::chrono::steady_clock::now() - last_save_ >= save_interval_) SaveState();
    if (polled.ok() && *polled > 0) continue;  // more may be waiting
    std::this_thread::sleep_for(poll_interval);
  }
}

void AuditLogService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  if (follow_thread_.joinable()) follow_thread_.join();
  if (server_) server_->Stop();  // no new batches; those queued are handled below
  if (backend_) backend_->Stop();
  if (save_thread_.joinable()) save_thread_.join();
  if (outputs_) {
    if (!outputs_->Flush(std::chrono::seconds(10))) {
      log::Warn("audit-log: alerts not yet delivered stay in the spool for the next run");
    }
    outputs_->Close();
  }
  SaveState();
}

std::string AuditLogService::Metrics() const {
  std::string out;
  if (detector_) detector_->RenderMetrics(out);
  if (outputs_) outputs_->RenderMetrics(out);
  if (backend_) backend_->RenderMetrics(out);
  if (follower_) {
    std::lock_guard lock(follow_mutex_);
    RenderFollowStats(follow_stats_, out);
  }
  if (baseline_) {
    const BaselineStats s = baseline_->stats();
    http::RenderSample("moat_auditlog_baseline_learned_total", "counter",
                       "Combinations learned while learning.", s.learned, out);
    http::RenderSample("moat_auditlog_baseline_anomalies_total", "counter",
                       "Combinations never seen, after learning.", s.anomalies, out);
    http::RenderSample("moat_auditlog_baseline_allowed_total", "counter",
                       "Anomalies silenced by --baseline-allow.", s.allowed, out);
    http::RenderSample("moat_auditlog_baseline_full_total", "counter",
                       "Combinations neither learned nor judged because of a bound.", s.full, out);
    http::RenderSample("moat_auditlog_baseline_identities", "gauge", "Identities in the baseline.",
                       s.identities, out);
  }
  return out;
}

}  // namespace moat::auditlog
