#pragma once
// `moat audit-log watch` and `serve` as started services (docs/audit-log.md): each Start*
// builds the outputs, the baseline, the detector and its input in order, and Stop() takes them
// down in reverse, saving the follower's position and the baseline last.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "auditlog/baseline.h"
#include "auditlog/detector.h"
#include "auditlog/follower.h"
#include "auditlog/webhook_backend.h"
#include "core/result.h"
#include "http/server.h"
#include "rules/output.h"

namespace moat::auditlog {

struct ServiceOptions {
  DetectorOptions detector;
  rules::OutputOptions outputs;
  /// With a path, the learned baseline (docs/audit-log.md "Anomaly alerts").
  std::optional<BaselineOptions> baseline;
  std::chrono::milliseconds baseline_save_interval{30000};
};

struct WatchOptions {
  FollowerOptions follow;
  std::chrono::milliseconds poll_interval{250};
  /// "HOST:PORT" for GET /metrics and /healthz; "" for none.
  std::string metrics_listen;
};

struct ServeOptions {
  /// listen, TLS files (and the client CA), limits; /k8s-audit, /metrics and /healthz are
  /// served on it.
  http::ServerOptions server;
  WebhookBackendOptions backend;
};

class AuditLogService {
 public:
  /// Starts following the log in a thread of its own.
  static Result<std::unique_ptr<AuditLogService>> StartWatch(const ServiceOptions& options,
                                                             const WatchOptions& watch);
  /// Starts the webhook backend's HTTPS server.
  static Result<std::unique_ptr<AuditLogService>> StartServe(const ServiceOptions& options,
                                                             const ServeOptions& serve);
  ~AuditLogService();

  /// Stops the input, handles what was received, delivers (up to 10 s) and saves the position
  /// and the baseline. Idempotent.
  void Stop();

  /// The URL of the HTTP listener (serve, or watch's metrics); "" without one.
  std::string url() const { return server_ ? server_->url() : ""; }
  /// Prometheus text of every part.
  std::string Metrics() const;
  const rules::LoadReport& load_report() const { return report_; }
  const Detector& detector() const { return *detector_; }

 private:
  AuditLogService() = default;
  Result<void> StartCommon(const ServiceOptions& options);
  Result<void> StartHttp(http::ServerOptions options, bool with_webhook);
  void FollowLoop(std::chrono::milliseconds poll_interval);
  void SaveState();

  std::unique_ptr<rules::AlertOutputs> outputs_;
  std::unique_ptr<Baseline> baseline_;
  std::unique_ptr<Detector> detector_;
  rules::LoadReport report_;
  std::unique_ptr<LogFollower> follower_;
  // The follower's counters as the follow thread last left them, for /metrics.
  mutable std::mutex follow_mutex_;
  FollowerStats follow_stats_;
  std::unique_ptr<AuditWebhookBackend> backend_;
  std::unique_ptr<http::Server> server_;
  std::chrono::milliseconds save_interval_{30000};
  std::chrono::steady_clock::time_point last_save_;
  std::atomic<bool> stopping_{false};
  std::thread follow_thread_;
  std::thread save_thread_;
  bool stopped_ = false;
};

}  // namespace moat::auditlog
