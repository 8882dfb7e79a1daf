#pragma once
// `moat admission serve`: the HTTP side of the webhook on src/http (HTTPS, keep-alive, limits,
// certificate reload): /validate, /mutate, /healthz, /readyz, /metrics; the policy set rebuilt
// when the configuration file changes.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admission/decision.h"
#include "admission/metrics.h"
#include "http/server.h"

namespace moat::admission {

/// Builds the policy set from the configuration file and the command line's rules.
using PolicyLoader = std::function<Result<std::shared_ptr<const PolicySet>>()>;

struct WebhookOptions {
  /// The configuration file watched for changes ("" = none); `loader` reads it.
  std::string config_file;
  /// --policy files and directories (ValidatingAdmissionPolicies), watched the same way.
  std::vector<std::string> policy_paths;
  /// Another source of the configuration (the policy modes pulled from `moat server`): a text
  /// that changes when it does; "" = none.
  std::function<std::string()> extra_stamp;
  std::chrono::milliseconds reload_interval{2000};
};

class Webhook {
 public:
  /// Loads the policies once (an error here stops the start).
  static Result<std::unique_ptr<Webhook>> Create(PolicyLoader loader, WebhookOptions options);
  ~Webhook();

  /// Every route; for http::Server.
  http::Response Handle(http::Request& request);
  /// One AdmissionReview body -> the response body (or a 4xx). `mutate`: the configuration's
  /// mutations as a JSON Patch (allowed, no patch when nothing changes), no validation.
  http::Response Review(const http::Request& request, bool mutate);

  std::shared_ptr<const PolicySet> policies() const;
  /// Re-reads the configuration when its file changed since the last look; a broken file keeps
  /// the current policies (and is logged and counted). True when policies were replaced.
  bool ReloadIfChanged();
  Metrics& metrics() { return metrics_; }

 private:
  Webhook(PolicyLoader loader, WebhookOptions options)
      : loader_(std::move(loader)), options_(std::move(options)) {}
  void WatchConfig();

  PolicyLoader loader_;
  WebhookOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const PolicySet> policies_;
  std::string config_stamp_;
  Metrics metrics_;
  std::atomic<bool> stopping_{false};
  std::thread watcher_;
};

/// Starts the HTTPS server with the webhook's routes; `server_options.tls_*` are required.
Result<std::unique_ptr<http::Server>> StartWebhookServer(Webhook& webhook,
                                                         const http::ServerOptions& options);

}  // namespace moat::admission
