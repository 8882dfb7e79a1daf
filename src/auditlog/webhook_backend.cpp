#include "auditlog/webhook_backend.h"

#include <chrono>

#include "core/text.h"

namespace moat::auditlog {
namespace {

// Answers take microseconds (the batch is only queued); the buckets show when they do not.
const std::vector<double> kAnswerBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                            0.005,  0.01,    0.025,  0.1};

}  // namespace

AuditWebhookBackend::AuditWebhookBackend(WebhookBackendOptions options, BatchHandler handler)
    : options_(options), handler_(std::move(handler)), answer_seconds_(kAnswerBuckets) {}

std::unique_ptr<AuditWebhookBackend> AuditWebhookBackend::Start(WebhookBackendOptions options,
                                                                BatchHandler handler) {
  if (options.workers == 0) options.workers = 1;
  std::unique_ptr<AuditWebhookBackend> backend(
      new AuditWebhookBackend(options, std::move(handler)));
  for (size_t i = 0; i < options.workers; ++i) {
    backend->workers_.emplace_back([raw = backend.get()] { raw->Work(); });
  }
  return backend;
}

AuditWebhookBackend::~AuditWebhookBackend() { Stop(); }

http::Response AuditWebhookBackend::Handle(http::Request& request) {
  const auto started = std::chrono::steady_clock::now();
  auto answer = [&](http::Response response) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::lock_guard lock(mutex_);
    answer_seconds_.Observe(seconds);
    return response;
  };
  if (request.method != "POST") {
    std::lock_guard lock(mutex_);
    ++stats_.rejected_bad;
    http::Response response = http::Response::Error(405, "the audit webhook takes POST");
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  // The API server sends application/json; anything else is not its EventList.
  const std::string content_type = AsciiLower(request.Header("content-type"));
  if (!content_type.empty() && content_type.rfind("application/json", 0) != 0) {
    std::lock_guard lock(mutex_);
    ++stats_.rejected_bad;
    return http::Response::Error(415, "the audit webhook takes application/json (an EventList)");
  }
  if (TrimSpace(request.body).empty()) {
    std::lock_guard lock(mutex_);
    ++stats_.rejected_bad;
    return http::Response::Error(400, "empty body: expected an EventList");
  }
  {
    std::unique_lock lock(mutex_);
    if (stopping_) {
      ++stats_.rejected_stopping;
      lock.unlock();
      http::Response response = http::Response::Error(503, "shutting down");
      response.headers.emplace_back("Retry-After", "5");
      return answer(std::move(response));
    }
    if (queue_.size() >= options_.max_queued_batches ||
        stats_.queued_bytes + request.body.size() > options_.max_queued_bytes) {
      ++stats_.rejected_full;
      lock.unlock();
      http::Response response =
          http::Response::Error(429, "audit event queue full; retry after the backoff");
      response.headers.emplace_back("Retry-After", "1");
      return answer(std::move(response));
    }
    ++stats_.accepted;
    stats_.accepted_bytes += request.body.size();
    stats_.queued_bytes += request.body.size();
    std::string name =
        "webhook batch " + std::to_string(stats_.accepted) + " from " + request.remote_address;
    queue_.push_back({std::move(request.body), std::move(name)});
    stats_.queued = queue_.size();
  }
  wake_.notify_one();
  return answer(http::Response::Json(200, "{}"));
}

void AuditWebhookBackend::Work() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      batch = std::move(queue_.front());
      queue_.pop_front();
      stats_.queued = queue_.size();
      stats_.queued_bytes -= batch.body.size();
      ++busy_;
    }
    handler_(std::move(batch.body), batch.input_name);
    {
      std::lock_guard lock(mutex_);
      --busy_;
      ++stats_.processed;
      if (queue_.empty() && busy_ == 0) idle_.notify_all();
    }
  }
}

void AuditWebhookBackend::Drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && busy_ == 0; });
}

void AuditWebhookBackend::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

WebhookBackendStats AuditWebhookBackend::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void AuditWebhookBackend::RenderMetrics(std::string& out) const {
  std::lock_guard lock(mutex_);
  out += "# HELP moat_auditlog_webhook_batches_total Audit event batches POSTed, by outcome.\n";
  out += "# TYPE moat_auditlog_webhook_batches_total counter\n";
  const std::pair<const char*, uint64_t> outcomes[] = {
      {"accepted", stats_.accepted},
      {"rejected_full", stats_.rejected_full},
      {"rejected_stopping", stats_.rejected_stopping},
      {"rejected_bad", stats_.rejected_bad}};
  for (const auto& [outcome, count] : outcomes) {
    out += "moat_auditlog_webhook_batches_total{outcome=\"";
    out += outcome;
    out += "\"} " + std::to_string(count) + "\n";
  }
  http::RenderSample("moat_auditlog_webhook_received_bytes_total", "counter",
                     "Bytes of accepted batches.", stats_.accepted_bytes, out);
  http::RenderSample("moat_auditlog_webhook_queue_batches", "gauge",
                     "Batches waiting for the rules.", stats_.queued, out);
  http::RenderSample("moat_auditlog_webhook_queue_bytes", "gauge", "Bytes of the batches waiting.",
                     stats_.queued_bytes, out);
  answer_seconds_.Render("moat_auditlog_webhook_answer_seconds",
                         "Time from a whole request to its answer (queueing only).", out);
}

}  // namespace moat::auditlog
