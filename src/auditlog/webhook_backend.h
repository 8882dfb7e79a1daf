#pragma once
// The API server's audit webhook backend (`moat audit-log serve`, docs/audit-log.md "serve"):
// the API server POSTs batches of audit events (an EventList, audit.k8s.io/v1; v1beta1 accepted)
// and waits for the answer before it sends the next batch of that buffer, so a batch is
// answered as soon as it is queued; decoding and the rules run on worker threads.
//
// The queue is bounded in batches and in bytes. When it is full the request gets 429 with
// Retry-After (the API server's batch buffer then holds the events and retries with backoff);
// while stopping, 503. Every refusal is counted (/metrics).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/metrics.h"
#include "http/server.h"

namespace moat::auditlog {

struct WebhookBackendOptions {
  size_t max_queued_batches = 1024;
  size_t max_queued_bytes = 512ull << 20;
  /// Worker threads that decode batches and run the rules.
  size_t workers = 1;
};

struct WebhookBackendStats {
  uint64_t accepted = 0;  // batches queued (200)
  uint64_t accepted_bytes = 0;
  uint64_t rejected_full = 0;      // 429: the queue was full
  uint64_t rejected_stopping = 0;  // 503
  uint64_t rejected_bad = 0;       // 4xx: not a POST of JSON
  uint64_t processed = 0;          // batches handed to the handler
  size_t queued = 0;
  size_t queued_bytes = 0;
};

class AuditWebhookBackend {
 public:
  /// Receives one batch body on a worker thread; `input_name` names it in errors ("webhook
  /// batch 17 from 10.0.0.1").
  using BatchHandler = std::function<void(std::string body, const std::string& input_name)>;

  static std::unique_ptr<AuditWebhookBackend> Start(WebhookBackendOptions options,
                                                    BatchHandler handler);
  ~AuditWebhookBackend();
  AuditWebhookBackend(const AuditWebhookBackend&) = delete;
  AuditWebhookBackend& operator=(const AuditWebhookBackend&) = delete;

  /// The POST handler (any path the route gives it). Thread-safe; never waits for the rules.
  http::Response Handle(http::Request& request);

  /// Waits until every queued batch has been handled (tests, shutdown).
  void Drain();
  /// Refuses new batches (503), handles the queued ones, joins the workers. Idempotent.
  void Stop();

  WebhookBackendStats stats() const;
  /// Prometheus text: moat_auditlog_webhook_* counters, queue gauges, the time to answer.
  void RenderMetrics(std::string& out) const;

 private:
  struct Batch {
    std::string body;
    std::string input_name;
  };
  AuditWebhookBackend(WebhookBackendOptions options, BatchHandler handler);
  void Work();

  const WebhookBackendOptions options_;
  const BatchHandler handler_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Batch> queue_;
  size_t busy_ = 0;
  bool stopping_ = false;
  WebhookBackendStats stats_;
  http::Histogram answer_seconds_;
  std::vector<std::thread> workers_;
};

}  // namespace moat::auditlog
