// The webhook's routes and its configuration watcher.

#include "admission/webhook.h"

#include <sys/stat.h>

#include <algorithm>
#include <exception>
#include <filesystem>

#include "admission/image_gate.h"
#include "core/log.h"
#include "core/text.h"

namespace moat::admission {
namespace {

/// Changes when the file is replaced or rewritten (ConfigMap updates swap a symlink).
std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

/// The stamps of the configuration file and of every file under the --policy paths: any edit,
/// addition or removal changes it.
std::string WatchedStamp(const WebhookOptions& options) {
  std::string stamp = options.config_file.empty() ? "" : FileStamp(options.config_file);
  for (const std::string& path : options.policy_paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      stamp += "|" + path + "=" + FileStamp(path);
      continue;
    }
    std::vector<std::string> files;
    for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) stamp += "|" + file + "=" + FileStamp(file);
  }
  if (options.extra_stamp) stamp += "|" + options.extra_stamp();
  return stamp;
}

bool IsJsonContentType(std::string_view value) {
  const std::string lower = AsciiLower(TrimSpace(value.substr(0, value.find(';'))));
  return lower == "application/json";
}

}  // namespace

Result<std::unique_ptr<Webhook>> Webhook::Create(PolicyLoader loader, WebhookOptions options) {
  std::unique_ptr<Webhook> webhook(new Webhook(std::move(loader), std::move(options)));
  const bool watched = !webhook->options_.config_file.empty() ||
                       !webhook->options_.policy_paths.empty() || webhook->options_.extra_stamp;
  if (watched) webhook->config_stamp_ = WatchedStamp(webhook->options_);
  MOAT_ASSIGN_OR_RETURN(webhook->policies_, webhook->loader_());
  if (watched) webhook->watcher_ = std::thread([w = webhook.get()] { w->WatchConfig(); });
  return webhook;
}

Webhook::~Webhook() {
  stopping_ = true;
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const PolicySet> Webhook::policies() const {
  std::lock_guard lock(mutex_);
  return policies_;
}

bool Webhook::ReloadIfChanged() {
  if (options_.config_file.empty() && options_.policy_paths.empty() && !options_.extra_stamp)
    return false;
  const std::string stamp = WatchedStamp(options_);
  {
    std::lock_guard lock(mutex_);
    if (stamp == config_stamp_) return false;
    config_stamp_ = stamp;
  }
  auto loaded = loader_();
  metrics_.CountReload(loaded.ok());
  if (!loaded.ok()) {
    log::Warn("admission: configuration not reloaded, keeping the current policies: " +
              loaded.error().message);
    return false;
  }
  std::lock_guard lock(mutex_);
  policies_ = std::move(*loaded);
  log::Info("admission: configuration reloaded" +
            (options_.config_file.empty() ? std::string() : " from " + options_.config_file));
  return true;
}

void Webhook::WatchConfig() {
  const auto step = std::chrono::milliseconds(100);
  auto waited = std::chrono::milliseconds(0);
  while (!stopping_) {
    std::this_thread::sleep_for(step);
    waited += step;
    if (waited < options_.reload_interval) continue;
    waited = std::chrono::milliseconds(0);
    ReloadIfChanged();
  }
}

http::Response Webhook::Review(const http::Request& request, bool mutate) {
  const auto start = std::chrono::steady_clock::now();
  if (!IsJsonContentType(request.Header("content-type"))) {
    metrics_.CountError("content_type");
    return http::Response::Error(415, "Content-Type must be application/json (got \"" +
                                          request.Header("content-type") + "\")");
  }
  if (request.body.empty()) {
    metrics_.CountError("empty_body");
    return http::Response::Error(400, "empty body: expected an AdmissionReview");
  }
  auto decoded = DecodeAdmissionReview(request.body);
  if (!decoded.ok()) {
    metrics_.CountError("malformed");
    return http::Response::Error(400, decoded.error().message);
  }
  AdmissionRequest& review = *decoded;
  const std::shared_ptr<const PolicySet> policies = this->policies();
  Decision decision;
  MutationResult mutation;
  if (mutate) {
    // Mutations only: /validate judges the result (the API server calls the validating webhooks
    // after every mutating one). dryRun requests get their patch too, as the API server applies
    // it to show what would be stored.
    mutation = policies->mutator().Mutate(review);
    decision.evaluated = mutation.evaluated;
    decision.response.patch = std::move(mutation.patch);
  } else {
    decision = policies->Decide(review, start + policies->config().deadline);
  }
  const std::string body =
      EncodeAdmissionReview(review.review_api_version, review.uid, decision.response);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string_view kind = review.kind.kind;
  metrics_.CountRequest(OperationName(review.operation), kind,
                        !decision.evaluated                ? "skipped"
                        : !decision.response.patch.empty() ? "patched"
                        : decision.response.allowed        ? "allowed"
                                                           : "denied",
                        seconds);
  if (!review.dry_run) {
    for (const Violation& v : decision.violations)
      if (!v.annotation_only) metrics_.CountPolicy(v.policy, ActionName(v.action));
    for (const std::string& name : mutation.applied) metrics_.CountMutation(name);
  }
  if (!decision.response.allowed) {
    log::Debug("admission: denied " + std::string(OperationName(review.operation)) + " " +
               review.kind.kind + " " + review.namespace_name + "/" + review.name +
               (review.dry_run ? " (dry run)" : "") + ": " + decision.response.message);
  }
  return http::Response::Json(200, body);
}

http::Response Webhook::Handle(http::Request& request) {
  try {
    if (request.path == "/validate" || request.path == "/mutate") {
      if (request.method != "POST") {
        auto response = http::Response::Error(405, "use POST with an AdmissionReview");
        response.headers.emplace_back("Allow", "POST");
        return response;
      }
      return Review(request, request.path == "/mutate");
    }
    if (request.method != "GET" && request.method != "HEAD") {
      auto response = http::Response::Error(405, request.method + " " + request.path);
      response.headers.emplace_back("Allow", "GET, HEAD");
      return response;
    }
    if (request.path == "/healthz") return http::Response::Text(200, "ok\n");
    if (request.path == "/readyz") {
      return policies() ? http::Response::Text(200, "ok\n")
                        : http::Response::Text(503, "no policies loaded\n");
    }
    if (request.path == "/metrics") {
      return http::Response::Text(200, metrics_.Render() + RenderImageGateMetrics(),
                                  "text/plain; version=0.0.4");
    }
    return http::Response::Error(404, "no route " + request.path +
                                          " (routes: /validate, /mutate, /healthz, /readyz, "
                                          "/metrics)");
  } catch (const std::exception& e) {
    metrics_.CountError("internal");
    return http::Response::Error(500, std::string("internal error: ") + e.what());
  }
}

Result<std::unique_ptr<http::Server>> StartWebhookServer(Webhook& webhook,
                                                         const http::ServerOptions& options) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty())
    return Fail("the webhook serves HTTPS only: --tls-cert and --tls-key are required");
  return http::Server::Start(
      options, [&webhook](http::Request& request) { return webhook.Handle(request); });
}

}  // namespace moat::admission
